"""The apparent expression a teacher is shown: relative to the student's own resting face, only when clear, held
against flicker.

The model reads every face as a mix of seven expressions, and many calm faces read partly sad or fearful (a
resting mouth, a brow, a camera angle). Shown raw, frame by frame, a calm class looks anxious. So, for each
student:

- **rest**: their resting mix, the median of their first observations' mixes (the engagement baseline's
  samples, :class:`classroom.engagement.Baseline`); before enough exist, ``EXPRESSION_REST_PRIOR``, the mean
  mix the served model gives faces labelled neutral in FER2013's PublicTest, with the stricter
  ``EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST`` (their first seconds must not show a calm face as sad).
- **a clear expression**: the expression that rose most above rest has risen by at least
  ``EXPRESSION_CHANGE_MARGIN`` and reads at least ``EXPRESSION_CLEAR_CONFIDENCE`` (chosen on PublicTest with
  the calibrated model: a shown expression is right 83% of the time there). It is shown at once, from its
  first clear frame: at 1 frame/s an expression may last only a few frames.
- **at rest**: no expression rose above rest by more than ``EXPRESSION_REST_MARGIN``: shown *neutral* at once,
  whatever the model reads in this student's resting face.
- **unclear** (in between): the card keeps what it showed, for at most ``EXPRESSION_HOLD_SECONDS`` after its
  last clear frame, then shows *neutral*. One doubtful frame never flips a card.

What is shown is what is stored (``Observation.expression``), so the class mix, alerts, rollups, reports and
exports all count the same thing; the model's raw output is kept beside it (``Observation.probabilities``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from classroom import live_state
from classroom.models import EXPRESSIONS

NEUTRAL = "neutral"


@dataclass(frozen=True)
class ShownExpression:
    """What a student's card shows: ``label``, how clearly (``confidence``, 0..1), and when a frame last was clear."""

    label: str
    confidence: float
    clear_at: float  # epoch seconds of the last clear frame (an expression or rest)
    t: float | None = None  # the frame this was decided for: the same frame again (a retried task) changes nothing


def rest_mix(samples: Sequence[Sequence[float]], *, ready: bool) -> list[float] | None:
    """The student's resting mix: the per-expression median of their first mixes once ``ready``; ``None`` before."""
    if not ready or not samples:
        return None
    return [float(statistics.median(column)) for column in zip(*samples, strict=True)]


def expression_shown(
    *, probabilities: Sequence[float], rest: Sequence[float] | None, previous: ShownExpression | None, t: float
) -> ShownExpression:
    """The expression to show for one frame (see the module docstring); ``rest`` the student's resting mix (``None``
    while unknown: the prior stands in, and only a very clear expression is shown); ``previous`` what the card showed."""
    if previous is not None and previous.t == t:
        return previous
    clear = settings.EXPRESSION_CLEAR_CONFIDENCE if rest is not None else settings.EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST
    rest = rest if rest is not None else settings.EXPRESSION_REST_PRIOR
    if len(probabilities) != len(EXPRESSIONS) or len(rest) != len(EXPRESSIONS):
        raise ValueError(f"expected {len(EXPRESSIONS)} probabilities and {len(EXPRESSIONS)} resting ones")
    rises = {name: float(p) - float(r) for name, p, r in zip(EXPRESSIONS, probabilities, rest, strict=True) if name != NEUTRAL}
    risen = max(rises, key=lambda name: rises[name])
    rise = rises[risen]
    confidence = float(probabilities[EXPRESSIONS.index(risen)])
    if rise >= settings.EXPRESSION_CHANGE_MARGIN and confidence >= clear:
        return ShownExpression(label=risen, confidence=round(confidence, 4), clear_at=t, t=t)
    if rise <= settings.EXPRESSION_REST_MARGIN:
        # How close to rest the face is: 1 at rest, down to 0 at the margin.
        closeness = 1.0 - max(0.0, rise) / settings.EXPRESSION_REST_MARGIN if settings.EXPRESSION_REST_MARGIN > 0 else 1.0
        return ShownExpression(label=NEUTRAL, confidence=round(closeness, 4), clear_at=t, t=t)
    if previous is not None and 0 <= t - previous.clear_at <= settings.EXPRESSION_HOLD_SECONDS:
        return ShownExpression(label=previous.label, confidence=previous.confidence, clear_at=previous.clear_at, t=t)
    return ShownExpression(label=NEUTRAL, confidence=0.0, clear_at=previous.clear_at if previous is not None else t, t=t)


STATE_TTL_SECONDS = 3600  # the shown expression between frames: derived figures only, dropped an hour after the last
STATE_KIND = "shown"  # its live_state kind


def shown_for_frame(samples: Sequence[tuple[int, float, Sequence[float], Sequence[float] | None]]) -> dict[int, ShownExpression]:
    """The shown expression of each ``(participant, t, probabilities, resting mix or None)`` of one frame; state lives in Redis."""
    stored = live_state.states_load(kind=STATE_KIND, ids=[pid for pid, *_ in samples])
    result: dict[int, ShownExpression] = {}
    for (pid, t, probabilities, rest), raw in zip(samples, stored, strict=True):
        previous = ShownExpression(**json.loads(raw)) if raw else None
        result[pid] = expression_shown(probabilities=probabilities, rest=rest, previous=previous, t=t)
    live_state.states_save(
        kind=STATE_KIND, states={pid: live_state.state_json(value) for pid, value in result.items()}, ttl_seconds=STATE_TTL_SECONDS
    )
    return result
