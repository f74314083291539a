"""Periodic housekeeping tasks (run by Celery beat), and the worker warm-up."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
from celery import shared_task
from celery.signals import worker_process_init

from classroom.alerts import uploads_check
from classroom.models import ClassSession
from classroom.retention import frames_expire_stuck, retention_apply
from classroom.rollups import rollups_refresh, rollups_refresh_active
from inference.predictor import FACE_SIZE, get_predictor
from ingest.vision.pipeline import get_pipeline

logger = logging.getLogger(__name__)
WARM_MARKER = "warm:"


@shared_task(soft_time_limit=600, time_limit=660)
def purge_old_observations() -> dict[str, int]:
    """Apply every retention period (per-sample series, whole sessions, the audit log)."""
    return retention_apply()


@shared_task(soft_time_limit=60, time_limit=90)
def expire_stuck_frames() -> int:
    """Close frames that no worker will ever process."""
    return frames_expire_stuck()


@shared_task(soft_time_limit=30, time_limit=45)
def check_uploads() -> int:
    """Raise or clear "uploads stopped" for live sessions."""
    return uploads_check()


@shared_task(soft_time_limit=60, time_limit=90)
def refresh_rollups() -> int:
    """Keep the per-minute rollups of active sessions current."""
    return rollups_refresh_active()


@shared_task(soft_time_limit=300, time_limit=360, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def finish_session_rollups(session_id: int) -> int:
    """Roll up an ended session completely (idempotent)."""
    session = ClassSession.objects.select_related("course").filter(pk=session_id).first()
    return rollups_refresh(session=session, full=True) if session is not None else 0


@worker_process_init.connect
def warm_up(**_: Any) -> None:
    """Load the detector and/or the CNN when a worker process starts, so no frame pays for it.

    ``WORKER_WARMUP`` names what this worker serves (``ingest``, ``inference`` or both, comma-separated).
    """
    parts = {part.strip() for part in os.environ.get("WORKER_WARMUP", "").split(",") if part.strip()}
    if "ingest" in parts:
        get_pipeline().process(np.zeros((96, 96, 3), np.uint8), tiles_mode="none")
        logger.info("%s ingest detector", WARM_MARKER)
    if "inference" in parts:
        predictor = get_predictor()
        predictor.predict(np.zeros((1, FACE_SIZE, FACE_SIZE), np.uint8))
        logger.info("%s inference model %s", WARM_MARKER, predictor.path.name)
