"""The door: capacity learned from the delay in flight, max-min fair shares, and each class's rate told back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from classroom import admission, live_state
from classroom.admission import frame_admit, frame_finished, frame_in_flight, session_sampling
from classroom.selectors import session_frame_counts
from tests.factories import live_session

T0 = 1_800_000_000.0  # an epoch second; every call here says its own "now"


@pytest.fixture
def capacity(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pin the door's capacity at ``fps`` frames per second (its bounds both at that figure)."""

    def pin(fps: float) -> None:
        monkeypatch.setattr(admission, "MIN_CAPACITY_FPS", fps)
        monkeypatch.setattr(admission, "MAX_CAPACITY_FPS", fps)

    return pin


def shares(wants: list[float | None], *, at: float = T0) -> list[float]:
    """Each class (ids 1…n) asks once to register what it wants, then once more; the second answers' ``max_fps``."""
    for sid, wanted in enumerate(wants, start=1):
        frame_admit(session_id=sid, wanted_fps=wanted, now=at)
    return [frame_admit(session_id=sid, wanted_fps=wanted, now=at + 0.01).max_fps for sid, wanted in enumerate(wants, start=1)]


def test_an_unloaded_server_lets_each_class_send_up_to_the_per_session_limit(settings: Any) -> None:
    door = frame_admit(session_id=1, wanted_fps=1.0, now=T0)
    assert door.allowed and not door.reduced
    assert door.max_fps == settings.INGEST_RATE_PER_SECOND


@pytest.mark.parametrize(
    ("cap", "wants", "expected"),
    [
        (2.0, [1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]),  # equal wants: equal shares
        (2.0, [0.5, 1.0, 1.0], [0.5, 0.75, 0.75]),  # a class under its equal share gets what it asks; the others split the rest
        (1.0, [5.0], [1.0]),  # one class alone gets all there is
        (1.0, [None, None], [0.5, 0.5]),  # a client that says nothing asks for 1
        (100.0, [1.0, 2.0], [5.0, 5.0]),  # room for everyone: the per-session limit
    ],
)
def test_capacity_is_shared_max_min_fairly(capacity: Any, cap: float, wants: list[float | None], expected: list[float]) -> None:
    capacity(cap)
    assert shares(wants) == expected


def test_a_malformed_stored_want_counts_as_one_frame_a_second(capacity: Any) -> None:
    capacity(2.0)
    frame_admit(session_id=1, wanted_fps=1.0, now=T0)
    live_state.client().hset(live_state.key("admission", "wants"), "2", "not a number")
    live_state.client().zadd(live_state.key("admission", "active"), {"2": int(1000 * T0)})
    assert frame_admit(session_id=1, wanted_fps=1.0, now=T0 + 0.01).max_fps == 1.0


def test_a_class_that_stopped_uploading_holds_no_share(capacity: Any) -> None:
    capacity(2.0)
    assert shares([1.0, 1.0, 1.0, 1.0]) == [0.5] * 4
    later = T0 + admission.ACTIVE_SECONDS + 1
    assert frame_admit(session_id=1, wanted_fps=1.0, now=later).max_fps == 2.0


def test_a_class_over_its_share_is_throttled_before_a_class_under_it(capacity: Any) -> None:
    # 1.5 frames/s to share: the class asking 0.5 gets all of its frames, the one sending 2 a second gets about 1.
    capacity(1.5)
    admitted = {"greedy": 0, "modest": 0}
    refused = {"greedy": 0, "modest": 0}
    for tick in range(120):  # 60 s in half-second steps
        now = T0 + tick / 2
        sent = [("greedy", 1, 2.0)] + ([("modest", 2, 0.5)] if tick % 4 == 0 else [])
        for name, sid, wanted in sent:
            door = frame_admit(session_id=sid, wanted_fps=wanted, now=now)
            (admitted if door.allowed else refused)[name] += 1
            if name == "greedy" and tick > 0:
                assert door.max_fps == 1.0 and door.reduced
            if name == "modest":
                assert door.max_fps == 0.5 and not door.reduced
    assert refused["modest"] == 0 and admitted["modest"] == 30
    assert refused["greedy"] > 0
    assert admitted["greedy"] <= 60 + 2  # its share over 60 s, and its bucket's depth


