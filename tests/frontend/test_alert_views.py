"""The teacher's JSON endpoints of the live page: acknowledge, flag, drill-down, alert thresholds; exact refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classroom.models import Alert, AuditEntry, ClassSession, Course, Flag, Participant
from classroom.services import session_end
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


@pytest.fixture
def session(alice: User) -> ClassSession:
    session, _ = factories.live_session(owner=alice)
    return session


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def ack_url(session: ClassSession, alert_id: int) -> str:
    return reverse("alert-acknowledge", kwargs={"session_id": session.pk, "alert_id": alert_id})


def flag_url(session: ClassSession) -> str:
    return reverse("flag-create", kwargs={"session_id": session.pk})


def timeline_url(session: ClassSession, participant_id: int) -> str:
    return reverse("participant-timeline", kwargs={"session_id": session.pk, "participant_id": participant_id})


# ---- acknowledge ----------------------------------------------------------------------------------


def test_teacher_acknowledges_an_alert(session: ClassSession, alice: User) -> None:
    alert = Alert.objects.create(session=session, kind="uploads_stopped", raised_at=timezone.now())
    response = client_for(alice).post(ack_url(session, alert.pk))
    assert response.status_code == 200
    assert response.json()["alert"]["acknowledged_by"] == "alice"
    alert.refresh_from_db()
    assert alert.acknowledged_by == alice


@pytest.mark.parametrize(
    ("who", "status", "error"),
    [("anonymous", 401, "not_authenticated"), ("other teacher", 404, "not_found"), ("unknown alert", 404, "not_found")],
)
def test_acknowledging_what_is_not_yours_changes_nothing(session: ClassSession, alice: User, who: str, status: int, error: str) -> None:
    alert = Alert.objects.create(session=session, kind="uploads_stopped", raised_at=timezone.now())
    user = {"anonymous": None, "other teacher": factories.teacher("mallory"), "unknown alert": alice}[who]
    response = client_for(user).post(ack_url(session, alert.pk + (1000 if who == "unknown alert" else 0)))
    assert response.status_code == status
    assert response.json()["error"] == error
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledge_answers_405_to_get(session: ClassSession, alice: User) -> None:
    response = client_for(alice).get(ack_url(session, 1))
    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed", "message": "Use POST."}
    assert response["Allow"] == "POST"


# ---- flags ----------------------------------------------------------------------------------------


def test_teacher_flags_a_moment(session: ClassSession, alice: User) -> None:
    response = client_for(alice).post(flag_url(session), {"note": "  quiz starts "})
    assert response.status_code == 201
    assert response.json()["flag"]["note"] == "quiz starts"
    assert Flag.objects.get(session=session).created_by == alice


@pytest.mark.parametrize(
    ("case", "status", "body"),
    [
        ("over-long note", 400, {"error": "invalid_field", "message": "note: Ensure this value has at most 120 characters (it has 121)."}),
        (
            "ended session",
            409,
            {"error": "session_ended", "message": "This session has ended; moments can only be marked while it is live."},
        ),
        ("foreign session", 404, {"error": "not_found", "message": "No such session."}),
        ("anonymous", 401, {"error": "not_authenticated", "message": "Log in first."}),
    ],
)
def test_bad_flags_are_refused_and_nothing_is_stored(
    session: ClassSession, alice: User, case: str, status: int, body: dict[str, Any]
) -> None:
    user: User | None = alice
    note = "x" * 121 if case == "over-long note" else "ok"
    if case == "ended session":
        session_end(session=session)
    elif case == "foreign session":
        user = factories.teacher("mallory")
    elif case == "anonymous":
        user = None
    response = client_for(user).post(flag_url(session), {"note": note})
    assert response.status_code == status
    assert {key: response.json()[key] for key in ("error", "message")} == body
    assert Flag.objects.count() == 0


# ---- drill-down -----------------------------------------------------------------------------------


def observed(session: ClassSession) -> Participant:
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana", last_seen_at=timezone.now())
    t0 = timezone.now() - timedelta(seconds=30)
    for second in range(0, 30, 5):
        seen = {ana: {"engagement": 0.9, "expression": "happy", "confidence": 0.8}}
        factories.scored_frame(session, t0 + timedelta(seconds=second), seen, log=False)
    Alert.objects.create(session=session, participant=ana, kind="absent", raised_at=t0)
    return ana


def test_drill_down_has_the_participants_timeline(session: ClassSession, alice: User) -> None:
    ana = observed(session)
    body = client_for(alice).get(timeline_url(session, ana.pk)).json()
    assert body["name"] == "Ana" and body["policy"] == "full"
    assert [point["expression"] for point in body["points"]] == ["happy"] * 6
    assert [alert["kind"] for alert in body["alerts"]] == ["absent"]
    assert AuditEntry.objects.count() == 0


def test_drill_down_under_attention_has_no_expression(session: ClassSession, alice: User) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="attention")
    ana = observed(session)
    body = client_for(alice).get(timeline_url(session, ana.pk)).json()
    assert body["policy"] == "attention"
    assert {point["expression"] for point in body["points"]} == {None}
    assert "happy" not in str(body)


def test_drill_down_under_aggregate_is_refused(session: ClassSession, alice: User) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")
    response = client_for(alice).get(timeline_url(session, observed(session).pk))
    assert response.status_code == 403
    assert response.json()["error"] == "policy_forbids"


def test_drill_down_of_a_foreign_or_unknown_participant(session: ClassSession, alice: User) -> None:
    ana = observed(session)
    assert client_for(factories.teacher("mallory")).get(timeline_url(session, ana.pk)).status_code == 404
    assert client_for(alice).get(timeline_url(session, ana.pk + 99)).json()["error"] == "not_found"


def test_admin_drill_down_is_audited(session: ClassSession) -> None:
    ana = observed(session)
    root = factories.teacher("root", staff=True)
    assert client_for(root).get(timeline_url(session, ana.pk)).status_code == 200
    assert list(AuditEntry.objects.values_list("action", "target")) == [("timeline.view", f"participant {ana.pk} of session {session.pk}")]


# ---- thresholds -----------------------------------------------------------------------------------


def alerts_url(session: ClassSession) -> str:
    return reverse("course-alerts", kwargs={"course_id": session.course_id})


def test_teacher_sets_thresholds(session: ClassSession, alice: User) -> None:
    data = {"absent_minutes": "0.5", "not_engaged_minutes": "2", "class_drop": "0.3", "class_floor": "", "uploads_stopped_seconds": "20"}
    response = client_for(alice).post(alerts_url(session), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["thresholds"] == {
        "absent_seconds": 30,
        "not_engaged_seconds": 120,
        "class_drop": 0.3,
        "class_floor": 0.4,
        "uploads_stopped_seconds": 20,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("absent_minutes", "0.1", "absent_minutes: Ensure this value is greater than or equal to 0.17."),
        ("absent_minutes", "61", "absent_minutes: Ensure this value is less than or equal to 60.0."),
        ("class_drop", "2", "class_drop: Ensure this value is less than or equal to 1.0."),
        ("class_floor", "-0.1", "class_floor: Ensure this value is greater than or equal to 0.0."),
        ("uploads_stopped_seconds", "abc", "uploads_stopped_seconds: Enter a whole number."),
        ("not_engaged_minutes", "nan", "not_engaged_minutes: Enter a number."),
    ],
)
def test_out_of_range_thresholds_are_refused(session: ClassSession, alice: User, field: str, value: str, message: str) -> None:
    response = client_for(alice).post(alerts_url(session), {field: value}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_field" and response.json()["message"] == message
    assert Course.objects.get(pk=session.course_id).alert_absent_seconds is None


def test_another_teacher_cannot_set_thresholds(session: ClassSession) -> None:
    response = client_for(factories.teacher("mallory")).post(alerts_url(session), {"class_drop": "0.5"})
    assert response.status_code == 404
    assert Course.objects.get(pk=session.course_id).alert_class_drop is None


def test_course_page_shows_the_thresholds_form(session: ClassSession, alice: User) -> None:
    page = client_for(alice).get(reverse("course-detail", kwargs={"course_id": session.course_id})).content.decode()
    assert 'id="alert-thresholds"' in page and 'name="absent_minutes"' in page and 'value="3.0"' in page


def test_a_refused_csrf_token_is_a_json_error_for_json_requests(session: ClassSession, alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(flag_url(session), {"note": "x"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    page = client.post(reverse("session-end", kwargs={"session_id": session.pk}))
    assert page.status_code == 403 and "security token" in page.content.decode()
    assert Flag.objects.count() == 0


def test_the_drill_down_plots_the_smoothed_series_the_badge_is_read_from(session: ClassSession, alice: User) -> None:
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana", last_seen_at=timezone.now())
    t0 = timezone.now() - timedelta(seconds=20)
    for second in range(20):  # engaged throughout but for one frame that reads a sharp turn away
        engagement = 0.1 if second == 10 else 0.9
        factories.scored_frame(session, t0 + timedelta(seconds=second), {ana: {"engagement": engagement, "engagement_band": "engaged"}})
    points = client_for(alice).get(timeline_url(session, ana.pk)).json()["points"]
    dip = points[10]
    assert dip["raw_engagement"] == 0.1  # the frame's own reading is still there
    assert dip["engagement"] > 0.65 and dip["band"] == "engaged"  # what the badge showed: no alarming sawtooth
    assert all(point["band"] == "engaged" for point in points)
