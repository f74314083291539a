"""The real stack for integration tests: own Redis, daphne and both Celery workers, SQLite or PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from project.stack import Stack, free_port, fresh_database

OUTPUT_DIR = Path(settings.BASE_DIR) / "test-output"
STALL_SECONDS = 30.0
LOG_TAIL_LINES = 15
NOISE = (b"Sparsity tensors", b"SecurityWarning", b"_warn_or_raise_security_error")


@dataclass(frozen=True)
class Demo:
    """What ``demo_setup`` created in the stack's database."""

    session: int
    token: str
    teacher: str
    password: str
    dashboard_url: str


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack, started once for the integration tests."""
    data_dir = tmp_path_factory.mktemp("stack")
    env = {
        "DATA_DIR": str(data_dir),
        "INGEST_RATE_PER_SECOND": "20",
        "INGEST_RATE_BURST": "40",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    with fresh_database(os.environ.get("DATABASE_URL", "")) as url:
        if url:
            env["DATABASE_URL"] = url
        # Frame tasks here take well under a second, so a worker silent for 30 s with work waiting has stalled.
        running = Stack(port=free_port(), redis_port=free_port(), log_dir=data_dir / "logs", env=env, stall_seconds=STALL_SECONDS)
        try:
            running.start()
            yield running
        finally:
            running.stop()
            for name in ("daphne", "worker-ingest", "worker-inference", "supervisor"):
                log = running.log_dir / f"{name}.log"
                if log.exists():
                    OUTPUT_DIR.mkdir(exist_ok=True)
                    (OUTPUT_DIR / f"{name}.log").write_bytes(log.read_bytes()[-200_000:])


@pytest.fixture
def demo(stack: Stack, request: pytest.FixtureRequest) -> Demo:
    """A fresh live session in the stack: the demo teacher, in a course of the test's own (so no test sees another's
    roster or sessions on the course page)."""
    course = f"Demo course ({request.node.name})"[:100]
    data: dict[str, Any] = json.loads(stack.manage("demo_setup", "--fresh", "--course", course).strip().splitlines()[-1])
    return Demo(**{key: data[key] for key in ("session", "token", "teacher", "password", "dashboard_url")})


def log_tails(log_dir: Path) -> str:
    """The last lines of every part's log and the supervisor's, so a failure in CI says what the stack was doing."""
    parts = []
    for log in sorted(log_dir.glob("*.log")):
        lines = [line for line in log.read_bytes().splitlines() if not any(noise in line for noise in NOISE)]
        tail = b"\n".join(lines[-LOG_TAIL_LINES:]).decode(errors="replace")
        parts.append(f"--- {log.name} ---\n{tail}")
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log tails of the stack a failed integration test used (the shared one, or ``runstack``'s own)."""
    report = yield
    if report.failed:
        for name, running in getattr(item, "funcargs", {}).items():
            log_dir = getattr(running, "log_dir", None)
            if name in ("stack", "runstack") and isinstance(log_dir, Path):
                report.sections.append((f"{name} logs", log_tails(log_dir)))
    return report
