"""Every page a teacher or an admin sees, checked by axe-core in Chromium against the real stack.

A page passes when axe finds no violation of impact *serious* or *critical* (colour contrast included), at
1440×900 and at 1280×720; each is also saved as a screenshot, ``test-output/a11y-<page>-<width>x<height>.png``.

Covered, from ``frontend/urls.py``: the login page, the password-reset form, the password-change form, home
(teacher's and admin's), a course page (with its roster and trends), the roster import preview, the token page
shown when a session starts, the profile page, live pages (a live session with student cards, with its pairing
dialog and a card's drill-down open, with cards gone stale, a live session with nobody yet, and an ended one),
the session report, the camera page (the teacher's, and a student's without a session), the admin's session
list, the new-teacher form and its result page, and the 403 and 404 pages. Not pages, so not covered: the JSON
and export endpoints, the logout and password-reset e-mail steps, and Django's own ``/admin/`` (not the
product's pages).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from playwright.sync_api import Browser, FilePayload, Page, sync_playwright

from ingest.replay import frames, post_frame
from project.demo_media import demo_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live
from tests.integration.conftest import OUTPUT_DIR

pytestmark = [pytest.mark.integration, pytest.mark.browser]

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = ((1440, 900), (1280, 720))
FAILING_IMPACTS = ("serious", "critical")
# The roster CSV the preview is checked with: two good rows and one refused (no name), so both looks are shown.
ROSTER_CSV = b"name,external_id,email\nAda Lovelace,S-001,ada@example.org\nGrace Hopper,S-002,\n,S-003,nobody@example.org\n"


@dataclass(frozen=True)
class Accounts:
    """The demo's users and its live session, as ``demo_setup`` printed them."""

    session: int
    token: str
    teacher: str
    password: str
    admin: str
    admin_password: str
    dashboard_url: str


@dataclass
class Audit:
    """Runs axe on pages and keeps every serious or critical violation, as lines that say where and why."""

    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def check(self, page: Page, name: str, *, full_page: bool = True) -> None:
        """Axe ``page`` at each viewport, and save a screenshot of it at each (the viewport only for an open dialog,
        whose backdrop covers only the viewport)."""
        for width, height in VIEWPORTS:
            page.set_viewport_size({"width": width, "height": height})
            settle(page)
            for violation in axe_violations(page):
                for node in violation["nodes"]:
                    summary = " ".join(node.get("failureSummary", "").split())
                    self.failures.append(
                        f"{name} {width}x{height}: {violation['id']} ({violation['impact']}) at {node['target']}: {summary}"
                    )
            OUTPUT_DIR.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT_DIR / f"a11y-{name}-{width}x{height}.png"), full_page=full_page)
        self.checked.append(name)


def axe_path() -> Path:
    """axe-core as ``npm ci`` (scripts/setup.sh) installs it; missing fails under CI and skips elsewhere."""
    if not AXE_JS.exists():
        message = f"{AXE_JS} is missing: run scripts/setup.sh (it runs npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS


def settle(page: Page) -> None:
    """Until the page has laid itself out and painted at its current size (two animation frames)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds on the page as it is now (WCAG A and AA rules and best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    results: dict[str, Any] = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [violation for violation in results["violations"] if violation["impact"] in FAILING_IMPACTS]


def wait_figures(page: Page) -> None:
    """Until every server-built figure on a report or course page is drawn."""
    until(page, "[...document.querySelectorAll('[data-figure]')].every((el) => el.classList.contains('js-plotly-plot'))", timeout=30_000)


def feed(stack: Stack, accounts: Accounts, stop: threading.Event) -> None:
    """Post the demo class's gallery at 2 fps until stopped, as the demo's replay client would."""
    students = demo_class()
    iterator, _ = frames([path for _, path in students], names=[name for name, _ in students], loop=True, fps=2)
    url = f"{stack.base_url}/api/v1/sessions/{accounts.session}/frames"
    with requests.Session() as http:
        for frame, tiles in iterator:
            if stop.wait(0.5):
                return
            post_frame(http, url=url, token=accounts.token, frame=frame, tiles=tiles)


@pytest.fixture
def accounts(stack: Stack) -> Accounts:
    """A fresh live demo session, with the demo teacher's and admin's credentials."""
    data: dict[str, Any] = json.loads(stack.manage("demo_setup", "--fresh").strip().splitlines()[-1])
    return Accounts(**{name: data[name] for name in Accounts.__dataclass_fields__})


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Browser) -> Page:
    """A page in its own context; the pages' Content-Security-Policy is bypassed only so that axe can be injected."""
    context = browser.new_context(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]}, bypass_csp=True)
    return context.new_page()


