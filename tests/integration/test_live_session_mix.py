"""The live page draws the server's whole-session expression mix: the session report's figure, for the same minutes.

Real parts throughout: the stack's Redis, daphne, both Celery workers and beat (which refreshes the rollups
every 15 s and sends the figure after each refresh); real frames of real faces posted to the ingest API;
Chromium reads the bars plotted on the page.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from ingest.replay import LiveFeed
from project.demo_media import large_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live
from tests.conftest import require_shared
from tests.integration.conftest import Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CLASS_SIZE = 8
FRAMES = 10
REFRESH_SECONDS = 15  # beat's rollup refresh (project/settings.py CELERY_BEAT_SCHEDULE)
CHART = "document.getElementById('expression-mix-chart')"
REPORT_MIX = (
    "import json; from classroom.models import ClassSession; from classroom.reports import session_report;"
    " print(json.dumps(session_report(session=ClassSession.objects.get(pk={session}))['session_mix']))"
)


def report_mix(stack: Stack, session: int) -> dict[str, float] | None:
    """The session report's ``session_mix``, read from the stack's database as the report page reads it."""
    mix: dict[str, float] | None = json.loads(stack.manage("shell", "-c", REPORT_MIX.format(session=session)).strip().splitlines()[-1])
    return mix


def plotted(page: Page) -> dict[str, Any]:
    """The bars of the mix chart, by expression, with its title and axis title."""
    result: dict[str, Any] = page.evaluate(
        f"(() => {{ const chart = {CHART}; const [bars] = chart.data;"
        " return { bars: Object.fromEntries(bars.x.map((name, i) => [name, bars.y[i]])),"
        " title: document.getElementById('mix-title').textContent, axis: chart.layout.yaxis.title.text }; })()"
    )
    return result


def drawn(mix: dict[str, float]) -> str:
    """A page condition: the mix chart's bars are exactly ``mix``."""
    return f"((data, mix) => !!data && data.x.every((name, i) => data.y[i] === mix[name]))({CHART}.data?.[0], {json.dumps(mix)})"


def show_whole_session(page: Page) -> None:
    page.check("input[name=range][value=recent]")  # a reload may restore the radio without telling the page
    page.check("input[name=range][value=session]")


def test_the_live_page_draws_the_reports_whole_session_mix(stack: Stack, demo: Demo) -> None:
    require_shared("video", "talking_head_5.mp4")
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=large_class(CLASS_SIZE), fps=1.0)
    feed.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                check_the_page(browser.new_page(viewport={"width": 1400, "height": 1000}), stack, demo, feed)
            finally:
                browser.close()
    finally:
        feed.stop()


def check_the_page(page: Page, stack: Stack, demo: Demo, feed: LiveFeed) -> None:
    log_in(page, stack.base_url, demo.teacher, demo.password)
    page.goto(f"{stack.base_url}{demo.dashboard_url}")
    wait_live(page)
    show_whole_session(page)
    until(page, f"window.dashboardState.frames.processed >= {FRAMES}", timeout=120_000)
    feed.stop()
    # Every upload closed (processed or dropped): the rollup refreshes that start from now on find the minutes final.
    until(page, "(f => f.received > 0 && f.received === f.processed + f.dropped)(window.dashboardState.frames)", timeout=60_000)
    # The second refresh event from now on comes from a refresh that started after it (the first may have begun before).
    events = page.evaluate("window.dashboardState.sessionMixEvents")
    until(page, f"window.dashboardState.sessionMixEvents >= {events + 2}", timeout=(3 * REFRESH_SECONDS + 30) * 1000)

    expected = report_mix(stack, demo.session)
    assert expected is not None and sum(expected.values()) == pytest.approx(1.0, abs=1e-3)
    until(page, drawn(expected), timeout=5_000)
    shown = plotted(page)
    assert shown["bars"] == expected
    assert "whole session" in shown["title"] and "share of faces" in shown["title"].lower()
    assert shown["axis"] == "share of faces, all frames"

    # A reload has the same figure straight from the history (the minutes not rolled up yet counted the same way).
    page.reload()
    wait_live(page)
    assert page.evaluate("window.dashboardState.sessionMix") == expected
    show_whole_session(page)
    until(page, drawn(expected), timeout=10_000)