def drive_classes(seconds: range, *, finish_at: Callable[[float, int], float], stored: bool, classes: int = 3) -> list[admission.Admission]:
    """``classes`` classes at 1 frame/s over ``seconds`` (after T0); each admitted frame (arrived ``now``, the ``n``-th)
    is in flight until ``finish_at(now, n)`` and then finished (``stored``, or dropped unread). The last answer of each
    second."""
    in_flight: list[tuple[float, int, float]] = []
    answers: list[admission.Admission] = []
    for second in seconds:
        for sid in range(1, classes + 1):
            now = T0 + second + sid / 10
            for done in [f for f in in_flight if f[0] <= now]:
                frame_finished(frame_log_id=done[1], arrived_at=done[2], took_ms=1000 * (done[0] - done[2]), stored=stored)
                in_flight.remove(done)
            door = frame_admit(session_id=sid, wanted_fps=1.0, now=now)
            if door.allowed:
                frame_id = 1000 * second + sid
                frame_in_flight(frame_log_id=frame_id, at=now)
                in_flight.append((finish_at(now, classes * second + sid), frame_id, now))
        answers.append(door)
    for done_at, frame_id, arrived in in_flight:  # the rest come out in their time, before whatever the caller does next
        frame_finished(frame_log_id=frame_id, arrived_at=arrived, took_ms=1000 * (done_at - arrived), stored=stored)
    return answers


def run_classes(seconds: range, *, took_ms: float, stored: bool = True, slow_ms: float | None = None) -> admission.Admission:
    """Every frame in flight for ``took_ms`` (every fifth for ``slow_ms``, when given); the last answer."""

    def finish_at(now: float, n: int) -> float:
        return now + (slow_ms if slow_ms is not None and n % 5 == 0 else took_ms) / 1000

    return drive_classes(seconds, finish_at=finish_at, stored=stored)[-1]


def serve_classes(seconds: range, *, service_s: float, stored: bool) -> list[float]:
    """The frames in front of one worker taking ``service_s`` a frame, first come first served; the door's capacity
    after each second."""
    worker = {"free_at": T0}

    def finish_at(now: float, n: int) -> float:
        worker["free_at"] = max(now, worker["free_at"]) + service_s
        return worker["free_at"]

    return [door.capacity_fps for door in drive_classes(seconds, finish_at=finish_at, stored=stored)]


def test_capacity_is_cut_while_frames_come_out_late_and_grows_back_once_they_do_not(settings: Any) -> None:
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.7
    cut = run_classes(range(6), took_ms=1500)  # the workers are behind: frames take 1.5 s
    assert cut.capacity_fps < 3.0  # below what was coming in
    assert cut.reduced and cut.max_fps < 1.0
    assert session_sampling(session_id=3) == {"max_fps": cut.max_fps, "wanted_fps": 1.0, "reduced_rate": 1}
    back = run_classes(range(6, 60), took_ms=450)  # they keep up again: frames take what they take on a busy machine
    assert back.capacity_fps > 3.0 and not back.reduced and back.max_fps == settings.INGEST_RATE_PER_SECOND


@pytest.mark.parametrize("stored", [True, False])
def test_a_cut_goes_to_a_little_under_what_the_workers_store_and_dropped_frames_do_not_count(settings: Any, stored: bool) -> None:
    """Three frames a second reach a worker that stores two: a backlog forms and frames come out late. The door is cut
    to a little under the two it stores (what it can do, measured while it is busy) and never lower: a door far under
    that only idles it. Frames dropped unread say nothing of what the worker can do: the door falls to its least."""
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.7
    capacities = serve_classes(range(40), service_s=0.5, stored=stored)
    lowest = min(capacities)
    if stored:
        assert lowest == pytest.approx(admission.FLOOR_SHARE * 2, rel=0.01)
    else:
        assert lowest == admission.MIN_CAPACITY_FPS


