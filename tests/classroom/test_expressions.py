"""The shown expression: relative to the student's resting face, only when clear, held against flicker."""

from __future__ import annotations

import pytest
from django.conf import settings

from classroom.expressions import NEUTRAL, ShownExpression, expression_shown, rest_mix
from classroom.models import EXPRESSIONS


def mix(**shares: float) -> list[float]:
    """A probability mix: the named shares, the rest to neutral."""
    values = [shares.get(name, 0.0) for name in EXPRESSIONS]
    values[EXPRESSIONS.index(NEUTRAL)] = 1.0 - sum(v for name, v in shares.items() if name != NEUTRAL)
    return values


SAD_AT_REST = mix(sad=0.6)  # a calm face the model reads as mostly sad


def show(frames: list[list[float]], *, rest: list[float] | None) -> list[str]:
    """The labels a card shows over ``frames`` at 1 frame/s."""
    shown: ShownExpression | None = None
    labels = []
    for t, probabilities in enumerate(frames):
        shown = expression_shown(probabilities=probabilities, rest=rest, previous=shown, t=float(t))
        labels.append(shown.label)
    return labels


def test_a_resting_face_that_reads_sad_is_shown_neutral() -> None:
    rest = rest_mix([SAD_AT_REST] * 10, ready=True)
    assert show([SAD_AT_REST, mix(sad=0.55), mix(sad=0.68)], rest=rest) == [NEUTRAL] * 3
    # and a clearly sadder face than their rest is shown sad
    assert show([mix(sad=0.95)], rest=rest) == ["sad"]


def test_a_clear_smile_after_rest_is_shown_from_its_first_clear_frame() -> None:
    rest = rest_mix([SAD_AT_REST] * 10, ready=True)
    frames = [SAD_AT_REST] * 3 + [mix(happy=0.9), mix(happy=0.85)] + [SAD_AT_REST] * 2
    assert show(frames, rest=rest) == [NEUTRAL] * 3 + ["happy", "happy"] + [NEUTRAL] * 2  # back to neutral at once too


def test_a_low_confidence_frame_does_not_flip_the_card() -> None:
    rest = rest_mix([mix(), mix(sad=0.1)], ready=True)
    unclear = mix(fear=0.45)  # risen well above rest, but not clearly fear
    assert show([mix(happy=0.9), unclear], rest=rest) == ["happy", "happy"]
    assert show([mix(), unclear], rest=rest) == [NEUTRAL, NEUTRAL]
    assert show([mix(surprise=0.8), mix(surprise=0.5), mix(surprise=0.8)], rest=rest) == ["surprise"] * 3


def test_an_unclear_stretch_is_held_only_so_long() -> None:
    rest = rest_mix([mix()], ready=True)
    hold = int(settings.EXPRESSION_HOLD_SECONDS)
    labels = show([mix(happy=0.9)] + [mix(fear=0.45)] * (hold + 2), rest=rest)
    assert labels[: hold + 1] == ["happy"] * (hold + 1)
    assert labels[hold + 1 :] == [NEUTRAL] * 2


def test_the_confidence_is_the_shown_expressions() -> None:
    rest = rest_mix([], ready=False)
    smile = expression_shown(probabilities=mix(happy=0.9), rest=rest, previous=None, t=0.0)
    assert (smile.label, smile.confidence, smile.clear_at) == ("happy", 0.9, 0.0)
    calm = expression_shown(probabilities=list(settings.EXPRESSION_REST_PRIOR), rest=rest, previous=smile, t=1.0)
    assert (calm.label, calm.confidence) == (NEUTRAL, 1.0)  # exactly at rest


def test_rest_is_the_median_of_the_first_mixes_once_ready() -> None:
    samples = [mix(sad=0.6), mix(sad=0.5), mix(happy=0.9)]  # one smile among them does not move the median much
    rest = rest_mix(samples, ready=True)
    assert rest[EXPRESSIONS.index("sad")] == pytest.approx(0.5)
    assert rest[EXPRESSIONS.index("happy")] == pytest.approx(0.0)
    assert rest_mix(samples, ready=False) is None
    assert rest_mix([], ready=True) is None


def test_before_the_resting_face_is_known_only_a_very_clear_expression_is_shown() -> None:
    assert show([SAD_AT_REST, mix(sad=0.75)], rest=None) == [NEUTRAL, NEUTRAL]  # a calm face reading sad, first seconds
    assert show([mix(happy=0.85)], rest=None) == ["happy"]


@pytest.mark.parametrize(
    ("probabilities", "rest"),
    [([], None), ([0.5] * 6, None), (mix(), [0.1] * 8)],
    ids=["empty", "six classes", "rest of eight"],
)
def test_malformed_mixes_are_refused(probabilities: list[float], rest: list[float] | None) -> None:
    with pytest.raises(ValueError, match="expected 7 probabilities and 7 resting ones"):
        expression_shown(probabilities=probabilities, rest=rest, previous=None, t=0.0)


def test_the_same_frame_again_changes_nothing() -> None:
    rest = rest_mix([mix()], ready=True)
    smile = expression_shown(probabilities=mix(happy=0.9), rest=rest, previous=None, t=5.0)
    # A retried task brings frame 5 again, read differently: what was decided for it stands.
    assert expression_shown(probabilities=mix(sad=0.9), rest=rest, previous=smile, t=5.0) == smile
