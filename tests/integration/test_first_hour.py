"""The teacher's first hour, in Chromium against the real stack: the live page's first screen shows the students,
one time zone reads on every page and export, and the course trends chart shows all its series.

The server runs in UTC, the browser in Tokyo, the teacher's profile says New York: every time the teacher reads must
be New York's. Screenshots: ``test-output/first-hour-<page>-<width>x<height>.png``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zoneinfo
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

from ingest.replay import LiveFeed
from project.demo_media import large_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live, watch_csp
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CLASS_SIZE = 12
SECOND_SIZE = 6
LEAVER = "Student 03"
SECOND_TITLE = "Quiz review"
USER_ZONE = "America/New_York"
BROWSER_ZONE = "Asia/Tokyo"
VIEWPORTS = ((1440, 900), (1280, 720))
CLOCK = re.compile(r"\b\d\d:\d\d:\d\d\b")
CARDS = "#participant-cards .participant-card"
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
FIGURES_DRAWN = "[...document.querySelectorAll('[data-figure]')].every((el) => el.classList.contains('js-plotly-plot'))"


@pytest.fixture
def teacher_without_zone(stack: Stack, demo: Demo) -> Iterator[None]:
    """The demo teacher with no zone chosen yet, before and after: this test's signing in detects one, and later tests
    read the deployment's zone as they expect."""
    clear = f"from classroom.models import Profile; Profile.objects.filter(user__username={demo.teacher!r}).update(time_zone='')"
    stack.manage("shell", "-c", clear)
    yield
    stack.manage("shell", "-c", clear)


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A screenshot at each viewport, checked to be a drawn page (not blank)."""
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")
        path = OUTPUT_DIR / f"first-hour-{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=full_page)
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert image is not None and float(np.std(image)) > 10.0, f"{path.name} looks blank"


def axe_failures(browser: Browser, stack: Stack, demo: Demo) -> list[str]:
    """Serious or critical axe violations on the new profile page (with a refused zone) and on the live page's first
    screen, at each viewport. Its own context: the pages' Content-Security-Policy is bypassed only to inject axe."""
    if not AXE_JS.exists():
        return []  # scripts/setup.sh installs axe-core; tests/integration/test_accessibility.py says so when it is missing
    page = browser.new_context(bypass_csp=True).new_page()
    log_in(page, stack.base_url, demo.teacher, demo.password)
    failures = []
    for name, url in (("profile", "/accounts/profile/"), ("live", demo.dashboard_url)):
        page.goto(f"{stack.base_url}{url}")
        if name == "profile":
            page.select_option("#id_time_zone", "")
            page.click("#profile-form [type=submit]")
            page.wait_for_selector("#time-zone-error")
        else:
            wait_live(page)
        for width, height in VIEWPORTS:
            page.set_viewport_size({"width": width, "height": height})
            if not page.evaluate("() => typeof window.axe !== 'undefined'"):
                page.add_script_tag(path=str(AXE_JS))
            results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
            failures += [
                f"{name} {width}x{height}: {v['id']} at {[n['target'] for n in v['nodes']]}"
                for v in results["violations"]
                if v["impact"] in ("serious", "critical")
            ]
    page.context.close()
    return failures


def first_card_top(page: Page) -> float:
    box = page.locator(CARDS).first.bounding_box()
    assert box is not None, "no student card is drawn"
    return float(box["y"])


