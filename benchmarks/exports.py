"""Exports of long sessions: time and peak memory of the streamed CSV and JSON, as the session grows.

    python -m benchmarks.exports [--students 50] [--minutes 30 60 120 240] [--out benchmarks/results/exports.json]

Builds synthetic sessions of ``--students`` participants with one rollup row per participant per minute
(the rows a real session of that length has; their values are random but valid) in a fresh SQLite
database under a temporary folder, then consumes each export as a client would and records wall time,
bytes and the peak of Python allocations while streaming (``tracemalloc``). Memory that stays flat while
the session doubles is what "streamed" means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_description

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
if "DATABASE_URL" not in os.environ:
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-exports-")

import django

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from classroom.models import EXPRESSIONS, ClassSession, Course, MinuteRollup, Participant  # noqa: E402
from classroom.reports import export_csv, export_json  # noqa: E402


def synthetic_session(*, course: Course, students: int, minutes: int, rng: np.random.Generator) -> ClassSession:
    """An ended session with ``students`` participants and their per-minute rollups (and the class's)."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    session = ClassSession.objects.create(
        course=course,
        title=f"{minutes} min",
        status=ClassSession.Status.ENDED,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        ingest_token_hash=os.urandom(16).hex(),
        ingest_token_hint="bench",
    )
    people = Participant.objects.bulk_create(
        [Participant(session=session, key=f"s{k}", display_name=f"Student {k:02d}") for k in range(students)]
    )
    rows = []
    for minute in range(minutes):
        at = start + timedelta(minutes=minute)
        rows.append(MinuteRollup(session=session, participant=None, minute=at, samples=60, seconds=60.0, person_seconds=60.0 * students))
        for person in people:
            engaged = float(rng.uniform(30, 60))
            counts = rng.multinomial(60, [1 / len(EXPRESSIONS)] * len(EXPRESSIONS))
            rows.append(
                MinuteRollup(
                    session=session,
                    participant=person,
                    minute=at,
                    samples=60,
                    seconds=60.0,
                    engagement_seconds=engaged * 0.9 + (60 - engaged) * 0.5,
                    engaged_seconds=engaged,
                    partly_seconds=60 - engaged,
                    expressions={name: int(n) for name, n in zip(EXPRESSIONS, counts, strict=True) if n},
                )
            )
    MinuteRollup.objects.bulk_create(rows, batch_size=2000)
    return session


def measure(session: ClassSession, kind: str) -> dict[str, Any]:
    """Consume one export the way a client does (chunk by chunk) and time it."""
    stream = export_csv(session=session) if kind == "csv" else export_json(session=session)
    tracemalloc.start()
    started = time.perf_counter()
    size = 0
    for chunk in stream:
        size += len(chunk.encode())
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": round(seconds, 3), "megabytes": round(size / 1e6, 2), "peak_python_mib": round(peak / 2**20, 2)}


def run(*, students: int, minute_counts: list[int]) -> dict[str, Any]:
    """Build each session size, export it both ways, return the figures."""
    call_command("migrate", verbosity=0)
    teacher, _ = User.objects.get_or_create(username="bench-teacher")
    course = Course.objects.create(name="Bench course", teacher=teacher)
    rng = np.random.default_rng(0)
    results = []
    for minutes in minute_counts:
        session = synthetic_session(course=course, students=students, minutes=minutes, rng=rng)
        row_count = MinuteRollup.objects.filter(session=session).count()
        results.append({"minutes": minutes, "rows": row_count, "csv": measure(session, "csv"), "json": measure(session, "json")})
        print(json.dumps(results[-1]), file=sys.stderr)
    return {
        "benchmark": "streamed session exports",
        "students": students,
        "sessions": results,
        "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
        "machine": machine_description(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    """Parse arguments, measure, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--minutes", type=int, nargs="+", default=[30, 60, 120, 240])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/exports.json"))
    args = parser.parse_args()
    result = run(students=args.students, minute_counts=args.minutes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
