"""The short-lived frame buffer in Redis: frame bytes (TTL), per-session rate limit and backlog.

Frames live here for at most ``INGEST_FRAME_TTL_SECONDS`` and are deleted as soon as a worker
reads them; nothing else ever holds the pixels. Every key here but the Celery queues carries a TTL,
so Redis's ``volatile-ttl`` eviction (``REDIS_MAXMEMORY``) drops the oldest frame bytes first and
never a queued task. The state the domain shares with the workers (per-student states, the tracker, queue
lengths, refusals) is :mod:`classroom.live_state`'s, on the same Redis.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings

from classroom.live_state import client, key

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


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, and if not, after how many seconds to retry."""

    allowed: bool
    retry_after: int


def rate_check(*, session_id: int) -> RateDecision:
    """Take one token from the session's bucket (``INGEST_RATE_PER_SECOND``, ``INGEST_RATE_BURST``)."""
    now_ms = int(time.time() * 1000)
    allowed, wait_ms = client().eval(
        _TOKEN_BUCKET, 1, key("rate", session_id), settings.INGEST_RATE_PER_SECOND, settings.INGEST_RATE_BURST, now_ms
    )
    return RateDecision(allowed=bool(allowed), retry_after=max(1, math.ceil(int(wait_ms) / 1000)))


def backlog_size(*, session_id: int) -> int:
    """Frames of the session accepted but not finished; entries older than the TTL are forgotten."""
    backlog = key("backlog", session_id)
    client().zremrangebyscore(backlog, "-inf", time.time() - settings.INGEST_FRAME_TTL_SECONDS)
    return int(client().zcard(backlog))


def frame_put(*, session_id: int, frame_log_id: int, data: bytes) -> None:
    """Keep the frame bytes for a worker (with the TTL) and count it in the session's backlog."""
    pipe = client().pipeline()
    pipe.set(key("frame", frame_log_id), data, ex=settings.INGEST_FRAME_TTL_SECONDS)
    pipe.zadd(key("backlog", session_id), {str(frame_log_id): time.time()})
    pipe.expire(key("backlog", session_id), settings.INGEST_FRAME_TTL_SECONDS * 2)
    pipe.execute()


def frame_take(*, frame_log_id: int) -> bytes | None:
    """Read and delete the frame bytes (``None`` once expired or already taken)."""
    data = client().getdel(key("frame", frame_log_id))
    return data if isinstance(data, bytes) else None  # the client never decodes responses


def frame_done(*, session_id: int, frame_log_id: int) -> None:
    """The frame left the backlog (processed, dropped or failed)."""
    client().zrem(key("backlog", session_id), str(frame_log_id))


def newer_pending(*, session_id: int, frame_log_id: int) -> int:
    """How many frames of the session wait behind this one (freshness: latest frames win)."""
    backlog = key("backlog", session_id)
    score = client().zscore(backlog, str(frame_log_id))
    if score is None:
        return 0
    return int(client().zcount(backlog, f"({score}", "+inf"))
