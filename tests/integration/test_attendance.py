"""Attendance in Chromium against the real stack: who is missing shows on the live page and in the report.

A roster of five: three students come in a meeting gallery (one of them leaves early), one student's camera page
shows a wall (their frames have no face in view), one never joins. The live page must show the camera student's
card as absent, with the absence alert, and the one who never joined as not joined; the report must name every
roster student with how they attended, figures that add up (present minutes over the session's minutes) and charts
that end when the session ended. Screenshots: ``test-output/attendance-<page>-<width>x<height>.png``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
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

ABSENT_AFTER_SECONDS = 10
# Three students on video (the demo class's second face is a photo, which classroom/stillness.py rightly takes for no
# one present): Student 01, 03 and 04.
STUDENTS = [student for k, student in enumerate(large_class(4)) if k != 1]
GALLERY = [name for name, _ in STUDENTS]
LEAVER = GALLERY[2]
CAMERA = "Camille Camera"
NEVER = "Nadia Nevercame"
ROSTER = [*GALLERY, CAMERA, NEVER]
VIEWPORTS = ((1440, 900), (1280, 720))
CARDS = "#participant-cards .participant-card"
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
READ_NO_FACE = "window.cameraState.result?.status === 'processed' && window.cameraState.result.faces_found === 0"


@pytest.fixture
def roster(stack: Stack, demo: Demo) -> Iterator[None]:
    """The demo course's roster and a short absence threshold, for this test only (later tests find the course as it was)."""
    course = f"from classroom.models import ClassSession, Student; course = ClassSession.objects.get(pk={demo.session}).course"
    stack.manage(
        "shell",
        "-c",
        f"{course}; from classroom.roster import student_add\n"
        f"course.alert_absent_seconds = {ABSENT_AFTER_SECONDS}; course.save()\n"
        f"for name in {ROSTER!r}:\n    student_add(course=course, name=name)",
    )
    yield
    stack.manage(
        "shell",
        "-c",
        f"{course}; Student.objects.filter(course=course, name__in={ROSTER!r}).delete(); course.alert_absent_seconds = None; course.save()",
    )


