"""Each participant's shown expression between frames (:mod:`classroom.expressions`), kept in Redis.

Derived figures only (a label, a confidence, a time), dropped an hour after the participant's last frame, as
the smoothing state is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from classroom import live_state
from classroom.expressions import ShownExpression, expression_shown

STATE_TTL_SECONDS = 3600


def shown_for_frame(samples: Sequence[tuple[int, float, Sequence[float], Sequence[float] | None]]) -> dict[int, ShownExpression]:
    """The shown expression of each ``(participant, t, probabilities, resting mix or None)`` of one frame; state lives in Redis."""
    stored = live_state.states_load(kind="shown", ids=[pid for pid, *_ in samples])
    result: dict[int, ShownExpression] = {}
    for (pid, t, probabilities, rest), raw in zip(samples, stored, strict=True):
        previous = ShownExpression(**json.loads(raw)) if raw else None
        result[pid] = expression_shown(probabilities=probabilities, rest=rest, previous=previous, t=t)
    live_state.states_save(
        kind="shown", states={pid: json.dumps(asdict(value)) for pid, value in result.items()}, ttl_seconds=STATE_TTL_SECONDS
    )
    return result
