"""Attendance against the roster: expected, present now, absent now, never joined, left early, minutes present."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from classroom import events
from classroom.attendance import attendance_after_frame, present_share, session_attendance
from classroom.models import ClassSession, Participant, Student
from classroom.policy import redact
from classroom.rollups import minute_of, rollups_refresh
from classroom.roster import student_set_opt_out
from tests import factories

pytestmark = pytest.mark.django_db

SESSION_MINUTES = 7


@pytest.fixture
def session() -> ClassSession:
    """A course with a session that started (on a whole minute) ten minutes ago and is still live."""
    session, _ = factories.live_session()
    start = minute_of(timezone.now()) - timedelta(minutes=10)
    ClassSession.objects.filter(pk=session.pk).update(started_at=start)
    session.refresh_from_db()
    return session


def end(session: ClassSession) -> None:
    """End the session seven minutes after it started."""
    ClassSession.objects.filter(pk=session.pk).update(status=ClassSession.Status.ENDED, ended_at=session.started_at + timedelta(minutes=7))
    session.refresh_from_db()


def roster(session: ClassSession, *names: str) -> list[Student]:
    return [Student.objects.create(course=session.course, name=name) for name in names]


def joined(session: ClassSession, student: Student | None, name: str = "") -> Participant:
    return Participant.objects.create(session=session, key=name or student.name, display_name=name or student.name, student=student)  # type: ignore[union-attr]


def frames(session: ClassSession, seen: dict[Participant, int], *, every: int = 2) -> datetime:
    """Frames every ``every`` seconds for the session's seven minutes; each participant is in them for their first
    ``seen[participant]`` seconds. Rolls the session up; returns the last frame's time."""
    start = session.started_at
    last = start
    for second in range(0, SESSION_MINUTES * 60, every):
        last = start + timedelta(seconds=second)
        factories.scored_frame(session, last, {p: {"engagement": 0.8} for p, until in seen.items() if second < until})
    rollups_refresh(session=session, full=True)
    return last


def by_name(attendance: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in [*attendance["students"], *attendance["others"]]}


def test_the_share_is_of_the_session_minutes_rounded_as_shown() -> None:
    # The case: 5.8 minutes present of a 7-minute session is 83%, not 93% of the minutes frames covered.
    assert present_share(present_seconds=5.84 * 60, session_seconds=7 * 60) == {
        "present_minutes": 5.8,
        "session_minutes": 7.0,
        "present_share": 0.829,
        "present_percent": 83,
    }
    # More present than the session is long (a client clock ahead of the server's): capped at the whole session.
    assert present_share(present_seconds=500, session_seconds=420)["present_percent"] == 100
    # A session not yet a tenth of a minute old has no share to give.
    assert present_share(present_seconds=0, session_seconds=2)["present_share"] is None
    assert present_share(present_seconds=10, session_seconds=-5) == {
        "present_minutes": 0.0,
        "session_minutes": 0.0,
        "present_share": None,
        "present_percent": None,
    }


def test_no_roster_expects_nobody_and_lists_who_came(session: ClassSession) -> None:
    guest = joined(session, None, "Participant 1")
    frames(session, {guest: 420})
    attendance = session_attendance(session=session)
    assert attendance["counts"] == {
        "expected": 0,
        "present": 0,
        "absent": 0,
        "never_joined": 0,
        "present_to_end": 0,
        "left_early": 0,
        "never_in_view": 0,
        "others_present": 1,
        "others_absent": 0,
        "opted_out": 0,
    }
    assert attendance["students"] == []
    assert [(row["name"], row["status"], row["outcome"]) for row in attendance["others"]] == [
        ("Participant 1", "present", "present_to_end")
    ]


def test_an_empty_session_with_no_frames(session: ClassSession) -> None:
    attendance = session_attendance(session=session, now=session.started_at + timedelta(minutes=10))
    assert attendance["counts"]["expected"] == 0 and attendance["students"] == attendance["others"] == []
    assert attendance["latest_captured_at"] is None
    assert attendance["session_minutes"] == 10.0