def wall_y4m(path: Path, *, size: tuple[int, int] = (640, 480), frames: int = 10) -> Path:
    """A camera pointed at a wall (a soft gradient with a little noise, no face), as Chromium's fake camera plays it."""
    width, height = size
    rng = np.random.default_rng(7)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            gradient = np.linspace(150, 200, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
            image = np.clip(gradient + rng.normal(0, 3, gradient.shape), 0, 255).astype(np.uint8)
            out.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def card(name: str) -> str:
    return f"{CARDS}:has(.name:text-is('{name}'))"


def card_band(name: str, band: str) -> str:
    cards = f"[...document.querySelectorAll('{CARDS}')]"
    return f"{cards}.some((c) => c.querySelector('.name').textContent === '{name}' && c.dataset.band === '{band}')"


def card_seen(name: str) -> str:
    cards = f"[...document.querySelectorAll('{CARDS}')]"
    return f"{cards}.some((c) => c.querySelector('.name').textContent === '{name}' && c.dataset.band !== 'absent')"


def summary_has(*parts: str) -> str:
    return " && ".join(f"document.querySelector('#attendance-summary').textContent.includes('{part}')" for part in parts)


def open_alert(kind: str, name: str) -> str:
    return f"[...document.querySelectorAll('#alert-list li[data-kind={kind}]')].some((li) => li.textContent.includes('{name}'))"


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    """A screenshot at each viewport, checked to be a drawn page (not blank)."""
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")
        path = OUTPUT_DIR / f"attendance-{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=full_page)
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert image is not None and float(np.std(image)) > 10.0, f"{path.name} looks blank"


def axe_serious(browser: Browser, stack: Stack, demo: Demo, path: str) -> list[str]:
    """Serious or critical axe violations on a page (the live page with its attendance names open), at each viewport.
    Its own context: the pages' Content-Security-Policy is bypassed only to inject axe."""
    if not AXE_JS.exists():
        return []  # scripts/setup.sh installs axe-core; tests/integration/test_accessibility.py says so when it is missing
    page = browser.new_context(bypass_csp=True).new_page()
    log_in(page, stack.base_url, demo.teacher, demo.password)
    page.goto(f"{stack.base_url}{path}")
    if path == demo.dashboard_url:
        wait_live(page)
        until(page, summary_has("Expected 5"), timeout=60_000)
        page.click("#attendance-details summary")
    page.add_script_tag(path=str(AXE_JS))
    failures = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
        failures += [
            f"{path} {width}x{height}: {v['id']} at {[n['target'] for n in v['nodes']]}"
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    page.context.close()
    return failures


def minutes(text: str) -> float:
    found = re.search(r"([\d.]+) min", text)
    assert found is not None, text
    return float(found[1])


def test_who_is_missing_on_the_live_page_and_in_the_report(stack: Stack, demo: Demo, roster: None, tmp_path: Path) -> None:
    require_shared("video", "talking_head_5.mp4")
    OUTPUT_DIR.mkdir(exist_ok=True)
    fake_camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={wall_y4m(tmp_path / 'wall.y4m')}",
    ]
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=STUDENTS, fps=1.0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake_camera])
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            live = context.new_page()
            violations = watch_csp(live)
            log_in(live, stack.base_url, demo.teacher, demo.password)
            live.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(live)
            until(live, summary_has("Expected 5", "Present 0", "Never joined 5"), timeout=60_000)

            # A student's camera page pointed at a wall: no face in any frame, yet a card, absent, and the absence alert.
            camera = context.new_page()
            camera.goto(f"{stack.base_url}/sessions/{demo.session}/camera/")
            camera.fill("#camera-name", CAMERA)
            camera.click("#camera-start")
            until(camera, READ_NO_FACE, timeout=30_000)
            until(live, card_band(CAMERA, "absent"), timeout=30_000)
            assert "absent: no face in view" in live.inner_text(card(CAMERA))
            until(live, summary_has("Present 0", "Absent now 1", "Never joined 4"), timeout=60_000)
            until(live, open_alert("absent", CAMERA), timeout=(ABSENT_AFTER_SECONDS + 30) * 1000)
            camera.click("#camera-stop")
            camera.close()

            # The meeting's gallery: three students come; one never does.
            feed.start()
            for name in GALLERY:
                until(live, card_seen(name), timeout=120_000)
            until(live, summary_has("Expected 5", "Present 3", "Absent now 1", "Never joined 1"), timeout=30_000)
            # Their minutes present come with the rollup refreshed every 15 s.
            minutes_in = "window.dashboardState.attendance.students.filter((s) => s.status === 'present' && s.present_minutes >= 0.2)"
            until(live, f"{minutes_in}.length === 3", timeout=60_000)
            live.click("#attendance-details summary")
            groups = live.evaluate(
                "Object.fromEntries([...document.querySelectorAll('#attendance-lists .attendance-group')]"
                ".map((g) => [g.querySelector('h3').textContent, g.querySelector('ul').innerText]))"
            )
            assert NEVER in groups["Not joined (1)"] and "not joined" in groups["Not joined (1)"], groups
            assert CAMERA in groups["Absent now (1)"] and "no face in view" in groups["Absent now (1)"], groups
            assert all(name in groups["Present (3)"] for name in GALLERY), groups
            live.evaluate("window.scrollTo(0, 0)")
            shoot(live, "live")
            assert axe_serious(browser, stack, demo, demo.dashboard_url) == []

            # One student leaves for good: absent past the threshold before the class ends (left early in the report).
            feed.hidden.add(LEAVER)
            until(live, open_alert("absent", LEAVER), timeout=(ABSENT_AFTER_SECONDS + 30) * 1000)
            until(live, summary_has("Present 2", "Absent now 2"), timeout=60_000)
            # Their drill-down: the smoothed line the badge is read from, the absence shaded.
            live.click(f"{card(LEAVER)} .name")
            live.wait_for_selector("#drilldown[open]")
            until(live, "document.querySelector('#drilldown-engagement .main-svg') !== null", timeout=60_000)
            until(live, "document.querySelector('#drilldown-note').textContent.includes('smoothed')", timeout=60_000)
            live.screenshot(path=str(OUTPUT_DIR / "attendance-drilldown.png"))
            live.click("#drilldown-close")
        finally:
            feed.stop()
        assert feed.stats.sent >= 10 and set(feed.stats.statuses) == {202}, feed.stats.as_dict()
        try:
            live.on("dialog", lambda dialog: dialog.accept())
            live.click("#session-controls button.danger")
            until(live, "window.dashboardState.status === 'ended'", timeout=30_000)
            # Ended, the live page's line reads as the report will.
            outcomes = ("Expected 5", "present to the end 2", "left early 1", "never in view 1", "never joined 1")
            until(live, summary_has(*outcomes), timeout=30_000)

            # The report, once the final rollup has run (a worker does it right after the end).
            teacher = stack.login(demo.teacher, demo.password)
            report_url = f"{stack.base_url}/sessions/{demo.session}/report/"
            deadline = time.monotonic() + 90
            done = re.compile(rf'data-outcome="present_to_end">\s*<td>{GALLERY[0]} .*?</td>.*?<td>(?!0\.0 min)[\d.]+ min</td>', re.S)
            while not done.search(teacher.get(report_url, timeout=30).text) and time.monotonic() < deadline:
                time.sleep(1)
            report = context.new_page()
            violations += watch_csp(report)
            report.goto(report_url)
            report.wait_for_selector("#chart-engagement .main-svg", timeout=30_000)
            rows = report.evaluate(
                "[...document.querySelectorAll('#attendance-table tbody tr')].map((tr) => ({name: tr.cells[0].textContent.trim(),"
                " outcome: tr.dataset.outcome, present: tr.cells[4].textContent, share: tr.cells[5].textContent}))"
            )
            by_name = {row["name"].split(" (")[0]: row for row in rows}
            assert {name: by_name[name]["outcome"] for name in ROSTER} == {
                GALLERY[0]: "present_to_end",
                GALLERY[1]: "present_to_end",
                LEAVER: "left_early",
                CAMERA: "never_in_view",
                NEVER: "never_joined",
            }, rows
            # The figures add up: the share is of the session's minutes, as the facts table gives them, rounded alike.
            facts = report.inner_text("#report-facts")
            session_minutes = minutes(facts.split("Duration")[1])
            for name in ROSTER:
                present, share = minutes(by_name[name]["present"]), by_name[name]["share"]
                assert share == f"{round(100 * present / session_minutes)}% of {session_minutes} min", (name, present, share)
            assert minutes(by_name[GALLERY[0]]["present"]) > minutes(by_name[LEAVER]["present"]) > 0, (
                rows,
                report.inner_text("#participant-table"),
            )
            assert minutes(by_name[CAMERA]["present"]) == minutes(by_name[NEVER]["present"]) == 0
            # The charts run from the session's start to its end, across their panel.
            started, ended = (
                re.search(rf"{label}\s+(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d)", facts)[1]  # type: ignore[index]
                for label in ("Started", "Ended")
            )
            for chart in ("engagement", "expressions"):
                axis = report.evaluate(f"document.querySelector('#chart-{chart}').layout.xaxis.range")
                assert [end[:19].replace("T", " ") for end in axis] == [started, ended], (chart, axis)
                drawn, panel = report.evaluate(
                    f"[document.querySelector('#chart-{chart} .main-svg').getBoundingClientRect().width,"
                    f" document.querySelector('#chart-{chart}').parentElement.clientWidth]"
                )
                assert drawn >= 0.9 * (panel - 40), (chart, drawn, panel)
            shoot(report, "report")
            assert axe_serious(browser, stack, demo, f"/sessions/{demo.session}/report/") == []
            report.locator("#attendance").scroll_into_view_if_needed()
            shoot(report, "report-table")
            shoot(report, "report-full", full_page=True)
            # Printed (A4's printable width: 186 mm, 703 CSS px), each chart is redrawn to the paper's width.
            report.set_viewport_size({"width": 703, "height": 1000})
            report.emulate_media(media="print")
            fits = (
                "[...document.querySelectorAll('[data-figure]')].every((el) =>"
                " Math.abs(el.querySelector('.main-svg').getBoundingClientRect().width - el.clientWidth) <= 1 && el.clientWidth <= 703)"
            )
            until(report, fits, timeout=10_000)
            report.screenshot(path=str(OUTPUT_DIR / "attendance-report-print.png"), full_page=True)
            report.pdf(path=str(OUTPUT_DIR / "attendance-report.pdf"), format="A4", print_background=True)
        finally:
            browser.close()
    exported = teacher.get(f"{stack.base_url}/sessions/{demo.session}/attendance.csv", timeout=30)
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    table = {row["name"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert (table[NEVER]["attendance"], table[LEAVER]["attendance"]) == ("never joined", "left early")
    assert violations == []
