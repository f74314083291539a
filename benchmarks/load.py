"""Load: N live classes of 25 named tiles at 1 frame/s each, against the real stack on this machine.

    python -m benchmarks.load [--classes 1,4,10] [--students 25] [--seconds 60] [--out benchmarks/results/load.json]

For each N, starts a fresh stack (own Redis, daphne, one worker per queue, beat; SQLite unless
DATABASE_URL is set), opens N live sessions and posts, for each, a real gallery (the demo class's faces,
cycled) with its tiles once a second for ``--seconds``. Galleries are rendered and encoded once, before
the clock starts, so the client costs the machine little. Then it reads from the stack's database what
became of every frame: the processed share, received→stored p50/p95/p99 (after the first
``WARMUP_SECONDS``), and each part's resident memory (parent and pool processes together).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import cv2  # noqa: E402
import requests  # noqa: E402

from benchmarks.latency import cpu_seconds, rss_mb  # noqa: E402
from benchmarks.tables import markdown_table, pct, table  # noqa: E402
from ingest.replay import frames  # noqa: E402
from project.demo_media import large_class  # noqa: E402
from project.stack import Stack, free_port  # noqa: E402

GALLERIES = 12  # distinct gallery frames per run, one second apart in every video (as a 1 frame/s client sees them), cycled
WARMUP_SECONDS = 10
DRAIN_SECONDS = 15
SESSIONS = """
import json
from django.contrib.auth.models import User
from classroom.services import course_create, session_start
teacher = User.objects.create_user(username="load", password="load-pass-123")
out = []
for k in range({n}):
    session, token = session_start(course=course_create(name=f"Load {{k}}", teacher=teacher), title="load")
    out.append([session.pk, token])
print(json.dumps(out))
"""
OUTCOMES = """
import json
from datetime import timedelta
from django.db.models import Min
import numpy as np
from classroom.models import FrameLog
logs = FrameLog.objects.all()
start = logs.aggregate(first=Min("received_at"))["first"]
counts = {{}}
for status in logs.values_list("status", flat=True):
    counts[status] = counts.get(status, 0) + 1
measured = logs.filter(received_at__gte=start + timedelta(seconds={warmup}), status="processed")
latencies = [v for v in measured.values_list("latency_ms", flat=True) if v is not None]
q = [round(float(np.percentile(latencies, p)), 1) for p in (50, 95, 99)] if latencies else [None] * 3
details = list(measured.values_list("detail", "tiles"))
stages = {{}}
for detail, _ in details:
    for name, ms in detail.get("stages_ms", {{}}).items():
        stages.setdefault(name, []).append(ms)
stage_ms = {{
    name: {{**{{f"p{{p}}": round(float(np.percentile(v, p)), 1) for p in (50, 95)}}, "mean": round(float(np.mean(v)), 2)}}
    for name, v in stages.items()
}}
tiles = sum(t for _, t in details)
reused = sum(d.get("tiles_reused", 0) for d, _ in details)
print(json.dumps({{
    "frames": counts,
    "received_to_stored_ms": dict(zip(["p50", "p95", "p99"], q)),
    "measured": len(latencies),
    "stage_ms": stage_ms,
    "tiles_reused_share": round(reused / tiles, 3) if tiles else None,
}}))
"""


INGEST_STAGES = ("decode", "detect", "align", "labels", "assign")  # what the ingest worker spends per frame, as FrameLog.detail times it


def labels_share(stage_ms: dict[str, dict[str, float]]) -> float | None:
    """The share of the ingest worker's time per frame spent reading name labels (mean times)."""
    total = sum(stage_ms.get(name, {}).get("mean", 0.0) for name in INGEST_STAGES)
    return round(stage_ms["labels"]["mean"] / total, 4) if total and "labels" in stage_ms else None


def galleries(students: int, *, names_from: str = "page") -> list[tuple[bytes, str]]:
    """Encoded gallery frames of ``students`` named real faces, with their tiles as the API takes them; with
    ``names_from="picture"`` the tiles carry no names (a canvas gallery), so the server reads the painted ones."""
    iterator, _ = frames([path for _, path in large_class(students)], names=[name for name, _ in large_class(students)], loop=True, fps=1.0)
    rendered = []
    for frame, tiles in iterator:
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        sent = tiles if names_from == "page" else [{key: value for key, value in tile.items() if key != "name"} for tile in tiles]
        rendered.append((jpeg.tobytes(), json.dumps(sent)))
        if len(rendered) == GALLERIES:
            return rendered
    return rendered


