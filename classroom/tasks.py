"""Periodic housekeeping tasks (run by Celery beat)."""

from __future__ import annotations

from celery import shared_task

from classroom.alerts import uploads_check
from classroom.frames import frame_counts_publish
from classroom.models import ClassSession
from classroom.retention import frames_expire_stuck, retention_apply
from classroom.rollups import rollups_refresh, rollups_refresh_active


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


@shared_task(soft_time_limit=30, time_limit=45)
def publish_frame_counts() -> int:
    """Tell dashboards of sessions whose uploads stopped how their "last minute" frame counts fall."""
    return frame_counts_publish()


@shared_task(soft_time_limit=60, time_limit=90)
def refresh_rollups() -> int:
    """Keep the per-minute rollups of active sessions current."""
    return rollups_refresh_active()


@shared_task(soft_time_limit=300, time_limit=360, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def finish_session_rollups(session_id: int) -> int:
    """Roll up an ended session completely (idempotent)."""
    session = ClassSession.objects.select_related("course").filter(pk=session_id).first()
    return rollups_refresh(session=session, full=True) if session is not None else 0
