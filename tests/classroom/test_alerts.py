"""Alerts: raised once after their threshold, cleared when the condition ends, per course, within policy, sent after commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from classroom import events
from classroom.alerts import THRESHOLD_LIMITS, alert_acknowledge, alerts_after_frame, thresholds_for, uploads_check
from classroom.models import Alert, ClassSession, FrameLog, Participant
from classroom.services import course_alert_thresholds_update, session_end
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Events as dashboards would get them (after commit)."""
    captured: list[dict[str, Any]] = []
    monkeypatch.setattr(events, "_send", lambda session_id, sent: captured.extend(sent))
    return captured


@pytest.fixture
def session() -> Iterator[ClassSession]:
    session, _ = factories.live_session()
    course_alert_thresholds_update(
        course=session.course, thresholds={"absent_seconds": 30, "not_engaged_seconds": 20, "uploads_stopped_seconds": 15}
    )
    yield ClassSession.objects.select_related("course").get(pk=session.pk)


def people(session: ClassSession, *names: str) -> list[Participant]:
    return [Participant.objects.create(session=session, key=name, display_name=name) for name in names]


def frame(session: ClassSession, at: datetime, bands: dict[Participant, str], absent: list[Participant]) -> None:
    """One stored frame: present participants with their displayed band, the others absent."""
    for participant in bands:
        participant.last_seen_at = at
        participant.save(update_fields=["last_seen_at"])
    alerts_after_frame(
        session=session,
        captured_at=at,
        bands={participant.pk: band for participant, band in bands.items()},
        absent=[(participant, participant.last_seen_at) for participant in absent],
    )


def open_alerts(session: ClassSession) -> list[tuple[str, str | None]]:
    return [(a.kind, a.participant.display_name if a.participant else None) for a in Alert.objects.filter(session=session, cleared_at=None)]


def test_absence_is_raised_once_after_the_threshold_and_cleared_on_return(session: ClassSession, sent: list[dict[str, Any]]) -> None:
    ana, ben = people(session, "Ana", "Ben")
    t0 = timezone.now()
    frame(session, t0, {ana: "engaged", ben: "engaged"}, [])
    for second in range(2, 30, 2):
        frame(session, t0 + timedelta(seconds=second), {ana: "engaged"}, [ben])
    assert open_alerts(session) == []
    frame(session, t0 + timedelta(seconds=31), {ana: "engaged"}, [ben])
    frame(session, t0 + timedelta(seconds=33), {ana: "engaged"}, [ben])
    assert open_alerts(session) == [("absent", "Ben")]
    assert [e["alert"]["kind"] for e in sent if e["type"] == "alert"] == ["absent"]  # raised once, not every frame
    frame(session, t0 + timedelta(seconds=35), {ana: "engaged", ben: "partly"}, [])
    assert open_alerts(session) == []
    alert = Alert.objects.get(session=session)
    assert alert.cleared_at is not None and alert.detail["threshold_seconds"] == 30
    assert [e["alert"]["cleared_at"] is not None for e in sent if e["type"] == "alert"] == [False, True]


def test_time_without_uploads_does_not_count_as_absence(session: ClassSession) -> None:
    ana, ben = people(session, "Ana", "Ben")
    t0 = timezone.now()
    frame(session, t0, {ana: "engaged", ben: "engaged"}, [])
    # Uploads stop for 60 s, then resume without Ben: his absence counts from the resumption.
    frame(session, t0 + timedelta(seconds=60), {ana: "engaged"}, [ben])
    for second in (70, 80, 89):
        frame(session, t0 + timedelta(seconds=second), {ana: "engaged"}, [ben])
    assert open_alerts(session) == []
    frame(session, t0 + timedelta(seconds=91), {ana: "engaged"}, [ben])
    assert open_alerts(session) == [("absent", "Ben")]


def test_not_engaged_needs_the_whole_stretch(session: ClassSession) -> None:
    [ana] = people(session, "Ana")
    t0 = timezone.now()
    frame(session, t0, {ana: "not_engaged"}, [])
    frame(session, t0 + timedelta(seconds=15), {ana: "partly"}, [])  # looked back: the stretch starts over
    frame(session, t0 + timedelta(seconds=16), {ana: "not_engaged"}, [])
    frame(session, t0 + timedelta(seconds=30), {ana: "not_engaged"}, [])
    assert open_alerts(session) == []
    frame(session, t0 + timedelta(seconds=37), {ana: "not_engaged"}, [])
    assert open_alerts(session) == [("not_engaged", "Ana")]
    frame(session, t0 + timedelta(seconds=40), {ana: "engaged"}, [])
    assert open_alerts(session) == []


def test_aggregate_policy_raises_no_per_student_alert(session: ClassSession) -> None:
    session.course.privacy_policy = "aggregate"
    session.course.save()
    ana, ben = people(session, "Ana", "Ben")
    t0 = timezone.now()
    for second in range(0, 100, 5):
        frame(session, t0 + timedelta(seconds=second), {ana: "not_engaged"}, [ben])
    assert Alert.objects.filter(session=session).count() == 0


