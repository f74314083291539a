"""One time zone per user, on every page and export: the middleware, the profile page, the detection endpoint."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from classroom.models import ClassSession, Flag, Participant, Profile
from classroom.profiles import profile_time_zone, profile_time_zone_set
from classroom.rollups import rollups_refresh
from classroom.services import session_end
from frontend.middleware import UserTimeZoneMiddleware, request_time_zone
from tests import factories

pytestmark = pytest.mark.django_db

# 22:48:05 UTC on a January day is 17:48:05 in New York (UTC-05:00) and 07:48:05 the next day in Tokyo.
STARTED = datetime(2026, 1, 15, 22, 46, 30, tzinfo=UTC)
FLAGGED = datetime(2026, 1, 15, 22, 48, 5, 250_000, tzinfo=UTC)


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def zone_during(user: User | AnonymousUser) -> tuple[str, str, str]:
    """The active zone while a request of ``user`` is served, what the request says was chosen, and the zone after."""
    seen: dict[str, str] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["zone"] = timezone.get_current_timezone_name()
        seen["chosen"] = request_time_zone(request)
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = user
    UserTimeZoneMiddleware(view)(request)
    return seen["zone"], seen["chosen"], timezone.get_current_timezone_name()


def test_middleware_activates_the_users_zone_for_the_request_only(alice: User) -> None:
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    assert zone_during(alice) == ("America/New_York", "America/New_York", "UTC")


def test_middleware_uses_the_deployments_zone_for_anonymous_users_and_users_without_one(alice: User, settings: object) -> None:
    assert zone_during(AnonymousUser()) == ("UTC", "", "UTC")
    assert zone_during(alice) == ("UTC", "", "UTC")
    Profile.objects.create(user=factories.teacher("bob"), time_zone="Gone/Zone")  # a zone the database no longer has
    assert zone_during(User.objects.get(username="bob"))[0] == "UTC"


def test_middleware_is_installed_after_authentication() -> None:
    from django.conf import settings

    middleware = settings.MIDDLEWARE
    assert middleware.index("frontend.middleware.UserTimeZoneMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


def test_pages_ask_the_browser_for_its_zone_only_while_none_is_chosen(alice: User) -> None:
    client = client_for(alice)
    assert "frontend/timezone.js" in client.get(reverse("dashboard-home")).content.decode()
    profile_time_zone_set(user=alice, time_zone="Europe/Paris")
    assert "frontend/timezone.js" not in client.get(reverse("dashboard-home")).content.decode()


def test_detection_saves_the_browsers_zone_once(alice: User) -> None:
    client = client_for(alice)
    url = reverse("profile-time-zone-detect")
    response = client.post(url, {"time_zone": "Asia/Tokyo"}, headers={"accept": "application/json"})
    assert response.status_code == 200 and response.json() == {"time_zone": "Asia/Tokyo", "saved": True}
    again = client.post(url, {"time_zone": "Europe/Paris"}, headers={"accept": "application/json"})
    assert again.json() == {"time_zone": "Asia/Tokyo", "saved": False}


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "Choose a time zone."), ("../etc/passwd", "is not a time zone name"), ("Mars/Base_One", "is not a known time zone")],
)
def test_detection_refuses_a_bad_zone_with_a_precise_400(alice: User, value: str, message: str) -> None:
    response = client_for(alice).post(reverse("profile-time-zone-detect"), {"time_zone": value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_time_zone" and message in body["message"] and message in body["fields"]["time_zone"][0]
    assert profile_time_zone(user=alice) == ""


def test_detection_only_takes_post(alice: User) -> None:
    response = client_for(alice).get(reverse("profile-time-zone-detect"))
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_profile_page_shows_and_saves_the_zone(alice: User) -> None:
    client = client_for(alice)
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    page = client.get(reverse("profile")).content.decode()
    assert '<label for="id_time_zone">Time zone</label>' in page
    assert '<option value="America/New_York" selected>America/New_York</option>' in page
    assert re.search(r"Now: <span id=\"time-zone-now\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</span> in America/New_York \(UTC-0[45]:00\)", page)
    response = client.post(reverse("profile"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == reverse("profile")
    assert profile_time_zone(user=alice) == "Asia/Tokyo"
    assert "Tokyo (UTC+09:00)" in client.get(reverse("profile")).content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "Choose a time zone."), ("Europe//Paris", "is not a time zone name"), ("Atlantis/Capital", "is not a known time zone")],
)
def test_profile_page_refuses_a_bad_zone_with_the_reason(alice: User, value: str, message: str) -> None:
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    response = client_for(alice).post(reverse("profile"), {"time_zone": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert profile_time_zone(user=alice) == "America/New_York"


@pytest.fixture
def flagged_session(alice: User) -> ClassSession:
    """An ended session of two minutes, one participant, one marked moment at 22:48:05 UTC."""
    session, _ = factories.live_session(owner=alice)
    ClassSession.objects.filter(pk=session.pk).update(started_at=STARTED)
    session.refresh_from_db()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    for second in range(0, 120, 5):
        factories.scored_frame(session, STARTED + timedelta(seconds=second), {ada: {"engagement": 0.8, "expression": "neutral"}})
    Flag.objects.create(session=session, created_by=alice, at=FLAGGED, note="quiz starts")
    rollups_refresh(session=session, now=STARTED + timedelta(minutes=3), full=True)
    session = session_end(session=session)
    ClassSession.objects.filter(pk=session.pk).update(ended_at=STARTED + timedelta(minutes=2))
    session.refresh_from_db()
    return session


def test_report_course_page_and_exports_read_the_users_zone(alice: User, flagged_session: ClassSession) -> None:
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    client = client_for(alice)
    session = flagged_session

    report = client.get(reverse("session-report", kwargs={"session_id": session.pk})).content.decode()
    assert "<time datetime=" in report and ">17:48:05</time> quiz starts" in report
    assert "<td>2026-01-15 17:46:30</td>" in report  # started
    assert "Times are in America/New_York (UTC-05:00)" in report
    figure = json.loads(re.search(r'<script id="figure-engagement" type="application/json">(.*?)</script>', report, re.S)[1])  # type: ignore[index]
    assert figure["layout"]["shapes"][-1]["x0"] == "2026-01-15T17:48:05.250000"  # the flag's line, on the user's clock
    assert figure["data"][0]["x"][0] == "2026-01-15T17:46:00" and figure["layout"]["xaxis"]["tickformat"] == "%H:%M:%S"

    course = client.get(reverse("course-detail", kwargs={"course_id": session.course_id})).content.decode()
    assert "<td>2026-01-15 17:46:30</td>" in course and "(America/New_York)" in course

    exported = client.get(reverse("session-export-csv", kwargs={"session_id": session.pk}))
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))  # type: ignore[attr-defined]
    assert [row["minute_start"] for row in rows] == ["2026-01-15T17:46:00-05:00", "2026-01-15T17:47:00-05:00", "2026-01-15T17:48:00-05:00"]
    assert "2026-01-15" in exported["Content-Disposition"]
    document = json.loads(b"".join(client.get(reverse("session-export-json", kwargs={"session_id": session.pk})).streaming_content))  # type: ignore[attr-defined]
    assert document["session"]["time_zone"] == "America/New_York"
    assert document["session"]["started_at"] == "2026-01-15T17:46:30-05:00"
    assert document["session"]["ended_at"] == "2026-01-15T17:48:30-05:00"
    assert document["flags"][0]["at"] == "2026-01-15T17:48:05.250000-05:00"
    assert document["minutes"][0][2] == "2026-01-15T17:46:00-05:00"


def test_the_same_moment_reads_in_each_users_own_zone(alice: User, flagged_session: ClassSession) -> None:
    admin = factories.teacher("root", staff=True)
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    profile_time_zone_set(user=admin, time_zone="Asia/Tokyo")
    url = reverse("session-report", kwargs={"session_id": flagged_session.pk})
    assert ">17:48:05</time>" in client_for(alice).get(url).content.decode()
    tokyo = client_for(admin).get(url).content.decode()
    assert ">07:48:05</time>" in tokyo and "<td>2026-01-16 07:46:30</td>" in tokyo
    sessions = client_for(admin).get(reverse("admin-sessions")).content.decode()
    assert "<td>2026-01-16 07:46:30</td>" in sessions and "(Asia/Tokyo)" in sessions


def test_live_page_is_given_the_users_zone(alice: User) -> None:
    session, _ = factories.live_session(owner=alice)
    profile_time_zone_set(user=alice, time_zone="America/New_York")
    page = client_for(alice).get(reverse("session-live", kwargs={"session_id": session.pk})).content.decode()
    config = json.loads(re.search(r'<script id="dashboard-config" type="application/json">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert config["time_zone"] == "America/New_York"
