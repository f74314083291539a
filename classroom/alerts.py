"""Alerts: evaluated on the server, in this one module, as frames are stored (and by a periodic uploads check).

Kinds (thresholds per course, defaults in settings ``ALERT_*``):

- ``absent``: a student's face missing from their tile for ``absent_seconds`` while frames keep arriving
  (time without any upload does not count: that is ``uploads_stopped``);
- ``not_engaged``: a student's displayed (smoothed) band "not engaged" for ``not_engaged_seconds``;
- ``class_drop``: the class indicator over the last minute ``class_drop`` below its own mean over the five
  minutes before (needs three of those minutes);
- ``class_low``: the class indicator over the last minute below ``class_floor``;
- ``uploads_stopped``: no frame received for ``uploads_stopped_seconds`` while the session is live.

An alert is a row, raised once and not again until it clears; every raise, clear and acknowledgement is
sent to open dashboards after commit. Policy: under ``aggregate`` no per-student alert is raised (and class
alerts need ``AGGREGATE_MIN_GROUP`` present); under ``attention`` every kind here exists, since all of them
come from presence and head pose.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from classroom import live_state
from classroom.events import publish_on_commit
from classroom.models import Alert, ClassSample, ClassSession, Course, Participant
from classroom.policy import AGGREGATE_MIN_GROUP, course_policy, per_student_allowed

CLASS_WINDOW = timedelta(seconds=60)
CLASS_BASELINE = timedelta(minutes=5)
CLASS_BASELINE_MIN = timedelta(minutes=3)
CLASS_CHECK_EVERY_SECONDS = 10
STATE_TTL_SECONDS = 6 * 3600
STUDENT_STATE_KIND = "alerts"  # live_state kinds: each student's, and the session's stream of frames
STREAM_STATE_KIND = "alerts:stream"


@dataclass(frozen=True)
class Thresholds:
    """When each alert kind is raised, for one course."""

    absent_seconds: int
    not_engaged_seconds: int
    class_drop: float
    class_floor: float
    uploads_stopped_seconds: int


# field → (smallest, largest) a teacher may set; the form and the model's admin use these.
THRESHOLD_LIMITS: dict[str, tuple[float, float]] = {
    "absent_seconds": (10, 3600),
    "not_engaged_seconds": (10, 3600),
    "class_drop": (0.05, 1.0),
    "class_floor": (0.0, 1.0),
    "uploads_stopped_seconds": (10, 600),
}


def thresholds_for(*, course: Course) -> Thresholds:
    """The course's thresholds, each falling back to the deployment default."""
    defaults = settings.ALERT_DEFAULTS

    def value(name: str) -> Any:
        own = getattr(course, f"alert_{name}")
        return defaults[name] if own is None else own

    return Thresholds(
        absent_seconds=int(value("absent_seconds")),
        not_engaged_seconds=int(value("not_engaged_seconds")),
        class_drop=float(value("class_drop")),
        class_floor=float(value("class_floor")),
        uploads_stopped_seconds=int(value("uploads_stopped_seconds")),
    )


def alert_payload(alert: Alert) -> dict[str, Any]:
    """An alert as dashboards, timelines and reports receive it."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "label": alert.get_kind_display(),
        "participant": alert.participant_id,
        "name": alert.participant.display_name if alert.participant_id and alert.participant else None,
        "raised_at": alert.raised_at.isoformat(),
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "detail": alert.detail,
    }


def _publish(alert: Alert) -> None:
    publish_on_commit(session_id=alert.session_id, event={"type": "alert", "alert": alert_payload(alert)})


def _raise(*, session_id: int, kind: str, at: datetime, participant: Participant | None = None, detail: Mapping[str, Any]) -> Alert | None:
    """Open an alert unless one of its kind is already open (two workers racing: the database keeps one)."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(session_id=session_id, participant=participant, kind=kind, raised_at=at, detail=dict(detail))
    except IntegrityError:
        return None
    _publish(alert)
    return alert


def _clear(alert: Alert, *, at: datetime) -> None:
    alert.cleared_at = max(at, alert.raised_at)
    alert.save(update_fields=["cleared_at"])
    _publish(alert)


def _open_alerts(session_id: int) -> dict[tuple[int | None, str], Alert]:
    opened = Alert.objects.filter(session_id=session_id, cleared_at__isnull=True).select_related("participant", "acknowledged_by")
    return {(alert.participant_id, alert.kind): alert for alert in opened}


