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
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis

from classroom import live_state

if TYPE_CHECKING:
    from classroom.stack import Stack

logger = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
STALL_SECONDS = 120.0  # well over a frame task's hard limit (30 s), so a long task is never taken for a stall
MAX_RESTARTS = 5  # per part within RESTART_WINDOW_SECONDS; past that the part stays down and the stack reports it
RESTART_WINDOW_SECONDS = 600.0


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
    """Checks a :class:`Stack`'s parts every ``check_seconds`` on a daemon thread; :meth:`check` is one pass."""

    stack: Stack
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
        with self.stack.lock:
            for name in list(self.stack.commands):
                if name in self.stack.held or name in self.given_up or self.stack.finished(name):
                    continue
                reason = self._exit_reason(name) or self._stall_reason(name)
                if reason is None:
                    continue
                if self._recent_restarts(name) >= MAX_RESTARTS:
                    self.given_up.add(name)
                    self.stack.note(f"{name} {reason}; restarted {MAX_RESTARTS} times in {RESTART_WINDOW_SECONDS:.0f} s, left down")
                    continue
                made.append(self._revive(name, reason))
        return made

    def _exit_reason(self, name: str) -> str | None:
        process = self.stack.processes.get(name)
        if process is None or process.poll() is None:
            return None
        return f"exited with {process.returncode}"

    def _stall_reason(self, name: str) -> str | None:
        queue = self.stack.queue_of(name)
        if queue is None:
            return None
        log = self.stack.log_dir / f"{name}.log"
        size = log.stat().st_size if log.exists() else 0
        now = time.monotonic()
        seen = self._progress.get(name)
        if seen is None or seen.size != size:
            self._progress[name] = _LogProgress(size=size, since=now)
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
        process = self.stack.processes.get(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # a stalled worker: it would not finish a warm shutdown
            process.wait()
        self.stack.note(f"{name} {reason}; restarting it")
        self.stack.spawn(name, *self.stack.commands[name])
        self._progress.pop(name, None)
        revival = Revival(part=name, reason=reason, at=time.monotonic())
        self.revivals.append(revival)
        return revival
