"""Each participant's engagement baseline (their first observations), kept in Redis between frames.

Derived figures only (head angles and expression weights, never pixels), dropped a day after the
baseline's last change. Two inference processes updating one participant at once may lose a
sample: harmless for a median of the first observations.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from classroom import live_state
from classroom.engagement import Baseline, baseline_add

STATE_TTL_SECONDS = 24 * 3600
STATE_KIND = "baseline"  # its live_state kind


def _decode(raw: str | None) -> Baseline | None:
    return _decoded(raw) if raw is not None else None


# A full baseline no longer changes: every frame reads the same text back, so each process decodes it once (the
# baselines of the students it serves; the cached ones are immutable). JSON of hundreds of numbers for every face
# of every frame was a tenth of the domain's time a frame.
@functools.lru_cache(maxsize=1024)
def _decoded(raw: str) -> Baseline:
    data = json.loads(raw)
    mixes = tuple(tuple(mix) for mix in data.pop("mixes", []))
    at = data.pop("at", None)
    return Baseline(**{key: tuple(values) for key, values in data.items()}, mixes=mixes, at=at)


def baselines_for_frame(
    samples: Sequence[tuple[int, float, float, float | None, Sequence[float] | None]], *, at: float | None = None
) -> dict[int, Baseline]:
    """Fold one frame's ``(participant, yaw, pitch, expression weight, expression mix)`` into each participant's
    baseline; return them. ``at`` is the frame's capture time: a frame already folded in (a retried task) is not
    folded in again."""
    stored = live_state.states_load(kind=STATE_KIND, ids=[pid for pid, *_ in samples])
    result: dict[int, Baseline] = {}
    changed: dict[int, str] = {}
    for (pid, yaw, pitch, weight, mix), raw in zip(samples, stored, strict=True):
        previous = _decode(raw)
        result[pid] = baseline_add(previous, yaw=yaw, pitch=pitch, weight=weight, mix=mix, at=at)
        if result[pid] != (previous or Baseline()):
            changed[pid] = live_state.state_json(result[pid])
    live_state.states_save(kind=STATE_KIND, states=changed, ttl_seconds=STATE_TTL_SECONDS)
    return result
