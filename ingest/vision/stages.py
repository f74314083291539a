"""Where one frame's processing time goes: milliseconds per named stage, kept in ``FrameLog.detail``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageClock:
    """Milliseconds spent in each named stage, and counts of what the stages did (e.g. tiles that skipped the detector)."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block, adding to ``name``'s total."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - start) * 1000)

    def add(self, name: str, ms: float) -> None:
        """Add ``ms`` milliseconds to stage ``name`` (for spans measured between timestamps, such as a queue wait)."""
        self.ms[name] = round(self.ms.get(name, 0.0) + ms, 2)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``."""
        self.counts[name] = self.counts.get(name, 0) + n