def test_late_frames_while_the_workers_have_only_just_begun_do_not_cut(settings: Any) -> None:
    """The first frames of a start are slow and come in a burst; until frames have come out for the stored rate's
    window, that rate says nothing of what the workers can do, and the figure holds."""
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.7
    early = run_classes(range(int(admission.STORED_SECONDS) - 1), took_ms=1500)
    assert early.capacity_fps == admission.MAX_CAPACITY_FPS
    later = run_classes(range(int(admission.STORED_SECONDS) - 1, 12), took_ms=1500)
    assert later.reduced


def test_a_few_slow_frames_without_a_backlog_behind_them_do_not_cut(settings: Any) -> None:
    """Every fifth frame takes 1.5 s, the rest 0.3 s: the slowest tenth is over the target, but the frames in flight
    are fewer than the workers store within it (a mean wait of about half a second). Slow frames, not too many."""
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.7
    door = run_classes(range(30), took_ms=300, slow_ms=1500)
    assert door.capacity_fps == admission.MAX_CAPACITY_FPS and not door.reduced


def test_frames_that_came_before_a_cut_do_not_cut_again(settings: Any) -> None:
    """The backlog that made the door cut drains after the cut, its frames late; only what came after the cut counts."""
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.7
    run_classes(range(6), took_ms=300)  # the workers at work for a while, keeping up
    cut = run_classes(range(6, 10), took_ms=1500)
    assert cut.reduced
    for second in range(10, 19):
        frame_finished(frame_log_id=90_000 + second, arrived_at=T0 + 7, took_ms=3000, stored=True)  # the old backlog, still draining
        after = run_classes(range(second, second + 1), took_ms=300)
    assert after.capacity_fps > cut.capacity_fps


def test_a_start_lets_in_no_more_than_the_least_window_until_frames_come_out() -> None:
    """Nothing stored yet (a start): every class is within its share, but only the least window of frames goes in;
    the rest are told the workers are behind and keep their tokens, and go in once frames come out."""
    classes = admission.MIN_WINDOW + 4
    doors = []
    for sid in range(1, classes + 1):
        doors.append(frame_admit(session_id=sid, wanted_fps=1.0, now=T0 + sid / 100))
        if doors[-1].allowed:
            frame_in_flight(frame_log_id=sid, at=T0 + sid / 100)
    assert [door.allowed for door in doors] == [True] * admission.MIN_WINDOW + [False] * 4
    assert all(door.workers_behind and door.retry_after >= 1 for door in doors[admission.MIN_WINDOW :])
    assert not any(door.reduced for door in doors)  # not over any share: the rates are not what refused them
    for sid in range(1, admission.MIN_WINDOW + 1):
        frame_finished(frame_log_id=sid, arrived_at=T0 + sid / 100, took_ms=300, stored=True)
    late = frame_admit(session_id=classes, wanted_fps=1.0, now=T0 + 0.5)
    assert late.allowed and not late.workers_behind


@pytest.mark.parametrize(
    ("stored_per_second", "let_in_at", "refused_at"),
    [(4, 5, 6), (20, 23, 25)],  # 4.8 frames, so the least window of 6; 24 frames
    ids=["few stored: the least window", "what the workers store in two targets"],
)
def test_the_window_is_what_the_workers_store_in_two_targets(
    settings: Any, stored_per_second: int, let_in_at: int, refused_at: int
) -> None:
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.6
    now = T0 + admission.STORED_SECONDS
    for n in range(int(stored_per_second * admission.STORED_SECONDS)):  # stored evenly over the last stored span
        frame_finished(frame_log_id=n, arrived_at=T0 + (n + 0.5) / stored_per_second - 0.1, took_ms=100, stored=True)

    def door_with(in_flight: int) -> admission.Admission:
        live_state.client().delete(live_state.key("inflight"))
        for n in range(in_flight):
            frame_in_flight(frame_log_id=10_000 + n, at=now - 0.1)
        return frame_admit(session_id=1, now=now)

    assert door_with(let_in_at).allowed
    refused = door_with(refused_at)
    assert not refused.allowed and refused.workers_behind and refused.retry_after >= 1


