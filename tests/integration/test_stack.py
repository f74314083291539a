"""The real stack end to end: frames of a real face posted over HTTP arrive as observations over a real WebSocket."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import cv2
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from classroom.models import EXPRESSIONS
from ingest.replay import post_frame
from project.stack import Stack
from tests.factories import astronaut_bgr
from tests.integration.conftest import Demo

pytestmark = pytest.mark.integration


def ws_url(stack: Stack, session_id: int) -> str:
    return f"ws://{stack.host}:{stack.port}/ws/sessions/{session_id}/"


def open_dashboard_socket(stack: Stack, demo: Demo) -> ClientConnection:
    http = stack.login(demo.teacher, demo.password)
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    return connect(ws_url(stack, demo.session), additional_headers={"Cookie": cookie, "Origin": stack.base_url}, open_timeout=10)


def receive_until(socket: ClientConnection, kind: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind!r} event within {timeout}s")
        event = json.loads(socket.recv(timeout=remaining))
        if event["type"] == kind and (kind != "observations" or event["observations"]):
            return dict(event)


def test_frames_of_a_real_face_reach_the_dashboard_socket(stack: Stack, demo: Demo) -> None:
    face = cv2.resize(astronaut_bgr(), (320, 320))
    with open_dashboard_socket(stack, demo) as socket:
        history = json.loads(socket.recv(timeout=10))
        assert history["type"] == "history"
        stop = threading.Event()

        def upload() -> None:
            with requests.Session() as http:
                while not stop.is_set():
                    response = post_frame(
                        http, url=f"{stack.base_url}/api/v1/sessions/{demo.session}/frames", token=demo.token, frame=face, tiles=[]
                    )
                    assert response.status_code == 202, response.text
                    time.sleep(0.5)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        try:
            # The first frame also loads the detector and the CNN in the workers.
            event = receive_until(socket, "observations", timeout=120)
        finally:
            stop.set()
            uploader.join(timeout=10)
    observation = event["observations"][0]
    assert observation["expression"] in EXPRESSIONS
    assert set(observation["probabilities"]) == set(EXPRESSIONS)
    assert abs(sum(observation["probabilities"].values()) - 1.0) < 1e-3
    assert 0.0 <= observation["engagement"] <= 1.0
    assert observation["band"] in {"engaged", "partly", "not_engaged"}
    x, y, w, h = observation["box"]
    assert 0 <= x < 320 and 0 <= y < 320 and 30 < w < 320 and 30 < h < 320
    assert event["class"]["present"] >= 1
    assert event["latency_ms"] > 0


def test_an_idle_dashboard_socket_stays_open(stack: Stack, demo: Demo) -> None:
    face = cv2.resize(astronaut_bgr(), (320, 320))
    with open_dashboard_socket(stack, demo) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "history"
        with pytest.raises(TimeoutError):
            socket.recv(timeout=8)  # longer than the channel layer's 5 s blocking pop: nothing arrives, nothing breaks
        with requests.Session() as http:
            url = f"{stack.base_url}/api/v1/sessions/{demo.session}/frames"
            assert post_frame(http, url=url, token=demo.token, frame=face, tiles=[]).status_code == 202
        assert receive_until(socket, "observations", timeout=60)["observations"]


def test_anonymous_socket_is_closed_with_4401(stack: Stack, demo: Demo) -> None:
    socket = connect(ws_url(stack, demo.session), additional_headers={"Origin": stack.base_url}, open_timeout=10)
    with socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_foreign_origin_socket_is_refused(stack: Stack, demo: Demo) -> None:
    http = stack.login(demo.teacher, demo.password)
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(stack, demo.session), additional_headers={"Cookie": cookie, "Origin": "http://evil.example"}, open_timeout=10)
    assert refused.value.response.status_code == 403


def test_oversized_upload_is_refused_before_it_is_read(stack: Stack, demo: Demo) -> None:
    response = requests.post(
        f"{stack.base_url}/api/v1/sessions/{demo.session}/frames",
        headers={"Authorization": f"Bearer {demo.token}"},
        files={"image": ("big.jpg", b"\xff\xd8\xff" + b"0" * (6 * 1024 * 1024), "image/jpeg")},
        data={"captured_at": "2026-01-01T00:00:00Z"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"] == "frame_too_large"


def test_healthz(stack: Stack) -> None:
    response = requests.get(f"{stack.base_url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "problems": []}
