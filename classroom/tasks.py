"""Periodic housekeeping tasks (run by Celery beat)."""

from __future__ import annotations

from celery import shared_task

from classroom.retention import frames_expire_stuck, observations_purge


@shared_task(soft_time_limit=600, time_limit=660)
def purge_old_observations() -> dict[str, int]:
    """Apply the retention policy."""
    return observations_purge()


@shared_task(soft_time_limit=60, time_limit=90)
def expire_stuck_frames() -> int:
    """Close frames that no worker will ever process."""
    return frames_expire_stuck()
