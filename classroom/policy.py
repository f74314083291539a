"""The privacy policy, applied to every dashboard payload before it leaves the server (docs/architecture.md "Privacy and policy").

- ``full``: everything, per-student apparent expressions included.
- ``aggregate``: class-level figures only, and only while at least ``AGGREGATE_MIN_GROUP`` are present;
  per-student cards keep the name and presence.
- ``attention``: no apparent expressions at all; engagement (from head pose) and presence only.

Each course may set its own policy; :func:`course_policy` is the one place that says which applies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet

from classroom.models import Course
from classroom.stillness import STILL

FULL = "full"
AGGREGATE = "aggregate"
ATTENTION = "attention"
POLICIES = (FULL, AGGREGATE, ATTENTION)
AGGREGATE_MIN_GROUP = 5

_EXPRESSION_FIELDS = ("expression", "confidence", "probabilities")
_PER_STUDENT_FIELDS = (*_EXPRESSION_FIELDS, "engagement", "box", "yaw", "pitch")
_REDACTED_TYPES = {"history": "participants", "observations": "observations"}


def current_policy() -> str:
    """The deployment's default policy, ``settings.PRIVACY_POLICY``, checked."""
    policy = settings.PRIVACY_POLICY
    if policy not in POLICIES:
        raise ImproperlyConfigured(f"PRIVACY_POLICY must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def course_policy(*, course: Course) -> str:
    """The policy that applies to ``course``: its own, else the deployment's. Every layer asks this one function."""
    return course.privacy_policy or current_policy()


def courses_under(*, policy: str) -> QuerySet[Course]:
    """The courses ``policy`` applies to: set as their own, or the deployment's where they set none."""
    own = Q(privacy_policy=policy)
    return Course.objects.filter(own | Q(privacy_policy="") if current_policy() == policy else own)


def per_student_allowed(*, policy: str) -> bool:
    """Whether per-student figures (alerts, timelines, per-minute rows) may exist at all."""
    return policy != AGGREGATE


def expressions_allowed(*, policy: str) -> bool:
    """Whether apparent expressions may be inferred, stored or shown at all (not under ``attention``)."""
    return policy != ATTENTION


def timeline_redact(*, timeline: dict[str, Any], policy: str) -> dict[str, Any]:
    """One participant's timeline (the drill-down) without what ``policy`` forbids; only asked where per-student
    figures are allowed."""
    if expressions_allowed(policy=policy):
        return timeline
    return {
        **timeline,
        "points": [{**point, "expression": None, "confidence": None} for point in timeline["points"]],
        "minutes": [_redact_minute(minute, policy) for minute in timeline["minutes"]],
    }


def _redact_person(person: dict[str, Any], policy: str) -> dict[str, Any]:
    hidden = _PER_STUDENT_FIELDS if policy == AGGREGATE else _EXPRESSION_FIELDS
    redacted = {**person, **dict.fromkeys(hidden)}
    smoothed = person.get("smoothed")
    if smoothed is not None:
        # The smoothed values repeat the raw ones: the same rules apply to them.
        redacted["smoothed"] = None if policy == AGGREGATE else {**smoothed, "expression": None, "probabilities": None}
    if policy == AGGREGATE:
        # Without per-student figures the band can only say whether the student is there (a still picture says they may not be).
        if person.get("band") == "absent" or person.get("present") is False:
            redacted["band"] = "absent"
        else:
            redacted["band"] = STILL if person.get("band") == STILL else "present"
    return redacted


def _redact_class(figures: dict[str, Any], policy: str) -> dict[str, Any]:
    if policy == ATTENTION:
        return {**figures, "expression_mix": None, "expressions": None}
    withheld = figures.get("present", 0) < AGGREGATE_MIN_GROUP
    hidden = {"expression_mix": None, "expressions": None, "engagement": None} if withheld else {}
    return {**figures, "withheld": withheld, **hidden}


def _redact_minute(minute: dict[str, Any], policy: str) -> dict[str, Any]:
    if policy == ATTENTION:
        return {**minute, "expressions": None, "expression_counts": None}
    if (minute.get("present") or 0) < AGGREGATE_MIN_GROUP:
        return {**minute, "engagement": None, "expressions": None, "expression_counts": None, "bands": None}
    return minute


def _alert_allowed(alert: dict[str, Any], policy: str) -> bool:
    return per_student_allowed(policy=policy) or alert.get("participant") is None


def _session_mix_withheld(present: int, policy: str) -> bool:
    """The whole-session expression mix follows the class figures: none under ``attention``, and under ``aggregate``
    none while fewer than the minimum group are present."""
    return policy == ATTENTION or (policy == AGGREGATE and present < AGGREGATE_MIN_GROUP)


def _redact_attendance(attendance: dict[str, Any] | None, policy: str) -> dict[str, Any] | None:
    """Attendance (``classroom.attendance``) names students and their minutes: under ``aggregate``, counts only."""
    if attendance is None or per_student_allowed(policy=policy):
        return attendance
    return {**attendance, "per_student": False, "students": [], "others": []}


def redact(*, payload: dict[str, Any], policy: str) -> dict[str, Any] | None:
    """A copy of a dashboard payload (``history`` or an event) without what ``policy`` forbids; ``None``: send nothing."""
    kind = payload.get("type", "")
    if policy == FULL:
        return payload
    if kind == "attendance":
        return {**payload, "attendance": _redact_attendance(payload.get("attendance"), policy)}
    if kind == "alert":
        return payload if _alert_allowed(payload["alert"], policy) else None
    if kind == "session_mix":
        return {**payload, "session_mix": None} if _session_mix_withheld(payload.get("present") or 0, policy) else payload
    people_key = _REDACTED_TYPES.get(kind)
    if people_key is None:
        return payload
    redacted = {
        **payload,
        people_key: [_redact_person(person, policy) for person in payload.get(people_key, [])],
        "class": _redact_class(payload.get("class") or {}, policy),
    }
    if "alerts" in payload:
        redacted["alerts"] = [alert for alert in payload["alerts"] if _alert_allowed(alert, policy)]
    if "minutes" in payload:
        redacted["minutes"] = [_redact_minute(minute, policy) for minute in payload["minutes"]]
    if "attendance" in payload:
        redacted["attendance"] = _redact_attendance(payload["attendance"], policy)
    if "session_mix" in payload and _session_mix_withheld((payload.get("class") or {}).get("present") or 0, policy):
        redacted["session_mix"] = None
    if policy == AGGREGATE and "series" in payload:
        redacted["series"] = [_redact_series_point(point) for point in payload["series"]]
    if policy == AGGREGATE and payload.get("series_point") is not None:
        redacted["series_point"] = _redact_series_point(payload["series_point"])
    return redacted


def _redact_series_point(point: dict[str, Any]) -> dict[str, Any]:
    """A second of the class series under ``aggregate``: its engagement only while the minimum group is present."""
    return {**point, "engagement": point["engagement"] if point["present"] >= AGGREGATE_MIN_GROUP else None}
