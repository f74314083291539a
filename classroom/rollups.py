"""Per-minute rollups: one summary of every participant's minute (and the class's), read by every history.

The live page's whole-session charts, the drill-down, session reports, exports and course trends read
:class:`~classroom.models.MinuteRollup` rows, so a two-hour class is 120 rows per participant rather
than 7,200 observations, and the rows outlive the raw series' retention period.

Rows are recomputed from the stored frames, class samples (class rows) and observations (participant
rows), deleting and inserting in one transaction, so running twice, or again after late frames, gives
the same rows. Each processed frame is credited with the time to the next processed frame, at most
:data:`MAX_FRAME_CREDIT_SECONDS` (a stalled stream is not counted as presence); the last frame gets the
median credit. Under the ``aggregate`` policy no observation is stored, so only class rows are written;
under ``attention`` nothing carries an expression, so none is counted.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from classroom.models import ClassSample, ClassSession, FrameLog, MinuteRollup, Observation
from classroom.policy import course_policy, per_student_allowed

MAX_FRAME_CREDIT_SECONDS = 5.0
MINUTE = timedelta(minutes=1)
# Recompute this far back each time: frames may be processed a little after later ones.
LATE_FRAMES = timedelta(minutes=2)
BANDS = ("engaged", "partly", "not_engaged")


def minute_of(moment: datetime) -> datetime:
    """The start of ``moment``'s minute."""
    return moment.replace(second=0, microsecond=0)


def _frame_credits(times: list[datetime]) -> dict[datetime, float]:
    if not times:
        return {}
    gaps = [min((later - earlier).total_seconds(), MAX_FRAME_CREDIT_SECONDS) for earlier, later in itertools.pairwise(times)]
    last = statistics.median(gaps) if gaps else 1.0
    return dict(zip(times, [*gaps, last], strict=True))


def _empty() -> dict[str, Any]:
    return {
        "samples": 0,
        "seconds": 0.0,
        "person_seconds": 0.0,
        "engagement_seconds": 0.0,
        "bands": defaultdict(float),
        "expressions": defaultdict(int),
    }


def _row(session_id: int, participant_id: int | None, minute: datetime, acc: dict[str, Any]) -> MinuteRollup:
    return MinuteRollup(
        session_id=session_id,
        participant_id=participant_id,
        minute=minute,
        samples=acc["samples"],
        seconds=round(acc["seconds"], 3),
        person_seconds=round(acc["person_seconds"], 3),
        engagement_seconds=round(acc["engagement_seconds"], 4),
        engaged_seconds=round(acc["bands"]["engaged"], 3),
        partly_seconds=round(acc["bands"]["partly"], 3),
        not_engaged_seconds=round(acc["bands"]["not_engaged"], 3),
        expressions=dict(sorted(acc["expressions"].items())),
    )


@transaction.atomic
def rollups_compute(*, session: ClassSession, start: datetime, end: datetime) -> int:
    """Recompute the rollups of the minutes from ``start``'s to ``end``'s (inclusive); returns the rows written."""
    first, last = minute_of(start), minute_of(end)
    upto = last + MINUTE
    frame_times = list(
        FrameLog.objects.filter(session=session, status=FrameLog.Status.PROCESSED, captured_at__gte=first, captured_at__lt=upto + MINUTE)
        .order_by("captured_at")
        .values_list("captured_at", flat=True)
        .distinct()
    )
    credits = _frame_credits(frame_times)
    classes: dict[datetime, dict[str, Any]] = defaultdict(_empty)
    people: dict[tuple[int, datetime], dict[str, Any]] = defaultdict(_empty)
    for moment, credit in credits.items():
        if moment < upto:
            row = classes[minute_of(moment)]
            row["samples"] += 1
            row["seconds"] += credit
    samples = ClassSample.objects.filter(session=session, captured_at__gte=first, captured_at__lt=upto)
    for sample in samples.iterator():
        credit = credits.get(sample.captured_at, 1.0)
        row = classes[minute_of(sample.captured_at)]
        row["person_seconds"] += sample.present * credit
        row["engagement_seconds"] += sample.engagement_sum * credit
        for band, faces in sample.bands.items():
            if band in BANDS:
                row["bands"][band] += faces * credit
        for expression, faces in sample.expressions.items():
            row["expressions"][expression] += faces
    observations = Observation.objects.filter(session=session, captured_at__gte=first, captured_at__lt=upto).values_list(
        "participant_id", "captured_at", "engagement", "engagement_band", "expression"
    )
    for participant_id, moment, engagement, band, expression in observations.iterator():
        credit = credits.get(moment, 1.0)
        acc = people[participant_id, minute_of(moment)]
        acc["samples"] += 1
        acc["seconds"] += credit
        acc["engagement_seconds"] += engagement * credit
        if band in BANDS:
            acc["bands"][band] += credit
        if expression:
            acc["expressions"][expression] += 1
    rows = [_row(session.pk, None, minute, acc) for minute, acc in classes.items()]
    if per_student_allowed(policy=course_policy(course=session.course)):
        rows += [_row(session.pk, participant_id, minute, acc) for (participant_id, minute), acc in people.items()]
    MinuteRollup.objects.filter(session=session, minute__gte=first, minute__lt=upto).delete()
    MinuteRollup.objects.bulk_create(rows)
    return len(rows)


def rollups_refresh(*, session: ClassSession, now: datetime | None = None, full: bool = False) -> int:
    """Bring a session's rollups up to date: from a little before the last rolled minute (or all of it) to now."""
    now = now or timezone.now()
    latest = MinuteRollup.objects.filter(session=session, participant=None).aggregate(latest=Max("minute"))["latest"]
    # Capture times come from the client's clock: the first frame may predate the session's start.
    span = FrameLog.objects.filter(session=session).aggregate(first=Min("captured_at"), last=Max("captured_at"))
    origin = min(session.started_at, span["first"] or session.started_at)
    start = origin if full or latest is None else max(origin, latest - LATE_FRAMES)
    end = max(now if session.is_live else session.ended_at or now, span["last"] or start)
    return rollups_compute(session=session, start=min(start, end), end=end)


def rollups_refresh_active(*, now: datetime | None = None) -> int:
    """Refresh live sessions and those that ended in the last few minutes (the periodic task)."""
    now = now or timezone.now()
    sessions = ClassSession.objects.filter(status=ClassSession.Status.LIVE) | ClassSession.objects.filter(ended_at__gte=now - LATE_FRAMES)
    return sum(rollups_refresh(session=session, now=now) for session in sessions.select_related("course"))
