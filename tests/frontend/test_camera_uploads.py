"""The camera page's uploads, in Chromium with a fake camera, against the site (``live_server``) with the ingest
API's answers to the frames scripted: the page uses the extension's upload logic (frontend/extension/uploads.js,
which the site serves as one more script) and says what it is doing. A network error, then success: it reconnects
and carries on. A 413: the next frames are smaller. A 429 with Retry-After: it waits that long, counting down. A
403: it stops, with the server's words. An answer's max_fps below the page's rate: it slows to it, says so, and
comes back to its own rate (no faster) when a later answer allows. The real end to end run is
tests/integration/test_camera.py."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
TIMEOUT_MS = 15_000
ACCEPTED: dict[str, Any] = {"status": 202, "json": {"frame_id": "f", "status": "queued", "duplicate": False}}
NETWORK_ERROR: dict[str, Any] = {"abort": "internetdisconnected"}


@dataclass
class Frames:
    """The ingest API's frames endpoint as this test scripts it: ``answers`` in turn, then 202 to everything."""

    answers: list[dict[str, Any]]
    seen: list[tuple[float, int]] = field(default_factory=list)  # (when, body bytes) of each upload
    wanted: list[str | None] = field(default_factory=list)  # the X-Wanted-FPS header of each upload

    def __call__(self, route: Route) -> None:
        self.seen.append((time.monotonic(), len(route.request.post_data_buffer or b"")))
        self.wanted.append(route.request.headers.get("x-wanted-fps"))
        answer = self.answers.pop(0) if self.answers else ACCEPTED
        if "abort" in answer:
            route.abort(answer["abort"])
        else:
            route.fulfill(status=answer["status"], headers=answer.get("headers", {}), json=answer["json"])


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_CAMERA])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def camera(browser: Browser, live_server: object) -> Callable[[list[dict[str, Any]]], tuple[Page, Frames]]:
    """The course's teacher on the camera page of a live session, the camera started, its uploads answered as scripted."""

    def start(answers: list[dict[str, Any]]) -> tuple[Page, Frames]:
        teacher = factories.teacher("alice")
        session, _ = factories.live_session(owner=teacher)
        page = browser.new_page()
        # A wait the server stretched is drawn at random around its period (spread tested in test_extension_uploads.py);
        # drawn at its middle here, it is the period itself.
        page.add_init_script("Math.random = () => 0.5;")
        violations = watch_csp(page)
        frames = Frames(answers)
        frames_url = f"{live_server}{reverse('ingest-frames', kwargs={'session_id': session.pk})}"
        page.route(frames_url, frames)
        # The page asks what the server read in each frame it sent; there is nothing to read here.
        page.route(f"{frames_url}/*", lambda route: route.fulfill(status=404, json={}))
        log_in(page, str(live_server), "alice", "pw-alice-123")
        page.goto(f"{live_server}{reverse('session-camera', kwargs={'session_id': session.pk})}")
        page.click("#camera-start")
        until(page, "window.cameraState.running", timeout=TIMEOUT_MS)
        assert violations == []
        return page, frames

    return start


def state(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = page.evaluate("({ ...window.cameraState, stream: null })")
    return value


def test_after_a_network_error_it_reconnects_and_carries_on(camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]]) -> None:
    page, frames = camera([NETWORK_ERROR])
    until(page, "window.cameraState.status === 'reconnecting'", timeout=TIMEOUT_MS)
    assert page.inner_text("#camera-status").startswith("Cannot reach the server: reconnecting in ")
    assert page.inner_text("#camera-error").startswith("Server unreachable, retrying: ")
    until(page, "window.cameraState.sent >= 2", timeout=TIMEOUT_MS)
    now = state(page)
    assert now["running"] and now["status"] == "sending" and now["refused"] == 1
    assert page.inner_text("#camera-status") == "Connected: sending frames."
    assert page.inner_text("#camera-error") == ""
    assert page.inner_text("#camera-counts").endswith("sent, 1 refused or lost")
    # The retry waits 2 s, not the 1 s period.
    assert frames.seen[1][0] - frames.seen[0][0] >= 1.8