def visit_teacher_pages(page: Page, audit: Audit, *, stack: Stack, accounts: Accounts) -> None:
    """Everything a teacher sees, from signing in to the report, with the demo class feeding the live page."""
    base = stack.base_url
    page.goto(f"{base}/accounts/password/reset/")
    audit.check(page, "password-reset")
    page.goto(f"{base}/accounts/login/")
    audit.check(page, "login")
    log_in(page, base, accounts.teacher, accounts.password)
    audit.check(page, "teacher-home")

    page.click("#course-list a")
    page.wait_for_load_state()
    course_url = page.url
    page.set_input_files("#roster-upload input[type=file]", files=FilePayload(name="roster.csv", mimeType="text/csv", buffer=ROSTER_CSV))
    page.click("#roster-upload [type=submit]")
    page.wait_for_selector("#roster-preview")
    audit.check(page, "roster-preview")
    page.click("form:has(input[name=content]) [type=submit]")
    page.wait_for_selector("#roster-table")
    wait_figures(page)
    audit.check(page, "course")
    # Focus is visible: tabbing from the title field lands on the Start button, which draws the focus ring.
    page.focus("input[name=title]")
    page.keyboard.press("Tab")
    ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }")
    assert page.evaluate("() => document.activeElement.textContent") == "Start session"
    assert ring == ["solid", "3px"], ring

    # Starting a session shows the token page; its live page is the empty one, then ended (so no extra session stays live).
    page.fill("input[name=title]", "Accessibility check")
    page.click("text=Start session")
    page.wait_for_selector("#ingest-token")
    audit.check(page, "token")
    page.click("text=Open the live dashboard")
    wait_live(page)
    audit.check(page, "live-empty")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=End session")
    until(page, "document.querySelector('#session-status')?.textContent.trim() === 'ended'", timeout=30_000)
    audit.check(page, "live-ended")

    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(stack, accounts, stop), daemon=True)
    feeder.start()
    try:
        page.goto(f"{base}{accounts.dashboard_url}")
        wait_live(page)
        seen = "document.querySelectorAll('#participant-cards .participant-card:not([data-band=absent])').length"
        points = "(document.querySelector('#class-engagement-chart').data?.[0]?.x?.length ?? 0)"
        until(page, f"{seen} >= 2 && {points} >= 2", timeout=120_000)
        page.click("#participant-cards .participant-card summary")  # one card's rename form open
        audit.check(page, "live")
        page.click("#pairing-button")
        until(page, "/^[A-Z0-9-]{4,}$/.test(document.querySelector('#pairing-code').textContent.trim())", timeout=30_000)
        audit.check(page, "live-pairing", full_page=False)
        page.click("#pairing-close")
        page.click("#participant-cards .participant-card .name")
        drawn = "document.querySelector('#drilldown').open && !!document.querySelector('#drilldown-engagement .main-svg')"
        until(page, drawn, timeout=30_000)
        audit.check(page, "live-drilldown", full_page=False)
        page.click("#drilldown-close")
    finally:
        stop.set()
        feeder.join(timeout=30)
    # With no frames coming, the cards say they have no recent data: the faded look must stay readable.
    until(page, "document.querySelectorAll('#participant-cards .participant-card[data-stale=true]').length >= 2", timeout=90_000)
    audit.check(page, "live-stale")

    page.goto(f"{base}/sessions/{accounts.session}/report/")
    wait_figures(page)
    audit.check(page, "report")
    page.goto(f"{base}/sessions/{accounts.session}/camera/")
    audit.check(page, "camera")
    page.click(".topbar >> text=Profile")
    page.wait_for_load_state()
    audit.check(page, "profile")
    page.goto(f"{base}/accounts/password/change/")
    audit.check(page, "password-change")
    page.goto(f"{base}/staff/sessions/")  # an admin's page: a teacher gets the 403 page
    audit.check(page, "forbidden")
    page.goto(f"{base}/courses/999999999/")
    audit.check(page, "not-found")
    page.goto(course_url)
    page.click("text=Log out")
    page.wait_for_load_state()
    page.goto(f"{base}/sessions/{accounts.session}/camera/")  # a student's view of the camera page: enter a code
    audit.check(page, "camera-student")


def visit_admin_pages(page: Page, audit: Audit, *, stack: Stack, accounts: Accounts) -> None:
    """The admin's own pages: all courses, all sessions, a new teacher and the page that follows."""
    base = stack.base_url
    log_in(page, base, accounts.admin, accounts.admin_password)
    audit.check(page, "admin-home")
    page.goto(f"{base}/staff/sessions/")
    audit.check(page, "admin-sessions")
    page.goto(f"{base}/staff/teachers/new/")
    audit.check(page, "teacher-create")
    username = f"teacher-{uuid.uuid4().hex[:8]}"
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.org")
    page.click("#teacher-create [type=submit]")
    page.wait_for_selector("#set-password-link")
    audit.check(page, "teacher-created")


def test_every_teacher_and_admin_page_has_no_serious_accessibility_violation(stack: Stack, accounts: Accounts, browser: Browser) -> None:
    axe_path()
    audit = Audit()
    visit_teacher_pages(new_page(browser), audit, stack=stack, accounts=accounts)
    visit_admin_pages(new_page(browser), audit, stack=stack, accounts=accounts)
    assert len(audit.checked) == 23, audit.checked
    assert not audit.failures, f"{len(audit.failures)} serious or critical accessibility violations:\n" + "\n".join(audit.failures)
