"""Session reports, exports and course trends: reads of the per-minute rollups, within the course's policy.

Everything here reads :class:`~classroom.models.MinuteRollup` rows (never the raw per-sample series, which
the retention policy purges), so a report looks the same a year later. The privacy policy is applied here,
once, for every reader (page, CSV, JSON): under ``aggregate`` only class rows leave the server, under
``attention`` no expression does.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from classroom.attendance import OUTCOME_LABELS, present_share, session_attendance, session_seconds
from classroom.models import EXPRESSIONS, Alert, ClassSession, Course, MinuteRollup, Participant
from classroom.policy import course_policy, expressions_allowed, per_student_allowed
from classroom.rollups import minute_payload, session_expression_mix
from classroom.selectors import session_alerts, session_flags, session_frame_counts

BANDS = ("engaged", "partly", "not_engaged")
# A spreadsheet runs a cell starting with these as a formula (CSV injection); such cells get a leading quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 2000


def spreadsheet_safe(value: object) -> object:
    """``value``, with a text cell that a spreadsheet would evaluate turned into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass(frozen=True)
class ReportScope:
    """What a session's report may contain under its course's policy."""

    policy: str

    @property
    def per_student(self) -> bool:
        return per_student_allowed(policy=self.policy)

    @property
    def expressions(self) -> bool:
        return expressions_allowed(policy=self.policy)


def report_scope(*, session: ClassSession) -> ReportScope:
    """The policy that shapes ``session``'s report and exports."""
    return ReportScope(policy=course_policy(course=session.course))


def _dominant_band(row: MinuteRollup) -> str:
    seconds = {band: getattr(row, f"{band}_seconds") for band in BANDS}
    best = max(seconds, key=lambda band: seconds[band])
    return best if seconds[best] > 0 else "absent"


