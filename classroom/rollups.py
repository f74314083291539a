"""Per-minute rollups: one summary of every participant's minute (and the class's), read by every history.

The live page's whole-session charts, the drill-down, session reports, exports and course trends read
:class:`~classroom.models.MinuteRollup` rows, so a two-hour class is 120 rows per participant rather
than 7,200 observations, and the rows outlive the raw series' retention period.

Rows are recomputed from the stored frames, class samples (class rows) and observations (participant
rows), deleting and inserting in one transaction, so running twice, or again after late frames, gives
the same rows. Each processed frame is credited with the time to the next processed frame, at most
:data:`MAX_FRAME_CREDIT_SECONDS` (a stalled stream is not counted as presence); the last frame gets the
median credit. A still picture (:mod:`classroom.stillness`) counts as no one present, in class rows (its class
samples leave it out) and participant rows alike. Under the ``aggregate`` policy no observation is stored, so only class rows are written;
under ``attention`` nothing carries an expression, so none is counted.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from classroom.attendance import attendance_event
from classroom.events import publish_built_on_commit
from classroom.models import EXPRESSIONS, ClassSample, ClassSession, FrameLog, MinuteRollup, Observation
from classroom.policy import course_policy, expressions_allowed, per_student_allowed
from classroom.stillness import STILL

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


def _rollup_rows(*, session: ClassSession, first: datetime, upto: datetime, people: bool) -> list[MinuteRollup]:
    """The rollup rows (unsaved) of the minutes from ``first`` up to ``upto``: the class's, and with ``people`` each
    participant's (where the policy allows them)."""
    frame_times = list(
        FrameLog.objects.filter(session=session, status=FrameLog.Status.PROCESSED, captured_at__gte=first, captured_at__lt=upto + MINUTE)
        .order_by("captured_at")
        .values_list("captured_at", flat=True)
        .distinct()
    )
    credits = _frame_credits(frame_times)
    classes: dict[datetime, dict[str, Any]] = defaultdict(_empty)
    persons: dict[tuple[int, datetime], dict[str, Any]] = defaultdict(_empty)
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
    rows = [_row(session.pk, None, minute, acc) for minute, acc in classes.items()]
    if not people or not per_student_allowed(policy=course_policy(course=session.course)):
        return rows
    observations = Observation.objects.filter(session=session, captured_at__gte=first, captured_at__lt=upto).values_list(
        "participant_id", "captured_at", "engagement", "engagement_band", "expression"
    )
    for participant_id, moment, engagement, band, expression in observations.iterator():
        if band == STILL:
            continue  # a still picture is not the student present (classroom/stillness.py), as in the class rows
        credit = credits.get(moment, 1.0)
        acc = persons[participant_id, minute_of(moment)]
        acc["samples"] += 1
        acc["seconds"] += credit
        acc["engagement_seconds"] += engagement * credit
        if band in BANDS:
            acc["bands"][band] += credit
        if expression:
            acc["expressions"][expression] += 1
    return rows + [_row(session.pk, participant_id, minute, acc) for (participant_id, minute), acc in persons.items()]


def rollups_compute(*, session: ClassSession, start: datetime, end: datetime) -> int:
    """Recompute the rollups of the minutes from ``start``'s to ``end``'s (inclusive); returns the rows written.

    The rows are computed before the transaction that replaces them: on SQLite a transaction holds the whole file's
    write lock, and every frame being stored would wait for the reading and adding up. A frame stored meanwhile is in
    the next refresh, which starts before the last rolled minute."""
    first, upto = minute_of(start), minute_of(end) + MINUTE
    rows = _rollup_rows(session=session, first=first, upto=upto, people=True)
    with transaction.atomic():
        MinuteRollup.objects.filter(session=session, minute__gte=first, minute__lt=upto).delete()
        MinuteRollup.objects.bulk_create(rows)
    return len(rows)


def _refresh_span(*, session: ClassSession, now: datetime, full: bool) -> tuple[datetime, datetime]:
    """The moments a refresh at ``now`` recomputes: from a little before the last rolled minute (or the start) to now."""
    latest = MinuteRollup.objects.filter(session=session, participant=None).aggregate(latest=Max("minute"))["latest"]
    # Capture times come from the client's clock: the first frame may predate the session's start.
    span = FrameLog.objects.filter(session=session).aggregate(first=Min("captured_at"), last=Max("captured_at"))
    origin = min(session.started_at, span["first"] or session.started_at)
    start = origin if full or latest is None else max(origin, latest - LATE_FRAMES)
    end = max(now if session.is_live else session.ended_at or now, span["last"] or start)
    return min(start, end), end


def rollups_active(*, session: ClassSession, now: datetime) -> bool:
    """Whether the periodic task still refreshes ``session``'s rollups: live, or ended in the last few minutes."""
    return session.is_live or (session.ended_at is not None and session.ended_at >= now - LATE_FRAMES)


def class_rollups_pending(*, session: ClassSession, now: datetime | None = None) -> tuple[datetime, datetime, list[MinuteRollup]]:
    """What a refresh at ``now`` would write for the class, without writing it: the minutes from ``first`` up to
    ``upto`` and their class rows (unsaved; computed by the same code as the stored ones). A refresh would replace
    the stored class rows of those minutes with these and leave the other minutes' rows as they are."""
    now = now or timezone.now()
    start, end = _refresh_span(session=session, now=now, full=False)
    first, upto = minute_of(start), minute_of(end) + MINUTE
    return first, upto, _rollup_rows(session=session, first=first, upto=upto, people=False)


