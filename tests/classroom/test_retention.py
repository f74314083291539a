"""Retention: every per-person table is purged after its period (by beat and by ``manage.py purge``); stuck frames close."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from classroom.models import Alert, AuditEntry, ClassSample, ClassSession, Flag, FrameLog, MinuteRollup, Observation, Participant
from classroom.retention import audit_purge, frames_expire_stuck, observations_purge, retention_apply, sessions_purge
from classroom.services import audit_record, session_end
from tests.factories import live_session, scored_frame, teacher

pytestmark = pytest.mark.django_db


def _frame(session_id: int, frame_id: str, age: timedelta, status: str = FrameLog.Status.QUEUED) -> FrameLog:
    when = timezone.now() - age
    return FrameLog.objects.create(session_id=session_id, frame_id=frame_id, captured_at=when, received_at=when, status=status)


def test_purge_removes_only_samples_older_than_the_period() -> None:
    session, _ = live_session()
    participant = Participant.objects.create(session=session, key="A", display_name="A")
    for age_days in (0, 29, 31):
        scored_frame(session, timezone.now() - timedelta(days=age_days), {participant: {"engagement": 0.5}})
    assert observations_purge(older_than_days=30) == {"observations": 1, "class_samples": 1, "frame_logs": 1}
    assert (Observation.objects.count(), ClassSample.objects.count(), FrameLog.objects.count()) == (2, 2, 2)


def test_purge_of_empty_tables_deletes_nothing() -> None:
    assert retention_apply() == {
        "observations": 0,
        "class_samples": 0,
        "frame_logs": 0,
        "sessions": 0,
        "participants": 0,
        "rollups": 0,
        "alerts": 0,
        "flags": 0,
        "audit_entries": 0,
        "pairing_codes": 0,
    }


def test_stuck_frames_are_marked_expired_not_lost() -> None:
    session, _ = live_session()
    _frame(session.pk, "old", timedelta(minutes=10))
    _frame(session.pk, "fresh", timedelta(seconds=1))
    assert frames_expire_stuck() == 1
    assert FrameLog.objects.get(frame_id="old").status == FrameLog.Status.EXPIRED
    assert FrameLog.objects.get(frame_id="fresh").status == FrameLog.Status.QUEUED


def test_sessions_past_their_period_go_with_everything_about_them() -> None:
    owner = teacher("owner")
    old, _ = live_session(owner=owner)
    session_end(session=old)
    ClassSession.objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=400))
    person = Participant.objects.create(session=old, key="A", display_name="A")
    MinuteRollup.objects.create(session=old, participant=person, minute=timezone.now())
    Alert.objects.create(session=old, participant=person, kind="absent", raised_at=timezone.now())
    Flag.objects.create(session=old, created_by=owner, at=timezone.now())
    recent, _ = live_session(owner=owner, course_name="Recent")
    session_end(session=recent)
    still_live, _ = live_session(owner=owner, course_name="Live")
    assert sessions_purge() == {"sessions": 1, "participants": 1, "rollups": 1, "alerts": 1, "flags": 1}
    assert set(ClassSession.objects.values_list("pk", flat=True)) == {recent.pk, still_live.pk}


def test_the_audit_log_outlives_the_data_it_speaks_of() -> None:
    reader = teacher("reader")
    kept = audit_record(user=reader, action="report.view", target="session 1")
    gone = audit_record(user=reader, action="report.view", target="session 2")
    AuditEntry.objects.filter(pk=kept.pk).update(at=timezone.now() - timedelta(days=settings.RETENTION_OBSERVATION_DAYS + 1))
    AuditEntry.objects.filter(pk=gone.pk).update(at=timezone.now() - timedelta(days=settings.RETENTION_AUDIT_DAYS + 1))
    assert retention_apply()["audit_entries"] == 1
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    assert audit_purge(older_than_days=0) == {"audit_entries": 1}


def test_the_purge_command_prints_what_it_deleted() -> None:
    session, _ = live_session()
    participant = Participant.objects.create(session=session, key="A", display_name="A")
    scored_frame(session, timezone.now() - timedelta(days=settings.RETENTION_OBSERVATION_DAYS + 1), {participant: {"engagement": 0.5}})
    out = StringIO()
    call_command("purge", stdout=out)
    deleted = json.loads(out.getvalue())
    assert (deleted["observations"], deleted["class_samples"], deleted["frame_logs"]) == (1, 1, 1)


def test_beat_applies_retention_every_hour() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-observations"]
    assert (entry["task"], entry["schedule"]) == ("classroom.tasks.purge_old_observations", 3600.0)
