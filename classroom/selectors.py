"""Reads from the classroom domain."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncSecond
from django.utils import timezone

from classroom import live_state
from classroom.admission import session_sampling
from classroom.alerts import alert_payload
from classroom.attendance import session_attendance
from classroom.cards import card_values
from classroom.engagement import ABSENT, engagement_band
from classroom.models import EXPRESSIONS, Alert, ClassSample, ClassSession, Course, Flag, FrameLog, MinuteRollup, Observation, Participant
from classroom.policy import FULL, course_policy, per_student_allowed
from classroom.rollups import minute_payload, session_mix_so_far
from classroom.samples import class_figures
from classroom.services import flag_payload, token_hash
from classroom.smoothing import Smoothed, smooth_series, smoothed_load
from classroom.stillness import STILL


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
    """The session whose ingest token, or one of whose paired clients' credentials, is ``token``, if any."""
    hashed = token_hash(token)
    sessions = ClassSession.objects.select_related("course")
    return sessions.filter(ingest_token_hash=hashed).first() or sessions.filter(credentials__token_hash=hashed).first()


def frame_result(*, session: ClassSession, frame_id: str) -> dict[str, Any] | None:
    """What became of one uploaded frame, for the client that sent it: status, and each face found within the course's policy.

    ``None`` if the session has no such frame. Under ``aggregate`` no face is described (none is stored);
    under ``attention`` faces carry no expression.
    """
    log = FrameLog.objects.filter(session=session, frame_id=frame_id).first()
    if log is None:
        return None
    policy = course_policy(course=session.course)
    faces = []
    if log.status == FrameLog.Status.PROCESSED and per_student_allowed(policy=policy):
        observations = Observation.objects.filter(session=session, captured_at=log.captured_at).select_related("participant")
        for observation in observations.order_by("pk"):
            face: dict[str, Any] = {
                "name": observation.participant.display_name,
                "box": observation.box,
                "engagement": observation.engagement,
                "band": observation.engagement_band,
                "expression": None,
                "confidence": None,
                "low_resolution": observation.low_resolution,
            }
            if policy == FULL:
                face.update(expression=observation.expression or None, confidence=observation.confidence)
            faces.append(face)
    return {
        "frame_id": log.frame_id,
        "status": log.status,
        "faces_found": log.faces_found,
        "faces": faces,
        "reason": log.detail.get("reason"),
        "latency_ms": log.latency_ms,
    }


# dashboard reads ------------------------------------------------------------------------------------


def session_get_for_user(*, session_id: int, user: User | AnonymousUser) -> ClassSession | None:
    """The session ``session_id`` if ``user`` may watch it (its course's teacher or an admin), else ``None``."""
    session = ClassSession.objects.select_related("course", "course__teacher").filter(pk=session_id).first()
    if session is None or not session_visible_to(session=session, user=user):
        return None
    return session


