"""Attendance: who of the course's roster is here now, was here, left early or never came, from what is stored.

- **Expected** is the course's roster. Opted-out students are left out of every figure and list: nothing about them
  is tracked, so neither their presence nor their absence can be told (only how many there are is said).
- A roster student **joined** once a participant of the session is linked to them: a participant is made when their
  face is first seen, or when a named tile (the meeting page's, the camera page's) first comes with no face in it.
- **Present now**: one of their participants was seen in the session's latest processed frame, the rule the live
  page's cards follow (:func:`classroom.selectors.session_history`), and not as a still picture
  (:mod:`classroom.stillness`); **absent now**: joined, but not so; **never joined**: no participant.
- Looking back (the report): **present to the end** when last seen within the course's absence threshold
  (:func:`classroom.alerts.thresholds_for`, the ``absent`` alert's) of the session's last frame, **left early**
  when last seen before that, **never in view** when joined but no face of theirs was ever seen (a still picture
  is not their face).
- **Minutes present** come from the participants' minute rollups (every 15 s while live), a minute counted once
  per student when two of their participants were seen in it; the **share** is of the session's minutes, start
  to end (to now while live), both rounded to a tenth of a minute first, so the figures shown add up.

Participants not linked to a roster student (anonymous tracks, guests) are listed apart and not counted as
expected. Under a policy without per-student figures (``aggregate``) only the counts leave this module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from classroom import live_state
from classroom.alerts import thresholds_for
from classroom.events import publish_built_on_commit
from classroom.models import ClassSample, ClassSession, MinuteRollup, Observation, Participant, Student
from classroom.policy import course_policy, per_student_allowed
from classroom.stillness import STILL

PRESENT = "present"
ABSENT = "absent"
NEVER_JOINED = "never_joined"
PRESENT_TO_END = "present_to_end"
LEFT_EARLY = "left_early"
NEVER_IN_VIEW = "never_in_view"
STATUS_LABELS = {PRESENT: "present", ABSENT: "absent now", NEVER_JOINED: "not joined"}
OUTCOME_LABELS = {
    PRESENT_TO_END: "present to the end",
    LEFT_EARLY: "left early",
    NEVER_IN_VIEW: "joined, never in view",
    NEVER_JOINED: "never joined",
}
SIGNATURE_TTL_SECONDS = 6 * 3600


def present_share(*, present_seconds: float, session_seconds: float) -> dict[str, Any]:
    """Minutes present and their share of the session's minutes, rounded once and alike wherever they are shown.

    Both are rounded to a tenth of a minute first and the share is taken of those, so "5.8 of 7.0 min" reads as
    83%, never as a share of something else. Present time is capped at the session's length (capture times come
    from the clients' clocks). The share is ``None`` for a session not yet a tenth of a minute long.
    """
    session_minutes = round(max(session_seconds, 0.0) / 60, 1)
    present_minutes = min(round(max(present_seconds, 0.0) / 60, 1), session_minutes)
    share = round(present_minutes / session_minutes, 3) if session_minutes else None
    return {
        "present_minutes": present_minutes,
        "session_minutes": session_minutes,
        "present_share": share,
        "present_percent": round(100 * present_minutes / session_minutes) if session_minutes else None,
    }


def session_seconds(*, session: ClassSession, now: datetime) -> float:
    """The session's length: start to end, or to ``now`` while it is live."""
    return max(((session.ended_at or now) - session.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class _Session:
    """What every row is measured against: the latest processed frame, the absence threshold, the session's length."""

    latest: datetime | None
    grace: timedelta
    length: float


def _outcome(*, joined: bool, last_seen: datetime | None, session: _Session) -> str:
    if not joined:
        return NEVER_JOINED
    if last_seen is None:
        return NEVER_IN_VIEW
    if session.latest is not None and last_seen < session.latest - session.grace:
        return LEFT_EARLY
    return PRESENT_TO_END


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _last_in_view(participant: Participant) -> datetime | None:
    """When the participant's face was last in view: their last observation that was no still picture, or where no
    observation is stored (``aggregate``, or purged by retention) when they were last seen at all."""
    if participant.latest_band is None:  # type: ignore[attr-defined]
        return participant.last_seen_at
    return participant.last_moving_at  # type: ignore[attr-defined]


def _row(*, name: str, participants: list[Participant], seconds_by_minute: dict[datetime, float], session: _Session) -> dict[str, Any]:
    seen = [moment for moment in map(_last_in_view, participants) if moment is not None]
    last_seen = max(seen) if seen else None
    joins = [min(p.created_at, p.first_seen_at) if p.first_seen_at else p.created_at for p in participants]  # type: ignore[attr-defined]
    if not participants:
        status = NEVER_JOINED
    elif any(
        session.latest is not None and p.last_seen_at is not None and p.last_seen_at >= session.latest and p.latest_band != STILL  # type: ignore[attr-defined]
        for p in participants
    ):
        status = PRESENT  # a still picture in their tile (classroom/stillness.py) is not the student present
    else:
        status = ABSENT
    outcome = _outcome(joined=bool(participants), last_seen=last_seen, session=session)
    return {
        "name": name,
        "participants": [p.pk for p in participants],
        "status": status,
        "status_label": STATUS_LABELS[status],
        "outcome": outcome,
        "outcome_label": OUTCOME_LABELS[outcome],
        "joined_at": _iso(min(joins)) if joins else None,
        "last_seen_at": _iso(last_seen),
        "present_seconds": round(sum(seconds_by_minute.values()), 1),
        **present_share(present_seconds=sum(seconds_by_minute.values()), session_seconds=session.length),
    }


def session_attendance(*, session: ClassSession, now: datetime | None = None) -> dict[str, Any]:
    """The session's attendance as the module describes it, within the course's policy.

    Returns ``counts`` (now: ``expected`` = ``present`` + ``absent`` + ``never_joined``; looking back: ``expected`` =
    ``present_to_end`` + ``left_early`` + ``never_in_view`` + ``never_joined``; and ``others_present``,
    ``others_absent``, ``opted_out``), the session's length, and where per-student figures are
    allowed ``students`` (every roster student not opted out, by name: ``status`` now, ``outcome`` looking back,
    joined and last-seen times, minutes present and their share) and ``others`` (participants on no roster, the
    same fields); both lists are empty under ``aggregate``.
    """
    now = now or timezone.now()
    policy = course_policy(course=session.course)
    roster = list(Student.objects.filter(course_id=session.course_id).order_by("name", "pk"))
    first_seen = Observation.objects.filter(participant=OuterRef("pk")).order_by("captured_at").values("captured_at")[:1]
    latest_band = Observation.objects.filter(participant=OuterRef("pk")).order_by("-captured_at", "-pk").values("engagement_band")[:1]
    moving = Observation.objects.filter(participant=OuterRef("pk")).exclude(engagement_band=STILL)
    last_moving = moving.order_by("-captured_at").values("captured_at")[:1]
    participants = list(
        Participant.objects.filter(session=session)
        .exclude(student__opted_out=True)
        .annotate(first_seen_at=Subquery(first_seen), latest_band=Subquery(latest_band), last_moving_at=Subquery(last_moving))
        .order_by("display_name", "pk")
    )
    latest = ClassSample.objects.filter(session=session).order_by("-captured_at", "-pk").values_list("captured_at", flat=True).first()
    per_participant: dict[int, dict[datetime, float]] = defaultdict(dict)
    rollups = MinuteRollup.objects.filter(session=session, participant__isnull=False).values_list("participant_id", "minute", "seconds")
    for participant_id, minute, seconds in rollups:
        per_participant[participant_id][minute] = seconds
    length = session_seconds(session=session, now=now)
    measure = _Session(latest=latest, grace=timedelta(seconds=thresholds_for(course=session.course).absent_seconds), length=length)
    by_student: dict[int, list[Participant]] = defaultdict(list)
    for participant in participants:
        if participant.student_id is not None:
            by_student[participant.student_id].append(participant)
    students = []
    for student in roster:
        if student.opted_out:
            continue
        linked = by_student.get(student.pk, [])
        minutes: dict[datetime, float] = {}
        for view in linked:  # two views of one student in the same minute count once
            for minute, seconds in per_participant.get(view.pk, {}).items():
                minutes[minute] = max(minutes.get(minute, 0.0), seconds)
        row = _row(name=student.name, participants=linked, seconds_by_minute=minutes, session=measure)
        students.append({"student": student.pk, "student_id": student.external_id or str(student.pk), **row})
    unlisted = [p for p in participants if p.student_id is None]
    others = [
        {"participant": p.pk, **_row(name=p.display_name, participants=[p], seconds_by_minute=per_participant[p.pk], session=measure)}
        for p in unlisted
    ]
    counts = {
        "expected": len(students),
        "present": sum(row["status"] == PRESENT for row in students),
        "absent": sum(row["status"] == ABSENT for row in students),
        "never_joined": sum(row["status"] == NEVER_JOINED for row in students),
        "present_to_end": sum(row["outcome"] == PRESENT_TO_END for row in students),
        "left_early": sum(row["outcome"] == LEFT_EARLY for row in students),
        "never_in_view": sum(row["outcome"] == NEVER_IN_VIEW for row in students),
        "others_present": sum(row["status"] == PRESENT for row in others),
        "others_absent": sum(row["status"] == ABSENT for row in others),
        "opted_out": sum(student.opted_out for student in roster),
    }
    per_student = per_student_allowed(policy=policy)
    return {
        "policy": policy,
        "per_student": per_student,
        "counts": counts,
        "session_seconds": round(length, 1),
        "session_minutes": round(length / 60, 1),
        "latest_captured_at": _iso(latest),
        "students": students if per_student else [],
        "others": others if per_student else [],
    }


def attendance_event(*, session: ClassSession, now: datetime | None = None) -> dict[str, Any]:
    """The ``attendance`` dashboard event: :func:`session_attendance` (the dashboard socket redacts it as well)."""
    return {"type": "attendance", "session": session.pk, "attendance": session_attendance(session=session, now=now)}


def attendance_after_frame(*, session: ClassSession, present: set[int], absent: set[int]) -> None:
    """After a stored frame, tell the dashboards the attendance if who is here changed; call inside the frame's transaction.

    ``present`` are the participants seen in the frame, ``absent`` the session's others. The last set sent is kept in
    Redis, so a class that sits still costs one Redis call a frame; the minutes present follow with each rollup
    refresh (:func:`classroom.rollups.rollups_refresh`).
    """
    signature = json.dumps([sorted(present), sorted(absent)])
    previous = live_state.client().set(live_state.key("attendance", session.pk), signature, ex=SIGNATURE_TTL_SECONDS, get=True)
    previous = previous.decode() if isinstance(previous, bytes) else previous
    if previous != signature:
        publish_built_on_commit(session_id=session.pk, build=lambda: attendance_event(session=session))
