"""Retention: every per-person table has a period, applied hourly by beat and by ``manage.py purge``.

- Per-sample series (observations, class samples, frame logs) go after ``RETENTION_OBSERVATION_DAYS``.
- Whole ended sessions, with their participants, rollups, alerts and flags, after ``RETENTION_SESSION_DAYS``.
- The audit log is kept longer, ``RETENTION_AUDIT_DAYS``, so reads stay accountable after the data is gone.
- Pairing codes a day after they expired.
Frames stuck in the queue are closed here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from classroom.models import AuditEntry, ClassSample, ClassSession, FrameLog, Observation, PairingCode


def _cutoff(days: int | None, default: int) -> datetime:
    return timezone.now() - timedelta(days=default if days is None else days)


def observations_purge(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete observations, class samples and frame logs older than the retention period; returns what was deleted."""
    cutoff = _cutoff(older_than_days, settings.RETENTION_OBSERVATION_DAYS)
    observations, _ = Observation.objects.filter(captured_at__lt=cutoff).delete()
    samples, _ = ClassSample.objects.filter(captured_at__lt=cutoff).delete()
    frames, _ = FrameLog.objects.filter(received_at__lt=cutoff).delete()
    return {"observations": observations, "class_samples": samples, "frame_logs": frames}


def sessions_purge(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete sessions that ended longer ago than the session retention period, with everything about them."""
    cutoff = _cutoff(older_than_days, settings.RETENTION_SESSION_DAYS)
    _, by_model = ClassSession.objects.filter(status=ClassSession.Status.ENDED, ended_at__lt=cutoff).delete()
    return {
        "sessions": by_model.get("classroom.ClassSession", 0),
        "participants": by_model.get("classroom.Participant", 0),
        "rollups": by_model.get("classroom.MinuteRollup", 0),
        "alerts": by_model.get("classroom.Alert", 0),
        "flags": by_model.get("classroom.Flag", 0),
    }


def audit_purge(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete audit entries older than the audit retention period."""
    deleted, _ = AuditEntry.objects.filter(at__lt=_cutoff(older_than_days, settings.RETENTION_AUDIT_DAYS)).delete()
    return {"audit_entries": deleted}


def pairing_codes_purge() -> dict[str, int]:
    """Delete pairing codes a day after they expired (kept that long so a late exchange hears "expired")."""
    deleted, _ = PairingCode.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return {"pairing_codes": deleted}


def retention_apply() -> dict[str, int]:
    """Every retention period at once (the beat task and ``manage.py purge``); what was deleted, by table."""
    return {**observations_purge(), **sessions_purge(), **audit_purge(), **pairing_codes_purge()}


def frames_expire_stuck() -> int:
    """Mark frames still queued long after their bytes expired as expired, so they count as lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.INGEST_FRAME_TTL_SECONDS * 2)
    return FrameLog.objects.filter(status=FrameLog.Status.QUEUED, received_at__lt=cutoff).update(
        status=FrameLog.Status.EXPIRED, processed_at=timezone.now(), detail={"reason": "never processed before the buffer expired"}
    )
