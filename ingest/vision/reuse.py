"""Skipping the detector on tiles whose picture has not moved since its last detector pass.

Detection is most of an ingest worker's time (about 3 ms a tile, 80 ms for a 25-tile gallery), and in
a class most faces barely move from one frame to the next. So each tile's last detector result is
remembered, with a signature of the region it watched: the face (grown by :data:`WATCH_MARGIN`) or,
with no face, the whole tile. While the signature stays within :data:`MAX_CHANGE` and the tile has
not used up its reuses, the remembered boxes and keypoints stand for this frame's; the crop is still
cut from this frame, so the expression is read fresh. Any movement, a new face or a tile that moved
or resized sends the tile back to the detector.

The signature is a 16×16 gray thumbnail of that region, mean removed. It lives only in this process's
memory, for at most :data:`TTL_SECONDS`, like the frame it came from; it is never written anywhere.
Tuned on the shared talking-head clips at 1 frame/s (``benchmarks/vision.py``, "detector reuse").
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import cv2
import numpy as np

from ingest.vision.detections import Detections
from ingest.vision.tiles import Tile

SIGNATURE_SIDE = 16
WATCH_MARGIN = 1.5  # the watched region's side over the face box's
MAX_CHANGE = 10.0  # mean absolute gray-level change of the signature that still counts as "not moved"
MAX_REUSE = 3  # frames a tile may skip the detector in a row: at 1 frame/s, a fresh pass every 4 s at most
TTL_SECONDS = 10.0
MAX_ENTRIES = 4096  # tiles remembered across all sessions this process serves (least recently used go)


@dataclass
class _Entry:
    tile: Tile
    found: Detections
    signature: np.ndarray
    reuses_left: int
    at: float


def _watched(tile: Tile, found: Detections) -> tuple[int, int, int, int]:
    """The region (x0, y0, x1, y1) whose stillness vouches for ``found``: the face grown by the margin, or the tile."""
    if len(found) == 0:
        return tile.x, tile.y, tile.x + tile.w, tile.y + tile.h
    x0, y0 = found.boxes[:, :2].min(axis=0)
    x1, y1 = (found.boxes[:, :2] + found.boxes[:, 2:]).max(axis=0)
    grow_x, grow_y = (x1 - x0) * (WATCH_MARGIN - 1) / 2, (y1 - y0) * (WATCH_MARGIN - 1) / 2
    return (
        int(max(tile.x, x0 - grow_x)),
        int(max(tile.y, y0 - grow_y)),
        int(min(tile.x + tile.w, x1 + grow_x)),
        int(min(tile.y + tile.h, y1 + grow_y)),
    )


def signature(image_bgr: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """A 16×16 gray thumbnail of ``region`` with its mean removed (a change of lighting alone is not movement)."""
    x0, y0, x1, y1 = region
    patch = image_bgr[y0:y1, x0:x1]
    if patch.size == 0:
        return np.zeros((SIGNATURE_SIDE, SIGNATURE_SIDE), np.float32)
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    small = cv2.resize(gray, (SIGNATURE_SIDE, SIGNATURE_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    return small - small.mean()


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures, in gray levels."""
    return float(np.abs(a - b).mean())


class DetectionMemory:
    """Each tile's last detector result per stream (a class session), for tiles that have not moved."""

    def __init__(self, *, max_change: float = MAX_CHANGE, max_reuse: int = MAX_REUSE, ttl_seconds: float = TTL_SECONDS) -> None:
        self.max_change = max_change
        self.max_reuse = max_reuse
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[tuple[Hashable, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, *, stream: Hashable, tile: Tile, image_bgr: np.ndarray) -> Detections | None:
        """The remembered faces of ``tile`` if its picture has not moved since, else ``None`` (run the detector)."""
        key = (stream, tile.name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.tile != tile or entry.reuses_left <= 0 or time.monotonic() - entry.at > self.ttl_seconds:
                return None
            if change(signature(image_bgr, _watched(tile, entry.found)), entry.signature) > self.max_change:
                return None
            entry.reuses_left -= 1
            self._entries.move_to_end(key)
            return entry.found

    def remember(self, *, stream: Hashable, tile: Tile, image_bgr: np.ndarray, found: Detections) -> None:
        """Keep the detector's result for ``tile`` in this frame."""
        key = (stream, tile.name)
        with self._lock:
            # The first run of reuses is staggered by tile so that a class's tiles do not all meet the detector in the same frame.
            reuses = self.max_reuse if key in self._entries else zlib.crc32(tile.name.encode()) % (self.max_reuse + 1)
            self._entries[key] = _Entry(
                tile=tile, found=found, signature=signature(image_bgr, _watched(tile, found)), reuses_left=reuses, at=time.monotonic()
            )
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
