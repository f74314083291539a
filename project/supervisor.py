"""Keep a running stack's parts alive: restart a part that died, and a worker that stopped taking work.

A crash is the easy case (docker-compose's ``restart: unless-stopped`` covers it too). The other one is a Celery
worker that lives through a Redis restart but never consumes again, a long-standing Celery/kombu failure
(celery/celery#8082, #9054, #10205): its process is alive, so only the absence of progress shows it. Progress is
the worker's log growing (it logs every task it receives and finishes at INFO); a worker whose log has been still
for ``stall_seconds`` while its queue holds tasks is killed and started again. Frame tasks are refused by
``INGEST_MAX_QUEUED`` and closed by beat when stale, and acknowledged late, so a restart loses no stored work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import redis

from classroom import live_state

logger = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
STALL_SECONDS = 120.0  # well over a frame task's hard limit (30 s), so a long task is never taken for a stall
MAX_RESTARTS = 5  # per part within RESTART_WINDOW_SECONDS; past that the part stays down and the stack reports it
RESTART_WINDOW_SECONDS = 600.0


@dataclass(frozen=True)
class Part:
    """What the supervisor sees of one part of a stack at the start of a pass."""

    name: str
    exit_code: int | None  # None while it runs
    queue: str | None  # the queue a worker part consumes; None for the other parts
    log_size: int  # bytes in its log so far: a worker's progress


class Supervised(Protocol):
    """What a supervisor needs of a stack (:class:`project.stack.Stack` is one)."""

    @property
    def redis_url(self) -> str:
        """The Redis whose queues the workers consume."""
        ...

    def watched(self) -> AbstractContextManager[list[Part]]:
        """The parts to check (neither killed on purpose nor optional and done), with the stack held still (no
        part killed, restarted or started by anyone else) until the block ends."""
        ...

    def revive(self, name: str) -> None:
        """Kill a part if it still runs, and start it again as it was first started, without waiting for it."""
        ...

    def note(self, message: str) -> None:
        """Record what the supervisor did."""
        ...


@dataclass(frozen=True)
class Revival:
    """One restart the supervisor made: which part, why, and when (``time.monotonic()``)."""

    part: str
    reason: str
    at: float


@dataclass
class _LogProgress:
    size: int
    since: float


@dataclass
class Supervisor:
    """Checks a stack's parts every ``check_seconds`` on a daemon thread; :meth:`check` is one pass."""

    stack: Supervised
    stall_seconds: float = STALL_SECONDS
    check_seconds: float = CHECK_SECONDS
    queue_length: Callable[[str], int] | None = None  # tasks waiting in a queue; None: read the stack's Redis
    revivals: list[Revival] = field(default_factory=list)
    given_up: set[str] = field(default_factory=set)
    _progress: dict[str, _LogProgress] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        """Begin checking in the background."""
        self._thread = threading.Thread(target=self._run, name="stack-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking (before the stack stops its parts, so none is revived on the way down)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.wait(self.check_seconds):
            try:
                self.check()
            except Exception:  # one bad pass (say Redis down mid-check) must not end supervision
                logger.exception("stack supervisor pass failed")

    def check(self) -> list[Revival]:
        """Restart every part that died or stalled since the last pass; what was restarted."""
        made: list[Revival] = []
        with self.stack.watched() as parts:
            for part in parts:
                if part.name in self.given_up:
                    continue
                reason = self._exit_reason(part) or self._stall_reason(part)
                if reason is None:
                    continue
                if self._recent_restarts(part.name) >= MAX_RESTARTS:
                    self.given_up.add(part.name)
                    self.stack.note(f"{part.name} {reason}; restarted {MAX_RESTARTS} times in {RESTART_WINDOW_SECONDS:.0f} s, left down")
                    continue
                made.append(self._revive(part.name, reason))
        return made

    def _exit_reason(self, part: Part) -> str | None:
        return None if part.exit_code is None else f"exited with {part.exit_code}"

    def _stall_reason(self, part: Part) -> str | None:
        queue = part.queue
        if queue is None:
            return None
        size = part.log_size
        now = time.monotonic()
        seen = self._progress.get(part.name)
        if seen is None or seen.size != size:
            self._progress[part.name] = _LogProgress(size=size, since=now)
            return None
        if now - seen.since < self.stall_seconds:
            return None
        waiting = self._waiting(queue)
        if waiting == 0:
            return None
        return f"stalled: {waiting} tasks waiting in {queue!r} and no log line for {now - seen.since:.0f} s"

    def _waiting(self, queue: str) -> int:
        if self.queue_length is not None:
            return self.queue_length(queue)
        try:
            with redis.Redis.from_url(self.stack.redis_url, socket_timeout=2) as connection:
                return live_state.queue_length(queue=queue, connection=connection)
        except redis.RedisError:
            return 0  # Redis itself is down: the worker is right to wait, and Redis is revived on its own

    def _recent_restarts(self, name: str) -> int:
        horizon = time.monotonic() - RESTART_WINDOW_SECONDS
        return sum(1 for revival in self.revivals if revival.part == name and revival.at >= horizon)

    def _revive(self, name: str, reason: str) -> Revival:
        self.stack.note(f"{name} {reason}; restarting it")
        self.stack.revive(name)
        self._progress.pop(name, None)
        revival = Revival(part=name, reason=reason, at=time.monotonic())
        self.revivals.append(revival)
        return revival
