"""What a stored frame marks, and what the live page learns about frames when none arrive: counters that fall, a
series that breaks at gaps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from classroom import events, live_state
from classroom.faces import FaceToRead
from classroom.frames import frame_close, frame_counts_publish, frame_readings_record
from classroom.models import FrameLog, Participant
from classroom.policy import redact
from classroom.selectors import SERIES_GAP_SECONDS, session_history, session_series_point
from classroom.stillness import STILL
from tests.factories import live_session, scored_frame, teacher
from tests.redis_calls import RedisCalls

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, dict[str, Any]]]:
    captured: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", lambda session_id, batch: captured.extend((session_id, event) for event in batch))
    return captured


def received(session: Any, *, seconds_ago: list[float]) -> None:
    now = timezone.now()
    for k, ago in enumerate(seconds_ago):
        at = now - timedelta(seconds=ago)
        FrameLog.objects.create(
            session=session, frame_id=f"{session.pk}-{k}", captured_at=at, received_at=at, status=FrameLog.Status.PROCESSED
        )


def test_a_stored_frame_marks_its_faces_seen_and_a_frame_stored_late_never_turns_that_back(
    sent: list[tuple[int, dict[str, Any]]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    session, _ = live_session()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    bo = Participant.objects.create(session=session, key="Bo", display_name="Bo")
    now = timezone.now()

    def frame(name: str, seconds_ago: float) -> FrameLog:
        at = now - timedelta(seconds=seconds_ago)
        return FrameLog.objects.create(session=session, frame_id=name, captured_at=at, received_at=at)

    def record(log: FrameLog, *seen: Participant) -> None:
        faces = [FaceToRead(participant=p.pk, box=(0, 0, 48, 48), yaw=0.0, pitch=0.0) for p in seen]
        with django_capture_on_commit_callbacks(execute=True):
            frame_readings_record(log=log, faces=faces, mixes={}, detail={}, stages_ms={})

    newer, older, dropped = frame("newer", 2), frame("older", 4), frame("dropped", 1)
    record(newer, ada)
    record(older, ada, bo)  # finished after the newer one, as frames of two ingest processes may
    frame_close(log=dropped, status=FrameLog.Status.DROPPED, detail={"reason": "stale"})

    seen = dict(Participant.objects.values_list("key", "last_seen_at"))
    # A dropped frame was never read: it says nobody was seen.
    assert seen == {"Ada": newer.captured_at, "Bo": older.captured_at}


def test_a_frame_reads_its_students_states_in_one_round_trip_and_writes_them_in_one(
    sent: list[tuple[int, dict[str, Any]]], django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = live_session()
    students = [Participant.objects.create(session=session, key=name, display_name=name) for name in ("Ada", "Bo", "Cy")]
    neutral = [0.0] * 6 + [1.0]
    at = timezone.now()
    log = FrameLog.objects.create(session=session, frame_id="one", captured_at=at, received_at=at)
    faces = [FaceToRead(participant=p.pk, box=(0, 0, 48, 48), yaw=0.0, pitch=0.0, signature=(0.0,) * 16) for p in students]
    redis = RedisCalls(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        frame_readings_record(log=log, faces=faces, mixes={p.pk: neutral for p in students}, detail={}, stages_ms={})

    assert redis.names().count("MGET") == 1
    prefix = live_state.key("")
    writes = [carried for name, carried in redis.calls if name == "PIPELINE" and all(command[0] == "SET" for command in carried)]
    assert len(writes) == 1
    kinds = [str(command[1])[len(prefix) : str(command[1]).rindex(":")] for command in writes[0]]
    # Each student's stillness, baseline, shown expression, smoothed figures and alert state, and the session's stream.
    assert sorted(kinds) == sorted([*["still", "baseline", "shown", "smooth", "alerts"] * 3, "alerts:stream"])


def test_the_counters_of_a_session_whose_uploads_stopped_are_sent_as_they_fall(
    sent: list[tuple[int, dict[str, Any]]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    owner = teacher()
    stopped, _ = live_session(owner=owner, course_name="Stopped half a minute ago")
    fallen, _ = live_session(owner=owner, course_name="Stopped just over a minute ago")
    flowing, _ = live_session(owner=owner, course_name="Frames still arriving")
    long_gone, _ = live_session(owner=owner, course_name="Stopped long ago")
    received(stopped, seconds_ago=[40, 35, 30])
    received(fallen, seconds_ago=[66, 62])
    received(flowing, seconds_ago=[3, 0.5])
    received(long_gone, seconds_ago=[300])

    with django_capture_on_commit_callbacks(execute=True):
        assert frame_counts_publish() == 2
    counts = {session_id: event for session_id, event in sent}
    assert set(counts) == {stopped.pk, fallen.pk}  # a session with frames flowing has them sent with each frame
    assert all(event["type"] == "frames" for event in counts.values())
    assert (counts[stopped.pk]["received"], counts[stopped.pk]["received_last_minute"]) == (3, 3)
    # Its last minute past, a session's counters are sent once more, fallen to zero; after that, no more.
    assert (counts[fallen.pk]["received"], counts[fallen.pk]["received_last_minute"]) == (2, 0)


def test_the_class_series_breaks_where_frames_stopped_and_each_live_point_is_the_historys() -> None:
    session, _ = live_session()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    moments = [start + timedelta(seconds=s) for s in (0, 1, 2, 2.5, 3 + SERIES_GAP_SECONDS + 5, 4 + SERIES_GAP_SECONDS + 5)]
    for k, at in enumerate(moments):
        scored_frame(session, at, {ada: {"engagement": 0.2 * (k % 4) + 0.1}})

    series = session_history(session=session, since_seconds=600)["series"]
    assert [point["gap_before"] for point in series] == [False, False, False, True, False]
    assert series[2]["engagement"] == pytest.approx((0.5 + 0.7) / 2)  # two frames in one second: their faces' mean
    # The point a live event carries for a second is the history's point of that second.
    assert [session_series_point(session_id=session.pk, captured_at=at) for at in (moments[0], moments[3], moments[4])] == [
        series[0],
        series[2],
        series[3],
    ]


def test_under_aggregate_a_still_picture_keeps_its_band_and_a_small_class_its_series_point_withheld() -> None:
    event = {
        "type": "observations",
        "observations": [{"participant": 1, "band": STILL, "present": True, "smoothed": {"band": STILL, "engagement": None}}],
        "class": {"present": 2, "engagement": 0.8},
        "series_point": {"t": "2026-01-01T10:00:00+00:00", "engagement": 0.8, "present": 2, "gap_before": False},
    }
    redacted = redact(payload=event, policy="aggregate")
    assert redacted is not None
    assert redacted["observations"][0]["band"] == STILL and redacted["observations"][0]["smoothed"] is None
    assert redacted["series_point"]["engagement"] is None