def test_a_roster_but_nobody_joined(session: ClassSession) -> None:
    roster(session, "Ada", "Bo")
    end(session)
    attendance = session_attendance(session=session)
    counts = attendance["counts"]
    assert (counts["expected"], counts["present"], counts["absent"], counts["never_joined"]) == (2, 0, 0, 2)
    rows = by_name(attendance)
    assert [rows[name]["status"] for name in ("Ada", "Bo")] == ["never_joined", "never_joined"]
    assert rows["Ada"]["outcome_label"] == "never joined" and rows["Ada"]["status_label"] == "not joined"
    assert (rows["Ada"]["joined_at"], rows["Ada"]["last_seen_at"], rows["Ada"]["present_minutes"]) == (None, None, 0.0)
    assert rows["Ada"]["session_minutes"] == 7.0 and rows["Ada"]["present_percent"] == 0


def test_everyone_present_to_the_end(session: ClassSession) -> None:
    ada, bo = roster(session, "Ada", "Bo")
    seen = {joined(session, ada): 420, joined(session, bo): 420}
    last = frames(session, seen)
    end(session)
    attendance = session_attendance(session=session)
    counts = attendance["counts"]
    assert (counts["expected"], counts["present"], counts["absent"], counts["never_joined"], counts["left_early"]) == (2, 2, 0, 0, 0)
    rows = by_name(attendance)
    for name in ("Ada", "Bo"):
        assert (rows[name]["status"], rows[name]["outcome"]) == ("present", "present_to_end")
        assert (rows[name]["present_minutes"], rows[name]["session_minutes"], rows[name]["present_percent"]) == (7.0, 7.0, 100)
        assert rows[name]["joined_at"] == session.started_at.isoformat() and rows[name]["last_seen_at"] == last.isoformat()


def test_one_who_left_early_and_one_who_never_came(session: ClassSession) -> None:
    ada, bo, _ = roster(session, "Ada", "Bo", "Cy")
    frames(session, {joined(session, ada): 420, joined(session, bo): 180})
    end(session)
    attendance = session_attendance(session=session)
    counts = attendance["counts"]
    assert (counts["expected"], counts["present"], counts["absent"], counts["never_joined"], counts["left_early"]) == (3, 1, 1, 1, 1)
    rows = by_name(attendance)
    assert (rows["Bo"]["status"], rows["Bo"]["outcome"], rows["Bo"]["outcome_label"]) == ("absent", "left_early", "left early")
    assert (rows["Bo"]["present_minutes"], rows["Bo"]["present_percent"]) == (3.0, 43)
    assert rows["Bo"]["last_seen_at"] == (session.started_at + timedelta(seconds=178)).isoformat()
    assert (rows["Cy"]["status"], rows["Cy"]["outcome"]) == ("never_joined", "never_joined")


def test_gone_for_less_than_the_absence_threshold_is_still_present_to_the_end(session: ClassSession) -> None:
    ada = roster(session, "Ada")[0]
    session.course.alert_absent_seconds = 120
    session.course.save()
    frames(session, {joined(session, ada): 420 - 100})  # gone for the last 100 s, under the course's 120 s
    end(session)
    row = session_attendance(session=session)["students"][0]
    assert (row["status"], row["outcome"]) == ("absent", "present_to_end")


def test_joined_with_no_face_in_view_is_absent_now(session: ClassSession) -> None:
    ada, bo = roster(session, "Ada", "Bo")
    frames(session, {joined(session, ada): 420})
    joined(session, bo)  # a named tile with no face in it: a participant never seen
    rows = by_name(session_attendance(session=session))
    assert (rows["Bo"]["status"], rows["Bo"]["outcome"], rows["Bo"]["last_seen_at"]) == ("absent", "never_in_view", None)
    assert rows["Bo"]["joined_at"] is not None and rows["Bo"]["present_minutes"] == 0.0


def test_two_views_of_one_student_count_their_minutes_once(session: ClassSession) -> None:
    ada = roster(session, "Ada")[0]
    frames(session, {joined(session, ada): 420, joined(session, ada, "Ada's laptop"): 420})
    end(session)
    row = session_attendance(session=session)["students"][0]
    assert (row["present_minutes"], row["present_percent"], len(row["participants"])) == (7.0, 100, 2)


def test_opted_out_students_are_never_named(session: ClassSession) -> None:
    ada, olly = roster(session, "Ada", "Olly")
    frames(session, {joined(session, ada): 420, joined(session, olly): 420})
    student_set_opt_out(student=olly, opted_out=True)
    attendance = session_attendance(session=session)
    assert attendance["counts"]["expected"] == 1 and attendance["counts"]["opted_out"] == 1
    assert "Olly" not in str(attendance)


