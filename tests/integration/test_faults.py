"""Restarts lose nothing: Redis restarted, each worker killed with SIGKILL and daphne restarted during a live class,
and an ingest worker crash that only the stack's supervisor sees.

For each fault, against the real processes: every observation stored before it is still there after it, new
observations are stored again, and the teacher's open page (Chromium) comes back to "live" and keeps updating
without a reload. The counts are written to ``test-output/faults.json``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from ingest.replay import LiveFeed
from project.demo_media import large_class
from project.stack import Stack
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live, watch_csp
from tests.integration.conftest import OUTPUT_DIR, Demo

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CLASS_SIZE = 4
RECOVERY_SECONDS = 90  # the page pings every 20 s (re-joining its group) and reconnects after 45 s of silence
# Each fault is a part killed and restarted by the test, or a crash nobody announces, which the stack's supervisor must see.
CRASHES = {"ingest worker crash": "worker-ingest"}
FAULTS = ("redis", "worker-ingest", "worker-inference", "daphne", *CRASHES)


def crash(stack: Stack, name: str) -> None:
    """``kill -9`` a part behind the stack's back; only its supervisor can bring it back."""
    os.killpg(stack.processes[name].pid, signal.SIGKILL)


def stored(stack: Stack, session_id: int) -> tuple[int, int]:
    """(observations stored for the session, the highest observation id), read from the stack's own database."""
    code = (
        "from django.db.models import Count, Max; from classroom.models import Observation; "
        f"r = Observation.objects.filter(session_id={session_id}).aggregate(n=Count('pk'), top=Max('pk')); "
        "print(r['n'], r['top'] or 0)"
    )
    count, top = stack.manage("shell", "-c", code).split()[-2:]
    return int(count), int(top)


def stored_up_to(stack: Stack, session_id: int, top: int) -> int:
    """How many of the session's observations with an id up to ``top`` still exist."""
    code = f"from classroom.models import Observation; print(Observation.objects.filter(session_id={session_id}, pk__lte={top}).count())"
    return int(stack.manage("shell", "-c", code).split()[-1])


def frame_outcomes(stack: Stack, session_id: int) -> dict[str, int]:
    """The session's uploaded frames by what became of them (processed, expired, dropped, …)."""
    code = (
        "import json; from django.db.models import Count; from classroom.models import FrameLog; "
        f"print(json.dumps(dict(FrameLog.objects.filter(session_id={session_id}).values_list('status').annotate(n=Count('pk')))))"
    )
    return dict(json.loads(stack.manage("shell", "-c", code).strip().splitlines()[-1]))


def wait_for(condition: Any, timeout_s: float, what: str) -> float:
    """Poll ``condition`` until true; seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(2.0)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f}s")


@pytest.fixture
def watched(stack: Stack, demo: Demo) -> Iterator[tuple[Page, list[str]]]:
    """The teacher's live page, open, and the Content-Security-Policy violations it reports."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            violations = watch_csp(page)
            log_in(page, stack.base_url, demo.teacher, demo.password)
            page.goto(f"{stack.base_url}{demo.dashboard_url}")
            wait_live(page)
            yield page, violations
        finally:
            browser.close()


def test_restarts_and_crashes_lose_no_stored_observation(stack: Stack, demo: Demo, watched: tuple[Page, list[str]]) -> None:
    page, csp_violations = watched
    feed = LiveFeed(base_url=stack.base_url, session_id=demo.session, token=demo.token, students=large_class(CLASS_SIZE), fps=1.0)
    feed.start()
    report: list[dict[str, Any]] = []
    try:
        wait_for(lambda: stored(stack, demo.session)[0] >= 3 * CLASS_SIZE, 120, "the first observations")
        for fault in FAULTS:
            before, top = stored(stack, demo.session)
            updates = page.evaluate("window.dashboardState.updates")
            if fault in CRASHES:
                crash(stack, CRASHES[fault])
            else:
                stack.kill(fault)
                time.sleep(2)  # uploads meet the fault: refused with 503, or their frames lost in flight
                stack.restart(fault)
            kept = stored_up_to(stack, demo.session, top)
            resumed = wait_for(
                lambda b=before: stored(stack, demo.session)[0] >= b + 2 * CLASS_SIZE, RECOVERY_SECONDS, f"storage after {fault}"
            )
            until(
                page,
                f"document.querySelector('#connection-status')?.textContent.trim() === 'live'"
                f" && window.dashboardState.updates > {updates} + 2",
                timeout=RECOVERY_SECONDS * 1000,
            )
            after, _ = stored(stack, demo.session)
            report.append(
                {"fault": fault, "stored_before": before, "kept": kept, "stored_after": after, "storing_again_after_s": round(resumed, 1)}
            )
            assert kept == before, f"{fault}: {before - kept} stored observations were lost"
        page.screenshot(path=str(OUTPUT_DIR / "after_faults.png"), full_page=True)
    finally:
        feed.stop()
        OUTPUT_DIR.mkdir(exist_ok=True)
        outcome = {"uploads": feed.stats.statuses, "upload_errors": len(feed.stats.errors), "faults": report}
        outcome["frames"] = frame_outcomes(stack, demo.session)
        outcome["revivals"] = [{"part": r.part, "reason": r.reason} for r in (stack.supervisor.revivals if stack.supervisor else [])]
        (OUTPUT_DIR / "faults.json").write_text(json.dumps(outcome, indent=2))
    assert [row["fault"] for row in report] == list(FAULTS)
    assert stack.failed() is None
    assert stack.supervisor is not None
    revived = [revival.part for revival in stack.supervisor.revivals]
    assert revived.count("worker-ingest") >= 1, f"the crashed ingest worker was not restarted by the supervisor: {revived}"
    statuses = {int(code) for code in feed.stats.statuses}
    assert statuses <= {202, 503}, f"uploads were answered {sorted(statuses)}: only accepted or 'retry later' is right"
    assert csp_violations == []
