"""The engagement indicator: attention from head pose, the expression factor, baselines, bands, the absent case."""

from __future__ import annotations

from typing import Any

import pytest

from classroom.engagement import (
    Baseline,
    attention_weight,
    baseline_add,
    engagement_band,
    engagement_score,
    expression_factor,
    expression_weight,
)

NEUTRAL = [0, 0, 0, 0, 0, 0, 1.0]
DISGUST = [0, 1.0, 0, 0, 0, 0, 0]
HAPPY = [0, 0, 0, 1.0, 0, 0, 0]
# What the model reads in many resting webcam faces: probability spread onto fear and sad (weight 0.65).
RESTING_FEARFUL = [0, 0, 0.35, 0, 0.35, 0, 0.3]


def baseline_of(*samples: tuple[float, float, float | None]) -> Baseline:
    baseline = None
    for yaw, pitch, weight in samples:
        baseline = baseline_add(baseline, yaw=yaw, pitch=pitch, weight=weight)
    assert baseline is not None
    return baseline


@pytest.mark.parametrize(
    ("probabilities", "yaw", "pitch", "band"),
    [
        (NEUTRAL, 0, 0, "engaged"),
        (HAPPY, 0, 0, "engaged"),  # a smile is not disengagement
        (RESTING_FEARFUL, 0, 0, "engaged"),  # nor a resting face the model misreads
        (NEUTRAL, 25, 0, "partly"),
        (NEUTRAL, -45, 0, "not_engaged"),  # turned away
        (NEUTRAL, 60, 0, "not_engaged"),
        (NEUTRAL, 0, -30, "not_engaged"),  # looking down, e.g. at a phone
        (NEUTRAL, 0, 28, "partly"),  # looking up costs less
        (None, 0, 0, "engaged"),  # attention policy: head pose alone
        (None, 45, 0, "not_engaged"),
        (None, 0, -17, "partly"),
    ],
)
def test_bands_of_typical_faces(probabilities: list[float] | None, yaw: float, pitch: float, band: str) -> None:
    assert engagement_band(engagement_score(probabilities=probabilities, yaw=yaw, pitch=pitch)) == band


@pytest.mark.parametrize(
    ("deviation", "expected"),
    [(0, 1.0), (15, 1.0), (27.5, 0.5), (40, 0.0), (90, 0.0), (-27.5, 0.5), (-15.0001, pytest.approx(1.0, abs=1e-4))],
)
def test_attention_falls_linearly_between_free_and_away(deviation: float, expected: Any) -> None:
    assert attention_weight(yaw=deviation, pitch=0) == pytest.approx(expected)


@pytest.mark.parametrize(("pitch", "expected"), [(-15, 1.0), (-17.5, 0.5), (-20, 0.0), (25, 0.5), (35, 0.0)])
def test_looking_down_costs_more_than_looking_up(pitch: float, expected: float) -> None:
    assert attention_weight(yaw=0, pitch=pitch) == pytest.approx(expected)


@pytest.mark.parametrize("angle", [float("nan"), float("inf")])
def test_unknown_pose_does_not_count_against_attention(angle: float) -> None:
    assert attention_weight(yaw=angle, pitch=0) == 1.0


def test_expression_weight_is_probability_weighted() -> None:
    assert expression_weight([0, 0, 0, 0.5, 0, 0, 0.5]) == pytest.approx(1.0)
    assert expression_weight([0, 0.5, 0, 0, 0, 0, 0.5]) == pytest.approx(0.65)


@pytest.mark.parametrize(
    ("probabilities", "message"),
    [([], "expected 7 probabilities, got 0"), ([0.1] * 6, "expected 7 probabilities, got 6"), ([0.0] * 7, "probabilities must sum")],
)
def test_malformed_probabilities_are_refused(probabilities: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expression_weight(probabilities)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (None, "absent"),
        (0.0, "not_engaged"),
        (0.249, "not_engaged"),
        (0.25, "partly"),
        (0.65, "partly"),
        (0.6501, "engaged"),
        (1.0, "engaged"),
    ],
)
def test_band_edges(score: float | None, band: str) -> None:
    assert engagement_band(score) == band


def test_expression_alone_never_makes_a_student_not_engaged() -> None:
    baseline = baseline_of(*[(0, 0, 1.0)] * 10)
    assert expression_factor(DISGUST, baseline=baseline) == pytest.approx(1 - 0.6 * 0.7)
    assert engagement_band(engagement_score(probabilities=DISGUST, yaw=0, pitch=0, baseline=baseline)) == "partly"


def test_new_student_without_baseline_is_judged_against_the_prior_and_frontal_pose(settings: Any) -> None:
    settings.ENGAGEMENT_EXPRESSION_PRIOR = 0.7
    new = baseline_of((20, 10, 0.4))  # one sample: not ready
    assert not new.ready
    assert new.pose() == (0.0, 0.0)
    assert new.expression_reference() == 0.7
    assert engagement_score(probabilities=NEUTRAL, yaw=0, pitch=0, baseline=new) == 1.0