def drive(
    url: str, token: str, pictures: list[tuple[bytes, str]], seconds: float, phase: float, statuses: dict[int, int], lock: threading.Lock
) -> None:
    """One class: a frame a second for ``seconds``, starting ``phase`` seconds in (classes are not in step)."""
    with requests.Session() as http:
        next_at = time.monotonic() + phase
        for index in range(int(seconds)):
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1.0
            jpeg, tiles = pictures[index % len(pictures)]
            data = {"captured_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "frame_id": uuid.uuid4().hex, "tiles": tiles}
            try:
                response = http.post(
                    url,
                    data=data,
                    files={"image": ("frame.jpg", jpeg, "image/jpeg")},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                code = response.status_code
            except requests.RequestException:
                code = 0
            with lock:
                statuses[code] = statuses.get(code, 0) + 1


def run_one(*, classes: int, students: int, seconds: float, replicas: int, pictures: list[tuple[bytes, str]]) -> dict[str, Any]:
    """One stack (``replicas`` workers per queue), ``classes`` classes at once; the figures."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-load-{classes}-"))
    env = {"DATA_DIR": str(data_dir)}
    with Stack(port=free_port(), redis_port=free_port(), log_dir=data_dir / "logs", env=env, replicas=replicas) as stack:
        sessions = json.loads(stack.manage("shell", "-c", SESSIONS.format(n=classes)).strip().splitlines()[-1])
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=drive,
                args=(f"{stack.base_url}/api/v1/sessions/{sid}/frames", token, pictures, seconds, k / classes, statuses, lock),
            )
            for k, (sid, token) in enumerate(sessions)
        ]
        cpu_before = {name: cpu_seconds(process.pid) for name, process in stack.processes.items()}
        client_before, machine_before = time.process_time(), _machine_busy()
        started = time.monotonic()
        for thread in threads:
            thread.start()
        peak: dict[str, float] = {}
        peak_process: dict[str, float] = {}
        while any(thread.is_alive() for thread in threads):
            for name, process in stack.processes.items():
                peak[name] = max(peak.get(name, 0.0), rss_mb(process.pid))
                peak_process[name] = max(peak_process.get(name, 0.0), rss_mb(process.pid, largest=True))
            time.sleep(2)
        time.sleep(DRAIN_SECONDS)
        elapsed = time.monotonic() - started
        cpu = {name: round((cpu_seconds(process.pid) - cpu_before[name]) / elapsed, 3) for name, process in stack.processes.items()}
        cpu["client (this benchmark)"] = round((time.process_time() - client_before) / elapsed, 3)
        busy = [after - before for before, after in zip(machine_before, _machine_busy(), strict=True)]
        outcome = json.loads(stack.manage("shell", "-c", OUTCOMES.format(warmup=WARMUP_SECONDS)).strip().splitlines()[-1])
    frames_total = sum(outcome["frames"].values())
    processed = outcome["frames"].get("processed", 0)
    return {
        "classes": classes,
        "workers_per_queue": replicas,
        "processes_per_worker": stack.concurrency,
        "students_per_class": students,
        "seconds": seconds,
        "uploads": {str(k): v for k, v in sorted(statuses.items())},
        "frames": outcome["frames"],
        "processed_share": round(processed / frames_total, 4) if frames_total else 0.0,
        "received_to_stored_ms": outcome["received_to_stored_ms"],
        "stage_ms": outcome["stage_ms"],
        "labels_share_of_ingest": labels_share(outcome["stage_ms"]),
        "tiles_reused_share": outcome["tiles_reused_share"],
        "peak_rss_mb": {name: round(value, 1) for name, value in peak.items()},
        "peak_rss_mb_largest_process": {name: round(value, 1) for name, value in peak_process.items()},
        "cpu_cores_used": cpu,
        "machine_busy_share": round(busy[0] / busy[1], 3) if busy[1] else None,
    }


def _machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def _memory(run: dict[str, Any], queue: str) -> str:
    """Peak MiB of all of a queue's worker processes together, and of the largest one in brackets."""
    parts = [name for name in run["peak_rss_mb"] if name.startswith(f"worker-{queue}")]
    total = sum(run["peak_rss_mb"][name] for name in parts)
    largest = max(run["peak_rss_mb_largest_process"][name] for name in parts)
    return f"{total:.0f} ({largest:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", default="1,4,10", help="comma-separated numbers of simultaneous classes")
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=1, help="worker instances per queue (scale-out)")
    parser.add_argument("--names-from", choices=["page", "picture"], default="page", help="picture: tiles without names")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/load.json"))
    args = parser.parse_args()
    pictures = galleries(args.students, names_from=args.names_from)
    runs = [
        run_one(classes=int(n), students=args.students, seconds=args.seconds, replicas=args.replicas, pictures=pictures)
        for n in args.classes.split(",")
    ]
    headers = [
        "classes",
        "workers/queue",
        "frames",
        "processed",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "detector skipped",
        "cores used",
        "machine busy",
    ]
    headers += ["ingest MiB (largest process)", "inference MiB (largest process)", "label reading, share of ingest"]
    rows = [
        [
            run["classes"],
            run["workers_per_queue"],
            sum(run["frames"].values()),
            pct(run["processed_share"]),
            run["received_to_stored_ms"]["p50"],
            run["received_to_stored_ms"]["p95"],
            run["received_to_stored_ms"]["p99"],
            pct(run["tiles_reused_share"] or 0.0),
            round(sum(run["cpu_cores_used"].values()), 2),
            pct(run["machine_busy_share"] or 0.0),
            _memory(run, "ingest"),
            _memory(run, "inference"),
            pct(run["labels_share_of_ingest"] or 0.0),
        ]
        for run in runs
    ]
    stages = list(dict.fromkeys(name for run in runs for name in run["stage_ms"]))
    stage_rows = [[run["classes"], *(run["stage_ms"].get(name, {}).get("p50") for name in stages)] for run in runs]
    for render in (table, markdown_table):
        print(render(headers, rows))
        print()
        print("p50 ms per stage")
        print(render(["classes", *stages], stage_rows))
        print()
    result = {
        "benchmark": f"{args.students} named tiles per class at 1 frame/s, N classes at once, names from the {args.names_from}",
        "runs": runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
