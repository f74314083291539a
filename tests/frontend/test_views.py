"""Teacher pages: sign-in, courses, sessions, tokens, renames, static files, the demo command."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from classroom.models import ClassSession, Course, Participant, Student
from classroom.services import course_create, session_end, token_hash
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


@pytest.fixture
def bob() -> User:
    return factories.teacher("bob")


@pytest.fixture
def staff() -> User:
    return factories.teacher("root", staff=True)


@pytest.fixture
def session(alice: User) -> ClassSession:
    return factories.live_session(owner=alice)[0]


@pytest.fixture
def participant(session: ClassSession) -> Participant:
    return Participant.objects.create(session=session, key="track-1", display_name="Track 1")


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---- sign-in -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "dashboard-home", {}),
        ("post", "course-create", {}),
        ("get", "course-detail", {"course_id": 1}),
        ("post", "session-start", {"course_id": 1}),
        ("get", "session-live", {"session_id": 1}),
        ("post", "session-end", {"session_id": 1}),
        ("post", "session-rotate-token", {"session_id": 1}),
        ("post", "participant-rename", {"session_id": 1, "participant_id": 1}),
    ],
)
def test_pages_need_login(client: Client, method: str, name: str, kwargs: dict[str, int]) -> None:
    url = reverse(name, kwargs=kwargs)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(
    ("password", "signed_in"),
    [("pw-alice-123", True), ("wrong-password", False), ("", False)],
)
def test_login(client: Client, alice: User, password: str, signed_in: bool) -> None:
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    if signed_in:
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard-home")
    else:
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


def test_logout_is_a_post(alice: User) -> None:
    client = logged_in(alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# ---- courses -----------------------------------------------------------------------------------


def test_teacher_sees_only_own_courses_admin_sees_all(alice: User, bob: User, staff: User) -> None:
    course_create(name="Alice's algebra", teacher=alice)
    course_create(name="Bob's biology", teacher=bob)
    alice_page = logged_in(alice).get(reverse("dashboard-home")).content.decode()
    assert "Alice&#x27;s algebra" in alice_page
    assert "biology" not in alice_page
    admin_page = logged_in(staff).get(reverse("dashboard-home")).content.decode()
    assert "algebra" in admin_page
    assert "biology" in admin_page


@pytest.mark.parametrize(
    ("data", "status", "created"),
    [
        ({"name": "Physics"}, 302, "Physics"),
        ({"name": "  Chemistry  "}, 302, "Chemistry"),
        ({"name": ""}, 400, None),
        ({"name": "   "}, 400, None),
        ({"name": "x" * 201}, 400, None),
        ({}, 400, None),
    ],
)
def test_course_create(staff: User, data: dict[str, str], status: int, created: str | None) -> None:
    response = logged_in(staff).post(reverse("course-create"), data)
    assert response.status_code == status
    if created is None:
        assert not Course.objects.exists()
    else:
        course = Course.objects.get()
        assert (course.name, course.teacher) == (created, staff)
        assert response["Location"] == reverse("course-detail", kwargs={"course_id": course.pk})


def test_admin_creates_a_course_for_a_teacher_and_a_teacher_cannot(staff: User, alice: User) -> None:
    response = logged_in(staff).post(reverse("course-create"), {"name": "Algebra", "teacher": alice.pk})
    assert response.status_code == 302 and Course.objects.get().teacher == alice
    refused = logged_in(alice).post(reverse("course-create"), {"name": "Mine"})
    assert refused.status_code == 403 and Course.objects.count() == 1
    assert "New course" not in logged_in(alice).get(reverse("dashboard-home")).content.decode()


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 404), ("root", 200)])
def test_course_detail_visibility(session: ClassSession, bob: User, staff: User, who: str, status: int) -> None:
    user = User.objects.get(username=who)
    response = logged_in(user).get(reverse("course-detail", kwargs={"course_id": session.course_id}))
    assert response.status_code == status
    if status == 200:
        assert session.ingest_token_hint in response.content.decode()


def test_unknown_course_is_404(alice: User) -> None:
    assert logged_in(alice).get(reverse("course-detail", kwargs={"course_id": 999})).status_code == 404


# ---- sessions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "title"),
    [({"title": "Week 2"}, 200, "Week 2"), ({"title": ""}, 200, ""), ({}, 200, ""), ({"title": "x" * 201}, 400, None)],
)
def test_session_start_shows_token_once(alice: User, data: dict[str, str], status: int, title: str | None) -> None:
    course = course_create(name="Physics", teacher=alice)
    client = logged_in(alice)
    response = client.post(reverse("session-start", kwargs={"course_id": course.pk}), data)
    assert response.status_code == status
    if title is None:
        assert not ClassSession.objects.exists()
        return
    session = ClassSession.objects.get()
    assert (session.title, session.status) == (title, ClassSession.Status.LIVE)
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token_hash(token) == session.ingest_token_hash
    page = response.content.decode()
    assert token in page
    assert response.context["ingest_url"] == "http://testserver" + reverse("ingest-frames", kwargs={"session_id": session.pk})
    assert f"Authorization: Bearer {token}" in page
    for name, kwargs in [("session-live", {"session_id": session.pk}), ("course-detail", {"course_id": course.pk}), ("dashboard-home", {})]:
        assert token not in client.get(reverse(name, kwargs=kwargs)).content.decode()


def test_session_start_on_someone_elses_course_is_404(session: ClassSession, bob: User) -> None:
    response = logged_in(bob).post(reverse("session-start", kwargs={"course_id": session.course_id}), {"title": "hijack"})
    assert response.status_code == 404
    assert ClassSession.objects.count() == 1


def test_session_start_needs_post(session: ClassSession, alice: User) -> None:
    assert logged_in(alice).get(reverse("session-start", kwargs={"course_id": session.course_id})).status_code == 405


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 404), ("root", 200)])
def test_live_page_visibility(session: ClassSession, bob: User, staff: User, who: str, status: int) -> None:
    response = logged_in(User.objects.get(username=who)).get(reverse("session-live", kwargs={"session_id": session.pk}))
    assert response.status_code == status


def test_live_page_has_the_dashboard_hooks(session: ClassSession, alice: User) -> None:
    response = logged_in(alice).get(reverse("session-live", kwargs={"session_id": session.pk}))
    page = response.content.decode()
    for element_id in ["class-engagement-chart", "expression-mix-chart", "participant-cards", "frames-received", "connection-status"]:
        assert f'id="{element_id}"' in page
    assert "apparent expression" in page
    assert "engagement indicator" in page
    assert reverse("plotly-js") in page
    assert "cdn" not in page.lower()
    config = response.context["config"]
    assert config["ws_path"] == f"/ws/sessions/{session.pk}/"
    assert config["policy"] == "full"
    assert '<script id="dashboard-config" type="application/json">' in page


@pytest.mark.parametrize("policy", ["aggregate", "attention"])
def test_live_page_explains_the_privacy_policy(session: ClassSession, alice: User, settings: pytest.FixtureRequest, policy: str) -> None:
    settings.PRIVACY_POLICY = policy  # type: ignore[attr-defined]
    response = logged_in(alice).get(reverse("session-live", kwargs={"session_id": session.pk}))
    assert 'id="policy-notice"' in response.content.decode()
    assert response.context["config"]["policy"] == policy


@pytest.mark.parametrize(("who", "status", "ended"), [("alice", 302, True), ("bob", 404, False), ("root", 302, True)])
def test_session_end(session: ClassSession, bob: User, staff: User, who: str, status: int, ended: bool) -> None:
    response = logged_in(User.objects.get(username=who)).post(reverse("session-end", kwargs={"session_id": session.pk}))
    assert response.status_code == status
    session.refresh_from_db()
    assert (session.status == ClassSession.Status.ENDED) is ended
    assert (session.ended_at is not None) is ended


def test_session_end_twice_keeps_the_first_end(session: ClassSession, alice: User) -> None:
    client = logged_in(alice)
    url = reverse("session-end", kwargs={"session_id": session.pk})
    client.post(url)
    session.refresh_from_db()
    first_end = session.ended_at
    assert client.post(url).status_code == 302
    session.refresh_from_db()
    assert session.ended_at == first_end
    assert client.get(url).status_code == 405


def test_rotate_token(session: ClassSession, alice: User) -> None:
    old_hash = session.ingest_token_hash
    response = logged_in(alice).post(reverse("session-rotate-token", kwargs={"session_id": session.pk}))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    session.refresh_from_db()
    token = response.context["token"]
    assert session.ingest_token_hash == token_hash(token) != old_hash
    assert token in response.content.decode()


@pytest.mark.parametrize(("who", "ended", "status"), [("bob", False, 404), ("alice", True, 302)])
def test_rotate_token_refused(session: ClassSession, bob: User, who: str, ended: bool, status: int) -> None:
    if ended:
        session = session_end(session=session)
    old_hash = session.ingest_token_hash
    response = logged_in(User.objects.get(username=who)).post(reverse("session-rotate-token", kwargs={"session_id": session.pk}))
    assert response.status_code == status
    session.refresh_from_db()
    assert session.ingest_token_hash == old_hash


# ---- renaming participants ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ({"display_name": "Ada"}, "Ada"),
        ({"display_name": "  Grace Hopper  "}, "Grace Hopper"),
        ({"display_name": ""}, None),
        ({"display_name": "   "}, None),
        ({"display_name": "x" * 201}, None),
        ({}, None),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_participant_rename(
    session: ClassSession, participant: Participant, alice: User, data: dict[str, str], name: str | None, as_json: bool
) -> None:
    url = reverse("participant-rename", kwargs={"session_id": session.pk, "participant_id": participant.pk})
    headers = {"Accept": "application/json"} if as_json else {}
    response = logged_in(alice).post(url, data, headers=headers)
    participant.refresh_from_db()
    assert participant.display_name == (name or "Track 1")
    if as_json:
        if name:
            assert (response.status_code, response.json()) == (200, {"participant": participant.pk, "name": name})
        else:
            assert response.status_code == 400
            assert response.json()["errors"]
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("session-live", kwargs={"session_id": session.pk})


@pytest.mark.parametrize(
    ("student", "linked"),
    [("roster", True), ("other course", False), ("opted out", False), ("unknown", False), ("not a number", False)],
)
def test_participant_link_to_student(
    session: ClassSession, participant: Participant, alice: User, bob: User, student: str, linked: bool
) -> None:
    ada = Student.objects.create(course=session.course, name="Ada Lovelace")
    students = {
        "roster": str(ada.pk),
        "other course": str(Student.objects.create(course=course_create(name="Other", teacher=bob), name="Ada Lovelace").pk),
        "opted out": str(Student.objects.create(course=session.course, name="Olly", opted_out=True).pk),
        "unknown": "999999",
        "not a number": "ada",
    }
    url = reverse("participant-rename", kwargs={"session_id": session.pk, "participant_id": participant.pk})
    response = logged_in(alice).post(url, {"student": students[student]}, headers={"Accept": "application/json"})
    participant.refresh_from_db()
    if linked:
        assert (response.status_code, response.json()) == (200, {"participant": participant.pk, "name": "Ada Lovelace"})
        assert (participant.student_id, participant.display_name) == (ada.pk, "Ada Lovelace")
    else:
        assert response.status_code == 400
        assert response.json()["errors"]
        assert participant.student_id is None


@pytest.mark.parametrize("case", ["other teacher", "participant of another session", "unknown participant"])
def test_participant_rename_refused(session: ClassSession, participant: Participant, bob: User, alice: User, case: str) -> None:
    user, session_id, participant_id = alice, session.pk, participant.pk
    if case == "other teacher":
        user = bob
    elif case == "participant of another session":
        session_id = factories.live_session(owner=alice, course_name="Other")[0].pk
    else:
        participant_id = 999
    url = reverse("participant-rename", kwargs={"session_id": session_id, "participant_id": participant_id})
    assert logged_in(user).post(url, {"display_name": "Mallory"}).status_code == 404
    participant.refresh_from_db()
    assert participant.display_name == "Track 1"


# ---- static files ------------------------------------------------------------------------------


def test_plotly_is_served_locally_and_cached_for_good(client: Client) -> None:
    response = client.get(reverse("plotly-js"))
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "immutable" in response["Cache-Control"]
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()


def test_the_extensions_upload_logic_is_served_for_the_camera_page(client: Client) -> None:
    """One file, two loaders: the camera page loads frontend/extension/uploads.js from the site, byte for byte."""
    response = client.get(reverse("extension-uploads-js"))
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "max-age" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == (Path(settings.BASE_DIR) / "frontend" / "extension" / "uploads.js").read_bytes()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("frontend/live.js", 200),
        ("frontend/app.css", 200),
        ("admin/css/base.css", 200),
        ("frontend/missing.js", 404),
        ("../settings.py", 400),
    ],
)
def test_static_files(client: Client, path: str, status: int) -> None:
    response = client.get(reverse("static-file", kwargs={"path": path}))
    assert response.status_code == status
    if status == 200:
        assert "max-age" in response["Cache-Control"]


# ---- demo_setup ----------------------------------------------------------------------------------


def run_demo_setup(*args: str) -> dict[str, object]:
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out)
    return json.loads(out.getvalue())


def test_demo_setup_is_idempotent_and_prints_what_the_run_script_needs() -> None:
    first = run_demo_setup()
    assert set(first) >= {"session", "token", "teacher", "password", "dashboard_url"}
    assert first["dashboard_url"] == reverse("session-live", kwargs={"session_id": first["session"]})
    second = run_demo_setup("--password", "another-demo-pass-99")
    assert second["session"] == first["session"]
    assert second["token"] != first["token"]
    session = ClassSession.objects.get(pk=second["session"])
    assert session.is_live
    assert session.ingest_token_hash == token_hash(str(second["token"]))
    assert Course.objects.filter(name="Demo course").count() == 1
    client = Client()
    assert client.login(request=HttpRequest(), username=second["teacher"], password="another-demo-pass-99")  # django-axes needs a request
    assert client.get(str(second["dashboard_url"])).status_code == 200
    assert User.objects.get(username=second["admin"]).is_superuser


def test_demo_setup_starts_a_new_session_after_the_last_one_ended() -> None:
    first = run_demo_setup()
    session_end(session=ClassSession.objects.get(pk=first["session"]))
    assert run_demo_setup()["session"] != first["session"]


# ---- Content-Security-Policy ---------------------------------------------------------------------

TEMPLATES_DIR = Path(settings.BASE_DIR) / "frontend" / "templates"


def test_pages_carry_a_content_security_policy_without_inline_script(client: Client) -> None:
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


@pytest.mark.parametrize("template", sorted(str(path.relative_to(TEMPLATES_DIR)) for path in TEMPLATES_DIR.rglob("*.html")))
def test_no_template_has_an_inline_script_or_handler(template: str) -> None:
    """The policy forbids inline script: a template with one would break in the browser, so it fails here first."""
    text = (TEMPLATES_DIR / template).read_text()
    inline_scripts = [tag for tag in re.findall(r"<script\b[^>]*>", text) if "src=" not in tag and "application/json" not in tag]
    handlers = re.findall(r"\son[a-z]+\s*=", text)
    assert (inline_scripts, handlers) == ([], [])
