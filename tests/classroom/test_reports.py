"""Session reports and exports read the rollups, within policy; exports stream and neutralise formula cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from classroom.models import EXPRESSIONS, Alert, ClassSession, Course, Participant, Student
from classroom.reports import course_trends, export_attendance_csv, export_csv, export_json, session_report, spreadsheet_safe
from classroom.rollups import minute_of, rollups_refresh
from classroom.selectors import session_history
from classroom.services import flag_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> ClassSession:
    session, _ = factories.live_session()
    t0 = minute_of(timezone.now()) - timedelta(minutes=3)
    ClassSession.objects.filter(pk=session.pk).update(started_at=t0)
    session.refresh_from_db()
    student = Student.objects.create(course=session.course, name="Ada", external_id="S-1")
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada", student=student)
    evil = Participant.objects.create(session=session, key="=cmd", display_name="=cmd|' /C calc'!A0")
    for second in range(0, 120, 2):
        at = t0 + timedelta(seconds=second)
        seen = {ada: {"engagement": 0.9, "engagement_band": "engaged", "expression": "neutral"}}
        if second < 60:
            seen[evil] = {"engagement": 0.2, "engagement_band": "not_engaged", "expression": "sad"}
        factories.scored_frame(session, at, seen)
    Alert.objects.create(session=session, participant=evil, kind="absent", raised_at=t0 + timedelta(seconds=90))
    rollups_refresh(session=session)
    return session


def test_the_report_and_the_live_page_give_the_same_whole_session_mix(session: ClassSession) -> None:
    # 60 frames of Ada shown neutral, 30 of the other shown sad: 90 shown expressions in all.
    report = session_report(session=session)
    assert report["session_mix"] == {name: {"neutral": round(60 / 90, 4), "sad": round(30 / 90, 4)}.get(name, 0.0) for name in EXPRESSIONS}
    assert report["session_mix_items"] == [("neutral", 67), ("sad", 33)]
    # The live page is sent the server's figure with its history (and after each refresh); it adds nothing up.
    assert session_history(session=session, since_seconds=600)["session_mix"] == report["session_mix"]


def rows(session: ClassSession) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(export_csv(session=session)))))


def test_report_summarises_each_participant(session: ClassSession) -> None:
    flag_create(session=session, user=session.course.teacher, note="quiz")
    report = session_report(session=session)
    by_name = {p["name"]: p for p in report["participants"]}
    # Present 2.0 minutes of a session started over 3 minutes ago: the share is of the session's minutes, not of the
    # minutes frames came in.
    ada = by_name["Ada"]
    assert ada["present_minutes"] == 2.0 and ada["session_minutes"] >= 3.0
    assert ada["present_share"] == round(2.0 / ada["session_minutes"], 3) and ada["present_percent"] == round(200 / ada["session_minutes"])
    assert by_name["Ada"]["student_id"] == "S-1"
    assert by_name["Ada"]["band_minutes"] == {"engaged": 2.0, "partly": 0.0, "not_engaged": 0.0}
    assert by_name["Ada"]["top_expressions"] == [{"expression": "neutral", "share": 1.0}]
    evil = by_name["=cmd|' /C calc'!A0"]
    assert (evil["present_minutes"], evil["mean_engagement"], evil["alerts"]) == (1.0, 0.2, 1)
    assert [m["engagement"] for m in report["minutes"]] == [pytest.approx((30 * 0.9 + 30 * 0.2) / 60, abs=1e-3), 0.9]
    assert [f["note"] for f in report["flags"]] == ["quiz"]


def test_csv_has_a_row_per_participant_minute_and_neutralises_formulas(session: ClassSession) -> None:
    table = rows(session)
    header, body = table[0], table[1:]
    assert header[:6] == ["participant", "student_id", "minute_start", "present_seconds", "mean_engagement", "band"]
    assert header[-7:] == [f"count_{name}" for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")]
    assert [(row[0], row[1], row[5]) for row in body] == [
        ("'=cmd|' /C calc'!A0", "", "not_engaged"),
        ("Ada", "S-1", "engaged"),
        ("Ada", "S-1", "engaged"),
    ]
    assert body[1][3] == "60.0" and body[1][-1] == "30"


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"), ("Ada", "Ada"), ("", ""), (3, 3)],
)
def test_spreadsheet_safe(value: object, safe: object) -> None:
    assert spreadsheet_safe(value) == safe


def test_json_export_parses(session: ClassSession) -> None:
    document = json.loads("".join(export_json(session=session)))
    assert document["session"]["session"] == session.pk and document["session"]["policy"] == "full"
    assert {p["name"] for p in document["participants"]} == {"Ada", "=cmd|' /C calc'!A0"}
    assert len(document["minutes"]) == 3 and len(document["minutes"][0]) == len(document["session"]["columns"])


def test_aggregate_exports_class_rows_only(session: ClassSession) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")
    session.refresh_from_db()
    assert [row[0] for row in rows(session)[1:]] == ["(class)", "(class)"]
    report = session_report(session=session)
    assert report["participants"] == [] and report["alerts"] == []
    assert "Ada" not in "".join(export_json(session=session))


def test_attention_exports_no_expression(session: ClassSession) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="attention")
    session.refresh_from_db()
    table = rows(session)
    assert not any("count_" in column for column in table[0])
    assert "neutral" not in "".join(export_json(session=session))
    assert all(p["top_expressions"] == [] for p in session_report(session=session)["participants"])


def test_course_trends(session: ClassSession) -> None:
    trends = course_trends(course=session.course, sessions=[session])
    [row] = trends["sessions"]
    assert row["attendance"] == 2 and row["alerts"] == 1 and row["mean_engagement"] == pytest.approx((120 * 0.9 + 60 * 0.2) / 180, abs=1e-3)
    assert trends["students"] == [
        {"student": trends["students"][0]["student"], "name": "Ada", "sessions_attended": 1, "attendance_rate": 1.0, "mean_engagement": 0.9}
    ]


def test_the_report_and_its_exports_name_who_never_joined(session: ClassSession) -> None:
    Student.objects.create(course=session.course, name="Bo", external_id="S-2")
    report = session_report(session=session)
    students = {row["name"]: row for row in report["attendance"]["students"]}
    assert (students["Ada"]["outcome"], students["Bo"]["outcome"]) == ("present_to_end", "never_joined")
    assert [row["name"] for row in report["attendance"]["others"]] == ["=cmd|' /C calc'!A0"]
    table = list(csv.DictReader(io.StringIO("".join(export_attendance_csv(session=session)))))
    assert [(row["name"], row["student_id"], row["on_roster"], row["attendance"]) for row in table] == [
        ("Ada", "S-1", "yes", "present to the end"),
        ("Bo", "S-2", "yes", "never joined"),
        ("'=cmd|' /C calc'!A0", "", "no", "present to the end"),  # gone a minute before the end: under the 3-minute threshold
    ]
    assert (table[1]["present_minutes"], table[1]["present_share"]) == ("0.0", "0.0")
    assert table[0]["present_minutes"] == "2.0" and float(table[0]["present_share"]) == round(2.0 / float(table[0]["session_minutes"]), 3)
    document = json.loads("".join(export_json(session=session)))
    assert document["attendance"]["counts"]["never_joined"] == 1


def test_under_aggregate_the_attendance_export_has_the_counts_only(session: ClassSession) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")
    session.refresh_from_db()
    Student.objects.create(course=session.course, name="Bo")
    table = list(csv.reader(io.StringIO("".join(export_attendance_csv(session=session)))))
    assert table[0] == ["figure", "students"] and ["expected", "2"] in table and ["never_joined", "1"] in table
    assert "Ada" not in str(table) and "Bo" not in str(table)
