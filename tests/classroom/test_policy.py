"""The privacy policy's questions, answered in one place: expressions allowed, and a timeline redacted."""

from __future__ import annotations

from typing import Any

import pytest

from classroom.policy import AGGREGATE, AGGREGATE_MIN_GROUP, ATTENTION, FULL, expressions_allowed, redact, timeline_redact

TIMELINE: dict[str, Any] = {
    "participant": 1,
    "points": [{"t": "2026-12-06T10:00:00+00:00", "engagement": 0.9, "expression": "happy", "confidence": 0.8}],
    "minutes": [
        {
            "t": "2026-12-06T10:00:00+00:00",
            "engagement": 0.9,
            "present": 1,
            "expressions": {"happy": 1.0},
            "expression_counts": {"happy": 3},
        }
    ],
}


@pytest.mark.parametrize(("policy", "allowed"), [(FULL, True), (AGGREGATE, True), (ATTENTION, False)])
def test_expressions_are_allowed_except_under_attention(policy: str, allowed: bool) -> None:
    assert expressions_allowed(policy=policy) is allowed


def test_a_timeline_under_attention_carries_no_expression() -> None:
    redacted = timeline_redact(timeline=TIMELINE, policy=ATTENTION)
    assert redacted["points"] == [{"t": "2026-12-06T10:00:00+00:00", "engagement": 0.9, "expression": None, "confidence": None}]
    assert (redacted["minutes"][0]["expressions"], redacted["minutes"][0]["expression_counts"]) == (None, None)
    assert timeline_redact(timeline=TIMELINE, policy=FULL) == TIMELINE


@pytest.mark.parametrize("timeline", [{"points": [], "minutes": []}], ids=["empty"])
def test_an_empty_timeline_stays_empty(timeline: dict[str, Any]) -> None:
    assert timeline_redact(timeline=timeline, policy=ATTENTION) == {"points": [], "minutes": []}


MIX = {"happy": 0.75, "neutral": 0.25}


@pytest.mark.parametrize(
    ("policy", "present", "sent"),
    [
        (FULL, 1, True),
        (AGGREGATE, AGGREGATE_MIN_GROUP, True),
        (AGGREGATE, AGGREGATE_MIN_GROUP - 1, False),  # withheld with the other class figures
        (ATTENTION, AGGREGATE_MIN_GROUP, False),
    ],
)
def test_the_whole_session_mix_follows_the_class_figures(policy: str, present: int, sent: bool) -> None:
    event = {"type": "session_mix", "session": 1, "session_mix": MIX, "present": present}
    history = {"type": "history", "participants": [], "class": {"present": present}, "session_mix": MIX}
    for payload in (event, history):
        redacted = redact(payload=payload, policy=policy)
        assert redacted is not None
        assert redacted["session_mix"] == (MIX if sent else None)
