"""The extension's upload decisions (frontend/extension/uploads.js), run in Chromium: back off on 429/503 as
Retry-After says, stop with the server's words on 401/403, count every refusal and carry on otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from frontend.management.commands.build_extension import EXTENSION_DIR
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
PERIOD_MS = 1000


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_script_tag(content=(EXTENSION_DIR / "uploads.js").read_text())
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 202, "retryAfter": None, "message": ""}, {"count": "sent", "stop": None, "waitMs": 1000, "lastError": ""}),
        (
            {"status": 429, "retryAfter": "3", "message": "too many frames for this session; slow down"},
            {
                "count": "refused",
                "stop": None,
                "waitMs": 3000,
                "lastError": "Frame refused: too many frames for this session; slow down (429)",
            },
        ),
        (
            {"status": 503, "retryAfter": None, "message": "the frame buffer is full; retry later"},
            {"count": "refused", "stop": None, "waitMs": 1000, "lastError": "Frame refused: the frame buffer is full; retry later (503)"},
        ),
        (
            {"status": 503, "retryAfter": "not-a-number", "message": ""},
            {"count": "refused", "stop": None, "waitMs": 1000, "lastError": "Frame refused: refused (503)"},
        ),
        (
            {"status": 401, "retryAfter": None, "message": "ingest token is not valid"},
            {
                "count": None,
                "stop": "Stopped by the server: ingest token is not valid (401)",
                "waitMs": 0,
                "lastError": "Stopped by the server: ingest token is not valid (401)",
            },
        ),
        (
            {"status": 403, "retryAfter": None, "message": "session has ended; start a new session to upload frames"},
            {
                "count": None,
                "stop": "Stopped by the server: session has ended; start a new session to upload frames (403)",
                "waitMs": 0,
                "lastError": "Stopped by the server: session has ended; start a new session to upload frames (403)",
            },
        ),
        (
            {"status": 413, "retryAfter": None, "message": "request is 5000000 bytes; the limit is 4456448 bytes"},
            {
                "count": "refused",
                "stop": None,
                "waitMs": 1000,
                "lastError": "Frame refused: request is 5000000 bytes; the limit is 4456448 bytes (413)",
            },
        ),
        (
            {"error": "Failed to fetch"},
            {"count": "refused", "stop": None, "waitMs": 2000, "lastError": "Server unreachable, retrying: Failed to fetch"},
        ),
    ],
)
def test_what_each_server_answer_means(page: Page, answer: dict[str, Any], expected: dict[str, Any]) -> None:
    assert page.evaluate("([answer, period]) => engagementAfterUpload(answer, period)", [answer, PERIOD_MS]) == expected