def test_under_aggregate_only_the_counts_leave(session: ClassSession) -> None:
    session.course.privacy_policy = "aggregate"
    session.course.save()
    ada, _ = roster(session, "Ada", "Bo")
    frames(session, {joined(session, ada): 420})
    attendance = session_attendance(session=session)
    assert attendance["per_student"] is False and attendance["students"] == attendance["others"] == []
    assert (attendance["counts"]["present"], attendance["counts"]["never_joined"]) == (1, 1)
    # The dashboard socket redacts the full figure too, whoever built it.
    full = {**attendance, "students": [{"name": "Ada"}]}
    redacted = redact(payload={"type": "attendance", "attendance": full}, policy="aggregate")
    assert redacted is not None and redacted["attendance"]["students"] == [] and redacted["attendance"]["counts"] == attendance["counts"]
    history = redact(payload={"type": "history", "participants": [], "attendance": full}, policy="aggregate")
    assert history is not None and "Ada" not in str(history["attendance"])


def test_the_dashboards_hear_only_when_who_is_here_changes(
    session: ClassSession, django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(events, "_send", lambda session_id, batch: sent.extend(batch))
    ada, bo = roster(session, "Ada", "Bo")
    a, b = joined(session, ada), joined(session, bo)
    factories.scored_frame(session, session.started_at, {a: {"engagement": 0.8}})
    with django_capture_on_commit_callbacks(execute=True):
        attendance_after_frame(session=session, present={a.pk}, absent={b.pk})
        attendance_after_frame(session=session, present={a.pk}, absent={b.pk})  # nothing changed: nothing sent
    assert [event["type"] for event in sent] == ["attendance"]
    assert sent[0]["attendance"]["counts"]["present"] == 1 and sent[0]["attendance"]["counts"]["absent"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        attendance_after_frame(session=session, present={a.pk, b.pk}, absent=set())
    assert len(sent) == 2


def test_clocks_that_disagree_and_a_student_taken_off_the_roster(session: ClassSession) -> None:
    ada, bo = roster(session, "Ada", "Bo")
    seen = {joined(session, ada): 420, joined(session, bo): 420}
    frames(session, seen)
    # An end stamped before the start (a server clock set back) leaves a session of no length: no share, no crash.
    ClassSession.objects.filter(pk=session.pk).update(status=ClassSession.Status.ENDED, ended_at=session.started_at - timedelta(minutes=1))
    session.refresh_from_db()
    bo.delete()  # taken off the roster: their participant stays, on no roster
    attendance = session_attendance(session=session)
    assert attendance["session_minutes"] == 0.0 and attendance["counts"]["expected"] == 1
    rows = by_name(attendance)
    assert (rows["Ada"]["present_minutes"], rows["Ada"]["present_share"], rows["Ada"]["present_percent"]) == (0.0, None, None)
    assert rows["Bo"]["participant"] and attendance["counts"]["others_present"] == 1


def test_a_still_picture_in_the_tile_is_not_the_student_present(session: ClassSession) -> None:
    ada = roster(session, "Ada")[0]
    participant = joined(session, ada)
    frames(session, {participant: 420})
    # The latest frame shows only a photo where Ada was (classroom/stillness.py stores it as band "still").
    factories.scored_frame(
        session, session.started_at + timedelta(minutes=8), {participant: {"engagement": 0.0, "engagement_band": "still"}}
    )
    row = session_attendance(session=session)["students"][0]
    assert row["status"] == "absent"
    # Looking back, she was last in view at her last real frame, not at the photo's.
    assert row["last_seen_at"] == (session.started_at + timedelta(seconds=418)).isoformat()


def test_a_tile_that_only_ever_showed_a_photo_was_never_in_view(session: ClassSession) -> None:
    ada = roster(session, "Ada")[0]
    participant = joined(session, ada)
    for second in range(0, 20, 2):
        at = session.started_at + timedelta(seconds=second)
        factories.scored_frame(session, at, {participant: {"engagement": 0.0, "engagement_band": "still"}})
    row = session_attendance(session=session)["students"][0]
    assert (row["status"], row["outcome"], row["last_seen_at"]) == ("absent", "never_in_view", None)
