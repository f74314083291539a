"""The engagement indicator: attention (head pose) × expression factor, each relative to the student's own baseline.

A documented heuristic, not a truth claim (after Sharma et al., 2019, with head pose in place of gaze):

- **attention** is 1 while the head stays within ``ENGAGEMENT_FREE_DEGREES`` of the student's own
  resting pose and falls linearly to 0 at ``ENGAGEMENT_AWAY_YAW_DEGREES`` (turned aside),
  ``ENGAGEMENT_AWAY_DOWN_DEGREES`` (looking down, e.g. at a phone) or ``ENGAGEMENT_AWAY_UP_DEGREES``;
  the worse axis decides.
- **expression factor** is ``1 − influence × max(0, 1 − w / w_ref)``: ``w`` is the probability-weighted
  expression weight and ``w_ref`` the student's own resting weight. A resting face, whatever the model
  reads in it, costs nothing; only a sustained shift towards low-weight expressions lowers the score,
  and by at most ``ENGAGEMENT_EXPRESSION_INFLUENCE`` — so expression alone never makes a student
  "not engaged", only looking away does.
- The **baseline** is the median of the student's first ``ENGAGEMENT_BASELINE_SAMPLES`` observations
  (their camera angle, the pose estimator's bias on their face, their resting expression). Its pose
  part absorbs at most ``ENGAGEMENT_BASELINE_MAX_YAW/PITCH_DEGREES``, so a student who looks away from
  the start still reads as looking away. Until ``ENGAGEMENT_BASELINE_MIN_SAMPLES`` exist, a frontal
  pose and ``ENGAGEMENT_EXPRESSION_PRIOR`` stand in.

Bands: above ``ENGAGEMENT_BANDS["engaged"]`` engaged, from ``ENGAGEMENT_BANDS["partly"]`` partly, below
not engaged; no face is ``absent``, never "not engaged".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from classroom.models import EXPRESSIONS

ABSENT = "absent"
BANDS = ("engaged", "partly", "not_engaged", ABSENT)


@dataclass(frozen=True)
class Baseline:
    """A student's first observations: head yaw and pitch (degrees), expression weight and mix (none without expressions)."""

    yaws: tuple[float, ...] = ()
    pitches: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    mixes: tuple[tuple[float, ...], ...] = ()  # the expression mixes, for the resting face (classroom.expressions)
    at: float | None = None  # the capture time (epoch s) of the last frame folded in: a retried frame is not folded twice

    @property
    def ready(self) -> bool:
        """Enough samples to stand for the student's resting face."""
        return len(self.yaws) >= settings.ENGAGEMENT_BASELINE_MIN_SAMPLES

    def pose(self) -> tuple[float, float]:
        """The resting (yaw, pitch) the attention term is measured from: clamped medians, or frontal before ready."""
        if not self.ready:
            return 0.0, 0.0
        max_yaw, max_pitch = settings.ENGAGEMENT_BASELINE_MAX_YAW_DEGREES, settings.ENGAGEMENT_BASELINE_MAX_PITCH_DEGREES
        return _clamp(statistics.median(self.yaws), max_yaw), _clamp(statistics.median(self.pitches), max_pitch)

    def expression_reference(self) -> float:
        """The resting expression weight: the median of the student's first weights, or the prior before ready."""
        if not self.ready or not self.weights:
            return float(settings.ENGAGEMENT_EXPRESSION_PRIOR)
        return statistics.median(self.weights)


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def baseline_add(
    baseline: Baseline | None,
    *,
    yaw: float,
    pitch: float,
    weight: float | None,
    mix: Sequence[float] | None = None,
    at: float | None = None,
) -> Baseline:
    """``baseline`` with one more observation folded in; full baselines (and unknown poses) stay as they are, and so
    does a baseline that already holds the frame captured ``at`` (or a later one): a retried frame counts once."""
    current = baseline or Baseline()
    if at is not None and current.at is not None and at <= current.at:
        return current
    if len(current.yaws) >= settings.ENGAGEMENT_BASELINE_SAMPLES or not (math.isfinite(yaw) and math.isfinite(pitch)):
        return current
    weights = current.weights if weight is None else (*current.weights, weight)
    mixes = current.mixes if mix is None else (*current.mixes, tuple(round(float(p), 4) for p in mix))
    return Baseline(yaws=(*current.yaws, yaw), pitches=(*current.pitches, pitch), weights=weights, mixes=mixes, at=at)


