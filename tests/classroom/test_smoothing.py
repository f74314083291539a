"""Temporal smoothing: damping, time awareness, resets, and the Redis-backed per-frame path."""

from __future__ import annotations

import pytest

from classroom.smoothing import RESET_AFTER_SECONDS, Smoothed, smooth, smooth_frame

HAPPY = [0, 0, 0, 1.0, 0, 0, 0]
SAD = [0, 0, 0, 0, 1.0, 0, 0]


def test_first_observation_is_taken_as_is() -> None:
    assert smooth(None, t=10.0, engagement=0.8, probabilities=HAPPY, tau=3.0) == Smoothed(t=10.0, engagement=0.8, probabilities=HAPPY)


def test_a_single_outlier_frame_is_damped() -> None:
    steady = Smoothed(t=0.0, engagement=0.9, probabilities=HAPPY)
    flicker = smooth(steady, t=0.5, engagement=0.1, probabilities=SAD, tau=3.0)
    assert 0.7 < flicker.engagement < 0.9
    assert flicker.probabilities is not None and flicker.probabilities[3] > flicker.probabilities[4]


def test_longer_gaps_weigh_more() -> None:
    steady = Smoothed(t=0.0, engagement=1.0, probabilities=None)
    soon = smooth(steady, t=0.5, engagement=0.0, probabilities=None, tau=3.0)
    later = smooth(steady, t=5.0, engagement=0.0, probabilities=None, tau=3.0)
    assert later.engagement < soon.engagement


@pytest.mark.parametrize("t", [RESET_AFTER_SECONDS + 1.0, -1.0])
def test_long_gap_or_time_going_backwards_resets(t: float) -> None:
    result = smooth(Smoothed(t=0.0, engagement=1.0, probabilities=HAPPY), t=t, engagement=0.2, probabilities=SAD, tau=3.0)
    assert result.engagement == 0.2 and result.probabilities == SAD


def test_smooth_frame_keeps_state_per_participant_in_redis() -> None:
    assert smooth_frame([]) == {}
    smooth_frame([(1, 0.0, 1.0, HAPPY), (2, 0.0, 0.0, SAD)])
    second = smooth_frame([(1, 0.5, 0.0, SAD), (2, 0.5, 0.0, SAD)])
    assert 0.5 < second[1].engagement < 1.0
    assert second[2].engagement == 0.0


def test_the_same_frame_again_is_not_weighed_twice() -> None:
    first = smooth(None, t=10.0, engagement=1.0, probabilities=None, tau=3.0)
    later = smooth(first, t=11.0, engagement=0.0, probabilities=None, tau=3.0)
    assert smooth(later, t=11.0, engagement=0.0, probabilities=None, tau=3.0) == later


def test_a_series_is_folded_as_the_cards_fold_it_frame_by_frame() -> None:
    from classroom.smoothing import smooth_series

    readings = [(0.0, 0.9), (1.0, 0.9), (2.0, 0.1), (3.0, 0.9), (3.0, 0.9), (40.0, 0.3)]
    folded, previous = [], None
    for t, engagement in readings:
        previous = smooth(previous, t=t, engagement=engagement, probabilities=None, tau=3.0)
        folded.append(previous.engagement)
    assert smooth_series(readings, tau=3.0) == folded
    assert smooth_series([], tau=3.0) == []
    # The one-frame dip is damped; the repeated frame changes nothing; after a long gap the average starts over.
    series = smooth_series(readings, tau=3.0)
    assert series[2] > 0.65 and series[4] == series[3] and series[5] == 0.3
