"""Retention purge and the stuck-frame sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from classroom.models import FrameLog, Observation, Participant
from classroom.retention import frames_expire_stuck, observations_purge
from tests.factories import live_session

pytestmark = pytest.mark.django_db


def _frame(session_id: int, frame_id: str, age: timedelta, status: str = FrameLog.Status.QUEUED) -> FrameLog:
    when = timezone.now() - age
    return FrameLog.objects.create(session_id=session_id, frame_id=frame_id, captured_at=when, received_at=when, status=status)


def test_purge_removes_only_samples_older_than_the_period() -> None:
    session, _ = live_session()
    participant = Participant.objects.create(session=session, key="A", display_name="A")
    for age_days in (0, 29, 31):
        Observation.objects.create(
            session=session,
            participant=participant,
            captured_at=timezone.now() - timedelta(days=age_days),
            engagement=0.5,
            engagement_band="partly",
            box=[0, 0, 1, 1],
        )
        _frame(session.pk, f"f{age_days}", timedelta(days=age_days), FrameLog.Status.PROCESSED)
    assert observations_purge(older_than_days=30) == {"observations": 1, "frame_logs": 1}
    assert Observation.objects.count() == 2 and FrameLog.objects.count() == 2


def test_purge_of_empty_tables_deletes_nothing() -> None:
    assert observations_purge(older_than_days=0) == {"observations": 0, "frame_logs": 0}


def test_stuck_frames_are_marked_expired_not_lost() -> None:
    session, _ = live_session()
    _frame(session.pk, "old", timedelta(minutes=10))
    _frame(session.pk, "fresh", timedelta(seconds=1))
    assert frames_expire_stuck() == 1
    assert FrameLog.objects.get(frame_id="old").status == FrameLog.Status.EXPIRED
    assert FrameLog.objects.get(frame_id="fresh").status == FrameLog.Status.QUEUED
