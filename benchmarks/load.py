"""Load: N live classes of 25 named tiles at 1 frame/s each, against the real stack on this machine.

    python -m benchmarks.load [--classes 10,15,20,30] [--students 25] [--seconds 60] [--out benchmarks/results/load.json]

For each N, starts a fresh stack (own Redis, daphne, one worker per queue, beat; SQLite unless
DATABASE_URL is set), opens N live sessions and posts, for each, a real gallery (the demo class's faces,
cycled) with its tiles for ``--seconds``, as the extension does: it asks for 1 frame/s (``X-Wanted-FPS``) and
keeps to the ``max_fps`` each answer gives, and to Retry-After. Galleries are rendered and encoded once,
before the clock starts, so the client costs the machine little. Then it reads from the stack's database what
became of every frame: the processed share of the frames the classes wanted to send (1 a second each), overall
and of the worst-served class, received→stored p50/p95/p99 (after the first ``WARMUP_SECONDS``), and each
part's resident memory (parent and pool processes together).

The SLO: at least :data:`SLO_PROCESSED` of the wanted frames processed and received→stored p95 at most
:data:`SLO_P95_MS`. The highest class count meeting it is printed with the faces per second offered there and the
**compute floor** measured in the same run: the project's own detection, alignment and int8 CNN on these
galleries in a tight loop in this one process (no detector reuse, no database, no queues), times the cores.
"""

from __future__ import annotations

import argparse
import json
import os
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
import redis  # noqa: E402
import requests  # noqa: E402

from benchmarks.latency import cpu_seconds, rss_mb  # noqa: E402
from benchmarks.machine import machine_description  # noqa: E402
from benchmarks.tables import markdown_table, pct, table  # noqa: E402
from classroom import live_state  # noqa: E402
from ingest.replay import frames, next_wait, server_max_fps  # noqa: E402
from project.demo_media import large_class  # noqa: E402
from project.stack import Stack, free_port, fresh_database  # noqa: E402

