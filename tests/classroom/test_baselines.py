"""Per-participant engagement baselines kept in Redis between frames."""

from __future__ import annotations

from typing import Any

import pytest

from classroom import baselines, live_state
from classroom.baselines import baselines_for_frame

MIX = (0.1, 0.0, 0.0, 0.2, 0.1, 0.0, 0.6)


def test_baselines_accumulate_per_participant_across_frames(settings: Any) -> None:
    settings.ENGAGEMENT_BASELINE_SAMPLES = 3
    for yaw in (10.0, 12.0, 14.0, 40.0):
        result = baselines_for_frame([(1, yaw, 2.0, 0.6, MIX), (2, -yaw, 0.0, None, None)])
    assert result[1].yaws == (10.0, 12.0, 14.0)  # full after three: the fourth sample is not folded in
    assert result[1].weights == (0.6, 0.6, 0.6)
    assert result[1].mixes == (MIX, MIX, MIX)  # the resting face's expression mixes, read back from Redis as tuples
    assert result[2].yaws == (-10.0, -12.0, -14.0)
    assert result[2].weights == result[2].mixes == ()  # attention policy: no expressions


def test_an_empty_frame_changes_nothing() -> None:
    assert baselines_for_frame([]) == {}


def test_state_expires_and_holds_no_pixels(settings: Any) -> None:
    baselines_for_frame([(7, 1.0, 2.0, 0.5, MIX)])
    keys = [key.decode() for key in live_state.client().keys("*baseline*")]
    assert keys == [f"{settings.INGEST_KEY_PREFIX}:baseline:7"]
    assert 0 < live_state.client().ttl(keys[0]) <= 24 * 3600
    stored = b'{"yaws": [1.0], "pitches": [2.0], "weights": [0.5], "mixes": [[0.1, 0.0, 0.0, 0.2, 0.1, 0.0, 0.6]], "at": null}'
    assert live_state.client().get(keys[0]) == stored


@pytest.mark.parametrize("yaw", [float("nan"), float("-inf")])
def test_unknown_pose_is_not_stored(yaw: float) -> None:
    assert baselines_for_frame([(3, yaw, 0.0, 0.5, MIX)])[3].yaws == ()
    assert live_state.client().keys("*baseline*") == []


def test_a_full_baseline_is_decoded_once_and_read_back_the_same(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ENGAGEMENT_BASELINE_SAMPLES = 2
    baselines._decoded.cache_clear()
    for t, yaw in enumerate((10.0, 12.0, 14.0)):
        full = baselines_for_frame([(7, yaw, 2.0, 0.6, MIX)], at=float(t))[7]
    decoded: list[str] = []
    loads = baselines.json.loads
    monkeypatch.setattr(baselines.json, "loads", lambda raw: decoded.append(raw) or loads(raw))
    for t in (3.0, 4.0, 5.0):
        assert baselines_for_frame([(7, 30.0, 2.0, 0.6, MIX)], at=t)[7] == full
    assert decoded == []  # the stored text of a full baseline no longer changes: decoded when first read, not again
    assert full.yaws == (10.0, 12.0)
