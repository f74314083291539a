"""The picture a face's stillness is judged on (:mod:`classroom.stillness`): a 48×48 gray sample of its tile.

Not the aligned face crop: that moves with the detector's box, which jitters by a pixel or two whenever the detector
runs again on a face cut by its tile's edge, and its histogram equalisation spreads any change at its edge over every
pixel. The tile itself stays put, so the sample is taken on a fixed grid over the tile's inner part. The inset skips
the tile's outer pixels: a gallery's tiles do not line up with JPEG's 16-pixel blocks, and the blocks astride a
tile's edge change with the neighbouring tile's video (measured: up to 4 gray levels in a still tile's first rows).
A face found outside any tile is sampled around its box instead. Nearest pixels, not an average: a camera's noise is
what tells a live picture from a still one, and averaging would smooth it away.
"""

from __future__ import annotations

import cv2
import numpy as np

from classroom.stillness import PATCH_SIDE

TILE_INSET_PX = 24.0  # the most a JPEG block astride the edge (16 px) and its chroma smoothing reach in, with room
TILE_INSET_MAX = 0.25  # of the tile's side: a small tile keeps at least half of itself


def still_region(*, box: np.ndarray, tile_box: np.ndarray, frame_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The region (x0, y0, x1, y1) sampled for a face: its tile less an inset, or with no tile (zero size) its box
    grown to twice its side, within the frame (``frame_size`` is width, height)."""
    width, height = frame_size
    tx, ty, tw, th = (float(v) for v in tile_box)
    if tw > 0 and th > 0:
        inset_x, inset_y = min(TILE_INSET_PX, TILE_INSET_MAX * tw), min(TILE_INSET_PX, TILE_INSET_MAX * th)
        return tx + inset_x, ty + inset_y, tx + tw - inset_x, ty + th - inset_y
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2, y + h / 2
    return max(0.0, cx - w), max(0.0, cy - h), min(float(width), cx + w), min(float(height), cy + h)


def still_patch(image_bgr: np.ndarray, *, box: np.ndarray, tile_box: np.ndarray) -> np.ndarray:
    """The 48×48 gray sample (uint8) of a face's region (:func:`still_region`) of a BGR (or gray) frame: its nearest
    pixels on a fixed grid (about 10 µs a face)."""
    height, width = image_bgr.shape[:2]
    x0, y0, x1, y1 = still_region(box=box, tile_box=tile_box, frame_size=(width, height))
    left, top = min(max(round(x0), 0), width - 1), min(max(round(y0), 0), height - 1)
    right, bottom = max(min(round(x1), width), left + 1), max(min(round(y1), height), top + 1)
    sample = cv2.resize(image_bgr[top:bottom, left:right], (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY) if sample.ndim == 3 else sample
