"""The shown-expression benchmark against its goals: calm faces shown calm, and the threshold as measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from benchmarks.expressions import PublicTest, calm_faces, calm_gallery, public_test, sequences, threshold_table
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


@pytest.fixture(scope="module")
def faces(data: Path) -> PublicTest:
    require_shared("fer2013", "test")
    require_shared("ferplus", "test.csv")
    return public_test(data)


def test_the_clear_confidence_is_where_five_in_six_shown_expressions_are_right(faces: PublicTest) -> None:
    table = threshold_table(faces)
    # Clear: the expression outweighs all others together, and 5 in 6 shown are right (against ten taggers' majority).
    chosen = min(row["confidence"] for row in table["rows"] if row["precision"] >= 5 / 6 - 0.005 and row["confidence"] >= 0.5)
    assert chosen == settings.EXPRESSION_CLEAR_CONFIDENCE
    unknown_rest = next(row for row in table["rows"] if row["confidence"] == settings.EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST)
    assert unknown_rest["neutral_shown_an_expression"] <= 0.03  # a calm face is not shown upset before its rest is known
    assert list(settings.EXPRESSION_REST_PRIOR) == pytest.approx(table["neutral_mean_mix"], abs=0.01)


def test_one_student_over_time_rests_neutral_and_shows_expressions(faces: PublicTest) -> None:
    over_time = sequences(faces, clear_only=True, students=60)
    assert over_time["rest_shown_neutral"] >= 0.95  # goal: a resting face is shown neutral
    assert over_time["between_shown_neutral"] >= 0.95  # and neutral again at once after an expression
    # The goal is 85%; the served model reaches 76% (README). This guards against losing what it has.
    assert over_time["expression_shown_right"] >= 0.7


def test_calm_faces_in_a_gallery_are_shown_calm(data: Path) -> None:
    gallery = calm_gallery(data)
    assert gallery["faces"] >= 0.95 * gallery["students"] * gallery["seconds"]  # nearly every tile's face read every second
    assert gallery["shown_negative"] <= CALM_SHOWN_NEGATIVE_AT_MOST, gallery
    assert gallery["raw_negative"] > 2 * gallery["shown_negative"]
