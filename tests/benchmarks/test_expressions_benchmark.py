"""The shown-expression benchmark against its goals: calm faces shown calm, and the threshold as measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from benchmarks.expressions import calm_faces, sequences, threshold_table
from tests.conftest import require_shared

CALM_SHOWN_NEGATIVE_AT_MOST = 0.05  # calm talking heads: at most 1 frame in 20 shown angry, disgusted, fearful or sad


@pytest.fixture(scope="module")
def data() -> Path:
    return require_shared("video", "talking_head_1.mp4").parent.parent


def test_calm_faces_are_shown_calm(data: Path) -> None:
    clips = calm_faces(data)
    frames = sum(clip["frames"] for clip in clips)
    shown_negative = sum(clip["shown_negative"] * clip["frames"] for clip in clips) / frames
    raw_negative = sum(clip["raw_negative"] * clip["frames"] for clip in clips) / frames
    assert frames >= 150 and len(clips) == 7
    assert shown_negative <= CALM_SHOWN_NEGATIVE_AT_MOST, clips
    assert raw_negative > 4 * shown_negative  # the model's raw reading is what made calm faces look anxious


def test_the_clear_confidence_is_where_five_in_six_shown_expressions_are_right(data: Path) -> None:
    require_shared("fer2013", "test")
    rows = threshold_table(data)["rows"]
    chosen = min(row["confidence"] for row in rows if row["precision"] >= 5 / 6 - 0.005)
    assert chosen == settings.EXPRESSION_CLEAR_CONFIDENCE


def test_one_student_over_time_rests_neutral_and_shows_expressions(data: Path) -> None:
    require_shared("fer2013", "test")
    over_time = sequences(data, students=60)
    assert over_time["rest_shown_neutral"] >= 0.95  # goal: a resting face is shown neutral
    assert over_time["between_shown_neutral"] >= 0.95  # and neutral again at once after an expression
    # The goal is 85%; the served model reaches 49% (README). This guards against losing what it has.
    assert over_time["expression_shown_right"] >= 0.4
