"""Celery tasks of the ``ingest`` queue: ids in, never frames or model instances."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from ingest.processing import frame_ingest


@shared_task(
    acks_late=True,
    soft_time_limit=20,
    time_limit=30,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=10,
    max_retries=3,
)
def ingest_frame(frame_log_id: int, tiles: list[dict[str, Any]]) -> None:
    """Detect faces in one uploaded frame and enqueue them for inference."""
    frame_ingest(frame_log_id=frame_log_id, tiles=tiles)
