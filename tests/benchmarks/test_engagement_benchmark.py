"""The engagement benchmark's scoring: live baselines, probes against the final baseline, shares, goals, variants."""

from __future__ import annotations

import pytest
from django.conf import settings

from benchmarks.engagement import EMPTY, FRONTAL, TURNED, Sample, Student, goal_met, score, shares, v1_score, variant
from benchmarks.tables import markdown_table

NEUTRAL = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
FEARFUL = (0.0, 0.0, 0.5, 0.0, 0.3, 0.0, 0.2)


def frontal(yaw: float = 18.0, pitch: float = 12.0, probabilities: tuple[float, ...] = FEARFUL) -> Sample:
    return Sample(condition=FRONTAL, source="clip", yaw=yaw, pitch=pitch, probabilities=probabilities)


def test_probes_are_scored_against_the_baseline_the_live_frames_built() -> None:
    # A student whose camera is off to the side: 18° is their rest, so a 45° turn from it is 63°.
    student = Student(source="clip", live=[frontal() for _ in range(10)])
    student.probes = [Sample(condition=TURNED, source="clip", yaw=18 + 45, pitch=12, probabilities=FEARFUL, angle=(45, 0))]
    banded = score([student], [])
    assert [band for _, band in banded] == ["engaged"] * 10 + ["not_engaged"]


def test_singles_are_scored_cold_and_empty_reads_are_absent() -> None:
    singles = [frontal(yaw=0, pitch=0, probabilities=NEUTRAL), Sample(condition=EMPTY, source="black")]
    assert [band for _, band in score([], singles)] == ["engaged", "absent"]


def test_shares_and_goals() -> None:
    banded = [(frontal(), "engaged")] * 4 + [(frontal(), "partly")] + [(Sample(condition=EMPTY, source="x"), "absent")]
    result = shares(banded)
    assert result[FRONTAL] == {"n": 5, "engaged": 0.8, "partly": 0.2, "not_engaged": 0.0, "absent": 0.0}
    assert goal_met(result) == {FRONTAL: True, TURNED: False, "looking down": False, EMPTY: True}


def test_shares_by_angle() -> None:
    probe = Sample(condition=TURNED, source="c", yaw=50, pitch=0, probabilities=NEUTRAL, angle=(45, 0))
    assert shares([(probe, "not_engaged")], key="angle") == {
        f"{TURNED} (45, 0)": {"n": 1, "engaged": 0.0, "partly": 0.0, "not_engaged": 1.0, "absent": 0.0}
    }


def test_v1_is_the_previous_formula() -> None:
    # The previous indicator: a neutral frontal face scored 1, a fearful one far less, whatever the student's rest.
    assert v1_score(frontal(yaw=0, pitch=0, probabilities=NEUTRAL)) == pytest.approx(1.0)
    assert v1_score(frontal(yaw=0, pitch=0)) == pytest.approx((0.3 * 0.5 + 0.3 * 0.3 + 0.9 * 0.2) / 0.9)
    assert [band for _, band in score([], [frontal(yaw=0, pitch=0)], v1=True)] == ["partly"]


def test_variants_apply_settings_and_restore_them() -> None:
    before = settings.ENGAGEMENT_AWAY_YAW_DEGREES
    with variant({"ENGAGEMENT_AWAY_YAW_DEGREES": 30.0}) as v1:
        assert settings.ENGAGEMENT_AWAY_YAW_DEGREES == 30.0 and not v1
    with variant({"_v1": True}) as v1:
        assert v1
    assert before == settings.ENGAGEMENT_AWAY_YAW_DEGREES


@pytest.mark.parametrize(("rows", "expected"), [([], "| a | b |\n| --- | ---: |"), ([[1, "x"]], "| a | b |\n| --- | ---: |\n| 1 | x |")])
def test_table(rows: list[list[object]], expected: str) -> None:
    assert markdown_table(["a", "b"], rows) == expected


def test_full_run_meets_the_goals_on_real_faces() -> None:
    """The whole benchmark (about 30 s): the shipped settings reach every goal, the previous formula did not."""
    from benchmarks.engagement import run
    from tests.conftest import require_shared

    result = run(require_shared("video").parent, quick=False)
    assert result["goals_met"] == {FRONTAL: True, TURNED: True, "looking down": True, EMPTY: True}
    assert result["variants"]["previous formula (v1)"]["shares"][FRONTAL]["engaged"] < 0.5