def test_first_screen_one_time_zone_and_course_trends(stack: Stack, demo: Demo, teacher_without_zone: None) -> None:
    require_shared("video", "talking_head_5.mp4")
    OUTPUT_DIR.mkdir(exist_ok=True)
    zone = zoneinfo.ZoneInfo(USER_ZONE)
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=large_class(CLASS_SIZE), fps=1.0)
    fed = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720}, timezone_id=BROWSER_ZONE)
            page = context.new_page()
            csp_violations = watch_csp(page)
            log_in(page, stack.base_url, demo.teacher, demo.password)
            # First sign-in with no zone: the page saves the browser's and is drawn again in it, without the script.
            page.wait_for_selector("script[src*='timezone.js']", state="detached", timeout=30_000)

            # The profile page shows the detected zone; the teacher sets theirs (a bad one is refused with the reason).
            page.click("header nav a:text-is('Profile')")
            page.wait_for_selector("#profile-form")
            assert page.input_value("#id_time_zone") == BROWSER_ZONE
            page.select_option("#id_time_zone", "")
            page.click("#profile-form [type=submit]")
            assert "Choose a time zone." in page.inner_text("#time-zone-error")
            page.select_option("#id_time_zone", USER_ZONE)
            page.click("#profile-form [type=submit]")
            page.wait_for_selector("text=Time zone saved")
            assert f"in {USER_ZONE} (UTC-0" in page.inner_text("#time-zone-help")
            shoot(page, "profile")

            # The live page before anyone is seen: the panel says nobody needs attention; operator figures are folded.
            page.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(page)
            assert page.is_visible("#needs-empty") and page.inner_text("#needs-empty") == "Nobody needs attention right now."
            assert page.locator("#needs-list li").count() == 0
            assert not page.is_visible("#frames-received") and not page.evaluate("document.querySelector('#connection-details').open")

            feed.start()
            fed = True
            until(page, f"document.querySelectorAll('{CARDS}').length >= {CLASS_SIZE}", timeout=120_000)
            until(page, f"document.querySelectorAll('{CARDS}:not([data-band=absent])').length >= {CLASS_SIZE - 2}", timeout=120_000)
            # The first screen shows the class at a glance and the students: the first card starts inside the viewport.
            for width, height in VIEWPORTS:
                page.set_viewport_size({"width": width, "height": height})
                page.evaluate("window.scrollTo(0, 0)")
                top = first_card_top(page)
                assert 0 <= top < height, f"the first student card starts at {top:.0f} px, below the {width}x{height} first screen"
                assert page.is_visible("#class-engagement-value") and page.is_visible("#present-count")
                assert page.evaluate("document.querySelector('#needs-attention').getBoundingClientRect().bottom") <= height
            # A student leaves the picture: they are listed by name under "Needs attention", and the name opens their timeline.
            feed.hidden.add(LEAVER)
            listed = f"[...document.querySelectorAll('#needs-list li')].some((li) => li.textContent.includes('{LEAVER}'))"
            until(page, listed, timeout=60_000)
            assert not page.is_visible("#needs-empty")
            assert page.inner_text("#needs-count") == str(page.locator("#needs-list li").count())
            shoot(page, "live-needs-attention", full_page=False)
            page.set_viewport_size({"width": 1280, "height": 720})
            page.click(f"#needs-list button:text-is('{LEAVER}')")
            until(
                page,
                f"document.querySelector('#drilldown').open && document.querySelector('#drilldown-title').textContent === '{LEAVER}'",
                timeout=15_000,
            )
            page.click("#drilldown-close")
            feed.hidden.clear()

            # Some history on the class chart first, so the moment sits on a drawn line.
            until(page, "(document.querySelector('#class-engagement-chart').data?.[0]?.x?.length ?? 0) >= 8", timeout=60_000)
            # The teacher marks a moment: the page reads it on the profile's clock, not the browser's (Tokyo) nor UTC.
            page.fill("#flag-form input[name=note]", "quiz starts")
            page.click("#flag-button")
            until(page, "document.querySelector('#flag-count').textContent.includes('quiz starts')", timeout=15_000)
            flagged_at = datetime.fromisoformat(page.evaluate("window.dashboardState.flags.at(-1).at"))
            expected = flagged_at.astimezone(zone).strftime("%H:%M:%S")
            assert expected not in (
                flagged_at.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%H:%M:%S"),
                flagged_at.astimezone(zoneinfo.ZoneInfo(BROWSER_ZONE)).strftime("%H:%M:%S"),
            )
            live_text = page.inner_text("#flag-count")
            assert CLOCK.findall(live_text) == [expected], live_text
            # The class chart draws the flag's line at the same clock time (plotly reads dates as written).
            shapes = "(document.querySelector('#class-engagement-chart')._fullLayout?.shapes ?? [])"
            until(page, f"{shapes}.some((s) => s.line?.dash === 'dot')", timeout=15_000)
            chart_x = page.evaluate(
                f"(() => {{ const x = {shapes}.find((s) => s.line.dash === 'dot').x0;"
                " return typeof x === 'number' ? new Date(x).toISOString() : String(x); })()"
            )
            assert expected in chart_x.replace("T", " "), chart_x
            shoot(page, "live-first-screen", full_page=False)
            shoot(page, "live")
            feed.stop()
            fed = False

            # The session ends; the report reads the same time, in its list and on its chart.
            page.on("dialog", lambda dialog: dialog.accept())
            page.click("#session-controls button.danger")
            until(page, "document.querySelector('#session-status')?.textContent.trim() === 'ended'", timeout=30_000)
            page.goto(f"{stack.base_url}/sessions/{demo.session}/report/")
            until(page, FIGURES_DRAWN, timeout=30_000)
            report_flags = page.inner_text("#report-flags")
            assert f"{expected} quiz starts" in report_flags, report_flags
            assert f"Times are in {USER_ZONE}" in page.inner_text(".disclaimer")
            report_x = page.evaluate(
                "document.querySelector('#chart-engagement')._fullLayout.shapes.find((s) => s.line?.dash === 'dot').x0"
            )
            assert expected in str(report_x), report_x
            shoot(page, "report")

            # The exports: ISO 8601 in the teacher's zone with its offset; the same clock time again.
            http = stack.login(demo.teacher, demo.password)
            document = json.loads(http.get(f"{stack.base_url}/sessions/{demo.session}/export.json", timeout=30).text)
            assert document["session"]["time_zone"] == USER_ZONE
            exported_flag = datetime.fromisoformat(document["flags"][-1]["at"])
            offset = flagged_at.astimezone(zone).strftime("%z")
            assert exported_flag.strftime("%H:%M:%S") == expected and exported_flag.strftime("%z") == offset
            rows = list(csv.DictReader(io.StringIO(http.get(f"{stack.base_url}/sessions/{demo.session}/export.csv", timeout=30).text)))
            assert rows and all(datetime.fromisoformat(row["minute_start"]).strftime("%z") == offset for row in rows)

            # A second, smaller class on the course page's form, so the trends have two sessions to tell apart.
            page.click(".crumbs a:nth-of-type(2)")
            page.fill("input[name=title]", SECOND_TITLE)
            page.click("text=Start session")
            token = page.input_value("#ingest-token")
            page.click("text=Open the live dashboard")
            wait_live(page)
            second = int(re.search(r"/sessions/(\d+)/", page.url)[1])  # type: ignore[index]
            feed = LiveFeed(base_url=stack.base_url, session_id=second, token=token, students=large_class(SECOND_SIZE), fps=1.0)
            feed.start()
            fed = True
            until(page, f"document.querySelectorAll('{CARDS}:not([data-band=absent])').length >= {SECOND_SIZE - 1}", timeout=120_000)
            feed.stop()
            fed = False
            page.click("#session-controls button.danger")
            until(page, "document.querySelector('#session-status')?.textContent.trim() === 'ended'", timeout=30_000)

            # The course page: its trends chart shows every series, the line over the bars, whole-number counts.
            page.click(".crumbs a:nth-of-type(2)")
            gd = "document.querySelector('#trends [data-figure]')"
            rolled_up = f"{gd}._fullData.find((t) => t.name === 'mean engagement indicator').y.every((y) => y !== null)"
            deadline = time.monotonic() + 180
            while True:  # the ended session's last minutes are rolled up by a worker just after it ends
                until(page, FIGURES_DRAWN, timeout=30_000)
                if page.evaluate(rolled_up) or time.monotonic() > deadline:
                    break
                page.reload()
            assert page.evaluate(rolled_up), "a session's mean engagement never reached the trends"
            names = page.evaluate(f"{gd}._fullData.map((t) => `${{t.type}}:${{t.name}}:${{t.yaxis}}`)")
            assert "bar:students attending:y" in names and "scatter:mean engagement indicator:y2" in names, names
            # Drawn later in the SVG is drawn on top: the line's path comes after every bar.
            # (The alerts are markers only: the one line path is the mean engagement's.)
            on_top = page.evaluate(
                f"(() => {{ const plot = {gd}; const bars = [...plot.querySelectorAll('.barlayer .point path')];"
                " const lines = plot.querySelectorAll('.scatterlayer .js-line');"
                " return bars.length > 0 && lines.length === 1"
                " && bars.every((bar) => bar.compareDocumentPosition(lines[0]) & Node.DOCUMENT_POSITION_FOLLOWING); })()"
            )
            assert on_top, "the mean engagement line is not drawn over the bars"
            ticks = page.evaluate(f"[...{gd}.querySelectorAll('.ytick text')].map((t) => t.textContent)")
            assert ticks and all(re.fullmatch(r"\d+", tick) for tick in ticks), ticks
            # The indicator keeps its own 0 to 1 axis (not ticks lined up with the counts').
            assert page.evaluate(f"[...{gd}.querySelectorAll('.y2tick text')].map((t) => t.textContent)") == [
                "0",
                "0.2",
                "0.4",
                "0.6",
                "0.8",
                "1",
            ]
            widths = page.evaluate(f"[{gd}.getBoundingClientRect().width, document.querySelector('#trends').clientWidth]")
            assert widths[0] >= 0.9 * (widths[1] - 32), widths  # the panel's width, less its padding
            labels = page.evaluate(f"{gd}._fullLayout.xaxis.ticktext")
            started = datetime.fromisoformat(document["session"]["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
            assert any(label.startswith(started) for label in labels), labels
            assert len(labels) == 2 and labels[1].endswith(f"<br>{SECOND_TITLE}") and labels[0] != labels[1], labels
            started_cells = page.inner_text("#session-list")
            assert started in started_cells
            shoot(page, "course")
            assert axe_failures(browser, stack, demo) == []
        finally:
            if fed:
                feed.stop()
            browser.close()
    assert csp_violations == []
