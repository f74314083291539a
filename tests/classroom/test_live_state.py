"""Per-student states in Redis: read and written one kind at a time, or a frame's all at once in a batch."""

from __future__ import annotations

from typing import Any

import pytest

from classroom import live_state
from classroom.live_state import states_batch, states_load, states_save
from tests.redis_calls import RedisCalls


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> RedisCalls:
    live_state.client().flushdb()
    return RedisCalls(monkeypatch)


@pytest.mark.parametrize(
    ("stored", "ids", "expected"),
    [
        ({}, [], []),
        ({}, [1, 2], [None, None]),
        ({1: '{"a": 1}'}, [1, 2], ['{"a": 1}', None]),
    ],
    ids=["no ids", "none stored", "one of two stored"],
)
def test_states_load_and_save_outside_a_batch(commands: RedisCalls, stored: dict[int, str], ids: list[int], expected: list[Any]) -> None:
    states_save(kind="k", states=stored, ttl_seconds=60)
    assert states_load(kind="k", ids=ids) == expected
    assert all(0 < live_state.client().ttl(live_state.key("k", pid)) <= 60 for pid in stored)


def test_a_batch_reads_its_states_in_one_round_trip_and_writes_them_in_one_when_it_ends(commands: RedisCalls) -> None:
    states_save(kind="a", states={1: "a1"}, ttl_seconds=60)
    states_save(kind="b", states={1: "b1", 2: "b2"}, ttl_seconds=60)
    commands.clear()
    with states_batch(prefetch={"a": [1, 2], "b": [1, 2]}):
        assert states_load(kind="a", ids=[1, 2]) == ["a1", None]
        assert states_load(kind="b", ids=[2, 1]) == ["b2", "b1"]
        states_save(kind="a", states={2: "a2"}, ttl_seconds=60)
        assert states_load(kind="a", ids=[2]) == ["a2"]  # the batch reads its own writes
        assert live_state.client().get(live_state.key("a", 2)) is None  # not written yet
        assert commands.names() == ["MGET", "GET"]  # the prefetch, and the check above
        commands.clear()
    assert commands.names() == ["PIPELINE of 1"]
    assert states_load(kind="a", ids=[2]) == ["a2"]
    assert 0 < live_state.client().ttl(live_state.key("a", 2)) <= 60


def test_a_batch_reads_what_it_did_not_prefetch_at_once(commands: RedisCalls) -> None:
    states_save(kind="c", states={7: "c7"}, ttl_seconds=60)
    with states_batch(prefetch={}):
        assert states_load(kind="c", ids=[7, 8]) == ["c7", None]
        assert states_load(kind="c", ids=[7, 8]) == ["c7", None]  # read once
    assert commands.names().count("MGET") == 1


def test_a_batch_that_fails_writes_nothing(commands: RedisCalls) -> None:
    with pytest.raises(RuntimeError), states_batch(prefetch={"a": [1]}):
        states_save(kind="a", states={1: "changed"}, ttl_seconds=60)
        raise RuntimeError("the frame failed")
    assert states_load(kind="a", ids=[1]) == [None]


def test_a_batch_inside_another_joins_it(commands: RedisCalls) -> None:
    with states_batch(prefetch={"a": [1]}):
        with states_batch(prefetch={"a": [2]}):
            states_save(kind="a", states={1: "inner"}, ttl_seconds=60)
        assert live_state.client().get(live_state.key("a", 1)) is None  # the outer batch writes it
    assert states_load(kind="a", ids=[1]) == ["inner"]