def zoned(value: datetime | str, zone: tzinfo) -> str:
    """``value`` (a datetime, or the ISO text of one) as ISO 8601 in ``zone``, its UTC offset written:
    ``2026-03-02T17:48:05-05:00``. Every export writes its times so."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).isoformat()


def _session_meta(session: ClassSession, zone: tzinfo = UTC) -> dict[str, Any]:
    length = session_seconds(session=session, now=timezone.now())
    return {
        "session": session.pk,
        "title": session.title,
        "course": session.course.name,
        "teacher": session.course.teacher.get_username(),
        "status": session.status,
        "started_at": zoned(session.started_at, zone),
        "ended_at": zoned(session.ended_at, zone) if session.ended_at else None,
        "duration_seconds": round(length),
        "duration_minutes": round(length / 60, 1),  # rounded as minutes present are (classroom.attendance.present_share)
        "frames": session_frame_counts(session_id=session.pk),
    }


def participant_summaries(*, session: ClassSession, scope: ReportScope) -> list[dict[str, Any]]:
    """One summary per participant: present time and its share of the session's minutes (start to end, as the
    attendance gives it: :func:`classroom.attendance.present_share`), mean engagement, minutes per band, top
    expressions, alerts."""
    if not scope.per_student:
        return []
    length = session_seconds(session=session, now=timezone.now())
    totals: dict[int, dict[str, Any]] = defaultdict(lambda: {"seconds": 0.0, "engagement_seconds": 0.0, **dict.fromkeys(BANDS, 0.0)})
    expressions: dict[int, Counter[str]] = defaultdict(Counter)
    for row in MinuteRollup.objects.filter(session=session, participant__isnull=False).iterator(chunk_size=EXPORT_CHUNK):
        acc = totals[row.participant_id]  # type: ignore[index]
        acc["seconds"] += row.seconds
        acc["engagement_seconds"] += row.engagement_seconds
        for band in BANDS:
            acc[band] += getattr(row, f"{band}_seconds")
        expressions[row.participant_id].update(row.expressions)  # type: ignore[index]
    per_participant = Alert.objects.filter(session=session, participant__isnull=False).values("participant").annotate(n=Count("pk"))
    alert_counts = {row["participant"]: row["n"] for row in per_participant}
    summaries = []
    shown = Participant.objects.filter(session=session).exclude(student__opted_out=True)
    for participant in shown.select_related("student").order_by("display_name"):
        found = totals.get(participant.pk)
        seconds = found["seconds"] if found else 0.0
        counted = expressions[participant.pk]
        total = sum(counted.values())
        summaries.append(
            {
                "participant": participant.pk,
                "name": participant.display_name,
                "student_id": participant.student.external_id or participant.student_id if participant.student else None,
                **present_share(present_seconds=seconds, session_seconds=length),
                "mean_engagement": round(found["engagement_seconds"] / seconds, 3) if found and seconds else None,
                "band_minutes": {band: round(found[band] / 60, 1) if found else 0.0 for band in BANDS},
                "top_expressions": [{"expression": name, "share": round(n / total, 3)} for name, n in counted.most_common(2)]
                if scope.expressions and total
                else [],
                "alerts": alert_counts.get(participant.pk, 0),
            }
        )
    return summaries


def session_report(*, session: ClassSession) -> dict[str, Any]:
    """Everything the report page shows, policy applied."""
    scope = report_scope(session=session)
    minutes = [minute_payload(row) for row in MinuteRollup.objects.filter(session=session, participant=None)]
    if not scope.expressions:
        minutes = [{**minute, "expressions": None, "expression_counts": None} for minute in minutes]
    mix = session_expression_mix(minutes=minutes)
    alerts = session_alerts(session=session)
    if not scope.per_student:
        alerts = [alert for alert in alerts if alert["participant"] is None]
    return {
        **_session_meta(session),
        "policy": scope.policy,
        "participants": participant_summaries(session=session, scope=scope),
        "attendance": session_attendance(session=session),
        "minutes": minutes,
        "session_mix": mix,
        # For the page: the expressions shown at all, most shown first, in whole percent.
        "session_mix_items": sorted(
            ((name, round(100 * share)) for name, share in (mix or {}).items() if share), key=lambda item: -item[1]
        ),
        "alerts": alerts,
        "flags": session_flags(session=session),
    }


# ---- exports --------------------------------------------------------------------------------------


def export_columns(scope: ReportScope) -> list[str]:
    """The CSV header under ``scope``."""
    columns = ["participant", "student_id", "minute_start", "present_seconds", "mean_engagement", "band", *(f"{b}_seconds" for b in BANDS)]
    return columns + ([f"count_{name}" for name in EXPRESSIONS] if scope.expressions else [])


def _export_rows(session: ClassSession, scope: ReportScope) -> Iterator[MinuteRollup]:
    rows = MinuteRollup.objects.filter(session=session).select_related("participant", "participant__student")
    rows = rows.filter(Q(participant__isnull=False) if scope.per_student else Q(participant__isnull=True))
    return rows.order_by("participant__display_name", "participant_id", "minute").iterator(chunk_size=EXPORT_CHUNK)


def _row_values(row: MinuteRollup, scope: ReportScope, zone: tzinfo) -> list[object]:
    participant = row.participant
    student = participant.student if participant else None
    present = row.seconds if participant else row.person_seconds
    values: list[object] = [
        participant.display_name if participant else "(class)",
        (student.external_id or student.pk) if student else "",
        zoned(row.minute, zone),
        round(present, 1),
        round(row.engagement, 4) if row.engagement is not None else "",
        _dominant_band(row),
        *(round(getattr(row, f"{band}_seconds"), 1) for band in BANDS),
    ]
    if scope.expressions:
        values += [row.expressions.get(name, 0) for name in EXPRESSIONS]
    return values


def export_csv(*, session: ClassSession, zone: tzinfo = UTC) -> Iterator[str]:
    """The session's per-minute series as CSV text chunks (one row per participant per minute), streamed; minute starts
    as ISO 8601 in ``zone`` (the user's) with its UTC offset."""
    scope = report_scope(session=session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(export_columns(scope))
    yield flush()
    for index, row in enumerate(_export_rows(session, scope), start=1):
        writer.writerow([spreadsheet_safe(value) for value in _row_values(row, scope, zone)])
        if index % 500 == 0:
            yield flush()
    yield flush()


ATTENDANCE_COLUMNS = [
    "name",
    "student_id",
    "on_roster",
    "attendance",
    "joined_at",
    "last_seen_at",
    "present_minutes",
    "session_minutes",
    "present_share",
]


def _attendance_zoned(attendance: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The attendance with its times as ISO 8601 in ``zone``, as every export writes times."""

    def rows(key: str) -> list[dict[str, Any]]:
        return [
            {**row, **{field: zoned(row[field], zone) if row[field] else None for field in ("joined_at", "last_seen_at")}}
            for row in attendance[key]
        ]

    latest = attendance["latest_captured_at"]
    return {
        **attendance,
        "latest_captured_at": zoned(latest, zone) if latest else None,
        "students": rows("students"),
        "others": rows("others"),
    }


def export_attendance_csv(*, session: ClassSession, zone: tzinfo = UTC) -> Iterator[str]:
    """The session's attendance as CSV (:func:`classroom.attendance.session_attendance`): one row per roster student,
    never joined included, then the participants on no roster; opted-out students never appear; times as ISO 8601 in
    ``zone`` (the user's). Under a policy without per-student figures (``aggregate``) the counts only, one row per
    figure (``figure``, ``students``)."""
    attendance = _attendance_zoned(session_attendance(session=session), zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if not attendance["per_student"]:
        writer.writerow(["figure", "students"])
        writer.writerows(attendance["counts"].items())
        yield buffer.getvalue()
        return
    writer.writerow(ATTENDANCE_COLUMNS)
    for row, on_roster in [*((row, "yes") for row in attendance["students"]), *((row, "no") for row in attendance["others"])]:
        values = [
            row["name"],
            row.get("student_id", ""),
            on_roster,
            OUTCOME_LABELS[row["outcome"]],
            row["joined_at"] or "",
            row["last_seen_at"] or "",
            row["present_minutes"],
            row["session_minutes"],
            "" if row["present_share"] is None else row["present_share"],
        ]
        writer.writerow([spreadsheet_safe(value) for value in values])
    yield buffer.getvalue()


def export_json(*, session: ClassSession, zone: tzinfo = UTC) -> Iterator[str]:
    """The session as JSON text chunks: metadata, per-participant summary, per-minute series (streamed); every time as
    ISO 8601 in ``zone`` (the user's) with its UTC offset, the zone named in ``session.time_zone``."""
    scope = report_scope(session=session)
    meta = {**_session_meta(session, zone), "time_zone": str(zone), "policy": scope.policy, "columns": export_columns(scope)}
    yield '{"session": ' + json.dumps(meta)
    yield ', "participants": ' + json.dumps(participant_summaries(session=session, scope=scope))
    yield ', "attendance": ' + json.dumps(_attendance_zoned(session_attendance(session=session), zone))
    yield ', "flags": ' + json.dumps([{**flag, "at": zoned(flag["at"], zone)} for flag in session_flags(session=session)])
    yield ', "minutes": ['
    first = True
    for row in _export_rows(session, scope):
        yield ("" if first else ", ") + json.dumps(_row_values(row, scope, zone))
        first = False
    yield "]}"


# ---- course trends --------------------------------------------------------------------------------


def course_trends(*, course: Course, sessions: Iterable[ClassSession]) -> dict[str, Any]:
    """Per session (mean engagement, attendance, alerts) and per roster student across sessions (attendance rate, mean engagement)."""
    scope = ReportScope(policy=course_policy(course=course))
    per_session = []
    student_minutes: dict[int, dict[str, float]] = defaultdict(lambda: {"sessions": 0, "seconds": 0.0, "engagement_seconds": 0.0})
    ordered = sorted(sessions, key=lambda s: s.started_at)
    for session in ordered:
        class_rows = list(MinuteRollup.objects.filter(session=session, participant=None))
        person_seconds = sum(row.person_seconds for row in class_rows)
        covered = sum(row.seconds for row in class_rows)
        engagement = sum(row.engagement_seconds for row in class_rows) / person_seconds if person_seconds else None
        attended = Participant.objects.filter(session=session, observations__isnull=False).distinct().count()
        per_session.append(
            {
                "session": session.pk,
                "title": session.title,  # empty when untitled: the chart labels such a session by its start alone
                "started_at": session.started_at.isoformat(),
                "mean_engagement": round(engagement, 3) if engagement is not None else None,
                "attendance": attended if scope.per_student else None,
                "mean_present": round(person_seconds / covered, 1) if covered else 0.0,
                "alerts": Alert.objects.filter(session=session, **({} if scope.per_student else {"participant": None})).count(),
            }
        )
        if scope.per_student:
            rows = MinuteRollup.objects.filter(session=session, participant__student__isnull=False).values_list(
                "participant__student", "seconds", "engagement_seconds"
            )
            seen: set[int] = set()
            for student_id, seconds, engagement_seconds in rows:
                acc = student_minutes[student_id]
                acc["seconds"] += seconds
                acc["engagement_seconds"] += engagement_seconds
                if student_id not in seen:
                    acc["sessions"] += 1
                    seen.add(student_id)
    students = []
    if scope.per_student:
        for student in course.students.all():
            seen_in = student_minutes.get(student.pk)
            students.append(
                {
                    "student": student.pk,
                    "name": student.name,
                    "sessions_attended": int(seen_in["sessions"]) if seen_in else 0,
                    "attendance_rate": round(seen_in["sessions"] / len(ordered), 3) if seen_in and ordered else 0.0,
                    "mean_engagement": round(seen_in["engagement_seconds"] / seen_in["seconds"], 3)
                    if seen_in and seen_in["seconds"]
                    else None,
                }
            )
    return {"policy": scope.policy, "sessions": per_session, "students": students}


def report_filename(session: ClassSession, extension: str, *, zone: tzinfo = UTC) -> str:
    """A download name: course, date (in ``zone``, the user's) and session id, safe for every file system."""
    stamp = session.started_at.astimezone(zone).strftime("%Y-%m-%d")
    course = "".join(ch if ch.isalnum() else "-" for ch in session.course.name).strip("-")[:40] or "course"
    return f"{course}-{stamp}-session-{session.pk}.{extension}"
