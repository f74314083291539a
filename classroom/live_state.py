"""The live state the domain shares with the workers, in Redis: per-student states between frames, each session's
participant tracker, refusals and where names come from, queue lengths, and the client and key scheme every
Redis user of the project goes through.

Derived figures only (angles, mixes, labels, counts, boxes), never pixels; every key carries a TTL. Frame
bytes, rate limiting and the backlog are the ingest side's (:mod:`ingest.buffer`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import redis
from django.conf import settings


@functools.cache
def client() -> redis.Redis:
    """One Redis connection pool per process."""
    return redis.Redis.from_url(settings.REDIS_URL)


def key(*parts: object) -> str:
    """A Redis key of this deployment: ``INGEST_KEY_PREFIX`` and the parts, joined by colons."""
    return ":".join([settings.INGEST_KEY_PREFIX, *map(str, parts)])


REFUSALS_TTL_SECONDS = 86_400
TRACKER_LOCK_SECONDS = 10


def refusal_count(*, session_id: int, reason: str) -> None:
    """Count one upload refused for load (``rate_limited``, ``backlog_full``, ``server_busy``), shown on the live page."""
    pipe = client().pipeline()
    pipe.hincrby(key("refused", session_id), reason, 1)
    pipe.expire(key("refused", session_id), REFUSALS_TTL_SECONDS)
    pipe.execute()


def refusals(*, session_id: int) -> dict[str, int]:
    """Uploads of the session refused for load in the last day, by reason."""
    stored = client().hgetall(key("refused", session_id))
    return {key.decode() if isinstance(key, bytes) else key: int(value) for key, value in stored.items()}


def names_from_save(*, session_id: int, names_from: str) -> None:
    """Remember where the session's latest upload says names come from (``page`` or ``picture``)."""
    client().set(key("names-from", session_id), names_from, ex=REFUSALS_TTL_SECONDS)


def names_from(*, session_id: int) -> str | None:
    """Where the session's latest upload said names come from; ``None`` before any upload."""
    stored = client().get(key("names-from", session_id))
    return stored.decode() if isinstance(stored, bytes) else stored


def queue_length(*, queue: str, connection: redis.Redis | None = None) -> int:
    """Tasks waiting in a Celery queue (the broker is this Redis, or ``connection``'s)."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return int((connection or client()).llen(f"{prefix}{queue}"))


@contextmanager
def tracker_lock(*, session_id: int) -> Iterator[None]:
    """Hold the session's tracker while reading, assigning and saving it: two ingest processes never interleave.

    The lock expires by itself after ``TRACKER_LOCK_SECONDS`` should its holder die.
    """
    lock = client().lock(key("tracker-lock", session_id), timeout=TRACKER_LOCK_SECONDS, blocking_timeout=TRACKER_LOCK_SECONDS)
    if not lock.acquire():
        raise TimeoutError(f"the tracker of session {session_id} stayed locked for {TRACKER_LOCK_SECONDS}s")
    try:
        yield
    finally:
        lock.release()


def tracker_load(*, session_id: int) -> str | None:
    """The session's serialised participant-tracker state (boxes only, no pixels)."""
    data = client().get(key("tracker", session_id))
    return data.decode() if isinstance(data, bytes) else None


def tracker_save(*, session_id: int, state: str) -> None:
    """Keep the tracker state for an hour of inactivity."""
    client().set(key("tracker", session_id), state, ex=3600)


def state_json(state: object) -> str:
    """A flat dataclass state (numbers, strings, and tuples or lists of them) as JSON: what ``json.dumps(asdict(state))``
    gives, without asdict's deep copy of every number (a baseline holds hundreds; this runs for every face of every
    frame)."""
    return json.dumps(vars(state))


def _text(raw: object) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else None


@dataclass
class _StatesBatch:
    """The states one frame reads (by Redis key; ``None`` where there is none) and writes (value and TTL)."""

    read: dict[str, str | None] = field(default_factory=dict)
    written: dict[str, tuple[str, int]] = field(default_factory=dict)


_batch: ContextVar[_StatesBatch | None] = ContextVar("states_batch", default=None)


@contextmanager
def states_batch(*, prefetch: Mapping[str, Sequence[int]]) -> Iterator[None]:
    """One frame's per-student states in one round trip each way: the ``prefetch`` states (ids by kind) are read with
    one ``MGET`` on entry, :func:`states_load` answers from them (reading any other at once), and :func:`states_save`
    keeps its writes, which go out in one pipeline when the block ends without an error. After an error nothing is
    written: a retried frame starts again from the states as they were. A block inside another joins the outer one."""
    if _batch.get() is not None:
        yield
        return
    keys = [key(kind, pid) for kind, ids in prefetch.items() for pid in ids]
    batch = _StatesBatch(read=dict(zip(keys, map(_text, client().mget(keys)), strict=True)) if keys else {})
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    if batch.written:
        pipe = client().pipeline(transaction=False)
        for name, (state, ttl_seconds) in batch.written.items():
            pipe.set(name, state, ex=ttl_seconds)
        pipe.execute()


def states_load(*, kind: str, ids: Sequence[int]) -> list[str | None]:
    """The serialised ``kind`` state (e.g. a participant's ``smooth`` or ``baseline``) of each id, ``None`` where there is
    none; inside :func:`states_batch`, as the frame has it so far."""
    if not ids:
        return []
    keys = [key(kind, pid) for pid in ids]
    batch = _batch.get()
    if batch is None:
        return [_text(raw) for raw in client().mget(keys)]
    missing = [name for name in keys if name not in batch.read]
    if missing:
        batch.read.update(zip(missing, map(_text, client().mget(missing)), strict=True))
    return [batch.read[name] for name in keys]


def states_save(*, kind: str, states: Mapping[int, str], ttl_seconds: int) -> None:
    """Store each id's ``kind`` state, kept ``ttl_seconds`` after its last write (derived figures, never pixels); inside
    :func:`states_batch`, when the batch ends."""
    batch = _batch.get()
    if batch is not None:
        for pid, state in states.items():
            batch.read[key(kind, pid)] = state
            batch.written[key(kind, pid)] = (state, ttl_seconds)
        return
    if not states:
        return
    pipe = client().pipeline(transaction=False)
    for pid, state in states.items():
        pipe.set(key(kind, pid), state, ex=ttl_seconds)
    pipe.execute()
