"""The engagement indicator: weights, attention from head pose, bands, the absent case."""

from __future__ import annotations

from typing import Any

import pytest

from classroom.engagement import attention_weight, engagement_band, engagement_score, expression_weight

NEUTRAL = [0, 0, 0, 0, 0, 0, 1.0]
DISGUST = [0, 1.0, 0, 0, 0, 0, 0]
HAPPY = [0, 0, 0, 1.0, 0, 0, 0]


@pytest.mark.parametrize(
    ("probabilities", "yaw", "pitch", "expected"),
    [
        (NEUTRAL, 0, 0, 1.0),  # the top weight, frontal: fully engaged
        (HAPPY, 0, 0, 0.6 / 0.9),
        (DISGUST, 0, 0, 0.2 / 0.9),
        (NEUTRAL, 30, 0, 0.5),  # half-way to the 60° yaw limit
        (NEUTRAL, 0, 45, 0.0),  # at the pitch limit
        (NEUTRAL, -90, 0, 0.0),  # beyond the limit clamps at 0
        (None, 0, 0, 1.0),  # attention policy: no expressions, head pose alone
    ],
)
def test_score(probabilities: list[float] | None, yaw: float, pitch: float, expected: float) -> None:
    assert engagement_score(probabilities=probabilities, yaw=yaw, pitch=pitch) == pytest.approx(expected)


def test_expression_weight_is_probability_weighted() -> None:
    assert expression_weight([0, 0, 0, 0.5, 0, 0, 0.5]) == pytest.approx(0.75)


@pytest.mark.parametrize(("probabilities", "message"), [([], "expected 7 probabilities, got 0"), ([0.0] * 7, "probabilities must sum")])
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
        (0.66, "engaged"),
        (1.0, "engaged"),
    ],
)
def test_bands(score: float | None, band: str) -> None:
    assert engagement_band(score) == band


def test_weights_and_limits_are_configurable(settings: Any) -> None:
    settings.ENGAGEMENT_MAX_YAW_DEGREES = 30.0
    settings.ENGAGEMENT_BANDS = {"engaged": 0.9, "partly": 0.5}
    assert attention_weight(yaw=15, pitch=0) == pytest.approx(0.5)
    assert engagement_band(0.8) == "partly"
