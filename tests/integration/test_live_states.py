"""The live page never passes old or fake figures off as live: a still picture, an upload outage, a reload, the end.

Real parts throughout: the stack's Redis, daphne, both Celery workers and beat; the uploads are real frames posted to
the ingest API by the replay client's ``LiveFeed`` (two shared talking heads and the demo's astronaut photo played as
a third student, a still image). Screenshots of each state at 1440×900 and 1280×720 go to ``test-output/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from ingest.replay import LiveFeed
from project.demo_media import astronaut_image
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live, watch_csp
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UPLOADS_STOPPED_AFTER_SECONDS = 10
VIEWPORTS = ((1440, 900), (1280, 720))
PHOTO = "Alex Astronaut"
CARDS = "#participant-cards .participant-card"
# What each card and the class panel show, as the teacher reads them, and the data they are drawn from.
SHOWN = f"""[...document.querySelectorAll('{CARDS}')].map((c) => ({{
  name: c.querySelector('.name').textContent, band: c.dataset.band, badge: c.querySelector('.band').textContent,
  expression: c.querySelector('.expression-value').textContent, engagement: c.querySelector('.engagement-value').textContent,
}})).sort((a, b) => a.name.localeCompare(b.name))"""
VALUES = """(() => { const s = window.dashboardState; return {
  cards: [...s.participants.values()].map((p) => [p.name, p.band, p.engagement, p.expression ?? null, p.confidence ?? null, p.present])
    .sort((a, b) => a[0].localeCompare(b[0])),
  class: s.classFigures, series: s.series, frames: [s.frames.received, s.frames.processed, s.frames.dropped],
  present: document.querySelector('#present-count').textContent,
  engagement: document.querySelector('#class-engagement-value').textContent }; })()"""


@pytest.fixture
def short_outage_alert(stack: Stack, demo: Demo) -> Iterator[None]:
    """The demo course raises "uploads stopped" after 10 s, for this test only (later tests find the course as it was)."""
    course = f"from classroom.models import ClassSession; course = ClassSession.objects.get(pk={demo.session}).course"
    stack.manage("shell", "-c", f"{course}; course.alert_uploads_stopped_seconds = {UPLOADS_STOPPED_AFTER_SECONDS}; course.save()")
    yield
    stack.manage("shell", "-c", f"{course}; course.alert_uploads_stopped_seconds = None; course.save()")


def screenshots(page: Page, state: str) -> None:
    """The live page's first screen in ``state`` at both sizes, and the whole page at the larger."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(OUTPUT_DIR / f"live-{state}-{width}x{height}.png"))
    page.set_viewport_size({"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    page.screenshot(path=str(OUTPUT_DIR / f"live-{state}-full.png"), full_page=True)


def card(name: str) -> str:
    return f"[...document.querySelectorAll('{CARDS}')].find((c) => c.querySelector('.name').textContent === '{name}')"


def drawn(page: Page) -> None:
    """Until the page has drawn what it last heard: it updates its state at once and draws on the next animation frame."""
    page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))")


def all_processed(page: Page) -> None:
    """Until every upload is closed and the page has drawn it."""
    until(page, "(f => f.received > 0 && f.received === f.processed + f.dropped)(window.dashboardState.frames)", timeout=60_000)
    drawn(page)


@pytest.mark.usefixtures("short_outage_alert")
def test_a_still_picture_an_outage_a_reload_and_the_end_each_show_as_what_they_are(stack: Stack, demo: Demo) -> None:
    students = [
        ("Jordan", require_shared("video", "talking_head_1.mp4")),
        ("Riley", require_shared("video", "talking_head_2.mp4")),
        (PHOTO, astronaut_image()),
    ]
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=students, fps=1.0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
            csp_violations = watch_csp(page)
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            log_in(page, stack.base_url, demo.teacher, demo.password)
            page.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(page)
            feed.start()
            try:
                check_still_picture(page)
                check_outage(page, feed)
                check_reload_equals_live(page, feed)
            finally:
                feed.stop()
            check_ended(page)
        finally:
            browser.close()
    assert csp_violations == [] and page_errors == []
    assert set(feed.stats.statuses) <= {202, 403} and feed.stats.statuses.get(202, 0) >= 60, feed.stats.as_dict()


def check_still_picture(page: Page) -> None:
    """The photo is recognised within a few frames and shown as a still picture, not engaged, out of the class figures;
    the two real talking heads are never taken for one."""
    until(page, f"{card(PHOTO)}?.dataset.band === 'still'", timeout=120_000)
    photo = next(c for c in page.evaluate(SHOWN) if c["name"] == PHOTO)
    assert (photo["badge"], photo["expression"], photo["engagement"]) == ("still picture", "not read: still picture", "still picture")
    # Over the next frames it stays a still picture, and the real students never become one.
    seen_bands: set[str] = set()
    for _ in range(8):
        processed = page.evaluate("window.dashboardState.frames.processed")
        until(page, f"window.dashboardState.frames.processed > {processed}", timeout=30_000)
        cards = page.evaluate(SHOWN)
        assert {c["name"]: c["band"] for c in cards}[PHOTO] == "still"
        seen_bands |= {c["band"] for c in cards if c["name"] != PHOTO}
    assert "still" not in seen_bands and seen_bands <= {"engaged", "partly", "not_engaged"}
    # The photo is in neither the headcount nor the mean nor the expression mix (both real faces found in a frame).
    figures = "window.dashboardState.classFigures"
    until(page, f"{figures}.still === 1 && {figures}.present === 2", timeout=30_000)
    assert sum(page.evaluate(f"{figures}.expressions").values()) == 2
    until(page, "document.querySelector('#present-count').textContent === '2'", timeout=5_000)
    assert "1 still picture" in page.inner_text("#class-now-note")
    screenshots(page, "still-picture")
    page.select_option("#card-band", "still")  # the cards' filter has the band too
    until(page, f"document.querySelectorAll('{CARDS}:not([hidden])').length === 1", timeout=5_000)
    page.select_option("#card-band", "")


