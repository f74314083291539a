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


def test_sessions_past_their_period_go_with_everything_about_them() -> None:
    from classroom.models import ClassSession, MinuteRollup
    from classroom.retention import sessions_purge
    from classroom.services import session_end
    from tests.factories import teacher

    owner = teacher("owner")
    old, _ = live_session(owner=owner)
    session_end(session=old)
    ClassSession.objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=400))
    person = Participant.objects.create(session=old, key="A", display_name="A")
    MinuteRollup.objects.create(session=old, participant=person, minute=timezone.now())
    recent, _ = live_session(owner=owner, course_name="Recent")
    session_end(session=recent)
    still_live, _ = live_session(owner=owner, course_name="Live")
    assert sessions_purge() == {"sessions": 1, "participants": 1, "rollups": 1}
    assert set(ClassSession.objects.values_list("pk", flat=True)) == {recent.pk, still_live.pk}