def _falloff(deviation: float, *, free: float, away: float) -> float:
    """1 up to ``free`` degrees, 0 from ``away`` degrees, linear in between."""
    if deviation <= free:
        return 1.0
    if deviation >= away:
        return 0.0
    return 1.0 - (deviation - free) / (away - free)


def attention_weight(*, yaw: float, pitch: float, baseline: Baseline | None = None) -> float:
    """How far the head is from the student's resting pose, as 1 (looking at the class) … 0 (looking away).

    Without a pose estimate (non-finite angles) nothing is known against attention: 1.
    """
    if not (math.isfinite(yaw) and math.isfinite(pitch)):
        return 1.0
    rest_yaw, rest_pitch = (baseline or Baseline()).pose()
    free = settings.ENGAGEMENT_FREE_DEGREES
    yaw_term = _falloff(abs(yaw - rest_yaw), free=free, away=settings.ENGAGEMENT_AWAY_YAW_DEGREES)
    tilt = pitch - rest_pitch
    pitch_away = settings.ENGAGEMENT_AWAY_UP_DEGREES if tilt > 0 else settings.ENGAGEMENT_AWAY_DOWN_DEGREES
    pitch_term = _falloff(abs(tilt), free=free, away=pitch_away)
    return min(yaw_term, pitch_term)


def expression_weight(probabilities: Sequence[float]) -> float:
    """Probability-weighted expression weight in 0..1 (``ENGAGEMENT_EXPRESSION_WEIGHTS``)."""
    if len(probabilities) != len(EXPRESSIONS):
        raise ValueError(f"expected {len(EXPRESSIONS)} probabilities, got {len(probabilities)}")
    weights: Mapping[str, float] = settings.ENGAGEMENT_EXPRESSION_WEIGHTS
    total = float(sum(probabilities))
    if total <= 0:
        raise ValueError("probabilities must sum to a positive number")
    return sum(weights[name] * float(p) for name, p in zip(EXPRESSIONS, probabilities, strict=True)) / total


def expression_factor(probabilities: Sequence[float] | None, *, baseline: Baseline | None = None) -> float:
    """1 at or above the student's resting expression weight, down to ``1 − influence``; 1 without expressions."""
    if probabilities is None:
        return 1.0
    reference = max((baseline or Baseline()).expression_reference(), 1e-6)
    shortfall = max(0.0, 1.0 - expression_weight(probabilities) / reference)
    return 1.0 - settings.ENGAGEMENT_EXPRESSION_INFLUENCE * min(1.0, shortfall)


def engagement_score(*, probabilities: Sequence[float] | None, yaw: float, pitch: float, baseline: Baseline | None = None) -> float:
    """The indicator in 0..1: attention × expression factor, both against ``baseline`` (the student's own)."""
    score = attention_weight(yaw=yaw, pitch=pitch, baseline=baseline) * expression_factor(probabilities, baseline=baseline)
    return min(1.0, max(0.0, score))


def engagement_band(score: float | None) -> str:
    """``engaged`` / ``partly`` / ``not_engaged``; no face (``None``) is ``absent``, never not engaged."""
    if score is None:
        return ABSENT
    bands = settings.ENGAGEMENT_BANDS
    if score > bands["engaged"]:
        return "engaged"
    if score >= bands["partly"]:
        return "partly"
    return "not_engaged"