def check_outage(page: Page, feed: LiveFeed) -> None:
    """Uploads stop: the counters fall, cards and class figures say no recent frames; frames resume: the chart shows
    the gap and the outage alert stays, resolved, with its span."""
    # A minute and more of frames first, so the "last minute" counter has frames to lose once uploads stop.
    until(page, "window.dashboardState.frames.received >= 70", timeout=240_000)
    feed.pause()
    all_processed(page)
    before = page.evaluate("window.dashboardState.frames.received_last_minute")
    assert before >= 50
    # The server recounts every few seconds with no frame arriving: the figure falls as frames age out of the minute.
    until(page, f"window.dashboardState.frames.received_last_minute <= {before - 5}", timeout=30_000)
    until(page, "!document.querySelector('#uploads-banner').hidden", timeout=(UPLOADS_STOPPED_AFTER_SECONDS + 15) * 1000)
    until(page, f"[...document.querySelectorAll('{CARDS}')].every((c) => c.dataset.stale === 'true')", timeout=30_000)
    shown = page.evaluate(SHOWN)
    assert {c["badge"] for c in shown} == {"no recent frames"} and {c["engagement"] for c in shown} == {"–"}
    assert page.inner_text("#present-count") == "–" and page.inner_text("#class-engagement-value") == "–"
    assert "No recent frames" in page.inner_text("#class-now-note")
    mix_note = "(document.querySelector('#expression-mix-chart').layout?.annotations ?? []).some((a) => a.text === 'No recent frames')"
    until(page, mix_note, timeout=5_000)  # the last frame's mix is not drawn as the class now
    falling = page.evaluate("window.dashboardState.frames.received_last_minute")
    assert page.text_content("#frames-received-minute") == f"{falling} in the last minute"
    screenshots(page, "uploads-stopped")

    feed.resume()
    resolved = "#alert-history li[data-kind=uploads_stopped]"
    until(page, f"document.querySelector('{resolved}') !== null", timeout=60_000)
    assert page.query_selector("#alert-list li[data-kind=uploads_stopped]") is None
    # Listed with the gap itself: from the last frame received to the first one back.
    assert re.fullmatch(r"\d\d:\d\d:\d\d–\d\d:\d\d:\d\d · No frames received for \d+ s · resolved", page.inner_text(resolved))
    until(page, "document.querySelector('#uploads-banner').hidden", timeout=10_000)
    # The class line breaks over the outage (a null point) and goes on after it.
    chart = "document.querySelector('#class-engagement-chart').data"
    gap = f"(d => {{ const y = d?.[0]?.y ?? []; const i = y.indexOf(null); return i > 0 && y.length - i > 2; }})({chart})"
    until(page, gap, timeout=60_000)
    until(page, f"[...document.querySelectorAll('{CARDS}')].every((c) => c.dataset.stale === 'false')", timeout=30_000)
    screenshots(page, "uploads-resumed")


def check_reload_equals_live(page: Page, feed: LiveFeed) -> None:
    """With the class at rest (uploads paused, every frame processed), a reload shows exactly what the page showed."""
    feed.pause()
    all_processed(page)
    live: dict[str, Any] = page.evaluate(VALUES)
    shown_live = page.evaluate(SHOWN)
    page.reload()
    wait_live(page)
    drawn(page)
    reloaded: dict[str, Any] = page.evaluate(VALUES)
    shown_reloaded = page.evaluate(SHOWN)
    assert reloaded["cards"] == live["cards"]
    assert reloaded["class"] == live["class"]
    assert reloaded["series"] == live["series"]
    assert reloaded["frames"] == live["frames"]
    assert (reloaded["present"], reloaded["engagement"]) == (live["present"], live["engagement"])
    # The cards' words too, but for how long ago their last frame was (the clock moved on).
    for card_live, card_reloaded in zip(shown_live, shown_reloaded, strict=True):
        if card_live["badge"] == card_reloaded["badge"]:
            assert card_reloaded == card_live
    assert page.query_selector("#alert-history li[data-kind=uploads_stopped]") is not None  # the outage is still on record


def check_ended(page: Page) -> None:
    """After End session: the page says so, the connection reads ended, cards show their last state greyed."""
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=End session")
    page.wait_for_load_state()
    wait_live(page)
    until(page, "document.querySelector('#connection-status').textContent.trim() === 'ended'", timeout=30_000)
    drawn(page)
    assert page.inner_text("#session-status") == "ended"
    assert page.is_visible("#ended-banner") and page.inner_text("#ended-banner").startswith("Session ended at ")
    assert not page.is_visible("#uploads-banner")
    # No live colour on any card: every badge is the ended grey, and no card counts as stale (nothing more is expected).
    badges = page.evaluate(f"[...document.querySelectorAll('{CARDS} .band')].map((b) => getComputedStyle(b).backgroundColor)")
    assert badges and set(badges) == {"rgb(228, 231, 235)"}
    assert page.evaluate(f"document.querySelectorAll('{CARDS}[data-stale=true]').length") == 0
    assert "At the end of the session" in page.inner_text("#class-now-note")
    screenshots(page, "ended")
    page.reload()
    wait_live(page)
    assert page.inner_text("#connection-status") == "ended" and page.is_visible("#ended-banner")
