"""Honest confidence for small faces: their probabilities are tempered by a temperature fitted for their size.

On FER2013 PublicTest faces shrunk to a small face's size and enlarged back, as the aligner does, the
CNN agrees with the FER+ taggers' majority less often (83% at full size, 67% at 16 px, 54% at 12 px) but
is nearly as sure of itself as at full size. The softmax temperature that minimises the negative
log-likelihood at each size (``benchmarks/low_resolution.py``, results in
``benchmarks/results/low_resolution.json``) brings the expected calibration error at 12 px from 0.20 to
0.04. Between the measured sizes it is interpolated.
"""

from __future__ import annotations

import numpy as np

from inference.calibration import with_temperature

TEMPERATURE_BY_BOX_PX = {12: 1.75, 14: 1.55, 16: 1.4, 19: 1.25}
# Faces from this box side up are not flagged low-resolution (ingest.vision.align.LOW_RESOLUTION_PX) and keep their confidence.
FULL_RESOLUTION_PX = 20


def temperature_for(box_px: float) -> float:
    """The temperature for a face whose detector box side is ``box_px`` (1.0 from :data:`FULL_RESOLUTION_PX` up)."""
    if box_px >= FULL_RESOLUTION_PX:
        return 1.0
    sizes = sorted(TEMPERATURE_BY_BOX_PX)
    return float(np.interp(box_px, sizes, [TEMPERATURE_BY_BOX_PX[size] for size in sizes]))


def temper(probabilities: np.ndarray, *, box_px: float) -> np.ndarray:
    """``probabilities`` (7,) with the logits divided by the size's temperature, renormalised."""
    temperature = temperature_for(box_px)
    return probabilities if temperature == 1.0 else with_temperature(probabilities, temperature)
