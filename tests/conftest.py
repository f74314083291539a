"""Fixtures shared by every test package: a real Redis for the tests, shared data, stack helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from project.stack import free_port, port_open

SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def require_shared(*parts: str) -> Path:
    """A path under ``../shared/data``; missing data fails under CI and skips elsewhere."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing (tests read ../shared/data; see its SOURCES.md)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private, throw-away Redis server for this test run."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run scripts/setup.sh")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("test Redis did not start")
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _test_settings(settings: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[None]:
    """Point Redis users at the test Redis; start each test with an empty Redis and no cached client."""
    from classroom import live_state

    settings.REDIS_URL = redis_url  # type: ignore[attr-defined]
    settings.CELERY_BROKER_URL = redis_url  # type: ignore[attr-defined]
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_url}}  # type: ignore[attr-defined]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}  # type: ignore[attr-defined]
    live_state.client.cache_clear()
    live_state.client().flushdb()
    yield
    live_state.client.cache_clear()
