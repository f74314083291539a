"""Retention: per-sample series go after ``RETENTION_OBSERVATION_DAYS``; whole sessions (participants, rollups,
alerts, flags) after ``RETENTION_SESSION_DAYS``; stuck frames are closed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from classroom.models import ClassSession, FrameLog, Observation


def observations_purge(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete observations and frame logs older than the retention period; returns what was deleted."""
    days = settings.RETENTION_OBSERVATION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    observations, _ = Observation.objects.filter(captured_at__lt=cutoff).delete()
    frames, _ = FrameLog.objects.filter(received_at__lt=cutoff).delete()
    return {"observations": observations, "frame_logs": frames}


def sessions_purge(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete sessions that ended longer ago than the session retention period, with everything about them."""
    days = settings.RETENTION_SESSION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    _, by_model = ClassSession.objects.filter(status=ClassSession.Status.ENDED, ended_at__lt=cutoff).delete()
    return {
        "sessions": by_model.get("classroom.ClassSession", 0),
        "participants": by_model.get("classroom.Participant", 0),
        "rollups": by_model.get("classroom.MinuteRollup", 0),
    }


def frames_expire_stuck() -> int:
    """Mark frames still queued long after their bytes expired as expired, so they count as lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.INGEST_FRAME_TTL_SECONDS * 2)
    return FrameLog.objects.filter(status=FrameLog.Status.QUEUED, received_at__lt=cutoff).update(
        status=FrameLog.Status.EXPIRED, processed_at=timezone.now(), detail={"reason": "never processed before the buffer expired"}
    )
