"""The extension loaded unpacked in Chromium (``--load-extension``): its popup pairs with a live session by code, and
says when the server, busy, lets the upload loop (offscreen.js) send fewer frames per second than chosen."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from classroom.models import IngestCredential
from classroom.pairing import pairing_code_create
from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, watch_csp
from tests.integration.conftest import OUTPUT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXTENSION = Path(__file__).resolve().parents[2] / "frontend" / "extension"


@pytest.fixture
def extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BrowserContext, str]]:
    """Chromium with the extension loaded, and the extension's id."""
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}"]
        context = playwright.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM, args=args)
        try:
            worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker", timeout=15_000)
            yield context, worker.url.split("/")[2]
        finally:
            context.close()


def popup(context: BrowserContext, extension_id: str) -> Page:
    page = context.new_page()
    page.goto(f"chrome-extension://{extension_id}/popup.html")
    return page


def test_the_popup_pairs_with_a_live_session_by_its_code(extension: tuple[BrowserContext, str], live_server: object) -> None:
    context, extension_id = extension
    teacher = factories.teacher("alice")
    session, _ = factories.live_session(owner=teacher)
    _, code = pairing_code_create(session=session, user=teacher)
    page = popup(context, extension_id)
    page.fill("#server", str(live_server))
    page.fill("#code", "WXYZ-2345")  # a guessed code: the server's words reach the teacher
    page.click("#connect")
    page.wait_for_selector("text=No such pairing code: check it, or get a new one from the live page.")
    page.fill("#code", code.lower())
    page.click("#connect")
    page.wait_for_selector("#session-view:not([hidden])", timeout=10_000)
    assert page.inner_text("#session-name") == f"Physics — Lecture 1 (session {session.pk})"
    assert page.inner_text("#error") == ""
    OUTPUT_DIR.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 344, "height": 330})
    page.screenshot(path=str(OUTPUT_DIR / "extension_popup.png"))
    assert IngestCredential.objects.filter(session=session).count() == 1
    # The popup shows the same state when opened again; Disconnect forgets the credential.
    again = popup(context, extension_id)
    again.wait_for_selector("#session-view:not([hidden])")
    again.click("#disconnect")
    again.wait_for_selector("#pair-view:not([hidden])")
    assert again.input_value("#server") == str(live_server)


def test_the_live_page_shows_a_one_time_code_the_extension_pairs_with(extension: tuple[BrowserContext, str], live_server: object) -> None:
    context, extension_id = extension
    teacher = factories.teacher("alice")
    session, _ = factories.live_session(owner=teacher)
    page = context.new_page()
    violations = watch_csp(page)
    log_in(page, str(live_server), "alice", "pw-alice-123")
    page.goto(f"{live_server}/sessions/{session.pk}/")
    page.click("#pairing-button")
    until(page, "/^[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(document.querySelector('#pairing-code').textContent)", timeout=10_000)
    code = page.inner_text("#pairing-code")
    assert page.inner_text("#pairing-server") == str(live_server)
    assert re.fullmatch(r"Single use; expires in (10:00|9:5\d)\.", page.inner_text("#pairing-expiry"))
    page.locator("#pairing").screenshot(path=str(OUTPUT_DIR / "pairing_dialog.png"))
    assert code not in page.url
    paired = popup(context, extension_id)
    paired.fill("#server", str(live_server))
    paired.fill("#code", code)
    paired.click("#connect")
    paired.wait_for_selector("#session-view:not([hidden])", timeout=10_000)
    assert IngestCredential.objects.filter(session=session).count() == 1
    assert violations == []


def test_the_popup_says_when_names_are_read_from_the_picture(extension: tuple[BrowserContext, str]) -> None:
    """The offscreen document reports each upload's names_from with its counters; the popup puts "picture" in words."""
    context, extension_id = extension
    page = popup(context, extension_id)
    pairing = {"server": "http://127.0.0.1:9", "session": 7, "course": "Physics", "title": "Lecture 1", "token": "t"}
    page.evaluate("pairing => chrome.storage.session.set({ state: { pairing, capturing: true } })", pairing)
    page.wait_for_selector("#session-view:not([hidden])")
    stats = "namesFrom => chrome.runtime.sendMessage({ type: 'stats', sent: 3, refused: 0, lastError: '', namesFrom })"
    page.evaluate(stats, "picture")
    page.wait_for_selector("#names-from:not([hidden])")
    assert page.inner_text("#names-from").startswith("Names are being read from the picture")
    assert page.inner_text("#sent") == "3"
    page.evaluate(stats, "page")
    page.wait_for_selector("#names-from", state="hidden")