# ---- per-frame evaluation ---------------------------------------------------------------------------


def _stream_start(session_id: int, at: datetime, gap_seconds: int) -> float:
    """When the current unbroken stream of frames began: absence is only counted while frames arrive."""
    [raw] = live_state.states_load(kind=STREAM_STATE_KIND, ids=[session_id])
    state = json.loads(raw) if raw else None
    t = at.timestamp()
    if state is None or t - state["last"] > gap_seconds or t < state["start"]:
        state = {"start": t, "last": t}
    state["last"] = max(state["last"], t)
    live_state.states_save(kind=STREAM_STATE_KIND, states={session_id: json.dumps(state)}, ttl_seconds=STATE_TTL_SECONDS)
    return float(state["start"])


@dataclass
class _StudentState:
    not_engaged_since: float | None = None


def alerts_after_frame(
    *, session: ClassSession, captured_at: datetime, bands: Mapping[int, str], absent: Iterable[tuple[Participant, datetime | None]]
) -> None:
    """Evaluate every alert a stored frame can raise or clear; call inside the frame's transaction.

    ``bands`` is each present participant's displayed (smoothed) band; ``absent`` the session's other
    participants with when they were last seen.
    """
    thresholds = thresholds_for(course=session.course)
    policy = course_policy(course=session.course)
    opened = _open_alerts(session.pk)
    stream_start = _stream_start(session.pk, captured_at, thresholds.uploads_stopped_seconds)
    if per_student_allowed(policy=policy):
        _student_alerts(session, captured_at, bands, list(absent), thresholds, opened, stream_start)
    if live_state.client().set(live_state.key("alerts", "classcheck", session.pk), 1, nx=True, ex=CLASS_CHECK_EVERY_SECONDS):
        _class_alerts(session, captured_at, thresholds, opened, policy)
    uploads = opened.get((None, Alert.Kind.UPLOADS_STOPPED))
    if uploads is not None:
        _clear(uploads, at=timezone.now())


def _student_alerts(
    session: ClassSession,
    at: datetime,
    bands: Mapping[int, str],
    absent: list[tuple[Participant, datetime | None]],
    thresholds: Thresholds,
    opened: dict[tuple[int | None, str], Alert],
    stream_start: float,
) -> None:
    t = at.timestamp()
    ids = [*bands, *(participant.pk for participant, _ in absent)]
    stored = live_state.states_load(kind=STUDENT_STATE_KIND, ids=ids)
    states = {pid: _StudentState(**json.loads(raw)) if raw else _StudentState() for pid, raw in zip(ids, stored, strict=True)}
    for pid, band in bands.items():
        state = states[pid]
        if (gone := opened.get((pid, Alert.Kind.ABSENT))) is not None:
            _clear(gone, at=at)
        if band == "not_engaged":
            state.not_engaged_since = state.not_engaged_since if state.not_engaged_since is not None else t
            lasted = t - state.not_engaged_since
            if lasted >= thresholds.not_engaged_seconds and (pid, Alert.Kind.NOT_ENGAGED) not in opened:
                since = datetime.fromtimestamp(state.not_engaged_since, tz=at.tzinfo)
                _raise(
                    session_id=session.pk,
                    kind=Alert.Kind.NOT_ENGAGED,
                    at=at,
                    participant=Participant.objects.get(pk=pid),  # fetched only when raising: not on every frame
                    detail={"since": since.isoformat(), "threshold_seconds": thresholds.not_engaged_seconds},
                )
        else:
            state.not_engaged_since = None
            if (lapsed := opened.get((pid, Alert.Kind.NOT_ENGAGED))) is not None:
                _clear(lapsed, at=at)
    for participant, last_seen in absent:
        state = states[participant.pk]
        state.not_engaged_since = None
        if (lapsed := opened.get((participant.pk, Alert.Kind.NOT_ENGAGED))) is not None:
            _clear(lapsed, at=at)  # gone, not disengaged: the absence alert takes over
        gone_since = max(last_seen.timestamp() if last_seen else stream_start, stream_start)
        if t - gone_since >= thresholds.absent_seconds and (participant.pk, Alert.Kind.ABSENT) not in opened:
            _raise(
                session_id=session.pk,
                kind=Alert.Kind.ABSENT,
                at=at,
                participant=participant,
                detail={"last_seen_at": last_seen.isoformat() if last_seen else None, "threshold_seconds": thresholds.absent_seconds},
            )
    live_state.states_save(
        kind=STUDENT_STATE_KIND, states={pid: live_state.state_json(s) for pid, s in states.items()}, ttl_seconds=STATE_TTL_SECONDS
    )


