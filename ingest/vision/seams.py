"""Splitting a gallery whose tiles touch (no gutter between them) along its seams.

Where two participant tiles meet, two unrelated pictures meet: across that line the gray level jumps
in most rows, while inside a picture the step from one column to the next is small. So the mean
absolute step across each line, over the typical step of the lines near it (a running median),
peaks at tile edges. Meeting apps draw tiles of one size, so a block of touching tiles is split into
``n`` equal parts only when every one of the ``n - 1`` lines where the edges must fall is such a
peak; the largest such ``n`` wins (a 6-column grid's edges also hold the 2- and 3-part ones).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
SEAM_MIN_CONTRAST = 3.0  # a seam's step over the typical step of the lines around it
TWO_PART_MIN_CONTRAST = 5.0  # one seam alone must be clearer: a single straight edge in a picture can reach 3
NEIGHBOURHOOD = 31  # lines in the running median that gives the typical step
MAX_PARTS = 10  # meeting apps show at most 7–10 tiles across or down
POSITION_TOLERANCE = 0.02  # of the block's length: rounding and 1–2 px borders move an edge a little


def line_contrast(gray: np.ndarray, box: Box, *, axis: int) -> np.ndarray:
    """For each line inside ``box``, its seam contrast: index ``i`` is the line before pixel ``i`` of the
    block, between columns (``axis=0``) or rows (``axis=1``); 0 at the block's ends."""
    x0, y0, x1, y1 = box
    region = gray[y0:y1, x0:x1].astype(np.float32)
    # A step across two pixels: JPEG and scaling soften an edge over a pixel or two.
    steps = np.abs(region[:, 2:] - region[:, :-2]).mean(axis=0) if axis == 0 else np.abs(region[2:] - region[:-2]).mean(axis=1)
    length = region.shape[1 - axis]
    contrast = np.zeros(length, np.float32)
    if len(steps) < 3:
        return contrast
    typical = median_filter(steps, size=NEIGHBOURHOOD, mode="nearest")
    # steps[i] spans pixels i..i+2, so it crosses the lines before pixels i+1 and i+2.
    ratio = steps / (typical + 2.0)
    contrast[1:-1] = np.maximum(contrast[1:-1], ratio)
    contrast[2:] = np.maximum(contrast[2:], ratio)
    return contrast


def even_split(contrast: np.ndarray, *, min_part: int) -> list[int]:
    """Edge positions splitting a block into the most equal parts (each at least ``min_part``) whose every
    edge is a seam; ``[]`` when no split holds."""
    length = len(contrast)
    tolerance = max(2, round(POSITION_TOLERANCE * length))
    for parts in range(min(MAX_PARTS, length // max(min_part, 1)), 1, -1):
        edges = []
        for k in range(1, parts):
            expected = round(k * length / parts)
            low, high = max(1, expected - tolerance), min(length - 1, expected + tolerance + 1)
            best = low + int(np.argmax(contrast[low:high]))
            if contrast[best] < (TWO_PART_MIN_CONTRAST if parts == 2 else SEAM_MIN_CONTRAST):
                break
            edges.append(best)
        else:
            return edges
    return []