def test_attention_policy_keeps_absence_and_attention_alerts(session: ClassSession) -> None:
    session.course.privacy_policy = "attention"
    session.course.save()
    ana, ben = people(session, "Ana", "Ben")
    t0 = timezone.now()
    frame(session, t0, {ana: "not_engaged", ben: "engaged"}, [])
    for second in range(5, 40, 5):
        frame(session, t0 + timedelta(seconds=second), {ana: "not_engaged"}, [ben])
    assert sorted(open_alerts(session)) == [("absent", "Ben"), ("not_engaged", "Ana")]


def observe(session: ClassSession, at: datetime, participants: list[Participant], engagement: float) -> None:
    factories.scored_frame(session, at, {participant: {"engagement": engagement} for participant in participants}, log=False)


def test_class_drop_against_its_own_baseline_and_floor(session: ClassSession, settings: Any) -> None:
    participants = people(session, *[f"S{k}" for k in range(5)])
    t0 = timezone.now() - timedelta(minutes=10)
    for second in range(0, 300, 10):  # five minutes at 0.9
        observe(session, t0 + timedelta(seconds=second), participants, 0.9)
    for second in range(300, 360, 10):  # then a minute at 0.6: a drop of 0.3, still above the 0.4 floor
        observe(session, t0 + timedelta(seconds=second), participants, 0.6)
    at = t0 + timedelta(seconds=355)
    alerts_after_frame(session=session, captured_at=at, bands={}, absent=[])
    assert open_alerts(session) == [("class_drop", None)]
    drop = Alert.objects.get(kind="class_drop")
    assert drop.detail == {"baseline": 0.9, "now": 0.6}
    # Class checks run at most every 10 s per session; the next one, after recovery, clears it.
    from classroom import live_state

    live_state.client().flushdb()
    for second in range(360, 420, 10):
        observe(session, t0 + timedelta(seconds=second), participants, 0.3)
    alerts_after_frame(session=session, captured_at=t0 + timedelta(seconds=415), bands={}, absent=[])
    assert sorted(open_alerts(session)) == [("class_drop", None), ("class_low", None)]


def test_class_drop_needs_three_minutes_of_baseline(session: ClassSession) -> None:
    [ana] = people(session, "Ana")
    t0 = timezone.now() - timedelta(minutes=5)
    for second in range(0, 90, 10):
        observe(session, t0 + timedelta(seconds=second), [ana], 0.95)
    for second in range(90, 150, 10):
        observe(session, t0 + timedelta(seconds=second), [ana], 0.5)
    alerts_after_frame(session=session, captured_at=t0 + timedelta(seconds=145), bands={}, absent=[])
    assert open_alerts(session) == []


def test_uploads_stopped_is_raised_and_cleared_by_the_periodic_check(session: ClassSession, sent: list[dict[str, Any]]) -> None:
    now = timezone.now()
    ClassSession.objects.filter(pk=session.pk).update(started_at=now - timedelta(seconds=60))
    FrameLog.objects.create(session=session, frame_id="a", captured_at=now, received_at=now - timedelta(seconds=20))
    assert uploads_check(now=now) == 1
    assert uploads_check(now=now) == 0  # raised once
    assert open_alerts(session) == [("uploads_stopped", None)]
    FrameLog.objects.create(session=session, frame_id="b", captured_at=now, received_at=now)
    uploads_check(now=now + timedelta(seconds=1))
    assert open_alerts(session) == []
    assert [e["alert"]["kind"] for e in sent] == ["uploads_stopped", "uploads_stopped"]


def test_ended_sessions_are_not_checked_and_their_alerts_clear(session: ClassSession) -> None:
    [ana] = people(session, "Ana")
    Alert.objects.create(session=session, participant=ana, kind="absent", raised_at=timezone.now())
    session_end(session=session)
    assert uploads_check(now=timezone.now() + timedelta(hours=1)) == 0
    assert open_alerts(session) == []


def test_acknowledge_once(session: ClassSession, sent: list[dict[str, Any]]) -> None:
    alert = Alert.objects.create(session=session, kind="uploads_stopped", raised_at=timezone.now())
    teacher = session.course.teacher
    first = alert_acknowledge(alert=alert, user=teacher)
    again = alert_acknowledge(alert=alert, user=factories.teacher("other"))
    assert first.acknowledged_at == again.acknowledged_at and again.acknowledged_by == teacher
    assert [e["alert"]["acknowledged_by"] for e in sent] == [teacher.username]


def test_thresholds_fall_back_to_defaults_and_are_checked(session: ClassSession, settings: Any) -> None:
    assert thresholds_for(course=session.course).absent_seconds == 30
    assert thresholds_for(course=session.course).class_drop == settings.ALERT_DEFAULTS["class_drop"]
    with pytest.raises(ValueError, match="absent_seconds must be between 10 and 3600"):
        course_alert_thresholds_update(course=session.course, thresholds={"absent_seconds": 5})
    with pytest.raises(ValueError, match="unknown threshold 'bogus'"):
        course_alert_thresholds_update(course=session.course, thresholds={"bogus": 1})
    course_alert_thresholds_update(course=session.course, thresholds={"absent_seconds": None})
    assert thresholds_for(course=session.course).absent_seconds == settings.ALERT_DEFAULTS["absent_seconds"]
    assert set(THRESHOLD_LIMITS) == set(settings.ALERT_DEFAULTS)