# The offscreen document's capture, a canvas's stream in place of the tab's (tabCapture needs a real user gesture).
FAKE_TAB = """
navigator.mediaDevices.getUserMedia = async () => {
  const canvas = Object.assign(document.createElement("canvas"), { width: 320, height: 180 });
  const context = canvas.getContext("2d");
  setInterval(() => { context.fillStyle = `hsl(${Date.now() % 360} 50% 50%)`; context.fillRect(0, 0, 320, 180); }, 100);
  return canvas.captureStream(10);
};
HTMLMediaElement.prototype.play = async function () {
  this.muted = true;
  await new Promise((resolve) => (this.readyState >= 2 ? resolve() : this.addEventListener("loadeddata", resolve, { once: true })));
};
"""
FRAMES_URL = "http://frames.test/api/v1/sessions/7/frames"


def test_the_upload_loop_slows_to_the_servers_max_fps_and_the_popup_says_so(extension: tuple[BrowserContext, str]) -> None:
    """offscreen.js's loop against a scripted frames API: each upload says its rate (X-Wanted-FPS); an answer's max_fps
    below it stretches the period, the popup says so, and a later answer allowing more brings the rate back."""
    context, extension_id = extension
    uploads: list[tuple[float, str | None]] = []
    answers = [0.5, 0.5, 4.0]  # then max_fps 4 to every upload: no faster than the configured 1 frame/s

    def frames(route: Route) -> None:
        uploads.append((time.monotonic(), route.request.headers.get("x-wanted-fps")))
        max_fps = answers.pop(0) if answers else 4.0
        route.fulfill(status=202, json={"frame_id": "f", "status": "queued", "duplicate": False, "max_fps": max_fps})

    context.route(FRAMES_URL, frames)
    offscreen = context.new_page()
    offscreen.add_init_script(FAKE_TAB)
    # A stretched wait is drawn at random around its period (spread tested in test_extension_uploads.py); drawn at its
    # middle here, it is the period itself.
    offscreen.add_init_script("Math.random = () => 0.5;")
    offscreen.goto(f"chrome-extension://{extension_id}/offscreen.html")
    page = popup(context, extension_id)
    pairing = {"server": "http://frames.test", "session": 7, "course": "Physics", "title": "Lecture 1", "token": "t"}
    page.evaluate("pairing => chrome.storage.session.set({ state: { pairing, capturing: true } })", pairing)
    page.wait_for_selector("#session-view:not([hidden])")
    config = {"url": FRAMES_URL, "token": "t", "fps": 1, "maxFrameBytes": 1_000_000}
    page.evaluate("config => chrome.runtime.sendMessage({ type: 'capture', streamId: 'fake', config })", config)
    try:
        page.wait_for_selector("#server-rate:not([hidden])", timeout=15_000)
        assert page.inner_text("#server-rate") == "Server busy: sending 0.5 frames/s instead of 1."
        page.wait_for_selector("#server-rate", state="hidden", timeout=15_000)
        until(page, "Number(document.getElementById('sent').textContent) >= 5", timeout=15_000)
    finally:
        page.evaluate("chrome.runtime.sendMessage({ type: 'halt' })")
    gaps = [round(b[0] - a[0], 2) for a, b in itertools.pairwise(uploads)]
    assert gaps[0] >= 1.6 and gaps[1] >= 1.6, gaps  # 2 s, less a tolerance
    assert all(0.8 <= gap < 1.8 for gap in gaps[2:4]), gaps  # the configured 1 s again, though 4 frames/s were allowed
    assert {wanted for _, wanted in uploads} == {"1"}
