"""What a participant's card on the live page shows for their latest observation.

One function serves the live event (:func:`classroom.frames.observation_event`) and the history a (re)loaded page
starts from (:func:`classroom.selectors.session_history`), so a reload shows what the live page showed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from classroom.engagement import engagement_band
from classroom.models import EXPRESSIONS, Observation
from classroom.smoothing import Smoothed
from classroom.stillness import STILL


def card_values(*, observation: Observation, smoothed: Smoothed | None) -> dict[str, Any]:
    """The engagement, band, shown expression and expression mix a card displays for ``observation``.

    The smoothed values (:mod:`classroom.smoothing`) where ``smoothed`` is the running average as of this very
    observation, else the observation's own (the average expired from Redis, or has moved on). A still picture
    (:mod:`classroom.stillness`) shows as such: no engagement, no expression.
    """
    if observation.engagement_band == STILL:
        return {"engagement": None, "band": STILL, "expression": None, "probabilities": None}
    current = smoothed is not None and smoothed.t == observation.captured_at.timestamp()
    engagement = smoothed.engagement if smoothed is not None and current else observation.engagement
    probabilities = smoothed.probabilities if smoothed is not None and current else observation.probabilities
    return {
        "engagement": round(engagement, 4),
        "band": engagement_band(engagement),
        "expression": observation.expression or None,  # the shown expression is held against flicker already
        "probabilities": dict(zip(EXPRESSIONS, np.round(probabilities, 4).tolist(), strict=True)) if probabilities is not None else None,
    }