def test_baseline_absorbs_camera_angle_and_resting_face() -> None:
    # A student whose camera sits to the side (yaw 13°, estimator reads pitch 12°) and whose resting face reads fearful.
    rest = baseline_of(*[(12 + (i % 3), 12, expression_weight(RESTING_FEARFUL)) for i in range(30)])
    assert rest.ready
    assert rest.pose() == pytest.approx((13.0, 12.0))
    assert engagement_score(probabilities=RESTING_FEARFUL, yaw=13, pitch=12, baseline=rest) == 1.0
    # A turn of 25° from there is partly engaged; the same angle from a frontal rest pose would be engaged.
    assert engagement_band(engagement_score(probabilities=RESTING_FEARFUL, yaw=13 - 25, pitch=12, baseline=rest)) == "partly"
    assert engagement_band(engagement_score(probabilities=RESTING_FEARFUL, yaw=-12, pitch=12)) == "engaged"
    # Turning 45° away from their own rest pose reads not engaged.
    assert engagement_band(engagement_score(probabilities=RESTING_FEARFUL, yaw=13 + 45, pitch=12, baseline=rest)) == "not_engaged"


def test_baseline_cannot_absorb_looking_away_from_the_start() -> None:
    away = baseline_of(*[(55, -45, 1.0)] * 30)
    assert away.pose() == (15.0, -15.0)  # clamped to ENGAGEMENT_BASELINE_MAX_YAW/PITCH_DEGREES
    assert engagement_band(engagement_score(probabilities=NEUTRAL, yaw=55, pitch=-15, baseline=away)) == "not_engaged"
    assert engagement_band(engagement_score(probabilities=NEUTRAL, yaw=15, pitch=-45, baseline=away)) == "not_engaged"


def test_baseline_is_the_first_samples_and_then_fixed(settings: Any) -> None:
    settings.ENGAGEMENT_BASELINE_SAMPLES = 5
    baseline = baseline_of(*[(2, 1, 0.9)] * 5)
    later = baseline_add(baseline, yaw=60, pitch=-40, weight=0.1)
    assert later is baseline  # full: later behaviour (looking away for minutes) cannot move it


def test_returning_after_an_absence_keeps_the_baseline() -> None:
    # Absence produces no observations, so nothing is folded in; the same baseline applies on return.
    baseline = baseline_of(*[(15, 5, 0.6)] * 12)
    assert baseline.ready
    assert engagement_band(engagement_score(probabilities=RESTING_FEARFUL, yaw=15, pitch=5, baseline=baseline)) == "engaged"


def test_unknown_pose_is_not_folded_into_the_baseline() -> None:
    baseline = baseline_add(None, yaw=float("nan"), pitch=0, weight=0.5)
    assert baseline.yaws == () and not baseline.ready


def test_attention_policy_baseline_has_no_expression_and_still_bands(settings: Any) -> None:
    settings.ENGAGEMENT_EXPRESSION_PRIOR = 0.7
    baseline = baseline_of(*[(10, -5, None)] * 10)
    assert baseline.weights == ()
    assert baseline.expression_reference() == 0.7
    assert engagement_band(engagement_score(probabilities=None, yaw=10, pitch=-5, baseline=baseline)) == "engaged"
    assert engagement_band(engagement_score(probabilities=None, yaw=10 + 30, pitch=-5, baseline=baseline)) == "partly"
    assert engagement_band(engagement_score(probabilities=None, yaw=10, pitch=-5 - 30, baseline=baseline)) == "not_engaged"


def test_settings_change_the_indicator(settings: Any) -> None:
    settings.ENGAGEMENT_AWAY_YAW_DEGREES = 25.0
    settings.ENGAGEMENT_FREE_DEGREES = 5.0
    settings.ENGAGEMENT_BANDS = {"engaged": 0.9, "partly": 0.5}
    assert attention_weight(yaw=15, pitch=0) == pytest.approx(0.5)
    assert engagement_band(0.8) == "partly"
    settings.ENGAGEMENT_EXPRESSION_INFLUENCE = 0.0
    assert expression_factor(DISGUST) == 1.0


def test_a_frame_is_folded_into_the_baseline_once() -> None:
    once = baseline_add(None, yaw=3.0, pitch=1.0, weight=0.5, mix=[0.0] * 6 + [1.0], at=100.0)
    assert baseline_add(once, yaw=3.0, pitch=1.0, weight=0.5, mix=[0.0] * 6 + [1.0], at=100.0) == once  # retried
    assert baseline_add(once, yaw=9.0, pitch=1.0, weight=0.5, at=99.0) == once  # an older frame, late
    assert baseline_add(once, yaw=9.0, pitch=1.0, weight=0.5, at=101.0).yaws == (3.0, 9.0)