def test_a_413_makes_the_next_frames_smaller(camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]]) -> None:
    too_large = {"status": 413, "json": {"error": "frame_too_large", "message": "request is 900000 bytes; the limit is 1048576 bytes"}}
    page, frames = camera([too_large])
    until(page, "window.cameraState.sent >= 1", timeout=TIMEOUT_MS)
    now = state(page)
    video = page.evaluate("[document.getElementById('camera-video').videoWidth, document.getElementById('camera-video').videoHeight]")
    assert now["limits"]["scale"] == 0.75 and now["refused"] == 1
    assert now["frame"]["width"] == round(video[0] * 0.75) and now["frame"]["height"] == round(video[1] * 0.75)
    assert frames.seen[1][1] < frames.seen[0][1]
    assert page.inner_text("#camera-status").startswith("Connected: sending smaller frames (")


def test_a_429_waits_as_retry_after_says(camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]]) -> None:
    refusal = {"error": "rate_limited", "message": "too many frames for this session; slow down"}
    busy = {"status": 429, "headers": {"Retry-After": "3"}, "json": refusal}
    page, frames = camera([ACCEPTED, busy])
    until(page, "window.cameraState.status === 'busy'", timeout=TIMEOUT_MS)
    assert page.inner_text("#camera-status") in {f"The server is busy: next frame in {seconds} s…" for seconds in (1, 2, 3)}
    assert page.inner_text("#camera-error") == "Frame refused: too many frames for this session; slow down (429)"
    until(page, "window.cameraState.sent >= 2", timeout=TIMEOUT_MS)
    assert state(page)["status"] == "sending"
    # The period is 1 s; the frame after the 429 waited the 3 s Retry-After asked for.
    assert frames.seen[1][0] - frames.seen[0][0] < 2.5
    assert frames.seen[2][0] - frames.seen[1][0] >= 2.8


def test_a_403_stops_the_camera_with_the_servers_words(camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]]) -> None:
    ended = {"status": 403, "json": {"error": "session_ended", "message": "session has ended; start a new session to upload frames"}}
    page, frames = camera([ended])
    until(page, "window.cameraState.status === 'stopped'", timeout=TIMEOUT_MS)
    now = state(page)
    assert not now["running"] and now["token"] is None and now["sent"] == 0 and now["refused"] == 0
    assert page.inner_text("#camera-error") == (
        "Stopped by the server: session has ended; start a new session to upload frames (403). Start the camera again to reconnect."
    )
    assert page.inner_text("#camera-status") == "Stopped by the server."
    assert page.inner_text("#camera-feedback") == "The camera is off."
    assert page.is_enabled("#camera-start") and not page.is_enabled("#camera-stop")
    assert len(frames.seen) == 1


def accepted(max_fps: object) -> dict[str, Any]:
    return {"status": 202, "json": {**ACCEPTED["json"], "max_fps": max_fps}}


def test_the_servers_max_fps_slows_the_uploads_until_a_later_answer_allows_more(
    camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]],
) -> None:
    # The page's own rate is 1 frame per second; the server first allows 0.3 (a 3.3 s period), then 5 (no faster
    # than the page's own 1 s), then says nothing that makes sense (its own 1 s again).
    page, frames = camera([accepted(0.3), accepted(5), accepted(5), accepted("fast")])
    until(page, "window.cameraState.serverFps === 0.3", timeout=TIMEOUT_MS)
    assert page.inner_text("#camera-status") == "Server busy: sending 0.3 frames/s instead of 1."
    until(page, "window.cameraState.sent >= 5", timeout=TIMEOUT_MS)
    gaps = [round(b[0] - a[0], 2) for a, b in itertools.pairwise(frames.seen)]
    assert gaps[0] >= 2.7, gaps  # 3.3 s, less a tolerance
    assert all(0.8 <= gap < 2.5 for gap in gaps[1:4]), gaps  # the page's own 1 s, though 5 frames/s were allowed
    assert page.inner_text("#camera-status") == "Connected: sending frames."
    assert state(page)["serverFps"] is None
    assert set(frames.wanted) == {"1"}  # every upload says the page's own rate


def test_retry_after_wins_over_a_shorter_max_fps_period(camera: Callable[[list[dict[str, Any]]], tuple[Page, Frames]]) -> None:
    refusal = {"error": "rate_limited", "message": "too many frames for this session; slow down", "max_fps": 0.5}
    page, frames = camera([{"status": 429, "headers": {"Retry-After": "3"}, "json": refusal}])
    until(page, "window.cameraState.sent >= 1", timeout=TIMEOUT_MS)
    assert frames.seen[1][0] - frames.seen[0][0] >= 2.8  # Retry-After's 3 s, not max_fps's 2 s
