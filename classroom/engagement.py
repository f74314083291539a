"""The engagement indicator (DESIGN.md): expression weight × attention weight, normalised, banded.

A documented heuristic, not a truth claim (Sharma et al., 2019, with head pose in place of gaze).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.conf import settings

from classroom.models import EXPRESSIONS

ABSENT = "absent"
BANDS = ("engaged", "partly", "not_engaged", ABSENT)


def attention_weight(*, yaw: float, pitch: float) -> float:
    """1 for a frontal face, falling linearly to 0 at the configured yaw/pitch limits."""
    yaw_term = max(0.0, 1.0 - abs(yaw) / settings.ENGAGEMENT_MAX_YAW_DEGREES)
    pitch_term = max(0.0, 1.0 - abs(pitch) / settings.ENGAGEMENT_MAX_PITCH_DEGREES)
    return yaw_term * pitch_term


def expression_weight(probabilities: Sequence[float] | None) -> float:
    """Probability-weighted expression weight; without expressions (attention policy) it is 1."""
    if probabilities is None:
        return 1.0
    if len(probabilities) != len(EXPRESSIONS):
        raise ValueError(f"expected {len(EXPRESSIONS)} probabilities, got {len(probabilities)}")
    weights: Mapping[str, float] = settings.ENGAGEMENT_EXPRESSION_WEIGHTS
    total = float(sum(probabilities))
    if total <= 0:
        raise ValueError("probabilities must sum to a positive number")
    return sum(weights[name] * float(p) for name, p in zip(EXPRESSIONS, probabilities, strict=True)) / total


def engagement_score(*, probabilities: Sequence[float] | None, yaw: float, pitch: float) -> float:
    """The indicator in 0..1: expression weight (normalised by its maximum) × attention weight."""
    top = max(settings.ENGAGEMENT_EXPRESSION_WEIGHTS.values()) if probabilities is not None else 1.0
    return min(1.0, max(0.0, expression_weight(probabilities) / top * attention_weight(yaw=yaw, pitch=pitch)))


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
