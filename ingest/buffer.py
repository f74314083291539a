"""The short-lived frame buffer in Redis: frame bytes (TTL), per-session rate limit, backlog and refusals.

Frames live here for at most ``INGEST_FRAME_TTL_SECONDS`` and are deleted as soon as a worker
reads them; nothing else ever holds the pixels. Every key here but the Celery queues carries a TTL,
so Redis's ``volatile-ttl`` eviction (``REDIS_MAXMEMORY``) drops the oldest frame bytes first and
never a queued task.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from django.conf import settings

# Token bucket: refills ``rate`` tokens/s up to ``burst``; returns {allowed, ms until next token}.
_TOKEN_BUCKET = """
local key, rate, burst, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
if allowed == 1 then return {1, 0} end
return {0, math.ceil((1 - tokens) * 1000 / rate)}
"""


@functools.cache
def client() -> redis.Redis:
    """One Redis connection pool per process."""
    return redis.Redis.from_url(settings.REDIS_URL)


def _key(*parts: object) -> str:
    return ":".join([settings.INGEST_KEY_PREFIX, *map(str, parts)])


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, and if not, after how many seconds to retry."""

    allowed: bool
    retry_after: int


def rate_check(*, session_id: int) -> RateDecision:
    """Take one token from the session's bucket (``INGEST_RATE_PER_SECOND``, ``INGEST_RATE_BURST``)."""
    now_ms = int(time.time() * 1000)
    allowed, wait_ms = client().eval(
        _TOKEN_BUCKET, 1, _key("rate", session_id), settings.INGEST_RATE_PER_SECOND, settings.INGEST_RATE_BURST, now_ms
    )
    return RateDecision(allowed=bool(allowed), retry_after=max(1, math.ceil(int(wait_ms) / 1000)))


def backlog_size(*, session_id: int) -> int:
    """Frames of the session accepted but not finished; entries older than the TTL are forgotten."""
    key = _key("backlog", session_id)
    client().zremrangebyscore(key, "-inf", time.time() - settings.INGEST_FRAME_TTL_SECONDS)
    return int(client().zcard(key))


def frame_put(*, session_id: int, frame_log_id: int, data: bytes) -> None:
    """Keep the frame bytes for a worker (with the TTL) and count it in the session's backlog."""
    pipe = client().pipeline()
    pipe.set(_key("frame", frame_log_id), data, ex=settings.INGEST_FRAME_TTL_SECONDS)
    pipe.zadd(_key("backlog", session_id), {str(frame_log_id): time.time()})
    pipe.expire(_key("backlog", session_id), settings.INGEST_FRAME_TTL_SECONDS * 2)
    pipe.execute()


def frame_take(*, frame_log_id: int) -> bytes | None:
    """Read and delete the frame bytes (``None`` once expired or already taken)."""
    data = client().getdel(_key("frame", frame_log_id))
    return data if isinstance(data, bytes) else None  # the client never decodes responses


def frame_done(*, session_id: int, frame_log_id: int) -> None:
    """The frame left the backlog (processed, dropped or failed)."""
    client().zrem(_key("backlog", session_id), str(frame_log_id))


def newer_pending(*, session_id: int, frame_log_id: int) -> int:
    """How many frames of the session wait behind this one (freshness: latest frames win)."""
    key = _key("backlog", session_id)
    score = client().zscore(key, str(frame_log_id))
    if score is None:
        return 0
    return int(client().zcount(key, f"({score}", "+inf"))


REFUSALS_TTL_SECONDS = 86_400
TRACKER_LOCK_SECONDS = 10


def refusal_count(*, session_id: int, reason: str) -> None:
    """Count one upload refused for load (``rate_limited``, ``backlog_full``, ``server_busy``), shown on the live page."""
    pipe = client().pipeline()
    pipe.hincrby(_key("refused", session_id), reason, 1)
    pipe.expire(_key("refused", session_id), REFUSALS_TTL_SECONDS)
    pipe.execute()


def refusals(*, session_id: int) -> dict[str, int]:
    """Uploads of the session refused for load in the last day, by reason."""
    stored = client().hgetall(_key("refused", session_id))
    return {key.decode() if isinstance(key, bytes) else key: int(value) for key, value in stored.items()}


def names_from_save(*, session_id: int, names_from: str) -> None:
    """Remember where the session's latest upload says names come from (``page`` or ``picture``)."""
    client().set(_key("names-from", session_id), names_from, ex=REFUSALS_TTL_SECONDS)


def names_from(*, session_id: int) -> str | None:
    """Where the session's latest upload said names come from; ``None`` before any upload."""
    stored = client().get(_key("names-from", session_id))
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
    lock = client().lock(_key("tracker-lock", session_id), timeout=TRACKER_LOCK_SECONDS, blocking_timeout=TRACKER_LOCK_SECONDS)
    if not lock.acquire():
        raise TimeoutError(f"the tracker of session {session_id} stayed locked for {TRACKER_LOCK_SECONDS}s")
    try:
        yield
    finally:
        lock.release()


def tracker_load(*, session_id: int) -> str | None:
    """The session's serialised participant-tracker state (boxes only, no pixels)."""
    data = client().get(_key("tracker", session_id))
    return data.decode() if isinstance(data, bytes) else None


def tracker_save(*, session_id: int, state: str) -> None:
    """Keep the tracker state for an hour of inactivity."""
    client().set(_key("tracker", session_id), state, ex=3600)


def states_load(*, kind: str, ids: Sequence[int]) -> list[str | None]:
    """The serialised ``kind`` state (e.g. a participant's ``smooth`` or ``baseline``) of each id, ``None`` where there is none."""
    if not ids:
        return []
    stored = client().mget([_key(kind, pid) for pid in ids])
    return [raw.decode() if isinstance(raw, bytes) else None for raw in stored]


def states_save(*, kind: str, states: Mapping[int, str], ttl_seconds: int) -> None:
    """Store each id's ``kind`` state, kept ``ttl_seconds`` after its last write (derived figures, never pixels)."""
    pipe = client().pipeline()
    for pid, state in states.items():
        pipe.set(_key(kind, pid), state, ex=ttl_seconds)
    pipe.execute()
