"""Reads of the domain: the live page's frame counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from classroom.models import FrameLog
from classroom.selectors import session_frame_counts
from tests.factories import live_session, teacher

pytestmark = pytest.mark.django_db

S = FrameLog.Status
COUNTERS = ("received", "processed", "dropped", "received_last_minute", "processed_last_minute", "dropped_last_minute")


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        pytest.param([], (0, 0, 0, 0, 0, 0), id="no frame yet"),
        pytest.param([(S.QUEUED, 5)], (1, 0, 0, 1, 0, 0), id="one in flight: received, neither processed nor lost"),
        pytest.param(
            [(S.PROCESSED, 5), (S.PROCESSED, 120), (S.DROPPED, 10), (S.EXPIRED, 90), (S.ERROR, 30), (S.QUEUED, 1)],
            (6, 2, 3, 4, 1, 2),
            id="every status, inside and outside the last minute",
        ),
        pytest.param([(S.PROCESSED, 61), (S.DROPPED, 3600)], (2, 1, 1, 0, 0, 0), id="only older than a minute"),
    ],
)
def test_frame_counts_are_by_status_in_all_and_in_the_last_minute(frames: list[tuple[str, float]], expected: tuple[int, ...]) -> None:
    session, _ = live_session()
    other, _ = live_session(owner=teacher("other"), course_name="Other")
    now = timezone.now()
    for k, (status, seconds_ago) in enumerate(frames):
        at = now - timedelta(seconds=seconds_ago)
        for owner in (session, other):  # another session's frames count for it alone
            FrameLog.objects.create(session=owner, frame_id=f"{owner.pk}-{k}", captured_at=at, received_at=at, status=status)
    counts = session_frame_counts(session_id=session.pk)
    assert tuple(counts[name] for name in COUNTERS) == expected
    assert all(isinstance(counts[name], int) for name in COUNTERS)
