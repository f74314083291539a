"""One frame in, faces out: where to look (tiles), detect, merge, crop/align, head pose."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ingest.vision.align import MIN_BRIGHTNESS, MIN_FACE_PX, MIN_SHARPNESS, align
from ingest.vision.detections import Detections
from ingest.vision.detector import FaceDetector, get_detector
from ingest.vision.pose import estimate_pose
from ingest.vision.tiles import Tile, find_grid, overlapping_windows

TilesMode = Literal["auto", "none"]
# A found grid this small has faces big enough for one whole-frame pass too; it guards against a
# false split (a uniform dark band across a single camera picture) cutting a face in two.
WHOLE_FRAME_MAX_TILES = 4


class FramePipeline:
    """Detection and face preparation for one frame; holds only configuration (the detector is shared)."""

    def __init__(
        self,
        *,
        detector: FaceDetector | None = None,
        min_face_px: float = MIN_FACE_PX,
        min_sharpness: float = MIN_SHARPNESS,
        min_brightness: float = MIN_BRIGHTNESS,
    ) -> None:
        self.detector = detector or get_detector()
        self.min_face_px = min_face_px
        self.min_sharpness = min_sharpness
        self.min_brightness = min_brightness

    def detect(self, image_bgr: np.ndarray, *, tiles: Sequence[Tile] | None = None, tiles_mode: TilesMode = "auto") -> Detections:
        """Faces before alignment.

        Client ``tiles`` (non-empty): one pass per tile, tile names kept as identities. Otherwise with
        ``tiles_mode="auto"``: one pass per tile of the grid found in the frame (plus a whole-frame
        pass for grids of up to four tiles); with no grid, a whole-frame pass and overlapping windows.
        ``tiles_mode="none"``: the whole frame only.
        """
        if tiles:
            found = Detections.concatenate([self.detector.detect_tile(image_bgr, tile) for tile in tiles])
            return found.replace(client_tiles=True, layout=list(tiles))
        if tiles_mode == "none":
            return self.detector.detect_wide(image_bgr)
        grid = find_grid(image_bgr)
        parts = [self.detector.detect_tile(image_bgr, tile) for tile in grid]
        if not grid:
            height, width = image_bgr.shape[:2]
            parts.append(self.detector.detect_wide(image_bgr, windows=overlapping_windows(width, height)))
        elif len(grid) <= WHOLE_FRAME_MAX_TILES:
            parts.append(self.detector.detect_wide(image_bgr))
        return Detections.concatenate(parts).nms().assign_tiles(grid).replace(layout=grid)

    def process(self, image_bgr: np.ndarray, *, tiles: Sequence[Tile] | None = None, tiles_mode: TilesMode = "auto") -> Detections:
        """Faces with 48×48 ``crops``, ``yaw``/``pitch`` and tile names; low-quality faces in ``rejected``."""
        found = self.detect(image_bgr, tiles=tiles, tiles_mode=tiles_mode)
        aligned = align(
            found, image_bgr, min_face_px=self.min_face_px, min_sharpness=self.min_sharpness, min_brightness=self.min_brightness
        )
        return estimate_pose(aligned)


@functools.cache
def get_pipeline() -> FramePipeline:
    """The process-wide pipeline with default settings (its detector is created once and kept warm)."""
    return FramePipeline()
