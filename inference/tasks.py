"""Celery tasks of the ``inference`` queue."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from inference.processing import frame_infer


@shared_task(
    acks_late=True,
    soft_time_limit=20,
    time_limit=30,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=10,
    max_retries=3,
)
def infer_frame(frame_log_id: int, faces: list[dict[str, Any]], detail: dict[str, Any]) -> None:
    """Run the CNN once over a frame's face crops and store the observations."""
    frame_infer(frame_log_id=frame_log_id, faces=faces, detail=detail)
