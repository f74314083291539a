"""Reads from the classroom domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Avg, Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncSecond

from classroom.engagement import ABSENT
from classroom.models import EXPRESSIONS, ClassSession, Course, FrameLog, Observation, Participant
from classroom.services import token_hash


def user_is_admin(*, user: User | AnonymousUser) -> bool:
    """Admins (staff) see every course."""
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def course_list_for_user(*, user: User) -> QuerySet[Course]:
    """Courses ``user`` may see: their own, or all for an admin."""
    courses = Course.objects.select_related("teacher")
    return courses if user_is_admin(user=user) else courses.filter(teacher=user)


def session_visible_to(*, session: ClassSession, user: User | AnonymousUser) -> bool:
    """Only the course's teacher or an admin may watch a session."""
    if not user.is_authenticated:
        return False
    return user_is_admin(user=user) or session.course.teacher_id == user.pk


def session_by_token(*, token: str) -> ClassSession | None:
    """The session whose ingest token is ``token``, if any."""
    return ClassSession.objects.select_related("course").filter(ingest_token_hash=token_hash(token)).first()


# dashboard reads ------------------------------------------------------------------------------------


def session_get_for_user(*, session_id: int, user: User | AnonymousUser) -> ClassSession | None:
    """The session ``session_id`` if ``user`` may watch it (its course's teacher or an admin), else ``None``."""
    session = ClassSession.objects.select_related("course", "course__teacher").filter(pk=session_id).first()
    if session is None or not session_visible_to(session=session, user=user):
        return None
    return session


def session_list_for_course(*, course: Course) -> QuerySet[ClassSession]:
    """The course's sessions, newest first."""
    return ClassSession.objects.filter(course=course).order_by("-started_at")


def _probabilities_by_name(probabilities: list[float] | None) -> dict[str, float] | None:
    return None if probabilities is None else dict(zip(EXPRESSIONS, probabilities, strict=True))


def _expression_mix(observations: list[Observation]) -> dict[str, float] | None:
    """Mean apparent-expression probabilities over ``observations``; ``None`` when none carry probabilities."""
    rows = [o.probabilities for o in observations if o.probabilities is not None]
    if not rows:
        return None
    return {name: sum(row[i] for row in rows) / len(rows) for i, name in enumerate(EXPRESSIONS)}


def _participant_state(participant: Participant, observation: Observation | None, *, present: bool) -> dict[str, Any]:
    state: dict[str, Any] = {
        "participant": participant.pk,
        "name": participant.display_name,
        "present": present,
        "last_seen_at": participant.last_seen_at.isoformat() if participant.last_seen_at else None,
        "expression": None,
        "confidence": None,
        "probabilities": None,
        "engagement": None,
        "band": ABSENT,
        "box": None,
        "yaw": None,
        "pitch": None,
    }
    if observation is not None:
        state.update(
            expression=observation.expression or None,
            confidence=observation.confidence,
            probabilities=_probabilities_by_name(observation.probabilities),
            engagement=observation.engagement,
            band=observation.engagement_band if present else ABSENT,
            box=observation.box,
            yaw=observation.yaw,
            pitch=observation.pitch,
        )
    return state


def _frame_counts(*, session: ClassSession) -> dict[str, int]:
    lost = [FrameLog.Status.DROPPED, FrameLog.Status.EXPIRED, FrameLog.Status.ERROR]
    return FrameLog.objects.filter(session=session).aggregate(
        received=Count("pk"),
        processed=Count("pk", filter=Q(status=FrameLog.Status.PROCESSED)),
        dropped=Count("pk", filter=Q(status__in=lost)),
    )


def session_history(*, session: ClassSession, since_seconds: int) -> dict[str, Any]:
    """What a dashboard needs on (re)connect, so a reload loses nothing.

    The window is the ``since_seconds`` before the session's latest observation (so an ended session still
    shows its last minutes). Returns the class engagement series as per-second means (with the number of
    participants seen in that second), the class figures of the latest frame (expression mix, engagement,
    present), every participant's latest state (``band`` is ``absent`` unless seen in the latest frame), and
    the frame counters. Unredacted: the caller applies the privacy policy.
    """
    observations = Observation.objects.filter(session=session)
    latest = observations.aggregate(latest=Max("captured_at"))["latest"]
    series: list[dict[str, Any]] = []
    latest_frame: list[Observation] = []
    if latest is not None:
        buckets = (
            observations.filter(captured_at__gt=latest - timedelta(seconds=since_seconds))
            .annotate(second=TruncSecond("captured_at"))
            .values("second")
            .annotate(engagement=Avg("engagement"), present=Count("participant", distinct=True))
            .order_by("second")
        )
        series = [{"t": b["second"].isoformat(), "engagement": b["engagement"], "present": b["present"]} for b in buckets]
        latest_frame = list(observations.filter(captured_at=latest))
    latest_obs_id = Observation.objects.filter(participant=OuterRef("pk")).order_by("-captured_at", "-pk").values("pk")[:1]
    participants = list(Participant.objects.filter(session=session).annotate(latest_obs_id=Subquery(latest_obs_id)))
    latest_by_id = Observation.objects.in_bulk([p.latest_obs_id for p in participants if p.latest_obs_id is not None])
    present_ids = {o.participant_id for o in latest_frame}
    return {
        "session": session.pk,
        "status": session.status,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "since_seconds": since_seconds,
        "latest_captured_at": latest.isoformat() if latest is not None else None,
        "series": series,
        "class": {
            "expression_mix": _expression_mix(latest_frame),
            "engagement": sum(o.engagement for o in latest_frame) / len(latest_frame) if latest_frame else None,
            "present": len(present_ids),
        },
        "participants": [_participant_state(p, latest_by_id.get(p.latest_obs_id), present=p.pk in present_ids) for p in participants],
        "frames": _frame_counts(session=session),
    }


def session_frame_counts(*, session_id: int) -> dict[str, int]:
    """Frames received, processed and dropped (dropped, expired or failed) for a session."""
    lost = [FrameLog.Status.DROPPED, FrameLog.Status.EXPIRED, FrameLog.Status.ERROR]
    counts = FrameLog.objects.filter(session_id=session_id).aggregate(
        received=Count("pk"),
        processed=Count("pk", filter=Q(status=FrameLog.Status.PROCESSED)),
        dropped=Count("pk", filter=Q(status__in=lost)),
    )
    return {key: int(value or 0) for key, value in counts.items()}
