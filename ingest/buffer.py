"""The short-lived frame buffer in Redis: frame bytes (TTL) and each session's backlog.

Frames live here for at most ``INGEST_FRAME_TTL_SECONDS`` and are deleted as soon as a worker
reads them; nothing else ever holds the pixels. Every key here but the Celery queues carries a TTL,
so Redis's ``volatile-ttl`` eviction (``REDIS_MAXMEMORY``) drops the oldest frame bytes first and
never a queued task. The state the domain shares with the workers (per-student states, the tracker, queue
lengths, refusals) is :mod:`classroom.live_state`'s, on the same Redis; who may send how fast is the door's (:mod:`classroom.admission`).
"""

from __future__ import annotations

import time

from django.conf import settings

from classroom import admission
from classroom.live_state import client, key


def backlog_size(*, session_id: int) -> int:
    """Frames of the session accepted but not finished; entries older than the TTL are forgotten."""
    backlog = key("backlog", session_id)
    client().zremrangebyscore(backlog, "-inf", time.time() - settings.INGEST_FRAME_TTL_SECONDS)
    return int(client().zcard(backlog))


def frame_put(*, session_id: int, frame_log_id: int, data: bytes) -> None:
    """Keep the frame bytes for a worker (with the TTL) and count it in the session's backlog."""
    now = time.time()
    pipe = client().pipeline()
    pipe.set(key("frame", frame_log_id), data, ex=settings.INGEST_FRAME_TTL_SECONDS)
    pipe.zadd(key("backlog", session_id), {str(frame_log_id): now})
    admission.frame_in_flight(frame_log_id=frame_log_id, at=now, pipe=pipe)
    pipe.expire(key("backlog", session_id), settings.INGEST_FRAME_TTL_SECONDS * 2)
    pipe.execute()


def frame_take(*, frame_log_id: int) -> bytes | None:
    """Read and delete the frame bytes (``None`` once expired or already taken)."""
    data = client().getdel(key("frame", frame_log_id))
    return data if isinstance(data, bytes) else None  # the client never decodes responses


def frame_done(*, session_id: int, frame_log_id: int) -> None:
    """The frame left the backlog (processed, dropped or failed)."""
    client().zrem(key("backlog", session_id), str(frame_log_id))
