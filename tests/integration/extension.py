"""Driving the browser extension end to end: Chromium with the extension loaded unpacked, paired with a live
session of the stack, capturing a meeting page served over HTTP, and the session's live page beside it.

No click: Chromium's ``--allowlisted-extension-id`` lets this extension capture a tab without the toolbar
click that ``chrome.tabCapture`` otherwise requires, and :func:`start_capture` sends the popup's own "start"
message.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import BrowserContext, Page, ViewportSize, sync_playwright

from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, wait_live
from tests.integration.conftest import Demo

EXTENSION = Path(settings.BASE_DIR) / "frontend" / "extension"
# The selector of the names on the live page's cards of participants present (not absent).
PRESENT_NAMES = "#participant-cards .participant-card:not([data-band=absent]) .name"


def unpacked_extension_id(path: Path) -> str:
    """The id Chromium gives an unpacked extension: its path's sha256, first 32 hex digits written a–p."""
    return "".join(chr(ord("a") + int(digit, 16)) for digit in hashlib.sha256(str(path).encode()).hexdigest()[:32])


EXTENSION_ID = unpacked_extension_id(EXTENSION)


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` served over HTTP on a free local port; yields its base URL (ending in /)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


# The pages' size, and the screen's: the extension's offscreen document asks for no capture size, so Chromium
# captures the tab at its screen's size, and Playwright emulates the viewport and screen of its own pages only.
# Headless Chromium's screen is otherwise 800×600, and the 1280×720 tab would arrive letterboxed at 0.625 scale.
SCREEN: ViewportSize = {"width": 1280, "height": 720}


@contextmanager
def extension_browser(profile: Path) -> Iterator[BrowserContext]:
    """Chromium (headless, a 1280×720 screen and pages, autoplay allowed) with the extension loaded unpacked and
    allowed to capture a tab without a click; ``profile`` is its user data directory."""
    args = [
        *CHROMIUM_ARGS,
        f"--screen-info={{{SCREEN['width']}x{SCREEN['height']}}}",
        f"--disable-extensions-except={EXTENSION}",
        f"--load-extension={EXTENSION}",
        f"--allowlisted-extension-id={EXTENSION_ID}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=args, viewport=SCREEN)
        try:
            yield context
        finally:
            context.close()


def pairing_code(stack: Stack, demo: Demo) -> str:
    """A one-time code, asked for as the live page's button asks."""
    teacher = stack.login(demo.teacher, demo.password)
    response = teacher.post(
        f"{stack.base_url}/sessions/{demo.session}/pairing-code/",
        headers={"X-CSRFToken": teacher.cookies["csrftoken"] or "", "Referer": f"{stack.base_url}/", "Accept": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["code"])


def paired_popup(context: BrowserContext, stack: Stack, demo: Demo) -> Page:
    """The extension's popup in a tab of its own, paired with the demo session by a fresh code."""
    popup = context.new_page()
    popup.goto(f"chrome-extension://{EXTENSION_ID}/popup.html")
    popup.fill("#server", stack.base_url)
    popup.fill("#code", pairing_code(stack, demo))
    popup.click("#connect")
    popup.wait_for_selector("#session-view:not([hidden])", timeout=10_000)
    return popup


def start_capture(popup: Page, meeting_url: str, *, fps: int = 1) -> dict[str, Any]:
    """Start capturing the tab at ``meeting_url`` as the popup's button does; the extension's state after."""
    state: dict[str, Any] = popup.evaluate(
        "async ([url, fps]) => { const [tab] = await chrome.tabs.query({ url });"
        " return chrome.runtime.sendMessage({ type: 'start', tabId: tab.id, fps }); }",
        [meeting_url, fps],
    )
    return state


def extension_state(popup: Page) -> dict[str, Any]:
    """What the extension says it is doing (capturing, sent, refused, lastError, platform, namesFrom, …)."""
    state: dict[str, Any] = popup.evaluate("chrome.runtime.sendMessage({ type: 'state' })")
    return state


def live_page(context: BrowserContext, stack: Stack, demo: Demo) -> Page:
    """The session's live page, signed in as the teacher, its socket live."""
    live = context.new_page()
    log_in(live, stack.base_url, demo.teacher, demo.password)
    live.goto(f"{stack.base_url}{demo.dashboard_url}")
    wait_live(live)
    return live