def session_list_for_admin(
    *, course_id: int | None = None, teacher_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[ClassSession]:
    """Every session, filtered by course, teacher and start date range, newest first (the admin's list)."""
    sessions = ClassSession.objects.select_related("course", "course__teacher").order_by("-started_at")
    if course_id is not None:
        sessions = sessions.filter(course_id=course_id)
    if teacher_id is not None:
        sessions = sessions.filter(course__teacher_id=teacher_id)
    if since is not None:
        sessions = sessions.filter(started_at__gte=since)
    if until is not None:
        sessions = sessions.filter(started_at__lt=until)
    return sessions


def session_list_for_course(*, course: Course) -> QuerySet[ClassSession]:
    """The course's sessions, newest first."""
    return ClassSession.objects.filter(course=course).order_by("-started_at")


def _probabilities_by_name(probabilities: list[float] | None) -> dict[str, float] | None:
    return None if probabilities is None else dict(zip(EXPRESSIONS, probabilities, strict=True))


def _participant_state(
    participant: Participant, observation: Observation | None, *, present: bool, smoothed: Smoothed | None
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "participant": participant.pk,
        "name": participant.display_name,
        "painted_name": participant.painted_name,
        "present": present,
        "last_seen_at": participant.last_seen_at.isoformat() if participant.last_seen_at else None,
        "expression": None,
        "confidence": None,
        "probabilities": None,
        "engagement": None,
        "band": "present" if present else ABSENT,  # present but with no stored figures (the aggregate policy)
        "box": None,
        "yaw": None,
        "pitch": None,
        "low_resolution": False,
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
            low_resolution=observation.low_resolution,
        )
        if present:
            # What the card displays, by the code the live events use: a reload shows what the page showed.
            state["smoothed"] = card_values(observation=observation, smoothed=smoothed)
    return state


ABSENT_SPAN_SECONDS = 10
SMOOTHING_WARMUP_SECONDS = 60  # readings folded in before a drill-down's window: the average settles in a few time constants
SERIES_GAP_SECONDS = 10  # seconds without a class sample that break the class engagement line: no frames, no figure


def _series_point(second: datetime, engagement_sum: float, faces: int, present: int, previous: datetime | None) -> dict[str, Any]:
    """One second of the class engagement series: the mean over every face scored in it (with the most faces scored in
    one frame of it), and ``gap_before`` when the second before it with any sample lies more than
    :data:`SERIES_GAP_SECONDS` back (charts break the line there)."""
    return {
        "t": second.isoformat(),
        "engagement": engagement_sum / faces if faces else None,
        "present": present,
        "gap_before": previous is not None and (second - previous).total_seconds() > SERIES_GAP_SECONDS,
    }


def _series_buckets(samples: QuerySet[ClassSample]) -> QuerySet[Any]:
    return (
        samples.annotate(second=TruncSecond("captured_at"))
        .values("second")
        .annotate(engagement_sum=Sum("engagement_sum"), faces=Sum("present"), present=Max("present"))
        .order_by("second")
    )


def session_series_point(*, session_id: int, captured_at: datetime) -> dict[str, Any] | None:
    """The class engagement series' point of ``captured_at``'s second, as the history computes it (the live event sends
    it, so the page draws what a reload would); ``None`` before any class sample of that second is stored."""
    samples = ClassSample.objects.filter(session_id=session_id)
    second = captured_at.replace(microsecond=0)
    bucket = _series_buckets(samples.filter(captured_at__gte=second, captured_at__lt=second + timedelta(seconds=1))).first()
    if bucket is None:
        return None
    before = samples.filter(captured_at__lt=second).order_by("-captured_at").values_list("captured_at", flat=True).first()
    previous = before.replace(microsecond=0) if before is not None else None
    return _series_point(bucket["second"], bucket["engagement_sum"], bucket["faces"], bucket["present"], previous)


def session_history(*, session: ClassSession, since_seconds: int) -> dict[str, Any]:
    """What a dashboard needs on (re)connect, so a reload loses nothing.

    The window is the ``since_seconds`` before the session's latest observation (so an ended session still
    shows its last minutes). Returns the class engagement series as per-second means (with the most faces
    scored in one frame of that second, and where a gap breaks it: :func:`session_series_point`), the whole
    session as per-minute class rollups and its expression mix (:func:`session_mix_so_far`), the class figures
    of the latest frame (expression mix, engagement, present), every participant's latest state (``band`` is
    ``absent`` unless seen in the latest frame; ``age_seconds`` since they were last seen; ``smoothed`` what
    their card displays, as the live events say it), the attendance against the roster
    (:func:`classroom.attendance.session_attendance`), every alert and flag, and the frame counters. Unredacted: the caller applies
    the privacy policy.
    """
    samples = ClassSample.objects.filter(session=session)
    latest_sample = samples.order_by("-captured_at", "-pk").first()
    latest = latest_sample.captured_at if latest_sample is not None else None
    series: list[dict[str, Any]] = []
    if latest is not None:
        previous: datetime | None = None
        for b in _series_buckets(samples.filter(captured_at__gt=latest - timedelta(seconds=since_seconds))):
            series.append(_series_point(b["second"], b["engagement_sum"], b["faces"], b["present"], previous))
            previous = b["second"]
    latest_obs_id = Observation.objects.filter(participant=OuterRef("pk")).order_by("-captured_at", "-pk").values("pk")[:1]
    visible = Participant.objects.filter(session=session).exclude(student__opted_out=True)  # opted out: not shown at all
    participants = list(visible.annotate(latest_obs_id=Subquery(latest_obs_id)))
    latest_by_id = Observation.objects.in_bulk([p.latest_obs_id for p in participants if p.latest_obs_id is not None])
    smoothed: dict[int, Smoothed] = {}
    with contextlib.suppress(redis.RedisError):  # without Redis the cards show each latest observation as it was stored
        smoothed = smoothed_load(ids=[p.pk for p in participants])
    now = timezone.now()
    people = []
    for participant in participants:
        # Seen in the latest scored frame (or a newer one still being scored); kept under every policy.
        present = latest is not None and participant.last_seen_at is not None and participant.last_seen_at >= latest
        observation = latest_by_id.get(participant.latest_obs_id)
        person = _participant_state(participant, observation, present=present, smoothed=smoothed.get(participant.pk))
        person["age_seconds"] = round((now - participant.last_seen_at).total_seconds(), 1) if participant.last_seen_at else None
        people.append(person)
    return {
        "session": session.pk,
        "status": session.status,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "since_seconds": since_seconds,
        "latest_captured_at": latest.isoformat() if latest is not None else None,
        "series": series,
        "class": class_figures(sample=latest_sample),
        "participants": people,
        "minutes": [minute_payload(row) for row in MinuteRollup.objects.filter(session=session, participant=None)],
        "session_mix": session_mix_so_far(session=session, now=now),
        "attendance": session_attendance(session=session, now=now),
        "alerts": session_alerts(session=session),
        "flags": session_flags(session=session),
        "frames": session_frame_counts(session_id=session.pk),
        "server_time": now.isoformat(),
    }


LOST_STATUSES = (FrameLog.Status.DROPPED, FrameLog.Status.EXPIRED, FrameLog.Status.ERROR)  # closed without being read


def _frames_by_status(frames: QuerySet[FrameLog]) -> dict[str, int]:
    return dict(frames.order_by().values_list("status").annotate(n=Count("pk")))


def session_frame_counts(*, session_id: int) -> dict[str, int | float]:
    """Frames received, processed and dropped (dropped, expired or failed), in all and in the last minute; uploads refused for
    load; ``names_from_picture`` 1 when the latest upload said its client could not read names from the meeting page; and
    while uploads come, the door's rate for the class (:func:`classroom.admission.session_sampling`: ``max_fps``,
    ``wanted_fps``, ``reduced_rate``)."""
    frames = FrameLog.objects.filter(session_id=session_id)
    # Grouped by status, not a filtered count each: a class of an hour has 3,600 frames, read on every frame stored.
    # The last minute's come by the (session, received_at) index alone.
    total = _frames_by_status(frames)
    recent = _frames_by_status(frames.filter(received_at__gte=timezone.now() - timedelta(minutes=1)))
    counts: dict[str, int] = {}
    for suffix, by_status in (("", total), ("_last_minute", recent)):
        counts[f"received{suffix}"] = sum(by_status.values())
        counts[f"processed{suffix}"] = by_status.get(FrameLog.Status.PROCESSED, 0)
        counts[f"dropped{suffix}"] = sum(by_status.get(status, 0) for status in LOST_STATUSES)
    sampling: dict[str, float] = {}
    with contextlib.suppress(redis.RedisError):  # the counters live in Redis; without it the page still shows the rest
        counts["refused"] = sum(live_state.refusals(session_id=session_id).values())
        counts["names_from_picture"] = int(live_state.names_from(session_id=session_id) == "picture")
        sampling = session_sampling(session_id=session_id)
    return {**counts, **sampling}


def session_alerts(*, session: ClassSession, participant: Participant | None = None) -> list[dict[str, Any]]:
    """Every alert of the session (or of one participant), oldest first."""
    alerts = Alert.objects.filter(session=session).select_related("participant", "acknowledged_by")
    if participant is not None:
        alerts = alerts.filter(participant=participant)
    return [alert_payload(alert) for alert in alerts]


def session_flags(*, session: ClassSession) -> list[dict[str, Any]]:
    """The moments the teacher marked, oldest first."""
    return [flag_payload(flag) for flag in Flag.objects.filter(session=session)]


def participant_timeline(*, participant: Participant, recent_seconds: int) -> dict[str, Any]:
    """One participant's session: per-minute rollups, points for the recent minutes, absent spans, alerts, flags.

    A point's ``engagement`` and ``band`` are the smoothed ones the card's badge shows (:func:`classroom.smoothing.
    smooth_series`, folded from :data:`SMOOTHING_WARMUP_SECONDS` earlier so the average has settled), so the chart
    and the badge agree; ``raw_engagement`` is the frame's own reading. Absent spans are stretches of processed frames
    (at least :data:`ABSENT_SPAN_SECONDS`) in which the participant was not seen. Unredacted: the caller applies the
    privacy policy.
    """
    session = participant.session
    minutes = [minute_payload(row) for row in MinuteRollup.objects.filter(session=session, participant=participant)]
    seen = list(Observation.objects.filter(participant=participant).order_by("captured_at").values_list("captured_at", flat=True))
    frames = FrameLog.objects.filter(session=session, status=FrameLog.Status.PROCESSED).order_by("captured_at")
    spans: list[dict[str, str]] = []
    frame_times = list(frames.values_list("captured_at", flat=True))
    seen_set = set(seen)
    start = None
    for moment in frame_times:
        if moment in seen_set:
            if start is not None and (moment - start).total_seconds() >= ABSENT_SPAN_SECONDS:
                spans.append({"from": start.isoformat(), "to": moment.isoformat()})
            start = None
        elif start is None and seen and moment > seen[0]:
            start = moment
    if start is not None and frame_times and (frame_times[-1] - start).total_seconds() >= ABSENT_SPAN_SECONDS:
        spans.append({"from": start.isoformat(), "to": frame_times[-1].isoformat()})
    latest = seen[-1] if seen else None
    points = []
    if latest is not None:
        since = latest - timedelta(seconds=recent_seconds)
        warmup = since - timedelta(seconds=SMOOTHING_WARMUP_SECONDS)
        recent = list(Observation.objects.filter(participant=participant, captured_at__gt=warmup).order_by("captured_at"))
        moving = [o for o in recent if o.engagement_band != STILL]  # a still picture is not folded in, as live
        smoothed = dict(
            zip(
                [o.pk for o in moving],
                smooth_series([(o.captured_at.timestamp(), o.engagement) for o in moving], tau=settings.SMOOTHING_SECONDS),
                strict=True,
            )
        )
        points = [
            {
                "t": o.captured_at.isoformat(),
                # A still picture has none: a gap.
                "engagement": round(smoothed[o.pk], 4) if o.pk in smoothed else None,
                "band": engagement_band(smoothed[o.pk]) if o.pk in smoothed else o.engagement_band,
                "raw_engagement": None if o.engagement_band == STILL else o.engagement,
                "expression": o.expression or None,
                "confidence": o.confidence,
            }
            for o in recent
            if o.captured_at > since
        ]
    return {
        "participant": participant.pk,
        "name": participant.display_name,
        "session": session.pk,
        "minutes": minutes,
        "points": points,
        "absent_spans": spans,
        "alerts": session_alerts(session=session, participant=participant),
        "flags": session_flags(session=session),
    }