SLO_PROCESSED = 0.99
SLO_P95_MS = 1000.0
FLOOR_SECONDS = 20.0
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
per_session = {{}}
for status, session_id in logs.values_list("status", "session_id"):
    counts[status] = counts.get(status, 0) + 1
    per_session[session_id] = per_session.get(session_id, 0) + (status == "processed")
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
    "processed_per_session": per_session,
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
    """One class for ``seconds``, starting ``phase`` seconds in (classes are not in step): a frame a second, or as
    the server's ``max_fps`` and Retry-After say, as the extension keeps to them."""
    with requests.Session() as http:
        start = time.monotonic() + phase
        next_at, index, max_fps = start, 0, None
        while next_at < start + seconds:
            time.sleep(max(0.0, next_at - time.monotonic()))
            jpeg, tiles = pictures[index % len(pictures)]
            index += 1
            data = {"captured_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "frame_id": uuid.uuid4().hex, "tiles": tiles}
            wait = 1.0
            try:
                response = http.post(
                    url,
                    data=data,
                    files={"image": ("frame.jpg", jpeg, "image/jpeg")},
                    headers={"Authorization": f"Bearer {token}", "X-Wanted-FPS": "1"},
                    timeout=10,
                )
                code = response.status_code
                max_fps = server_max_fps(response) or max_fps
                retry_after = float(response.headers.get("Retry-After", 0)) if code in (429, 503) else 0.0
                wait = max(next_wait(1.0, max_fps), retry_after)
            except requests.RequestException:
                code = 0
            next_at += wait
            with lock:
                statuses[code] = statuses.get(code, 0) + 1


def run_one(*, classes: int, students: int, seconds: float, replicas: int, pictures: list[tuple[bytes, str]]) -> dict[str, Any]:
    """One stack (``replicas`` workers per queue), ``classes`` classes at once; the figures."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-load-{classes}-"))
    env = {"DATA_DIR": str(data_dir)}
    with (
        fresh_database(os.environ.get("DATABASE_URL", "")) as url,
        Stack(
            port=free_port(),
            redis_port=free_port(),
            log_dir=data_dir / "logs",
            env={**env, "DATABASE_URL": url} if url else env,
            replicas=replicas,
        ) as stack,
    ):
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
        door = redis.Redis.from_url(stack.redis_url)
        capacity: list[tuple[float, float | None]] = []  # (seconds in, the door's capacity in frames/s), every 2 s
        peak: dict[str, float] = {}
        peak_process: dict[str, float] = {}
        while any(thread.is_alive() for thread in threads):
            for name, process in stack.processes.items():
                peak[name] = max(peak.get(name, 0.0), rss_mb(process.pid))
                peak_process[name] = max(peak_process.get(name, 0.0), rss_mb(process.pid, largest=True))
            cap = door.hget(live_state.key("admission"), "cap")
            capacity.append((round(time.monotonic() - started, 1), round(float(cap), 2) if cap is not None else None))
            time.sleep(2)
        time.sleep(DRAIN_SECONDS)
        elapsed = time.monotonic() - started
        cpu = {name: round((cpu_seconds(process.pid) - cpu_before[name]) / elapsed, 3) for name, process in stack.processes.items()}
        cpu["client (this benchmark)"] = round((time.process_time() - client_before) / elapsed, 3)
        busy = [after - before for before, after in zip(machine_before, _machine_busy(), strict=True)]
        outcome = json.loads(stack.manage("shell", "-c", OUTCOMES.format(warmup=WARMUP_SECONDS)).strip().splitlines()[-1])
    processed = outcome["frames"].get("processed", 0)
    wanted = int(seconds)  # frames each class wanted to send: one a second
    per_class = [outcome["processed_per_session"].get(str(sid), 0) / wanted for sid, _ in sessions]
    return {
        "classes": classes,
        "workers_per_queue": replicas,
        "processes_per_worker": stack.concurrency,
        "students_per_class": students,
        "seconds": seconds,
        "uploads": {str(k): v for k, v in sorted(statuses.items())},
        "frames": outcome["frames"],
        "processed_share": round(processed / (classes * wanted), 4),
        "worst_class_processed_share": round(min(per_class), 4),
        "received_to_stored_ms": outcome["received_to_stored_ms"],
        "stage_ms": outcome["stage_ms"],
        "labels_share_of_ingest": labels_share(outcome["stage_ms"]),
        "tiles_reused_share": outcome["tiles_reused_share"],
        "peak_rss_mb": {name: round(value, 1) for name, value in peak.items()},
        "peak_rss_mb_largest_process": {name: round(value, 1) for name, value in peak_process.items()},
        "cpu_cores_used": cpu,
        "machine_busy_share": round(busy[0] / busy[1], 3) if busy[1] else None,
        "door_capacity_fps": capacity,
    }


def meets_slo(run: dict[str, Any]) -> bool:
    """Whether a run kept the SLO: :data:`SLO_PROCESSED` of the wanted frames processed, p95 within :data:`SLO_P95_MS`."""
    p95 = run["received_to_stored_ms"]["p95"]
    return run["processed_share"] >= SLO_PROCESSED and p95 is not None and p95 <= SLO_P95_MS


def compute_floor(pictures: list[tuple[bytes, str]], *, seconds: float = FLOOR_SECONDS) -> dict[str, float]:
    """Faces per second this process reads with the project's own detection, alignment and CNN in a tight loop over
    the galleries (decode included; no detector reuse, no database, no queues), and that times the machine's cores."""
    from inference.predictor import get_predictor
    from ingest.validation import decode_image
    from ingest.vision.pipeline import get_pipeline
    from ingest.vision.tiles import Tile

    pipeline, predictor = get_pipeline(), get_predictor()
    faces, frames, started = 0, 0, time.monotonic()
    while time.monotonic() - started < seconds or frames < len(pictures):
        jpeg, tiles = pictures[frames % len(pictures)]
        found = pipeline.process(decode_image(jpeg), tiles=[Tile(**tile) for tile in json.loads(tiles)])
        if found.crops is not None and len(found.crops):
            predictor.predict(found.crops)
        faces += len(found)
        frames += 1
    per_process = faces / (time.monotonic() - started)
    return {
        "faces_per_second_per_process": round(per_process, 1),
        "cores": os.cpu_count() or 1,
        "faces_per_second": round(per_process * (os.cpu_count() or 1), 1),
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
    parser.add_argument("--classes", default="10,15,20,30", help="comma-separated numbers of simultaneous classes")
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=1, help="worker instances per queue (scale-out)")
    parser.add_argument("--names-from", choices=["page", "picture"], default="page", help="picture: tiles without names")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/load.json"))
    args = parser.parse_args()
    pictures = galleries(args.students, names_from=args.names_from)
    floor = compute_floor(pictures)  # on the idle machine, before any stack starts
    print(
        f"compute floor: {floor['faces_per_second_per_process']} faces/s per process, {floor['faces_per_second']} on {floor['cores']} cores"
    )
    runs = [
        run_one(classes=int(n), students=args.students, seconds=args.seconds, replicas=args.replicas, pictures=pictures)
        for n in args.classes.split(",")
    ]
    headers = [
        "classes",
        "workers/queue",
        "frames",
        "processed",
        "worst class",
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
            pct(run["worst_class_processed_share"]),
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
    kept = [run["classes"] for run in runs if meets_slo(run)]
    capacity = {
        "slo": f">= {SLO_PROCESSED:.0%} of wanted frames processed, received->stored p95 <= {SLO_P95_MS:.0f} ms",
        "highest_classes_at_slo": max(kept) if kept else None,
        "offered_faces_per_second_at_slo": max(kept) * args.students if kept else None,
        "compute_floor": floor,
        "share_of_floor": round(max(kept) * args.students / floor["faces_per_second"], 3) if kept else None,
    }
    if kept:
        offered = capacity["offered_faces_per_second_at_slo"]
        print(f"SLO kept up to {max(kept)} classes: {offered} faces/s offered, {capacity['share_of_floor']:.0%} of the compute floor")
    else:
        print("SLO kept at none of these class counts")
    result = {
        "benchmark": f"{args.students} named tiles per class at 1 frame/s, N classes at once, names from the {args.names_from}",
        "capacity": capacity,
        "runs": runs,
    }
    result_write(result, out=args.out)


def result_write(result: dict[str, Any], *, out: Path) -> None:
    """Write a stack benchmark's result with where and when it was measured (this machine, the database in use)."""
    result = {
        **result,
        "machine": machine_description(),
        "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
