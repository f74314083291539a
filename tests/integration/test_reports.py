"""A real class of 25 named students through the real stack, ended, then its report and exports; printed in Chromium."""

from __future__ import annotations

import csv
import io
import json
import time

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import sync_playwright

from ingest.replay import LiveFeed
from project.demo_media import large_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_csp
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CLASS_SIZE = 25
CLASS_SECONDS = 35


def post_form(http: requests.Session, base_url: str, path: str) -> requests.Response:
    """POST a page form as the browser would (CSRF cookie and header, same-origin Referer)."""
    return http.post(
        f"{base_url}{path}",
        data={"csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}{path}"},
        allow_redirects=False,
        timeout=10,
    )


def test_report_and_exports_of_a_real_class(stack: Stack, demo: Demo) -> None:
    require_shared("video", "talking_head_5.mp4")
    students = large_class(CLASS_SIZE)
    names = [name for name, _ in students]
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=students, fps=1.0).start()
    time.sleep(CLASS_SECONDS)
    feed.stop()
    teacher = stack.login(demo.teacher, demo.password)
    assert post_form(teacher, stack.base_url, f"/sessions/{demo.session}/end/").status_code == 302

    report_url = f"{stack.base_url}/sessions/{demo.session}/report/"
    deadline = time.monotonic() + 90
    while True:  # the final rollup runs on a worker right after the session ends
        page = teacher.get(report_url, timeout=30).text
        if all(f"<td>{name}" in page for name in names) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert all(f"<td>{name}" in page for name in names), "the report does not name every student"
    # Attendance: every student joined; every student on video was present to the end (a still picture, the
    # astronaut photo, is judged by the still-picture rule: tests/integration/test_live_states.py).
    attendance = teacher.get(f"{stack.base_url}/sessions/{demo.session}/attendance.csv", timeout=30)
    outcome = {row["name"]: row for row in csv.DictReader(io.StringIO(attendance.text))}
    assert all(outcome[name]["attendance"] != "never joined" for name in names), outcome
    still = {name for name, media in students if media.suffix in {".png", ".jpg"}}
    on_video = [outcome[name] for name in names if name not in still]
    assert all(row["attendance"] == "present to the end" and float(row["present_minutes"]) > 0 for row in on_video), on_video

    exported = teacher.get(f"{stack.base_url}/sessions/{demo.session}/export.csv", timeout=30)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["participant"] for row in table} == set(names)
    assert all(float(row["present_seconds"]) >= 0 for row in table)
    document = json.loads(teacher.get(f"{stack.base_url}/sessions/{demo.session}/export.json", timeout=30).text)
    assert {p["name"] for p in document["participants"]} == set(names)
    assert all(p["present_minutes"] > 0 for p in document["participants"])

    stack.manage(
        "shell", "-c", "from django.contrib.auth.models import User; User.objects.create_user('mallory', password='pw-mallory-1234')"
    )
    mallory = stack.login("mallory", "pw-mallory-1234")
    anonymous = requests.Session()
    for path in ("report/", "export.csv", "export.json"):
        url = f"{stack.base_url}/sessions/{demo.session}/{path}"
        assert mallory.get(url, timeout=10).status_code == 404
        refused = anonymous.get(url, allow_redirects=False, timeout=10)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/accounts/login/")

    OUTPUT_DIR.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": teacher.cookies["sessionid"], "url": stack.base_url}])
            browser_page = context.new_page()
            csp_violations = watch_csp(browser_page)
            browser_page.goto(report_url)
            browser_page.wait_for_selector("#chart-engagement .main-svg", timeout=30_000)
            assert browser_page.locator("#chart-engagement svg").count() >= 1
            assert browser_page.locator("#participant-table tbody tr").count() == CLASS_SIZE
            browser_page.screenshot(path=str(OUTPUT_DIR / "report.png"), full_page=True)
            browser_page.emulate_media(media="print")
            pdf = browser_page.pdf(path=str(OUTPUT_DIR / "report.pdf"), format="A4", print_background=True)
            browser_page.emulate_media(media="screen")
            browser_page.click(".crumbs a:nth-of-type(2)")  # the course page: trends across sessions and the roster
            browser_page.wait_for_selector("#trends .main-svg", timeout=30_000)
            browser_page.screenshot(path=str(OUTPUT_DIR / "course.png"), full_page=True)
        finally:
            browser.close()
    assert csp_violations == []
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    image = cv2.imread(str(OUTPUT_DIR / "report.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None and float(np.std(image)) > 10.0
