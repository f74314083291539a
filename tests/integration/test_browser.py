"""A real browser on the live page: headless Chromium (Debian's) driven by Playwright, against the real stack."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import sync_playwright

from ingest.replay import frames, post_frame
from project.demo_media import demo_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live, watch_csp
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def feed(stack: Stack, demo: Demo, stop: threading.Event) -> None:
    """Post the demo class's gallery (registry faces and the five shared talking heads) at 2 fps until stopped."""
    students = demo_class()
    iterator, _ = frames([path for _, path in students], names=[name for name, _ in students], loop=True, fps=2)
    url = f"{stack.base_url}/api/v1/sessions/{demo.session}/frames"
    with requests.Session() as http:
        for frame, tiles in iterator:
            if stop.wait(0.5):
                return
            post_frame(http, url=url, token=demo.token, frame=frame, tiles=tiles)


def test_live_page_updates_without_reload(stack: Stack, demo: Demo) -> None:
    require_shared("video", "talking_head_5.mp4")
    class_size = len(demo_class())
    OUTPUT_DIR.mkdir(exist_ok=True)
    screenshot = OUTPUT_DIR / "dashboard.png"
    stop = threading.Event()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            csp_violations = watch_csp(page)
            log_in(page, stack.base_url, demo.teacher, demo.password)
            page.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(page)
            before = page.evaluate("window.dashboardState.updates")
            page.click("#connection-details summary")  # the frame counters are folded under "Connection details"
            received_before = page.inner_text("#frames-received")
            feeder = threading.Thread(target=feed, args=(stack, demo, stop), daemon=True)
            feeder.start()
            seen = "document.querySelectorAll('#participant-cards .participant-card:not([data-band=absent])').length"
            points = "(document.querySelector('#class-engagement-chart').data?.[0]?.x?.length ?? 0)"
            until(page, f"window.dashboardState.updates > {before} + 3 && {seen} >= 2 && {points} >= 2", timeout=120_000)
            # After their baselines have formed, attentive students looking at their cameras read "engaged" (all of
            # them but at most one, at one moment); the demo's photo played as a student reads "still picture".
            until(page, "Number(document.querySelector('#frames-processed').textContent) >= 15", timeout=90_000)
            engaged = "document.querySelectorAll('#participant-cards .participant-card[data-band=engaged]').length"
            still = (
                "[...document.querySelectorAll('#participant-cards .participant-card[data-band=still]')]"
                ".map((c) => c.querySelector('.name').textContent)"
            )
            until(page, f"{engaged} >= {class_size - 2} && {still}.join() === 'Alex Astronaut'", timeout=90_000)
            engaged_cards = page.evaluate(engaged)
            stop.set()
            feeder.join(timeout=10)
            names = page.inner_text("#participant-cards")
            received_after = page.inner_text("#frames-received")
            traces = page.evaluate("document.querySelector('#class-engagement-chart').data?.[0]?.x?.length ?? 0")
            page.screenshot(path=str(screenshot), full_page=True)
            # A reload loses nothing: the history sent on connect rebuilds cards and charts.
            page.reload()
            wait_live(page)
            names_after_reload = page.inner_text("#participant-cards")
            traces_after_reload = page.evaluate(f"{points}")
        finally:
            stop.set()
            browser.close()
    assert all(name in names and name in names_after_reload for name, _ in demo_class())
    assert csp_violations == []  # the whole page runs under the Content-Security-Policy, plotly included
    assert engaged_cards >= class_size - 2  # the photo is a still picture, not an engaged student
    assert traces_after_reload >= traces
    assert received_after != received_before
    assert traces >= 2, "the class engagement chart has no points"
    image = cv2.imread(str(screenshot), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape[0] > 500
    assert float(np.std(image)) > 10.0, "screenshot is blank"
    assert len(np.unique(image)) > 30, "screenshot has too few shades to be a rendered dashboard"
