"""The live page with a large class, in real Chromium: how fast a WebSocket message becomes a drawn card.

    python -m benchmarks.dashboard [--students 50] [--seconds 60] [--out benchmarks/results/dashboard.json]

Starts its own stack (Redis, daphne, both workers, beat; SQLite unless DATABASE_URL is set), feeds a
live class of ``--students`` named tiles of real faces at 1 frame/s through the ingest API, and opens
the teacher's live page in Debian's Chromium (Playwright). The page times every message from its
arrival on the socket to the end of the animation frame that drew it (``window.dashboardState.render``);
Chromium's own counters (DevTools ``Performance.getMetrics``: ``TaskDuration``, ``ScriptDuration``,
``LayoutDuration``) give the main thread's busy share over the measured window.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import django

from benchmarks.machine import machine_description

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import numpy as np  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from ingest.replay import LiveFeed  # noqa: E402
from project.demo_media import large_class  # noqa: E402
from project.stack import Stack, free_port  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live  # noqa: E402

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def percentiles(values: list[float]) -> dict[str, float]:
    """Median, p95 and max of ``values`` in ms (empty: zeros)."""
    if not values:
        return {"median": 0.0, "p95": 0.0, "max": 0.0}
    return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2), "max": round(max(values), 2)}


def run(*, students: int, seconds: float) -> dict[str, Any]:
    """Measure and return the figures."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    env = {"DATA_DIR": str(data_dir), "INGEST_RATE_PER_SECOND": "5", "INGEST_RATE_BURST": "20"}
    with Stack(port=free_port(), redis_port=free_port(), log_dir=data_dir / "logs", env=env) as stack:
        demo = json.loads(stack.manage("demo_setup").strip().splitlines()[-1])
        feed = LiveFeed(base_url=stack.base_url, session_id=demo["session"], token=demo["token"], students=large_class(students), fps=1.0)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(page, stack.base_url, demo["teacher"], demo["password"])
            page.goto(f"{stack.base_url}{demo['dashboard_url']}")
            wait_live(page)
            feed.start()
            try:
                present = "document.querySelectorAll('#participant-cards .participant-card:not([data-band=absent])').length"
                until(page, f"{present} >= {students - 2}", timeout=180_000)
                page.select_option("#card-sort", "attention")  # the costliest order: it changes with every frame
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.evaluate("Object.assign(window.dashboardState.render, {latencies: [], busyMs: 0, applyMs: 0, frames: 0, messages: 0})")
                updates_before = page.evaluate("window.dashboardState.updates")
                before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                started = time.monotonic()
                time.sleep(seconds)
                wall = time.monotonic() - started
                after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                render = page.evaluate("window.dashboardState.render")
                updates = page.evaluate("window.dashboardState.updates") - updates_before
                cards = page.evaluate("document.querySelectorAll('#participant-cards .participant-card').length")
            finally:
                feed.stop()
                browser.close()
    return {
        "students": students,
        "cards_on_page": cards,
        "seconds": round(wall, 1),
        "messages": render["messages"],
        "events_applied": updates,
        "animation_frames_drawn": render["frames"],
        "frames_posted": feed.stats.sent,
        "message_to_drawn_ms": percentiles(render["latencies"]),
        "busy_share": {name: round((after[name] - before[name]) / wall, 4) for name in METRICS},
        "page_js_share": round((render["busyMs"] + render["applyMs"]) / 1000 / wall, 4),
        "machine": f"{machine_description()}, Chromium headless",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    """Parse arguments, measure, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dashboard.json"))
    args = parser.parse_args()
    result = run(students=args.students, seconds=args.seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
