"""The uploader's own camera floating over the gallery's bottom right corner (Teams draws it so, Meet
when a tile is pinned): not a participant, and its face must not be read as the student beneath it.

It is found as a rectangle outline anchored near the frame's bottom right corner, 0.3–8% of the
frame and 1.2–2.0 wide for each unit of height (16:9 or 4:3 video), that is not one of the gallery's
own tiles.
"""

from __future__ import annotations

import cv2
import numpy as np

from ingest.vision.tiles import Tile, find_grid

MIN_AREA, MAX_AREA = 0.003, 0.08  # of the frame
MIN_ASPECT, MAX_ASPECT = 1.2, 2.0
CORNER_X, CORNER_Y = 0.06, 0.08  # at most this share of the frame between the overlay and the right / bottom edge
OUTLINE = 0.9  # a closed rectangle's contour encloses almost all of its bounding box
TILE_MATCH = 0.8  # a rectangle this close to a found tile is that tile (found tiles match true ones at IoU ≥ 0.85)


def _iou(a: Tile, b: Tile) -> float:
    inter = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x)) * max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return inter / (a.w * a.h + b.w * b.h - inter)


def find_self_view(image_bgr: np.ndarray, tiles: list[Tile]) -> Tile | None:
    """The floating self view's rectangle, or ``None``; ``tiles`` are the gallery's (a tile is never the overlay)."""
    height, width = image_bgr.shape[:2]
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    # Only the bottom right corner can hold it; search there alone.
    x_from, y_from = int(width * (1 - 0.5)), int(height * (1 - 0.5))
    edges = cv2.Canny(gray[y_from:, x_from:], 40, 120)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best: Tile | None = None
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        x, y = x + x_from, y + y_from
        area = w * h
        if not (MIN_AREA * width * height <= area <= MAX_AREA * width * height and MIN_ASPECT <= w / h <= MAX_ASPECT):
            continue
        if width - (x + w) > CORNER_X * width or height - (y + h) > CORNER_Y * height:
            continue
        if cv2.contourArea(contour) < OUTLINE * area:
            continue
        candidate = Tile("self", x, y, w, h)
        if any(_iou(candidate, tile) > TILE_MATCH for tile in tiles):
            continue
        if best is None or area > best.w * best.h:
            best = candidate
    return best


def find_layout(image_bgr: np.ndarray) -> tuple[list[Tile], Tile | None]:
    """The gallery's tiles, found with any floating self view read as background, and that self view."""
    grid = find_grid(image_bgr)
    own = find_self_view(image_bgr, grid)
    return (find_grid(image_bgr, hide=own), own) if own is not None else (grid, None)
