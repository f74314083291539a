"""Skipping the detector on tiles whose picture has not moved since its last detector pass.

Detection is most of an ingest worker's time (about 3 ms a tile, 80 ms for a 25-tile gallery), and in
a class most faces barely move from one frame to the next. So each tile's last detector result is
remembered, with a signature of the region it watched: the face (grown by :data:`WATCH_MARGIN`) or,
with no face, the whole tile. While the signature stays within :data:`MAX_CHANGE` and the tile has
not used up its reuses, the remembered boxes and keypoints stand for this frame's; the crop is still
cut from this frame, so the expression is read fresh. A face that only slid a little (a head bobbing
while its owner speaks) is followed instead: the shift between the remembered and the current region
is measured by phase correlation, and the faces are moved by it when the region, moved too, looks as
it did. Any other movement, a new face or a tile that moved or resized sends the tile back to the
detector.

The signature is a 16×16 gray thumbnail of that region, mean removed (and a 32×32 one to measure
shifts). They live only in this process's memory, for at most :data:`TTL_SECONDS`, like the frame they
came from; they are never written anywhere.
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
from ingest.vision.shrink import shrink
from ingest.vision.tiles import Tile

SIGNATURE_SIDE = 16
SHIFT_SIDE = 32  # the thumbnail shifts are measured on
MAX_SHIFT = 0.25  # of the face's size: a face that slid farther goes back to the detector
MIN_PEAK = 0.3  # phase correlation's peak response below which the shift is not trusted
# A followed face is compared where it now is. On the shared clips at 1 frame/s this limit let 31% of
# tiles skip the detector (20% without following), every box at IoU ≥ 0.75 with the detector's and
# every yaw within 10°; at 18, 2.6% of yaws were off by more.
FOLLOW_MAX_CHANGE = 14.0
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
    thumbnail: np.ndarray  # SHIFT_SIDE², mean removed
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


def signature(image: np.ndarray, region: tuple[int, int, int, int], *, side: int = SIGNATURE_SIDE) -> np.ndarray:
    """A ``side``² gray thumbnail of ``region`` of a BGR or gray ``image``, with its mean removed (a change of
    lighting alone is not movement)."""
    x0, y0, x1, y1 = region
    patch = image[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if patch.size == 0:
        return np.zeros((side, side), np.float32)
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    small = shrink(gray, (side, side)).astype(np.float32)
    return small - small.mean()


_WINDOW = cv2.createHanningWindow((SHIFT_SIDE, SHIFT_SIDE), cv2.CV_32F)


def _follow(entry: _Entry, image: np.ndarray, max_change: float) -> Detections | None:
    """The remembered single face moved by the shift its region shows, if the moved region looks as it did."""
    if len(entry.found) != 1:
        return None
    x0, y0, x1, y1 = _watched(entry.tile, entry.found)
    current = signature(image, (x0, y0, x1, y1), side=SHIFT_SIDE)
    (shift_x, shift_y), peak = cv2.phaseCorrelate(entry.thumbnail, current, _WINDOW)
    dx, dy = shift_x * (x1 - x0) / SHIFT_SIDE, shift_y * (y1 - y0) / SHIFT_SIDE
    size = float(entry.found.boxes[0, 2:].max())
    if peak < MIN_PEAK or max(abs(dx), abs(dy)) > MAX_SHIFT * size:
        return None
    moved = (round(x0 + dx), round(y0 + dy), round(x1 + dx), round(y1 + dy))
    tile = entry.tile
    if moved[0] < tile.x or moved[1] < tile.y or moved[2] > tile.x + tile.w or moved[3] > tile.y + tile.h:
        return None
    if change(signature(image, moved), entry.signature) > max_change:
        return None
    offset = np.array([dx, dy], np.float32)
    boxes = entry.found.boxes.copy()
    boxes[:, :2] += offset
    return entry.found.replace(boxes=boxes, keypoints=entry.found.keypoints + offset)


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures, in gray levels."""
    return float(np.abs(a - b).mean())


def _tile_key(tile: Tile) -> str:
    """What tells a stream's tiles apart: the name, or for an unnamed client tile (names read from the picture) its place."""
    return tile.name or f"@{tile.x},{tile.y},{tile.w},{tile.h}"


class DetectionMemory:
    """Each tile's last detector result per stream (a class session), for tiles that have not moved."""

    def __init__(
        self,
        *,
        max_change: float = MAX_CHANGE,
        follow_max_change: float = FOLLOW_MAX_CHANGE,
        max_reuse: int = MAX_REUSE,
        ttl_seconds: float = TTL_SECONDS,
    ) -> None:
        self.max_change = max_change
        self.follow_max_change = follow_max_change
        self.max_reuse = max_reuse
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[tuple[Hashable, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, *, stream: Hashable, tile: Tile, image: np.ndarray) -> Detections | None:
        """The remembered faces of ``tile`` if its picture has not moved since, else ``None`` (run the detector)."""
        key = (stream, _tile_key(tile))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.tile != tile or entry.reuses_left <= 0 or time.monotonic() - entry.at > self.ttl_seconds:
                return None
            found: Detections | None = entry.found
            if change(signature(image, _watched(tile, entry.found)), entry.signature) > self.max_change:
                found = _follow(entry, image, self.follow_max_change)
                if found is None:
                    return None
                # Later frames are compared with the face where it now is; its look stays the detector's.
                entry.thumbnail = signature(image, _watched(tile, found), side=SHIFT_SIDE)
                entry.found = found
            entry.reuses_left -= 1
            self._entries.move_to_end(key)
            return found

    def remember(self, *, stream: Hashable, tile: Tile, image: np.ndarray, found: Detections) -> None:
        """Keep the detector's result for ``tile`` in this frame."""
        key = (stream, _tile_key(tile))
        with self._lock:
            # The first run of reuses is staggered by tile so that a class's tiles do not all meet the detector in the same frame.
            reuses = self.max_reuse if key in self._entries else zlib.crc32(key[1].encode()) % (self.max_reuse + 1)
            region = _watched(tile, found)
            self._entries[key] = _Entry(
                tile=tile,
                found=found,
                signature=signature(image, region),
                thumbnail=signature(image, region, side=SHIFT_SIDE),
                reuses_left=reuses,
                at=time.monotonic(),
            )
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
