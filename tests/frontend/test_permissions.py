"""Every URL has a permission rule, and this test, generated from the URL conf, proves each one.

Rules: ``public`` (anyone), ``token`` (the ingest API: a session's bearer token), ``code`` (pairing: a
one-time code shown to the course's teacher), ``login`` (a signed-in
user; anonymous visitors are sent to log in, JSON endpoints answer 401), ``owner`` (the course's teacher or
an admin; another teacher gets 404, so ids cannot be probed), ``staff`` (admins only; a teacher gets 403).
WebSocket routes have their own table, ``WS_RULES``, generated and proven the same way (``owner``: 4401
anonymous, 4403 another teacher, accepted for the course's teacher and an admin).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from classroom.models import Alert, ClassSession, Participant, Student
from frontend.routing import websocket_urlpatterns
from project.asgi import application
from tests import factories
from tests.frontend.test_consumers import headers

pytestmark = pytest.mark.django_db

RULES: dict[str, str] = {
    "healthz": "public",
    "login": "public",
    "password_reset": "public",
    "password_reset_done": "public",
    "password_reset_confirm": "public",
    "password_reset_complete": "public",
    "plotly-js": "public",
    "extension-uploads-js": "public",
    "static-file": "public",
    "ingest-frames": "token",
    "ingest-schema": "public",
    "ingest-pairing": "code",
    "ingest-frame-result": "token",
    "session-camera": "public",
    "dashboard-home": "login",
    "logout": "login",
    "password_change": "login",
    "password_change_done": "login",
    "profile": "login",
    "profile-time-zone-detect": "login",
    "course-create": "staff",
    "teacher-create": "staff",
    "admin-sessions": "staff",
    "course-detail": "owner",
    "session-start": "owner",
    "course-alerts": "owner",
    "roster-add": "owner",
    "roster-import": "owner",
    "roster-update": "owner",
    "roster-remove": "owner",
    "session-live": "owner",
    "session-end": "owner",
    "session-report": "owner",
    "session-export-csv": "owner",
    "session-export-json": "owner",
    "session-export-attendance": "owner",
    "session-rotate-token": "owner",
    "participant-rename": "owner",
    "participant-timeline": "owner",
    "alert-acknowledge": "owner",
    "flag-create": "owner",
    "pairing-code": "owner",
}
JSON_ENDPOINTS = {"participant-timeline", "alert-acknowledge", "flag-create", "pairing-code", "profile-time-zone-detect"}
POST_ONLY = {
    "course-create",
    "session-start",
    "course-alerts",
    "roster-add",
    "roster-import",
    "roster-update",
    "roster-remove",
    "session-end",
    "session-rotate-token",
    "participant-rename",
    "alert-acknowledge",
    "flag-create",
    "logout",
    "ingest-frames",
    "ingest-pairing",
    "pairing-code",
    "profile-time-zone-detect",
}


def url_names() -> Iterator[str]:
    def walk(patterns: list[URLPattern | URLResolver]) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":  # the Django admin checks is_staff itself
                    yield from walk(pattern.url_patterns)
            elif pattern.name:
                yield pattern.name

    return walk(get_resolver().url_patterns)


def test_every_url_has_a_rule() -> None:
    assert sorted(set(url_names()) - set(RULES)) == []
    assert sorted(set(RULES) - set(url_names())) == []


@pytest.fixture
def world() -> dict[str, object]:
    alice = factories.teacher("alice")
    session, _ = factories.live_session(owner=alice)
    participant = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    alert = Alert.objects.create(session=session, kind="uploads_stopped", raised_at=timezone.now())
    student = Student.objects.create(course=session.course, name="Ada")
    return {"alice": alice, "session": session, "participant": participant, "alert": alert, "student": student}


def url_for(name: str, world: dict[str, object]) -> str:
    session = world["session"]
    assert isinstance(session, ClassSession)
    values = {
        "course_id": session.course_id,
        "session_id": session.pk,
        "participant_id": world["participant"].pk,  # type: ignore[attr-defined]
        "alert_id": world["alert"].pk,  # type: ignore[attr-defined]
        "student_id": world["student"].pk,  # type: ignore[attr-defined]
        "uidb64": "MQ",
        "token": "bad-token",
        "path": "frontend/app.css",
        "frame_id": "f-1",
    }
    pattern = get_resolver().reverse_dict.getlist(name)[0][0][0][1]
    return reverse(name, kwargs={key: values[key] for key in pattern})


def call(client: Client, name: str, url: str) -> int:
    response = client.post(url) if name in POST_ONLY else client.get(url)
    return response.status_code


@pytest.mark.parametrize("name", sorted(RULES))
def test_anonymous_visitors(name: str, world: dict[str, object]) -> None:
    client = Client()
    url = url_for(name, world)
    response = client.post(url) if name in POST_ONLY else client.get(url)
    rule = RULES[name]
    if rule == "public":
        assert response.status_code in (200, 302)  # the reset-confirm page redirects to its own form
        assert "/accounts/login/" not in response.get("Location", "")
    elif rule == "token":
        assert response.status_code == 401
    elif rule == "code":  # anyone may try; without a valid one-time code it is refused
        assert response.status_code == 400 and response.json()["error"] in ("invalid_json", "invalid_code")
    elif name in JSON_ENDPOINTS:
        assert response.status_code == 401 and response.json()["error"] == "not_authenticated"
    else:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", sorted(name for name, rule in RULES.items() if rule in ("owner", "staff")))
def test_another_teacher(name: str, world: dict[str, object]) -> None:
    client = Client()
    client.force_login(factories.teacher("mallory"))
    status = call(client, name, url_for(name, world))
    assert status == (404 if RULES[name] == "owner" else 403)


@pytest.mark.parametrize("name", sorted(name for name, rule in RULES.items() if rule == "owner" and name not in POST_ONLY))
def test_owner_and_admin_may_read(name: str, world: dict[str, object]) -> None:
    for user in (world["alice"], factories.teacher(f"root-{name}", staff=True)):
        client = Client()
        assert isinstance(user, User)
        client.force_login(user)
        assert call(client, name, url_for(name, world)) == 200


# ---- WebSocket routes ----------------------------------------------------------------------------

WS_RULES: dict[str, str] = {"ws/sessions/<int:session_id>/": "owner"}


def ws_routes() -> list[str]:
    return [str(pattern.pattern) for pattern in websocket_urlpatterns]


def test_every_websocket_route_has_a_rule() -> None:
    assert sorted(ws_routes()) == sorted(WS_RULES)


async def _ws_outcome(path: str, handshake: list[tuple[bytes, bytes]]) -> str:
    socket = WebsocketCommunicator(application, path, headers=handshake)
    accepted, code = await socket.connect(timeout=5)
    if not accepted:
        return f"refused {code}"
    message = await socket.receive_output(timeout=5)
    await socket.disconnect()
    return f"closed {message.get('code')}" if message["type"] == "websocket.close" else "accepted"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(WS_RULES))
@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", "closed 4401"), ("another teacher", "closed 4403"), ("owner", "accepted"), ("admin", "accepted")]
)
def test_websocket_routes_by_role(route: str, who: str, expected: str) -> None:
    assert WS_RULES[route] == "owner"
    alice = factories.teacher("alice")
    session, _ = factories.live_session(owner=alice)
    users = {
        "anonymous": None,
        "another teacher": factories.teacher("mallory"),
        "owner": alice,
        "admin": factories.teacher("root", staff=True),
    }
    path = "/" + re.sub(r"<int:session_id>", str(session.pk), route)
    assert async_to_sync(_ws_outcome)(path, headers(users[who])) == expected
