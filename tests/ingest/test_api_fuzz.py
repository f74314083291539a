"""Fuzzing the ingest API against its published OpenAPI description, for a bounded time.

Hypothesis draws uploads from the schema's fields (valid, malformed, oversized, wrong-type, hostile): every
answer must be a status the schema lists, with the schema's JSON body, and never a 500. Nothing the API
refuses may leave a trace: refused uploads write no frame.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.models import FrameLog, IngestCredential
from ingest.openapi import ingest_schema
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

OPERATION = ingest_schema()["paths"]["/api/v1/sessions/{session_id}/frames"]["post"]
DOCUMENTED = {int(status) for status in OPERATION["responses"]}
JPEG = factories.encode(factories.astronaut_bgr()[:96, :96])
PNG = factories.encode(factories.astronaut_bgr()[:64, :64], ".png")


def captured_at_values() -> st.SearchStrategy[str]:
    now = datetime.now(UTC)
    return st.one_of(
        st.just(now.isoformat()),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.text(max_size=40),
        st.just((now - timedelta(minutes=1)).isoformat().replace("+00:00", "")),
    )


def tiles_values() -> st.SearchStrategy[str]:
    number = st.one_of(
        st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), st.text(max_size=5)
    )
    tile = st.fixed_dictionaries(
        {"name": st.one_of(st.text(max_size=30), st.integers()), "x": number, "y": number, "w": number, "h": number}
    )
    nested = st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3), max_leaves=30)
    return st.one_of(
        st.lists(tile, max_size=5).map(json.dumps),
        nested.map(json.dumps),
        st.integers(1, 30_000).map(lambda depth: "[" * depth + "]" * depth),
        st.text(max_size=60),
    )


def image_values() -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.just(JPEG),
        st.just(PNG),
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda tail: b"\x89PNG\r\n\x1a\n" + tail),
        st.binary(max_size=200).map(lambda tail: b"\xff\xd8\xff" + tail),
        st.none(),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    image=image_values(),
    captured_at=st.one_of(st.none(), captured_at_values()),
    frame_id=st.one_of(st.none(), st.text(max_size=80)),
    tiles=st.one_of(st.none(), tiles_values()),
    token=st.sampled_from(["good", "none", "garbage", "other"]),
)
def test_every_answer_is_documented_and_refusals_write_nothing(
    live_session: tuple[int, str, str], image: bytes | None, captured_at: str | None, frame_id: str | None, tiles: str | None, token: str
) -> None:
    session_id, good_token, other_token = live_session
    headers = {
        "good": {"HTTP_AUTHORIZATION": f"Bearer {good_token}"},
        "none": {},
        "garbage": {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="},
        "other": {"HTTP_AUTHORIZATION": f"Bearer {other_token}"},
    }[token]
    data: dict[str, Any] = {}
    if image is not None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data["image"] = SimpleUploadedFile("frame", image, content_type="application/octet-stream")
    for key, value in (("captured_at", captured_at), ("frame_id", frame_id), ("tiles", tiles)):
        if value is not None:
            data[key] = value.replace("\x00", "")  # multipart cannot carry NUL in a form field
    before = FrameLog.objects.count()
    response = Client().post(f"/api/v1/sessions/{session_id}/frames", data, **headers)
    assert response.status_code in DOCUMENTED, (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code >= 400:
        assert set(body) - {"max_fps"} == {"error", "message"} and body["message"]
        assert FrameLog.objects.count() == before
    else:
        assert set(body) == {"frame_id", "status", "duplicate", "max_fps"} and body["max_fps"] > 0


@pytest.fixture
def live_session(settings: Any) -> tuple[int, str, str]:
    settings.INGEST_RATE_BURST = 10_000
    settings.INGEST_MAX_BACKLOG = 10_000
    session, token = factories.live_session()
    _, other = factories.live_session(owner=session.course.teacher, course_name="Other")
    return session.pk, token, other


def test_the_schema_is_published(client: Client) -> None:
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert set(OPERATION["requestBody"]["content"]["multipart/form-data"]["schema"]["required"]) == {"image", "captured_at"}
    assert document["paths"] == ingest_schema()["paths"]


PAIRING = ingest_schema()["paths"]["/api/v1/pairing"]["post"]
PAIRING_DOCUMENTED = {int(status) for status in PAIRING["responses"]}


def pairing_bodies() -> st.SearchStrategy[bytes]:
    codes = st.one_of(st.text(max_size=20), st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789- ", min_size=8, max_size=12))
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10), lambda inner: st.lists(inner, max_size=3))
    return st.one_of(
        codes.map(lambda code: json.dumps({"code": code}).encode()),
        json_values.map(lambda value: json.dumps({"code": value}).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=2000),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=pairing_bodies())
def test_pairing_answers_are_documented_and_refusals_mint_nothing(body: bytes, settings: Any) -> None:
    settings.PAIRING_MAX_FAILURES = 10**6  # the throttle has its own test; here every body reaches the checks
    response = Client().post("/api/v1/pairing", body, content_type="application/json")
    assert response.status_code in PAIRING_DOCUMENTED, (response.status_code, response.content[:300])
    assert response.status_code != 200  # no code exists: nothing may pair
    assert set(response.json()) == {"error", "message"}
    assert IngestCredential.objects.count() == 0
