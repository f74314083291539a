"""Pairing the extension by a one-time code: the live page asks for one, the extension exchanges it once.

Every refusal has its exact status and message; 20 wrong codes in a row from one address are throttled.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classroom.models import ClassSession, IngestCredential, PairingCode
from classroom.pairing import ALPHABET
from classroom.services import session_end, session_rotate_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


@pytest.fixture
def session(alice: User) -> ClassSession:
    return factories.live_session(owner=alice)[0]


def new_code(session: ClassSession, user: User) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    response = client.post(reverse("pairing-code", kwargs={"session_id": session.pk}))
    assert response.status_code == 201, response.content
    assert response["Cache-Control"].startswith("max-age=0")  # never cached
    body: dict[str, Any] = response.json()
    return body


def exchange(code: Any, *, client: Client | None = None, raw: bytes | None = None, address: str = "10.0.0.1") -> Any:
    body = raw if raw is not None else json.dumps({"code": code}).encode()
    return (client or Client()).post(reverse("ingest-pairing"), body, content_type="application/json", REMOTE_ADDR=address)


def assert_error(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    assert response.json() == {"error": code, "message": message}


def test_a_code_pairs_once_and_its_credential_uploads(session: ClassSession, alice: User) -> None:
    shown = new_code(session, alice)
    assert shown["expires_in_seconds"] == 600
    code = shown["code"]
    assert len(code) == 9 and code[4] == "-" and all(ch in ALPHABET for ch in code.replace("-", ""))
    response = exchange(code.lower().replace("-", " "))  # typed by hand: case and separators do not matter
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    paired = response.json()
    assert {key: paired[key] for key in ("session", "course", "frames_url")} == {
        "session": session.pk,
        "course": "Physics",
        "frames_url": f"/api/v1/sessions/{session.pk}/frames",
    }
    assert IngestCredential.objects.get().session == session
    frame = factories.encode(factories.astronaut_bgr())
    upload = Client().post(
        paired["frames_url"],
        {"image": factories.uploaded(frame), "captured_at": timezone.now().isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {paired['token']}",
    )
    assert upload.status_code == 202, upload.content
    assert_error(exchange(code), 410, "code_used", "This pairing code was used already; get a new one from the live page.")


def test_an_expired_code_is_refused(session: ClassSession, alice: User) -> None:
    code = new_code(session, alice)["code"]
    PairingCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(exchange(code), 410, "code_expired", "This pairing code has expired; get a new one from the live page.")
    assert IngestCredential.objects.count() == 0


def test_a_code_of_an_ended_session_is_refused(session: ClassSession, alice: User) -> None:
    code = new_code(session, alice)["code"]
    session_end(session=session)
    assert_error(exchange(code), 403, "session_ended", "The session has ended; start a new one to connect the extension.")


@pytest.mark.parametrize(
    ("raw", "status", "error", "message"),
    [
        (b"", 400, "invalid_code", 'give the pairing code as a string: {"code": "ABCD-EFGH"}'),
        (b"{not json", 400, "invalid_json", 'the body must be JSON: {"code": "ABCD-EFGH"}'),
        (b"\xff\xfe", 400, "invalid_json", 'the body must be JSON: {"code": "ABCD-EFGH"}'),
        (b'["ABCD-EFGH"]', 400, "invalid_code", 'give the pairing code as a string: {"code": "ABCD-EFGH"}'),
        (b'{"code": 12345678}', 400, "invalid_code", 'give the pairing code as a string: {"code": "ABCD-EFGH"}'),
        (b'{"code": "ABC"}', 400, "invalid_code", "A pairing code is 8 letters and digits, like ABCD-EFGH."),
        (b'{"code": "ABCD-EFG0"}', 400, "invalid_code", "A pairing code is 8 letters and digits, like ABCD-EFGH."),
        (b'{"code": "ABCD-EFGH"}', 404, "unknown_code", "No such pairing code: check it, or get a new one from the live page."),
        (b'{"code": "' + b"A" * 2000 + b'"}', 413, "body_too_large", "the body is limited to 1024 bytes"),
    ],
)
def test_malformed_and_guessed_codes_are_refused_precisely(raw: bytes, status: int, error: str, message: str) -> None:
    assert_error(exchange(None, raw=raw), status, error, message)
    assert IngestCredential.objects.count() == 0


def test_only_post_is_allowed() -> None:
    response = Client().get(reverse("ingest-pairing"))
    assert_error(response, 405, "method_not_allowed", 'use POST with a JSON body {"code": "ABCD-EFGH"}')


def test_twenty_wrong_codes_in_a_row_are_throttled(session: ClassSession, alice: User, settings: Any) -> None:
    assert settings.PAIRING_MAX_FAILURES == 20
    statuses = [exchange(f"WXYZ-{k:04d}".replace("0", "2").replace("1", "3")).status_code for k in range(20)]
    assert statuses == [404] * 20
    good = new_code(session, alice)["code"]
    refused = exchange(good)  # even a good code waits now
    assert refused.status_code == 429 and refused.json()["error"] == "pairing_throttled"
    assert 0 < int(refused["Retry-After"]) <= settings.PAIRING_FAILURE_WINDOW_SECONDS
    assert exchange(good, address="10.0.0.2").status_code == 200  # another address is not held back


def test_only_the_courses_teacher_or_an_admin_makes_codes(session: ClassSession) -> None:
    mallory = Client()
    mallory.force_login(factories.teacher("mallory"))
    response = mallory.post(reverse("pairing-code", kwargs={"session_id": session.pk}))
    assert_error(response, 404, "not_found", "No such session.")
    assert PairingCode.objects.count() == 0


def test_no_code_for_an_ended_session(session: ClassSession, alice: User) -> None:
    session_end(session=session)
    client = Client()
    client.force_login(alice)
    response = client.post(reverse("pairing-code", kwargs={"session_id": session.pk}))
    assert_error(response, 409, "session_ended", "The session has ended; start a new one to connect the extension.")


def test_rotating_the_token_revokes_paired_credentials(session: ClassSession, alice: User) -> None:
    token = exchange(new_code(session, alice)["code"]).json()["token"]
    session_rotate_token(session=session)
    frame = factories.encode(factories.astronaut_bgr())
    upload = Client().post(
        f"/api/v1/sessions/{session.pk}/frames",
        {"image": factories.uploaded(frame), "captured_at": timezone.now().isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert upload.status_code == 401


def test_codes_are_stored_hashed_and_purged_a_day_after_expiry(session: ClassSession, alice: User) -> None:
    from classroom.retention import retention_apply

    code = new_code(session, alice)["code"]
    stored = PairingCode.objects.get()
    assert code.replace("-", "") not in stored.code_hash
    PairingCode.objects.update(expires_at=timezone.now() - timedelta(days=2))
    assert retention_apply()["pairing_codes"] == 1
