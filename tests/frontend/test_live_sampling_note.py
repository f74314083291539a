"""The live page's "Class now" panel says when the server, busy, samples this class slower than its client wants: the
frames counts (the history's, then each ``frames`` event's) carry ``reduced_rate``, ``max_fps`` and ``wanted_fps``.

The page is the real one (rendered by the site, with its Content-Security-Policy) and live.js, in Chromium, its
WebSocket replaced by a stub that the test speaks through: no server, no channel layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from playwright.sync_api import Page, Route, sync_playwright

from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, until, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

OUTPUT_DIR = Path(settings.BASE_DIR) / "test-output"
ORIGIN = "http://live.test"
# The page's socket: opens at once, sends nothing; window.fakeSocket.emit(message) delivers a server message.
FAKE_SOCKET = """
window.WebSocket = class {
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.readyState = 1;
    this.listeners = {};
    window.fakeSocket = this;
    setTimeout(() => this.fire("open", {}), 0);
  }
  addEventListener(type, listener) { (this.listeners[type] ||= []).push(listener); }
  fire(type, event) { (this.listeners[type] || []).forEach((listener) => listener(event)); }
  emit(message) { this.fire("message", { data: JSON.stringify(message) }); }
  send() {}
  close() {}
};
"""
FRAMES = {"received": 40, "processed": 38, "dropped": 2, "received_last_minute": 30, "processed_last_minute": 29, "dropped_last_minute": 1}
NOTE = "The server is busy: this class is sampled at 0.7 frames/s instead of 1. Readings update less often."


def history(frames: dict[str, Any]) -> dict[str, Any]:
    """A live session's history with nobody in it yet, and these frames counts."""
    return {
        "type": "history",
        "policy": "full",
        "status": "live",
        "ended_at": None,
        "server_time": "2026-03-02T10:00:00Z",
        "latest_captured_at": "2026-03-02T09:59:59Z",
        "since_seconds": 600,
        "series": [],
        "minutes": [],
        "session_mix": None,
        "attendance": None,
        "class": {"expression_mix": None, "engagement": None, "present": 0},
        "frames": frames,
        "alerts": [],
        "flags": [],
        "participants": [],
    }


@pytest.fixture
def live_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Page, list[str]]]:
    """The live page of a teacher's live session, served from the site's own HTML and static files."""
    teacher = factories.teacher("alice")
    session, _ = factories.live_session(owner=teacher)
    client = Client()
    client.force_login(teacher)
    response = client.get(f"/sessions/{session.pk}/")
    assert response.status_code == 200

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path == f"/sessions/{session.pk}/":
            route.fulfill(status=200, headers=dict(response.headers), body=response.content)
        elif path.startswith("/static/") and (found := finders.find(path.removeprefix("/static/"))):
            route.fulfill(status=200, path=str(found))
        else:
            route.fulfill(status=404, body="")  # plotly, the time zone detection: not needed here

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            violations = watch_csp(page)
            page.add_init_script(FAKE_SOCKET)
            page.route(f"{ORIGIN}/**", serve)
            page.goto(f"{ORIGIN}/sessions/{session.pk}/")
            until(page, "window.fakeSocket !== undefined", timeout=10_000)
            yield page, violations
        finally:
            browser.close()


def test_the_note_shows_while_the_class_is_sampled_slower_than_its_client_wants(live_page: tuple[Page, list[str]]) -> None:
    page, violations = live_page
    page.evaluate("m => window.fakeSocket.emit(m)", history({**FRAMES, "max_fps": 1.0, "wanted_fps": 1.0, "reduced_rate": 0}))
    until(page, "window.dashboardState.historyLoaded", timeout=10_000)
    page.wait_for_selector("#sampling-note", state="hidden")

    page.evaluate("m => window.fakeSocket.emit(m)", {"type": "frames", **FRAMES, "max_fps": 0.66, "wanted_fps": 1.0, "reduced_rate": 1})
    page.wait_for_selector("#sampling-note:not([hidden])")
    assert page.inner_text("#sampling-note") == NOTE
    assert page.get_attribute("#sampling-note", "role") == "status"
    OUTPUT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / "sampling-note.png"))

    page.evaluate("m => window.fakeSocket.emit(m)", {"type": "frames", **FRAMES, "max_fps": 1.0, "wanted_fps": 1.0, "reduced_rate": 0})
    page.wait_for_selector("#sampling-note", state="hidden")
    assert violations == []


def test_the_history_alone_shows_the_note(live_page: tuple[Page, list[str]]) -> None:
    """A page opened (or reconnected) while the class is sampled slower says so from its first counts."""
    page, _ = live_page
    page.evaluate("m => window.fakeSocket.emit(m)", history({**FRAMES, "max_fps": 0.5, "wanted_fps": 2, "reduced_rate": 1}))
    page.wait_for_selector("#sampling-note:not([hidden])")
    assert page.inner_text("#sampling-note") == (
        "The server is busy: this class is sampled at 0.5 frames/s instead of 2. Readings update less often."
    )


def test_without_the_rates_the_note_still_says_the_class_is_sampled_slower(live_page: tuple[Page, list[str]]) -> None:
    page, _ = live_page
    page.evaluate("m => window.fakeSocket.emit(m)", history({**FRAMES, "reduced_rate": 1}))
    page.wait_for_selector("#sampling-note:not([hidden])")
    assert page.inner_text("#sampling-note") == "The server is busy: this class is sampled at a reduced rate. Readings update less often."
    # An older server's counts: no note.
    page.evaluate("m => window.fakeSocket.emit(m)", {"type": "frames", **FRAMES})
    page.wait_for_selector("#sampling-note", state="hidden")
