"""The camera page end to end: Chromium's fake camera plays a talking-head video, the page uploads through the
ingest API of the real stack, shows the face box and apparent expression it gets back, and the live page shows
the student by the name given."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live, watch_csp, y4m_from_video
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NAME = "Camille Camera"
FEEDBACK_SECONDS = 15


def test_the_camera_page_uploads_and_shows_what_the_server_read(stack: Stack, demo: Demo, tmp_path: Path) -> None:
    video = y4m_from_video(require_shared("video", "talking_head_1.mp4"), tmp_path / "camera.y4m")
    fake_camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    OUTPUT_DIR.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake_camera])
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            page = context.new_page()
            violations = watch_csp(page)
            log_in(page, stack.base_url, demo.teacher, demo.password)
            page.goto(f"{stack.base_url}/sessions/{demo.session}/camera/")
            page.fill("#camera-name", NAME)
            page.click("#camera-start")
            started = time.monotonic()
            # Feedback: a face box drawn and the apparent expression, from the server's reading of this camera's frames.
            until(page, "window.cameraState.result?.faces?.length >= 1", timeout=FEEDBACK_SECONDS * 1000)
            feedback_after = time.monotonic() - started
            feedback = page.inner_text("#camera-feedback")
            face = page.evaluate("window.cameraState.result.faces[0]")
            page.screenshot(path=str(OUTPUT_DIR / "camera.png"), full_page=True)
            live = context.new_page()  # the same signed-in teacher
            live.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(live)
            until(
                live,
                f"[...document.querySelectorAll('#participant-cards .participant-card:not([data-band=absent]) .name')]"
                f".some((n) => n.textContent === '{NAME}')",
                timeout=FEEDBACK_SECONDS * 1000,
            )
            named_after = time.monotonic() - started
            page.click("#camera-stop")
        finally:
            browser.close()
    timings = {"feedback_after_s": round(feedback_after, 1), "on_the_live_page_after_s": round(named_after, 1)}
    (OUTPUT_DIR / "camera.json").write_text(json.dumps(timings))
    assert face["name"] == NAME and len(face["box"]) == 4 and face["expression"] in feedback
    assert feedback.startswith(f"{NAME}: apparent expression ")
    assert violations == []
