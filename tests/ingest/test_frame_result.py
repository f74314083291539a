"""``GET /api/v1/sessions/<id>/frames/<frame_id>``: what became of a frame, for the client that sent it (the camera page)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from classroom.models import FrameLog, Participant
from tests import factories

pytestmark = pytest.mark.django_db


def get(session_id: int, frame_id: str, token: str) -> Any:
    return Client().get(f"/api/v1/sessions/{session_id}/frames/{frame_id}", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize(
    ("policy", "expression", "described"), [("full", "happy", True), ("attention", None, True), ("aggregate", None, False)]
)
def test_a_processed_frame_describes_its_faces_within_the_policy(policy: str, expression: str | None, described: bool) -> None:
    session, token = factories.live_session()
    session.course.privacy_policy = policy
    session.course.save()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    at = timezone.now()
    factories.scored_frame(session, at, {ada: {"engagement": 0.9, "expression": "happy", "confidence": 0.8, "box": [10, 20, 30, 40]}})
    FrameLog.objects.filter(session=session).update(faces_found=1, latency_ms=120.0)
    response = get(session.pk, at.isoformat(), token)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["faces_found"], body["latency_ms"]) == ("processed", 1, 120.0)
    faces = [
        {"name": "Ada", "box": [10, 20, 30, 40], "engagement": 0.9, "band": "engaged", "expression": expression, "low_resolution": False}
    ]
    assert [{k: v for k, v in face.items() if k != "confidence"} for face in body["faces"]] == (faces if described else [])


def test_a_queued_frame_says_so() -> None:
    session, token = factories.live_session()
    now = timezone.now()
    FrameLog.objects.create(session=session, frame_id="f-1", captured_at=now, received_at=now)
    body = get(session.pk, "f-1", token).json()
    assert (body["status"], body["faces"], body["reason"]) == ("queued", [], None)


@pytest.mark.parametrize(
    ("frame_id", "token", "status", "error"),
    [
        ("nope", None, 404, "unknown_frame"),
        ("f-1", "not-a-token", 401, "invalid_token"),
        ("f-1", "other", 403, "wrong_session"),
    ],
)
def test_refusals(frame_id: str, token: str | None, status: int, error: str) -> None:
    session, own = factories.live_session()
    _, other = factories.live_session(owner=factories.teacher("bob"), course_name="Other")
    now = timezone.now()
    FrameLog.objects.create(session=session, frame_id="f-1", captured_at=now, received_at=now)
    response = get(session.pk, frame_id, {None: own, "other": other}.get(token, token or own))
    assert response.status_code == status
    assert response.json()["error"] == error


def test_post_is_not_allowed() -> None:
    session, token = factories.live_session()
    response = Client().post(f"/api/v1/sessions/{session.pk}/frames/f-1", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
