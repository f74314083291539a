"""The whole-session expression mix, counted once on the server: the session report's figure, rolled up or not yet."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from classroom.models import EXPRESSIONS, ClassSample, ClassSession, Course, FrameLog, Observation, Participant
from classroom.reports import session_report
from classroom.rollups import minute_of, rollups_refresh, session_mix_event, session_mix_so_far
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> ClassSession:
    session, _ = factories.live_session()
    ClassSession.objects.filter(pk=session.pk).update(started_at=minute_of(timezone.now()) - timedelta(minutes=10))
    session.refresh_from_db()
    return session


@pytest.fixture
def ada(session: ClassSession) -> Participant:
    return Participant.objects.create(session=session, key="Ada", display_name="Ada")


@pytest.fixture
def ben(session: ClassSession) -> Participant:
    return Participant.objects.create(session=session, key="Ben", display_name="Ben")


def shown(session: ClassSession, at: datetime, faces: dict[Participant, str]) -> None:
    """A processed frame at ``at`` in which each participant is shown the given expression."""
    factories.scored_frame(session, at, {p: {"engagement": 0.8, "expression": expression} for p, expression in faces.items()})


def mix(**counts: int) -> dict[str, float]:
    total = sum(counts.values())
    return {name: round(counts.get(name, 0) / total, 4) for name in EXPRESSIONS}


def test_it_is_the_reports_session_mix(session: ClassSession, ada: Participant, ben: Participant) -> None:
    t0 = session.started_at
    for second in range(0, 150, 3):  # three minutes: Ada neutral throughout, Ben sad for the first minute
        shown(session, t0 + timedelta(seconds=second), {ada: "neutral", **({ben: "sad"} if second < 60 else {})})
    rollups_refresh(session=session)
    assert session_report(session=session)["session_mix"] == mix(neutral=50, sad=20)
    assert session_mix_so_far(session=session) == session_report(session=session)["session_mix"]


def test_minutes_not_rolled_up_yet_count_as_the_next_refresh_stores_them(session: ClassSession, ada: Participant, ben: Participant) -> None:
    t0 = session.started_at
    for second in range(0, 300, 3):  # minutes 0 to 4
        shown(session, t0 + timedelta(seconds=second), {ada: "happy"})
    rollups_refresh(session=session, now=t0 + timedelta(seconds=300))
    rolled = session_report(session=session)["session_mix"]
    assert rolled == mix(happy=100)
    # A refresh recomputes only its last minutes: the earlier ones are read as stored, even once their frames are gone.
    ClassSample.objects.filter(session=session, captured_at__lt=t0 + timedelta(minutes=1)).delete()
    # Frames after the refresh: a late one in the last rolled minute, one in a minute not rolled at all, the current one.
    now = t0 + timedelta(minutes=7, seconds=10)
    shown(session, t0 + timedelta(minutes=4, seconds=59), {ada: "happy", ben: "surprise"})
    shown(session, t0 + timedelta(minutes=6, seconds=30), {ada: "sad", ben: "sad"})
    shown(session, now, {ada: "neutral"})
    so_far = session_mix_so_far(session=session, now=now)
    assert so_far != rolled  # the frames not rolled up yet count already
    rollups_refresh(session=session, now=now)
    assert so_far == session_report(session=session)["session_mix"] == mix(happy=101, surprise=1, sad=2, neutral=1)


def test_a_finished_session_reads_its_stored_rollups_only(session: ClassSession, ada: Participant) -> None:
    t0 = session.started_at
    for second in range(0, 60, 2):
        shown(session, t0 + timedelta(seconds=second), {ada: "fear" if second < 20 else "neutral"})
    rollups_refresh(session=session, full=True)
    ClassSession.objects.filter(pk=session.pk).update(status=ClassSession.Status.ENDED, ended_at=t0 + timedelta(minutes=1))
    session.refresh_from_db()
    # The per-sample series is purged long before the rollups (retention): the figure stays the report's.
    for model in (Observation, ClassSample, FrameLog):
        model.objects.filter(session=session).delete()
    assert session_mix_so_far(session=session) == session_report(session=session)["session_mix"] == mix(fear=10, neutral=20)


def test_an_empty_session_has_no_mix(session: ClassSession) -> None:
    rollups_refresh(session=session)
    assert session_mix_so_far(session=session) is None
    assert session_report(session=session)["session_mix"] is None


def test_frames_without_a_shown_expression_give_no_mix(session: ClassSession, ada: Participant) -> None:
    shown(session, session.started_at, {ada: ""})
    assert session_mix_so_far(session=session) is None


def test_none_under_the_attention_policy(session: ClassSession, ada: Participant) -> None:
    shown(session, session.started_at, {ada: "happy"})
    rollups_refresh(session=session)
    Course.objects.filter(pk=session.course_id).update(privacy_policy="attention")
    session.refresh_from_db()
    assert session_mix_so_far(session=session) is None
    assert session_mix_event(session=session)["session_mix"] is None


def test_the_event_carries_the_mix_and_the_faces_present(session: ClassSession, ada: Participant, ben: Participant) -> None:
    shown(session, session.started_at, {ada: "happy", ben: "angry"})
    shown(session, session.started_at + timedelta(seconds=1), {ada: "happy"})
    event = session_mix_event(session=session)
    assert event == {"type": "session_mix", "session": session.pk, "session_mix": mix(happy=2, angry=1), "present": 1}