def rollups_refresh(*, session: ClassSession, now: datetime | None = None, full: bool = False) -> int:
    """Bring a session's rollups up to date: from a little before the last rolled minute (or all of it) to now.

    After the commit, when it rolled anything up, the session's dashboards get its whole-session expression mix as a
    ``session_mix`` event (:func:`session_mix_event`): the live page draws that figure, it does
    not add minutes up; and its attendance, minutes present included (:func:`classroom.attendance.attendance_event`).
    A session with no recent frames sends nothing (an idle dashboard stays quiet).
    """
    now = now or timezone.now()
    start, end = _refresh_span(session=session, now=now, full=full)
    written = rollups_compute(session=session, start=start, end=end)
    if written or full:
        publish_built_on_commit(session_id=session.pk, build=lambda: session_mix_event(session=session, now=now))
        # The minutes present on the live page's attendance follow the rollup they are read from.
        publish_built_on_commit(session_id=session.pk, build=lambda: attendance_event(session=session, now=now))
    return written


def rollups_refresh_active(*, now: datetime | None = None) -> int:
    """Refresh live sessions and those that ended in the last few minutes (the periodic task)."""
    now = now or timezone.now()
    sessions = ClassSession.objects.filter(status=ClassSession.Status.LIVE) | ClassSession.objects.filter(ended_at__gte=now - LATE_FRAMES)
    return sum(rollups_refresh(session=session, now=now) for session in sessions.select_related("course"))


def minute_payload(row: MinuteRollup) -> dict[str, Any]:
    """One rollup row as charts read it: mean engagement, people present, band and expression shares."""
    present_seconds = row.person_seconds if row.participant_id is None else row.seconds
    total = sum(row.expressions.values())
    return {
        "t": row.minute.isoformat(),
        "seconds": row.seconds,
        "present": round(row.person_seconds / row.seconds, 2) if row.participant_id is None and row.seconds else None,
        "present_seconds": round(present_seconds, 1),
        "engagement": round(row.engagement, 4) if row.engagement is not None else None,
        "bands": {
            band: round(getattr(row, f"{band}_seconds") / present_seconds, 4) if present_seconds else 0.0
            for band in ("engaged", "partly", "not_engaged")
        },
        "expressions": {name: round(row.expressions.get(name, 0) / total, 4) for name in EXPRESSIONS} if total else None,
        "expression_counts": {name: int(row.expressions.get(name, 0)) for name in EXPRESSIONS} if total else None,
    }


def session_expression_mix(*, minutes: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """The whole session's apparent-expression mix from its class minutes (:func:`minute_payload`): the share of all
    shown expressions, every face-frame counted once. The report shows it; :func:`session_mix_so_far` gives the
    live page the same figure."""
    totals = {name: 0 for name in EXPRESSIONS}
    for minute in minutes:
        for name, count in (minute.get("expression_counts") or {}).items():
            totals[name] += count
    shown = sum(totals.values())
    return {name: round(count / shown, 4) for name, count in totals.items()} if shown else None


def session_mix_so_far(*, session: ClassSession, now: datetime | None = None) -> dict[str, float] | None:
    """The session's whole-session apparent-expression mix so far: the session report's ``session_mix``.

    Counted as the report counts it (:func:`session_expression_mix` over the class rollups), from the stored rows
    and, while the periodic task still refreshes the session (live, or just ended), the rows its next refresh
    would write, computed by the same rollup code (:func:`class_rollups_pending`), current
    minute included. So it is the report's figure once that refresh has run (the report reads only stored rows);
    for a finished session, exactly the report's. ``None`` before any expression was shown, and under the
    ``attention`` policy (as in the report). Under ``aggregate`` the dashboard payload withholds it while the
    class is below the minimum group (:func:`classroom.policy.redact`).
    """
    if not expressions_allowed(policy=course_policy(course=session.course)):
        return None
    now = now or timezone.now()
    stored = MinuteRollup.objects.filter(session=session, participant=None)
    if rollups_active(session=session, now=now):
        first, upto, pending = class_rollups_pending(session=session, now=now)
        rows = [*stored.exclude(minute__gte=first, minute__lt=upto), *pending]
    else:
        rows = list(stored)
    return session_expression_mix(minutes=[minute_payload(row) for row in rows])


def session_mix_event(*, session: ClassSession, now: datetime | None = None) -> dict[str, Any]:
    """The ``session_mix`` dashboard event (sent after each rollup refresh): :func:`session_mix_so_far`, and the
    faces present in the latest frame, by which the policy withholds it under ``aggregate`` as it does the other
    class figures. Unredacted: the dashboard socket applies the privacy policy."""
    present = ClassSample.objects.filter(session=session).order_by("-captured_at", "-pk").values_list("present", flat=True).first()
    mix = session_mix_so_far(session=session, now=now)
    return {"type": "session_mix", "session": session.pk, "session_mix": mix, "present": present or 0}
