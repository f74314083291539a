"""Soak: N classes of 25 named tiles at 1 frame/s for a long while against the real stack; does anything drift?

    python -m benchmarks.soak [--classes 10] [--minutes 30] [--out benchmarks/results/soak.json]

The same stack and client as :mod:`benchmarks.load` (the client keeps to ``max_fps``). Every
:data:`SAMPLE_SECONDS` it records each part's resident memory (all its processes, and the largest one) and the
length of both Celery queues; at the end it reads from the database, minute by minute, the frames received,
processed and lost and received→stored p50/p95, and checks that nothing was lost: every accepted upload has its
frame log, and every frame log ended processed or counted as dropped, expired or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from benchmarks.latency import rss_mb
from benchmarks.load import SESSIONS, drive, galleries, result_write
from benchmarks.tables import markdown_table, table
from classroom import live_state
from project.stack import Stack, free_port, fresh_database

SAMPLE_SECONDS = 30.0
DRAIN_SECONDS = 15
MINUTES = """
import json
from collections import defaultdict
import numpy as np
from classroom.models import FrameLog
rows = FrameLog.objects.values_list("received_at", "status", "latency_ms")
start = min(r[0] for r in rows)
minutes = defaultdict(lambda: {{"received": 0, "processed": 0, "lost": 0, "queued": 0, "latencies": []}})
for received_at, status, latency in rows:
    m = minutes[int((received_at - start).total_seconds() // 60)]
    m["received"] += 1
    key = {{"processed": "processed", "queued": "queued"}}.get(status, "lost")
    m[key] += 1
    if status == "processed" and latency is not None:
        m["latencies"].append(latency)
out = []
for minute in sorted(minutes):
    m = minutes[minute]
    lat = m.pop("latencies")
    m.update({{"minute": minute + 1, "p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
              "p95_ms": round(float(np.percentile(lat, 95)), 1) if lat else None}})
    out.append(m)
print(json.dumps(out))
"""


def soak(*, classes: int, minutes: float, students: int) -> dict[str, Any]:
    """One stack, ``classes`` classes for ``minutes``; the samples over time and the minute-by-minute outcome."""
    pictures = galleries(students)
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-soak-{classes}-"))
    env = {"DATA_DIR": str(data_dir)}
    samples: list[dict[str, Any]] = []
    with fresh_database(os.environ.get("DATABASE_URL", "")) as url:
        if url:
            env["DATABASE_URL"] = url
        with Stack(port=free_port(), redis_port=free_port(), log_dir=data_dir / "logs", env=env) as stack:
            sessions = json.loads(stack.manage("shell", "-c", SESSIONS.format(n=classes)).strip().splitlines()[-1])
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            seconds = minutes * 60
            threads = [
                threading.Thread(
                    target=drive,
                    args=(f"{stack.base_url}/api/v1/sessions/{sid}/frames", token, pictures, seconds, k / classes, statuses, lock),
                )
                for k, (sid, token) in enumerate(sessions)
            ]
            broker = redis.Redis.from_url(stack.redis_url)
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                samples.append(
                    {
                        "seconds": round(time.monotonic() - started),
                        "rss_mb": {name: rss_mb(process.pid) for name, process in stack.processes.items()},
                        "largest_process_mb": {name: rss_mb(process.pid, largest=True) for name, process in stack.processes.items()},
                        "queued": {queue: live_state.queue_length(queue=queue, connection=broker) for queue in ("ingest", "inference")},
                    }
                )
                print(json.dumps(samples[-1]), flush=True)
                time.sleep(SAMPLE_SECONDS)
            time.sleep(DRAIN_SECONDS)
            by_minute = json.loads(stack.manage("shell", "-c", MINUTES.format()).strip().splitlines()[-1])
    accepted = statuses.get(202, 0) + statuses.get(200, 0)
    logged = sum(m["received"] for m in by_minute)
    return {
        "classes": classes,
        "minutes": minutes,
        "uploads": {str(k): v for k, v in sorted(statuses.items())},
        "nothing_lost": accepted == logged and all(m["queued"] == 0 for m in by_minute),
        "frames": {
            "logged": logged,
            "processed": sum(m["processed"] for m in by_minute),
            "dropped_expired_or_failed": sum(m["lost"] for m in by_minute),
        },
        "by_minute": by_minute,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/soak.json"))
    args = parser.parse_args()
    run = soak(classes=args.classes, minutes=args.minutes, students=args.students)
    first, last = run["samples"][0], run["samples"][-1]
    parts = list(last["rss_mb"])
    memory = [[name, first["rss_mb"][name], last["rss_mb"][name], max(s["rss_mb"][name] for s in run["samples"])] for name in parts]
    minutes = [[m["minute"], m["received"], m["processed"], m["lost"], m["p50_ms"], m["p95_ms"]] for m in run["by_minute"]]
    queues = max(max(s["queued"].values()) for s in run["samples"])
    for render in (table, markdown_table):
        print(render(["part", "MiB at start", "MiB at end", "MiB peak"], memory))
        print()
        print(render(["minute", "received", "processed", "lost", "p50 ms", "p95 ms"], minutes))
        print()
    print(f"longest queue seen: {queues}; nothing lost: {run['nothing_lost']}; uploads: {run['uploads']}")
    result = {
        "benchmark": f"soak: {args.classes} classes of {args.students} named tiles at 1 frame/s for {args.minutes:g} min",
        **run,
    }
    result_write(result, out=args.out)


if __name__ == "__main__":
    main()