def test_from_a_start_a_worker_slower_than_the_classes_never_holds_a_frame_much_past_the_window(settings: Any) -> None:
    """Eight classes at 1 frame/s in front of one worker storing five a second, from a start (the rates know nothing
    yet and let everything in): the window keeps every admitted frame's wait near two targets, while the worker stays
    busy. Without it, the first seconds' backlog kept every frame seconds late."""
    settings.ADMISSION_TARGET_LATENCY_SECONDS = 0.6
    worker = {"free_at": T0}
    took: list[float] = []

    def finish_at(now: float, n: int) -> float:
        worker["free_at"] = max(now, worker["free_at"]) + 0.2
        took.append(worker["free_at"] - now)
        return worker["free_at"]

    drive_classes(range(30), finish_at=finish_at, stored=True, classes=8)
    assert admission.MIN_WINDOW == 6 and 5 * admission.WINDOW_TARGETS * 0.6 <= 6  # so the window is 6 frames
    assert max(took) <= 6 * 0.2 + 0.05  # a window's worth in front of it, its own read included
    assert len(took) >= 0.9 * 5 * 30  # the worker stored at least nine tenths of what it can


def test_a_frame_stuck_in_flight_cuts_the_capacity_before_any_frame_comes_out(settings: Any) -> None:
    settings.INGEST_MAX_WAIT_SECONDS = 1.0
    frame_in_flight(frame_log_id=99, at=T0 - 3)  # in flight for 3 s already: longer than twice a frame may wait
    doors = [frame_admit(session_id=sid, wanted_fps=1.0, now=T0 + second + sid / 10) for second in range(4) for sid in (1, 2, 3)]
    assert doors[-1].capacity_fps < 3.0 and doors[-1].reduced
    frame_finished(frame_log_id=99, arrived_at=T0 - 3, took_ms=3000, stored=True)
    assert live_state.client().zcard(live_state.key("inflight")) == 0


def test_a_frame_briefly_in_flight_is_no_sign_of_overload(settings: Any) -> None:
    settings.INGEST_MAX_WAIT_SECONDS = 1.0
    frame_in_flight(frame_log_id=5, at=T0 - 1.5)  # being read for a while: slow, not stuck
    assert frame_admit(session_id=1, wanted_fps=1.0, now=T0).delay_ms == 0


def test_a_frame_lost_in_flight_is_forgotten_and_no_longer_slows_the_door(settings: Any) -> None:
    frame_in_flight(frame_log_id=7, at=T0 - admission.FORGET_SECONDS - 1)  # lost to a dead worker
    door = frame_admit(session_id=1, wanted_fps=1.0, now=T0)
    assert door.delay_ms == 0
    assert live_state.client().zcard(live_state.key("inflight")) == 0


@pytest.mark.django_db
def test_the_live_counters_say_when_a_class_is_sampled_below_its_clients_rate(capacity: Any) -> None:
    session, _ = live_session()
    assert "reduced_rate" not in session_frame_counts(session_id=session.pk)  # no upload yet: nothing to say
    capacity(0.5)
    frame_admit(session_id=session.pk, wanted_fps=1.0, now=T0)
    counts = session_frame_counts(session_id=session.pk)
    assert (counts["max_fps"], counts["wanted_fps"], counts["reduced_rate"]) == (0.5, 1.0, 1)
