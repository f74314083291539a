"""Temporal smoothing so the dashboard does not flicker; raw values are still what is stored.

A time-aware exponential moving average per participant (time constant ``SMOOTHING_SECONDS``):
frames arriving at any rate weigh in by the time they cover, and after a gap longer than
``RESET_AFTER_SECONDS`` the average starts over instead of dragging stale values along.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from classroom import live_state

RESET_AFTER_SECONDS = 30.0
STATE_TTL_SECONDS = 3600
STATE_KIND = "smooth"  # its live_state kind


@dataclass(frozen=True)
class Smoothed:
    """The running average of one participant at time ``t`` (epoch seconds)."""

    t: float
    engagement: float
    probabilities: list[float] | None


def smooth(previous: Smoothed | None, *, t: float, engagement: float, probabilities: Sequence[float] | None, tau: float) -> Smoothed:
    """Fold one raw observation into the running average."""
    probs = [float(p) for p in probabilities] if probabilities is not None else None
    if previous is not None and t == previous.t:
        return previous  # this frame is already in (a retried task): folding it again would weigh it twice
    if previous is None or t - previous.t > RESET_AFTER_SECONDS or t < previous.t or tau <= 0:
        return Smoothed(t=t, engagement=engagement, probabilities=probs)
    alpha = 1.0 - math.exp(-(t - previous.t) / tau)
    mixed_engagement = previous.engagement + alpha * (engagement - previous.engagement)
    if probs is None or previous.probabilities is None:
        mixed_probs = probs
    else:
        mixed_probs = [p0 + alpha * (p1 - p0) for p0, p1 in zip(previous.probabilities, probs, strict=True)]
    return Smoothed(t=t, engagement=mixed_engagement, probabilities=mixed_probs)


def smoothed_load(*, ids: Sequence[int]) -> dict[int, Smoothed]:
    """Each participant's running average as the last frame left it, where Redis still holds one."""
    stored = live_state.states_load(kind=STATE_KIND, ids=ids)
    return {pid: Smoothed(**json.loads(raw)) for pid, raw in zip(ids, stored, strict=True) if raw}


def smooth_frame(observations: Sequence[tuple[int, float, float, Sequence[float] | None]]) -> dict[int, Smoothed]:
    """Smooth one frame's observations ``(participant, t, engagement, probabilities)``; state lives in Redis."""
    stored = live_state.states_load(kind=STATE_KIND, ids=[pid for pid, *_ in observations])
    result: dict[int, Smoothed] = {}
    for (pid, t, engagement, probs), raw in zip(observations, stored, strict=True):
        previous = Smoothed(**json.loads(raw)) if raw else None
        result[pid] = smooth(previous, t=t, engagement=engagement, probabilities=probs, tau=settings.SMOOTHING_SECONDS)
    live_state.states_save(
        kind=STATE_KIND, states={pid: live_state.state_json(value) for pid, value in result.items()}, ttl_seconds=STATE_TTL_SECONDS
    )
    return result


def smooth_series(readings: Sequence[tuple[float, float]], *, tau: float) -> list[float]:
    """The running average after each of ``readings`` (``(t, engagement)``, in time order), folded as the live cards
    fold them (:func:`smooth`): the series a participant's badge was read from, for their drill-down chart."""
    series: list[float] = []
    previous: Smoothed | None = None
    for t, engagement in readings:
        previous = smooth(previous, t=t, engagement=engagement, probabilities=None, tau=tau)
        series.append(previous.engagement)
    return series
