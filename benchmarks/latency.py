"""Upload-to-dashboard latency of the real stack, a single-face stream at a fixed rate.

    python -m benchmarks.latency [--fps 2] [--seconds 60] [--out benchmarks/results/latency.json]

Starts its own stack (Redis, daphne, both workers; SQLite unless DATABASE_URL is set), logs in as
the demo teacher, opens the dashboard WebSocket, posts frames of a real face (the carphone clip)
and times each frame from just before its POST to the arrival of its ``observations`` event.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import django

from benchmarks.machine import machine_description

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import numpy as np  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from ingest.replay import frames, post_frame  # noqa: E402
from project.demo_media import carphone_video  # noqa: E402
from project.stack import Stack, free_port  # noqa: E402

WARMUP_FRAMES = 4  # the first frames load the detector and the CNN


def rss_mb(pid: int, *, largest: bool = False) -> float:
    """Resident memory of a process and its children together (or, with ``largest``, of the largest one), in MiB (from /proc)."""
    sizes = [0]
    for child in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
        except OSError:
            continue
    return round((max(sizes) if largest else sum(sizes)) / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children, in seconds (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for child in [pid, *_children(pid)]:
        try:
            # Fields 14 and 15 (utime, stime) follow the command name, which may itself hold spaces.
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return round(total / ticks, 2)


def _children(pid: int) -> list[int]:
    try:
        direct = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return direct + [g for c in direct for g in _children(c)]


def run(*, fps: float, seconds: float) -> dict[str, Any]:
    """Measure and return the figures."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    env = {"DATA_DIR": str(data_dir), "INGEST_RATE_PER_SECOND": str(max(5.0, fps * 2)), "INGEST_RATE_BURST": "20"}
    with Stack(port=free_port(), redis_port=free_port(), log_dir=data_dir / "logs", env=env) as stack:
        demo = json.loads(stack.manage("demo_setup").strip().splitlines()[-1])
        http = stack.login(demo["teacher"], demo["password"])
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        sent: dict[str, float] = {}
        arrived: dict[str, float] = {}
        server_ms: dict[str, float] = {}
        url = f"{stack.base_url}/api/v1/sessions/{demo['session']}/frames"
        with connect(
            f"ws://{stack.host}:{stack.port}/ws/sessions/{demo['session']}/",
            additional_headers={"Cookie": cookie, "Origin": stack.base_url},
        ) as socket:
            socket.recv(timeout=10)  # history
            done = threading.Event()

            def listen() -> None:
                while not done.is_set():
                    try:
                        event = json.loads(socket.recv(timeout=1))
                    except TimeoutError:
                        continue
                    except Exception:
                        return
                    if event.get("type") == "observations":
                        arrived[event["frame_id"]] = time.perf_counter()
                        server_ms[event["frame_id"]] = event["latency_ms"]

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            iterator, _ = frames([carphone_video()], names=None, loop=True, fps=fps)
            total = WARMUP_FRAMES + int(seconds * fps)
            period, next_at = 1.0 / fps, time.perf_counter()
            statuses: dict[int, int] = {}
            for index, (frame, tiles) in enumerate(iterator):
                if index >= total:
                    break
                if index == WARMUP_FRAMES:
                    time.sleep(15)  # let the warm-up frames (model loading) drain before measuring
                    next_at = time.perf_counter()
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += period
                frame_id = f"{'w' if index < WARMUP_FRAMES else 'm'}-{index}-{uuid.uuid4().hex[:6]}"
                sent[frame_id] = time.perf_counter()
                response = post_frame(http, url=url, token=demo["token"], frame=frame, tiles=tiles, frame_id=frame_id)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            time.sleep(5)
            done.set()
            listener.join(timeout=5)
        memory = {name: rss_mb(process.pid) for name, process in stack.processes.items()}
    measured = [k for k in sent if k.startswith("m-")]
    latencies = [(arrived[k] - sent[k]) * 1000 for k in measured if k in arrived]
    server = [server_ms[k] for k in measured if k in server_ms]
    if not latencies:
        raise SystemExit("no observation arrived; see the stack logs in " + str(data_dir / "logs"))
    return {
        "benchmark": "upload-to-dashboard latency, single-face stream",
        "fps": fps,
        "frames_posted": len(measured),
        "frames_observed": len(latencies),
        "http_statuses": {str(k): v for k, v in statuses.items()},
        "latency_ms": {
            "median": round(statistics.median(latencies), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
            "p99": round(float(np.percentile(latencies, 99)), 1),
            "max": round(max(latencies), 1),
        },
        "server_latency_ms": {"median": round(statistics.median(server), 1), "p95": round(float(np.percentile(server, 95)), 1)}
        if server
        else None,
        "throughput_frames_per_second": round(len(latencies) / seconds, 2),
        "rss_mb": memory,
        "machine": machine_description(),
        "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    """Parse arguments, measure, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latency.json"))
    args = parser.parse_args()
    result = run(fps=args.fps, seconds=args.seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
