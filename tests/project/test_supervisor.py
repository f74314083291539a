"""The stack supervisor on real child processes: a dead part is restarted, a held one is not, a stalled worker is."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from project import supervisor as supervision
from project.stack import Stack
from project.supervisor import MAX_RESTARTS, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(redis_port=None, log_dir=tmp_path / "logs", supervised=False)
    try:
        yield running
    finally:
        running.stop()


def crash(stack: Stack, name: str) -> None:
    """Kill a part behind the stack's back, as a crash would."""
    process = stack.processes[name]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_part_that_died_is_started_again(stack: Stack) -> None:
    stack.spawn("beat", SLEEPER)
    first = stack.processes["beat"].pid
    crash(stack, "beat")

    made = Supervisor(stack, queue_length=lambda queue: 0).check()

    assert [(revival.part, revival.reason) for revival in made] == [("beat", "exited with -9")]
    assert stack.processes["beat"].pid != first
    assert stack.processes["beat"].poll() is None
    assert "beat exited with -9; restarting it" in (stack.log_dir / "supervisor.log").read_text()


def test_a_live_part_and_a_part_killed_on_purpose_are_left_alone(stack: Stack) -> None:
    stack.spawn("beat", SLEEPER)
    stack.spawn("daphne", SLEEPER)
    stack.kill("daphne")

    assert Supervisor(stack, queue_length=lambda queue: 0).check() == []
    assert stack.processes["daphne"].poll() is not None
    assert stack.failed() is None  # held, not failed: the caller restarts it


def test_a_part_that_keeps_dying_is_given_up_and_reported(stack: Stack) -> None:
    stack.spawn("beat", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = Supervisor(stack, queue_length=lambda queue: 0)
    stack.supervisor = supervisor
    for _ in range(MAX_RESTARTS + 1):
        stack.processes["beat"].wait()
        supervisor.check()

    assert len(supervisor.revivals) == MAX_RESTARTS
    assert supervisor.given_up == {"beat"}
    assert stack.failed() == "beat"


def test_an_optional_part_that_finished_is_left_down_and_stops_nothing(stack: Stack) -> None:
    stack.spawn("replay", [sys.executable, "-c", "raise SystemExit(0)"], optional=True)
    stack.processes["replay"].wait()

    assert Supervisor(stack, queue_length=lambda queue: 0).check() == []
    assert stack.finished("replay")
    assert stack.failed() is None


def test_an_optional_part_that_keeps_failing_is_given_up_but_stops_nothing(stack: Stack) -> None:
    stack.spawn("replay", [sys.executable, "-c", "raise SystemExit(2)"], optional=True)
    supervisor = Supervisor(stack, queue_length=lambda queue: 0)
    stack.supervisor = supervisor
    for _ in range(MAX_RESTARTS + 1):
        stack.processes["replay"].wait()
        supervisor.check()

    assert supervisor.given_up == {"replay"}
    assert not stack.finished("replay")  # it failed; it did not finish
    assert stack.failed() is None


def test_an_unsupervised_stack_reports_a_dead_needed_part_but_not_an_optional_one(stack: Stack) -> None:
    stack.spawn("replay", [sys.executable, "-c", "raise SystemExit(2)"], optional=True)
    stack.processes["replay"].wait()
    assert stack.failed() is None
    stack.spawn("beat", [sys.executable, "-c", "raise SystemExit(2)"])
    stack.processes["beat"].wait()
    assert stack.failed() == "beat"


@pytest.mark.parametrize(
    ("waiting", "silent_s", "restarted"),
    [
        (3, 31.0, True),  # tasks wait and the worker has logged nothing for longer than the limit
        (0, 31.0, False),  # an idle worker with an empty queue is quiet, not stalled
        (3, 10.0, False),  # quiet for less than the limit
    ],
)
def test_a_worker_is_restarted_only_when_its_queue_waits_and_its_log_is_still(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, waiting: int, silent_s: float, restarted: bool
) -> None:
    stack.spawn("worker-ingest", SLEEPER)
    first = stack.processes["worker-ingest"].pid
    clock = [1000.0]
    monkeypatch.setattr(supervision.time, "monotonic", lambda: clock[0])
    supervisor = Supervisor(stack, stall_seconds=30, queue_length=lambda queue: waiting if queue == "ingest" else 0)

    assert supervisor.check() == []  # the first pass only notes the log's size
    clock[0] += silent_s
    made = supervisor.check()

    assert bool(made) is restarted
    assert (stack.processes["worker-ingest"].pid != first) is restarted
    if restarted:
        assert made[0].reason == f"stalled: 3 tasks waiting in 'ingest' and no log line for {silent_s:.0f} s"


def test_a_worker_whose_log_grows_is_not_stalled(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack.spawn("worker-inference", SLEEPER)
    clock = [1000.0]
    monkeypatch.setattr(supervision.time, "monotonic", lambda: clock[0])
    supervisor = Supervisor(stack, stall_seconds=30, queue_length=lambda queue: 5)
    supervisor.check()
    for _ in range(3):
        clock[0] += 20
        with (stack.log_dir / "worker-inference.log").open("a") as log:
            log.write("Task inference.tasks.infer_frame[...] succeeded\n")
        assert supervisor.check() == []
