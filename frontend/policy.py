"""The privacy policy, applied to every dashboard payload before it leaves the server (docs/architecture.md "Privacy and policy").

- ``full``: everything, per-student apparent expressions included.
- ``aggregate``: class-level figures only, and only while at least ``AGGREGATE_MIN_GROUP`` are present;
  per-student cards keep the name and presence.
- ``attention``: no apparent expressions at all; engagement (from head pose) and presence only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FULL = "full"
AGGREGATE = "aggregate"
ATTENTION = "attention"
POLICIES = (FULL, AGGREGATE, ATTENTION)
AGGREGATE_MIN_GROUP = 5

_EXPRESSION_FIELDS = ("expression", "confidence", "probabilities")
_PER_STUDENT_FIELDS = (*_EXPRESSION_FIELDS, "engagement", "box", "yaw", "pitch")
_REDACTED_TYPES = {"history": "participants", "observations": "observations"}


def current_policy() -> str:
    """``settings.PRIVACY_POLICY``, checked."""
    policy = settings.PRIVACY_POLICY
    if policy not in POLICIES:
        raise ImproperlyConfigured(f"PRIVACY_POLICY must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def _redact_person(person: dict[str, Any], policy: str) -> dict[str, Any]:
    hidden = _PER_STUDENT_FIELDS if policy == AGGREGATE else _EXPRESSION_FIELDS
    redacted = {**person, **dict.fromkeys(hidden)}
    smoothed = person.get("smoothed")
    if smoothed is not None:
        # The smoothed values repeat the raw ones: the same rules apply to them.
        redacted["smoothed"] = None if policy == AGGREGATE else {**smoothed, "expression": None, "probabilities": None}
    if policy == AGGREGATE:
        # Without per-student figures the band can only say whether the student is there.
        redacted["band"] = "absent" if person.get("band") == "absent" or person.get("present") is False else "present"
    return redacted


def _redact_class(figures: dict[str, Any], policy: str) -> dict[str, Any]:
    if policy == ATTENTION:
        return {**figures, "expression_mix": None}
    withheld = figures.get("present", 0) < AGGREGATE_MIN_GROUP
    return {**figures, "withheld": withheld, **({"expression_mix": None, "engagement": None} if withheld else {})}


def redact(*, payload: dict[str, Any], policy: str) -> dict[str, Any]:
    """A copy of a dashboard payload (``history`` or an event) without what ``policy`` forbids."""
    people_key = _REDACTED_TYPES.get(payload.get("type", ""))
    if policy == FULL or people_key is None:
        return payload
    redacted = {
        **payload,
        people_key: [_redact_person(person, policy) for person in payload.get(people_key, [])],
        "class": _redact_class(payload.get("class") or {}, policy),
    }
    if policy == AGGREGATE and "series" in payload:
        redacted["series"] = [
            {**point, "engagement": point["engagement"] if point["present"] >= AGGREGATE_MIN_GROUP else None} for point in payload["series"]
        ]
    return redacted
