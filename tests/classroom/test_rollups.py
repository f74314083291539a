"""Per-minute rollups: time credited per frame, class and participant rows, idempotent, within policy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from classroom.models import ClassSession, MinuteRollup, Participant
from classroom.rollups import MAX_FRAME_CREDIT_SECONDS, minute_of, minute_payload, rollups_compute, rollups_refresh
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> ClassSession:
    session, _ = factories.live_session()
    return session


def frame(session: ClassSession, at: datetime, seen: dict[Participant, tuple[float, str, str]]) -> None:
    factories.scored_frame(
        session, at, {p: {"engagement": e, "engagement_band": band, "expression": expression} for p, (e, band, expression) in seen.items()}
    )


def test_one_minute_at_one_frame_per_second(session: ClassSession) -> None:
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana")
    ben = Participant.objects.create(session=session, key="ben", display_name="Ben")
    t0 = minute_of(timezone.now()) - timedelta(minutes=5)
    for second in range(60):
        seen = {ana: (0.9, "engaged", "neutral")}
        if second < 30:
            seen[ben] = (0.2, "not_engaged", "sad")
        frame(session, t0 + timedelta(seconds=second), seen)
    assert rollups_compute(session=session, start=t0, end=t0) == 3
    cls = MinuteRollup.objects.get(session=session, participant=None)
    assert (cls.samples, cls.seconds, cls.person_seconds) == (60, 60.0, 90.0)
    assert cls.expressions == {"neutral": 60, "sad": 30}
    assert minute_payload(cls)["present"] == 1.5
    assert minute_payload(cls)["engagement"] == pytest.approx((60 * 0.9 + 30 * 0.2) / 90, abs=1e-4)
    rows = {row.participant.display_name: row for row in MinuteRollup.objects.filter(participant__isnull=False)}
    assert (rows["Ana"].samples, rows["Ana"].seconds, rows["Ana"].engaged_seconds) == (60, 60.0, 60.0)
    assert (rows["Ben"].samples, rows["Ben"].seconds, rows["Ben"].not_engaged_seconds) == (30, 30.0, 30.0)
    assert minute_payload(rows["Ben"])["bands"] == {"engaged": 0.0, "partly": 0.0, "not_engaged": 1.0}


def test_a_stalled_stream_is_not_counted_as_presence(session: ClassSession) -> None:
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana")
    t0 = minute_of(timezone.now()) - timedelta(minutes=5)
    for second in (0, 1, 2, 40):
        frame(session, t0 + timedelta(seconds=second), {ana: (0.9, "engaged", "")})
    rollups_compute(session=session, start=t0, end=t0)
    row = MinuteRollup.objects.get(participant=ana)
    assert row.seconds == 1 + 1 + MAX_FRAME_CREDIT_SECONDS + 1  # the last frame gets the median credit
    assert row.expressions == {}  # attention policy observations carry no expression


def test_recomputing_is_idempotent_and_picks_up_late_frames(session: ClassSession) -> None:
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana")
    t0 = minute_of(timezone.now()) - timedelta(minutes=3)
    for second in range(0, 120, 2):
        frame(session, t0 + timedelta(seconds=second), {ana: (0.5, "partly", "happy")})
    rollups_refresh(session=session)
    first = list(MinuteRollup.objects.values_list("participant", "minute", "samples", "seconds"))
    rollups_refresh(session=session)
    assert list(MinuteRollup.objects.values_list("participant", "minute", "samples", "seconds")) == first
    frame(session, t0 + timedelta(seconds=121), {ana: (0.5, "partly", "happy")})  # a late frame
    rollups_refresh(session=session)
    assert MinuteRollup.objects.filter(participant=ana).order_by("minute").last().samples == 1  # type: ignore[union-attr]


def test_aggregate_policy_writes_class_rows_only(session: ClassSession) -> None:
    session.course.privacy_policy = "aggregate"
    session.course.save()
    ana = Participant.objects.create(session=session, key="ana", display_name="Ana")
    t0 = minute_of(timezone.now()) - timedelta(minutes=2)
    frame(session, t0, {ana: (0.9, "engaged", "neutral")})
    rollups_compute(session=session, start=t0, end=t0)
    assert list(MinuteRollup.objects.values_list("participant", flat=True)) == [None]


def test_an_empty_session_rolls_up_to_nothing(session: ClassSession) -> None:
    assert rollups_refresh(session=session) == 0
    assert minute_payload(MinuteRollup(session=session, minute=timezone.now()))["engagement"] is None
