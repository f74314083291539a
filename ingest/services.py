"""Writes of the ingest side: accepting a frame and finishing one."""

from __future__ import annotations

import uuid
from dataclasses import asdict

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from classroom import live_state
from classroom.models import ClassSession, FrameLog
from ingest import buffer
from ingest.validation import FrameUpload, IngestError
from project.celery import app as celery_app

INGEST_TASK = "ingest.tasks.ingest_frame"


def frame_accept(*, session: ClassSession, upload: FrameUpload) -> tuple[FrameLog, bool]:
    """Log the frame, keep its bytes in Redis and enqueue it; a repeated ``frame_id`` is a no-op.

    Returns the frame log and whether it was newly accepted.
    """
    frame_id = upload.frame_id or uuid.uuid4().hex
    existing = FrameLog.objects.filter(session=session, frame_id=frame_id).first()
    if existing is not None:
        return existing, False
    if buffer.backlog_size(session_id=session.pk) >= settings.INGEST_MAX_BACKLOG:
        raise IngestError(503, "backlog_full", "too many frames are waiting for this session; retry later", retry_after=1)
    if live_state.queue_length(queue="ingest") >= settings.INGEST_MAX_QUEUED:
        raise IngestError(503, "server_busy", "the server has too many frames waiting from all sessions; retry later", retry_after=2)
    try:
        with transaction.atomic():
            log = FrameLog.objects.create(
                session=session,
                frame_id=frame_id,
                captured_at=upload.captured_at,
                received_at=timezone.now(),
                width=upload.width,
                height=upload.height,
                tiles=len(upload.tiles),
            )
            buffer.frame_put(session_id=session.pk, frame_log_id=log.pk, data=upload.data)
            live_state.names_from_save(session_id=session.pk, names_from=upload.names_from)
            tiles = [asdict(tile) for tile in upload.tiles]
            # robust: should the broker be unreachable right then, the upload is still answered; the frame stays
            # queued and the stuck-frame sweep counts it as expired.
            transaction.on_commit(lambda: _enqueue(log.pk, tiles), robust=True)
    except IntegrityError:
        # Two uploads of one frame_id raced; the other one won.
        return FrameLog.objects.get(session=session, frame_id=frame_id), False
    except redis.exceptions.OutOfMemoryError:
        # Redis is full even after evicting what may go (REDIS_MAXMEMORY): nothing was written, the client retries.
        raise IngestError(503, "server_busy", "the frame buffer is full; retry later", retry_after=2) from None
    return log, True


def _enqueue(frame_log_id: int, tiles: list[dict[str, object]]) -> None:
    # By name: the web process never imports the detector or the model. The arguments' summary is given:
    # Celery would otherwise write a repr of every tile into the message, 0.4 ms of the web process a frame.
    celery_app.send_task(INGEST_TASK, args=[frame_log_id, tiles], argsrepr=f"({frame_log_id}, <{len(tiles)} tiles>)")