def _class_alerts(
    session: ClassSession, at: datetime, thresholds: Thresholds, opened: dict[tuple[int | None, str], Alert], policy: str
) -> None:
    samples = ClassSample.objects.filter(session=session, captured_at__lte=at)
    recent = samples.filter(captured_at__gt=at - CLASS_WINDOW).aggregate(
        engagement=Sum("engagement_sum"), faces=Sum("present"), present=Max("present")
    )
    before = samples.filter(captured_at__gt=at - CLASS_WINDOW - CLASS_BASELINE, captured_at__lte=at - CLASS_WINDOW).aggregate(
        engagement=Sum("engagement_sum"), faces=Sum("present"), first=Min("captured_at"), last=Max("captured_at")
    )
    now_mean = recent["engagement"] / recent["faces"] if recent["faces"] else None
    if now_mean is None or (not per_student_allowed(policy=policy) and recent["present"] < AGGREGATE_MIN_GROUP):
        return
    before["mean"] = before["engagement"] / before["faces"] if before["faces"] else None
    covered = before["first"] is not None and before["last"] - before["first"] >= CLASS_BASELINE_MIN
    drop = before["mean"] - now_mean if covered and before["mean"] is not None else None
    checks = [
        (Alert.Kind.CLASS_DROP, drop is not None and drop >= thresholds.class_drop, {"baseline": before["mean"], "now": now_mean}),
        (Alert.Kind.CLASS_LOW, now_mean < thresholds.class_floor, {"now": now_mean, "floor": thresholds.class_floor}),
    ]
    for kind, holds, figures in checks:
        current = opened.get((None, kind))
        if holds and current is None:
            detail = {
                key: round(value, 3) if isinstance(value, float) and math.isfinite(value) else value for key, value in figures.items()
            }
            _raise(session_id=session.pk, kind=kind, at=at, detail=detail)
        elif not holds and current is not None:
            _clear(current, at=at)


# ---- periodic and explicit changes ----------------------------------------------------------------


def uploads_check(*, now: datetime | None = None) -> int:
    """Raise ``uploads_stopped`` for live sessions without a recent frame, clear it where frames came back; returns raised."""
    now = now or timezone.now()
    raised = 0
    sessions = (
        ClassSession.objects.filter(status=ClassSession.Status.LIVE).select_related("course").annotate(last=Max("frame_logs__received_at"))
    )
    for session in sessions:
        thresholds = thresholds_for(course=session.course)
        last = session.last or session.started_at
        stopped = (now - last).total_seconds() >= thresholds.uploads_stopped_seconds
        open_alert = Alert.objects.filter(session=session, participant=None, kind=Alert.Kind.UPLOADS_STOPPED, cleared_at=None)
        if stopped == open_alert.exists():
            continue  # as it should be: no transaction (on SQLite, the whole file's write lock) for a check every 5 s
        with transaction.atomic():
            current = open_alert.first()
            if stopped and current is None:
                detail = {
                    "last_frame_at": session.last.isoformat() if session.last else None,
                    "threshold_seconds": thresholds.uploads_stopped_seconds,
                }
                raised += _raise(session_id=session.pk, kind=Alert.Kind.UPLOADS_STOPPED, at=now, detail=detail) is not None
            elif not stopped and current is not None:
                _clear(current, at=now)
    return raised


def alerts_clear_all(*, session: ClassSession, at: datetime) -> None:
    """Clear every open alert of a session (it ended)."""
    for alert in Alert.objects.filter(session=session, cleared_at__isnull=True).select_related("participant"):
        _clear(alert, at=at)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user: User) -> Alert:
    """The teacher has seen it: recorded once (acknowledging again changes nothing), dashboards told."""
    locked = Alert.objects.select_for_update().select_related("participant", "acknowledged_by").get(pk=alert.pk)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = user
        locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
        _publish(locked)
    return locked
