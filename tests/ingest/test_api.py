"""The ingest API: every refusal with its exact status and message, and the accepted path."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import numpy as np
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from classroom import admission, live_state
from classroom.models import FrameLog
from classroom.selectors import session_frame_counts
from classroom.services import session_end
from ingest import buffer
from tests.factories import astronaut_bgr, encode, live_session, teacher

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).isoformat()
JPEG = encode(cv2.resize(astronaut_bgr(), (256, 256)))


def post(client: Client, session_id: int, token: str | None, *, image: bytes | None = JPEG, **fields: Any) -> Any:
    extra: dict[str, Any] = {name: fields.pop(name) for name in list(fields) if name.startswith("HTTP_")}
    data: dict[str, Any] = {"captured_at": NOW, **fields}
    if image is not None:
        data["image"] = SimpleUploadedFile("frame.jpg", image, content_type="image/jpeg")
    data = {k: v for k, v in data.items() if v is not None}
    headers = {"HTTP_AUTHORIZATION": token} if token is not None else {}
    return client.post(f"/api/v1/sessions/{session_id}/frames", data, **headers, **extra)


@pytest.fixture
def live() -> tuple[int, str]:
    session, token = live_session()
    return session.pk, f"Bearer {token}"


def assert_error(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = dict(response.json())
    max_fps = body.pop("max_fps", None)  # once the door saw the upload: the session's rate now
    assert body == {"error": code, "message": message}
    assert max_fps is None or max_fps > 0


@pytest.mark.parametrize(
    ("header", "code", "message"),
    [
        (None, "missing_token", "Authorization: Bearer <session ingest token> is required"),
        ("", "missing_token", "Authorization: Bearer <session ingest token> is required"),
        ("Token abc", "invalid_token", "Authorization header must be 'Bearer <session ingest token>'"),
        ("Bearer ", "invalid_token", "Authorization header must be 'Bearer <session ingest token>'"),
        ("Bearer not-a-real-token", "invalid_token", "ingest token is not valid"),
    ],
)
def test_unauthorised_is_401(client: Client, live: tuple[int, str], header: str | None, code: str, message: str) -> None:
    assert_error(post(client, live[0], header), 401, code, message)


def test_token_of_another_session_is_403(client: Client, live: tuple[int, str]) -> None:
    _, other_token = live_session(owner=teacher("other"), course_name="Maths")
    assert_error(post(client, live[0], f"Bearer {other_token}"), 403, "wrong_session", "ingest token belongs to another session")


def test_ended_session_is_403(client: Client) -> None:
    session, token = live_session()
    session_end(session=session)
    assert_error(
        post(client, session.pk, f"Bearer {token}"), 403, "session_ended", "session has ended; start a new session to upload frames"
    )


def test_get_is_405(client: Client, live: tuple[int, str]) -> None:
    response = client.get(f"/api/v1/sessions/{live[0]}/frames", HTTP_AUTHORIZATION=live[1])
    assert_error(response, 405, "method_not_allowed", "use POST with multipart/form-data")


def test_oversized_image_is_413(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_MAX_FRAME_BYTES = 1000
    assert_error(post(client, *live), 413, "frame_too_large", f"image is {len(JPEG)} bytes; the limit is 1000 bytes")


def test_oversized_request_is_413_from_content_length(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = post(client, *live)
    assert response.status_code == 413
    assert response.json()["error"] == "frame_too_large"
    assert response.json()["message"].endswith("the limit is 2000 bytes")


def test_too_many_pixels_is_413(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_MAX_PIXELS = 100 * 100
    assert_error(post(client, *live), 413, "image_too_large", "image is 256x256; at most 10000 pixels are accepted")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"hello, I am text", "image must be JPEG, PNG or WebP"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "image must be JPEG, PNG or WebP"),
        (b"BM" + b"\x00" * 60, "image must be JPEG, PNG or WebP"),
    ],
)
def test_unsupported_image_type_is_415(client: Client, live: tuple[int, str], image: bytes, message: str) -> None:
    assert_error(post(client, *live, image=image), 415, "unsupported_media_type", message)


def test_non_multipart_body_is_415(client: Client, live: tuple[int, str]) -> None:
    response = client.post(f"/api/v1/sessions/{live[0]}/frames", data=b"{}", content_type="application/json", HTTP_AUTHORIZATION=live[1])
    assert_error(response, 415, "unsupported_media_type", "request must be multipart/form-data with an 'image' file field")


@pytest.mark.parametrize(
    ("image", "fields", "code", "message"),
    [
        (None, {}, "invalid_field", "image is required (multipart file field 'image')"),
        (b"\xff\xd8\xff" + b"\x00" * 64, {}, "undecodable_image", "image could not be decoded"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, {}, "undecodable_image", "image could not be decoded"),
        (JPEG, {"captured_at": ""}, "invalid_field", "captured_at is required (ISO 8601 with time zone, or Unix epoch milliseconds)"),
        (JPEG, {"captured_at": "yesterday"}, "invalid_field", "captured_at must be ISO 8601 with time zone, or Unix epoch milliseconds"),
        (JPEG, {"captured_at": "2026-01-01T10:00:00"}, "invalid_field", "captured_at must include a time zone"),
        (JPEG, {"captured_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "invalid_field", "captured_at is in the future"),
        (JPEG, {"captured_at": "0001-01-01T00:00:00+00:00"}, "invalid_field", "captured_at is more than a day ago"),
        (
            JPEG,
            {"captured_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()},
            "invalid_field",
            "captured_at is before the session started",
        ),
        (JPEG, {"frame_id": "has spaces"}, "invalid_field", "frame_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'"),
        (JPEG, {"frame_id": "x" * 65}, "invalid_field", "frame_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'"),
    ],
)
def test_malformed_fields_are_400(
    client: Client, live: tuple[int, str], image: bytes | None, fields: dict[str, str], code: str, message: str
) -> None:
    assert_error(post(client, *live, image=image, **fields), 400, code, message)


@pytest.mark.parametrize(
    "tiles",
    [
        "not json",
        "{}",
        json.dumps([{"name": "A", "x": 0, "y": 0, "w": 9999, "h": 10}]),
        "[" * 100_000 + "]" * 100_000,  # nested too deeply for any parser: once a 500
        "[" * 5_000 + "]" * 5_000,
    ],
    ids=["not json", "object", "outside the frame", "too long", "nested too deeply"],
)
def test_malformed_tiles_are_400(client: Client, live: tuple[int, str], tiles: str) -> None:
    response = post(client, *live, tiles=tiles)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tiles"
    assert response.json()["message"]
    assert FrameLog.objects.count() == 0


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (a decompression bomb when huge); its pixels are junk."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (2**31 - 1, 2**31 - 1)])
def test_decompression_bomb_is_413_before_decoding(client: Client, live: tuple[int, str], width: int, height: int) -> None:
    response = post(client, *live, image=png_header(width, height))
    assert response.status_code == 413 and response.json()["error"] == "image_too_large"
    assert FrameLog.objects.count() == 0


def test_rate_limit_is_429_with_retry_after(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_RATE_BURST = 2
    settings.INGEST_RATE_PER_SECOND = 0.5
    assert [post(client, *live).status_code for _ in range(2)] == [202, 202]
    response = post(client, *live)
    assert_error(response, 429, "rate_limited", "too many frames for this session; send at most 0.5 per second")
    assert response.json()["max_fps"] == 0.5
    assert 1 <= int(response["Retry-After"]) <= 2


def test_full_backlog_is_503_with_retry_after(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_MAX_BACKLOG = 1
    assert post(client, *live).status_code == 202
    response = post(client, *live)
    assert_error(response, 503, "backlog_full", "too many frames are waiting for this session; retry later")
    assert response["Retry-After"] == "1"


def test_workers_behind_is_503_with_retry_after_and_writes_nothing(client: Client, live: tuple[int, str]) -> None:
    # Frames of other sessions fill the door's window (the workers have stored none yet: a start).
    for frame_log_id in range(admission.MIN_WINDOW):
        admission.frame_in_flight(frame_log_id=10_000 + frame_log_id, at=time.time())
    response = post(client, *live)
    assert_error(response, 503, "server_busy", "the server is behind on frames from all sessions; retry later")
    assert int(response["Retry-After"]) >= 1 and response.json()["max_fps"] > 0  # its share is still told
    assert FrameLog.objects.count() == 0
    admission.frame_finished(frame_log_id=10_000, arrived_at=time.time(), took_ms=400, stored=True)
    assert post(client, *live).status_code == 202  # one came out: there is room again


def test_full_ingest_queue_of_all_sessions_is_503(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_MAX_QUEUED = 2
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    live_state.client().rpush(f"{prefix}ingest", "a task of another session", "and another")
    response = post(client, *live)
    assert_error(response, 503, "server_busy", "the server has too many frames waiting from all sessions; retry later")
    assert response["Retry-After"] == "2"
    assert FrameLog.objects.count() == 0


def test_redis_full_is_503_and_writes_nothing(client: Client, live: tuple[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def full(**_: Any) -> None:
        raise redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'.")

    monkeypatch.setattr(buffer, "frame_put", full)
    response = post(client, *live)
    assert_error(response, 503, "server_busy", "the frame buffer is full; retry later")
    assert FrameLog.objects.count() == 0  # the frame's log was rolled back with it


def test_redis_down_is_503_not_500(client: Client, live: tuple[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def down(**_: Any) -> None:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(admission, "frame_admit", down)
    response = post(client, *live)
    assert_error(response, 503, "server_busy", "the frame buffer is unavailable for a moment; retry later")
    assert response["Retry-After"] == "2"


def test_refusals_for_load_are_counted_for_the_live_page(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_MAX_BACKLOG = 1
    settings.INGEST_RATE_BURST = 2
    settings.INGEST_RATE_PER_SECOND = 0.1
    assert [post(client, *live).status_code for _ in range(3)] == [202, 503, 429]
    session_id = live[0]
    assert live_state.refusals(session_id=session_id) == {"backlog_full": 1, "rate_limited": 1}
    assert session_frame_counts(session_id=session_id)["refused"] == 2


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_accepted_frame_is_buffered_with_ttl_and_logged(client: Client, live: tuple[int, str], ext: str) -> None:
    image = encode(cv2.resize(astronaut_bgr(), (64, 48)), ext)
    response = post(client, *live, image=image, frame_id="f-1")
    assert response.status_code == 202
    assert response.json() == {"frame_id": "f-1", "status": "queued", "duplicate": False, "max_fps": 5.0}
    log = FrameLog.objects.get(frame_id="f-1")
    assert (log.width, log.height, log.status) == (64, 48, "queued")
    key = f"ingest:frame:{log.pk}"
    assert live_state.client().get(key) == image
    assert 0 < live_state.client().ttl(key) <= 60
    assert buffer.backlog_size(session_id=live[0]) == 1


def test_the_ingest_task_carries_the_tiles_and_only_their_count_in_its_summary(
    client: Client, live: tuple[int, str], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("ingest.services.celery_app.send_task", lambda name, **options: sent.append((name, options)))
    tiles = [{"name": "Ana", "x": 0, "y": 0, "w": 128, "h": 72}, {"name": "Ben", "x": 128, "y": 0, "w": 128, "h": 72}]
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, *live, frame_id="f-2", tiles=json.dumps(tiles)).status_code == 202
    log = FrameLog.objects.get(frame_id="f-2")
    [(name, options)] = sent
    assert name == "ingest.tasks.ingest_frame" and options["args"][0] == log.pk and len(options["args"][1]) == 2
    # Celery's own summary would be a repr of every tile, written into each message at the web process's cost.
    assert options["argsrepr"] == f"({log.pk}, <2 tiles>)"


def test_repeated_frame_id_is_accepted_once(client: Client, live: tuple[int, str]) -> None:
    first = post(client, *live, frame_id="same")
    second = post(client, *live, frame_id="same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"frame_id": "same", "status": "queued", "duplicate": True, "max_fps": 5.0}
    assert FrameLog.objects.filter(frame_id="same").count() == 1
    assert buffer.backlog_size(session_id=live[0]) == 1


def test_epoch_milliseconds_capture_time(client: Client, live: tuple[int, str]) -> None:
    moment = datetime.now(UTC).replace(microsecond=0)
    millis = str(int(moment.timestamp() * 1000))
    assert post(client, *live, captured_at=millis, frame_id="ms").status_code == 202
    assert FrameLog.objects.get(frame_id="ms").captured_at == moment


def test_uploads_never_touch_disk(settings: Any) -> None:
    assert settings.FILE_UPLOAD_HANDLERS == ["django.core.files.uploadhandler.MemoryFileUploadHandler"]


def test_decodable_image_without_faces_is_accepted(client: Client, live: tuple[int, str]) -> None:
    noise = encode(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    assert post(client, *live, image=noise).status_code == 202


@pytest.mark.parametrize("header", ["", "abc", "0", "-1", "nan", "inf"])
def test_malformed_wanted_rate_is_400_and_writes_nothing(client: Client, live: tuple[int, str], header: str) -> None:
    response = post(client, *live, HTTP_X_WANTED_FPS=header)
    message = f"X-Wanted-FPS must be a positive number of frames per second, got {header!r}"
    assert_error(response, 400, "invalid_wanted_fps", message)
    assert FrameLog.objects.count() == 0


def test_every_answer_past_the_door_carries_the_sessions_rate(client: Client, live: tuple[int, str], settings: Any) -> None:
    settings.INGEST_RATE_BURST = 2
    settings.INGEST_RATE_PER_SECOND = 2.0
    answers = [post(client, *live, HTTP_X_WANTED_FPS="0.5") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert [a.json()["max_fps"] for a in answers] == [2.0, 2.0, 2.0]
    counts = session_frame_counts(session_id=live[0])
    assert (counts["wanted_fps"], counts["reduced_rate"]) == (0.5, 0)
