"""One frame in, faces out: where to look (tiles), detect, merge, crop/align, head pose."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from typing import Literal

import cv2
import numpy as np

from ingest.vision.align import MIN_BRIGHTNESS, MIN_FACE_PX, MIN_SHARPNESS, align
from ingest.vision.detections import Detections
from ingest.vision.detector import FaceDetector, get_detector
from ingest.vision.labels import PAGE_NAMED_CHECK_S, TileLabels, label_read
from ingest.vision.pose import estimate_pose
from ingest.vision.reuse import DetectionMemory
from ingest.vision.self_view import find_layout
from ingest.vision.stages import StageClock
from ingest.vision.tiles import Tile, camera_off, overlapping_windows

TilesMode = Literal["auto", "none"]
# A found grid this small has faces big enough for one whole-frame pass too; it guards against a
# false split (a uniform dark band across a single camera picture) cutting a face in two.
WHOLE_FRAME_MAX_TILES = 4


class FramePipeline:
    """Detection and face preparation for one frame; holds configuration, the shared detector and the
    memory of each tile's last detection (:mod:`ingest.vision.reuse`)."""

    def __init__(
        self,
        *,
        detector: FaceDetector | None = None,
        min_face_px: float = MIN_FACE_PX,
        min_sharpness: float = MIN_SHARPNESS,
        min_brightness: float = MIN_BRIGHTNESS,
    ) -> None:
        self.detector = detector or get_detector()
        self.memory = DetectionMemory()
        self.labels = TileLabels()
        self.min_face_px = min_face_px
        self.min_sharpness = min_sharpness
        self.min_brightness = min_brightness

    def detect(
        self,
        image_bgr: np.ndarray,
        *,
        tiles: Sequence[Tile] | None = None,
        tiles_mode: TilesMode = "auto",
        stream: Hashable | None = None,
        clock: StageClock | None = None,
        gray: np.ndarray | None = None,
    ) -> Detections:
        """Faces before alignment (``gray``: the frame in gray levels, where the caller has it already).

        Client ``tiles`` (non-empty): one pass per tile, tile names kept as identities. Otherwise with
        ``tiles_mode="auto"``: one pass per tile of the grid found in the frame (plus a whole-frame
        pass for grids of up to four tiles); with no grid, a whole-frame pass and overlapping windows.
        ``tiles_mode="none"``: the whole frame only. A floating self view found over the corner of a
        found grid is not searched (:mod:`ingest.vision.self_view`). With a ``stream`` (the frames of one class), a tile
        whose picture has not moved since its last pass reuses that pass's faces; ``clock`` counts them.
        """
        if tiles:
            found = Detections.concatenate(self._detect_tiles(image_bgr, tiles, stream=stream, clock=clock, gray=gray))
            return found.replace(client_tiles=True, layout=list(tiles))
        if tiles_mode == "none":
            return self.detector.detect_wide(image_bgr)
        grid, own = find_layout(image_bgr)
        parts = self._detect_tiles(image_bgr, grid, stream=stream, clock=clock, gray=gray)
        if not grid:
            height, width = image_bgr.shape[:2]
            parts.append(self.detector.detect_wide(image_bgr, windows=overlapping_windows(width, height)))
        elif len(grid) <= WHOLE_FRAME_MAX_TILES:
            parts.append(self.detector.detect_wide(image_bgr))
        found = Detections.concatenate(parts).nms().assign_tiles(grid).replace(layout=grid)
        if own is None:
            return found
        # The uploader's own face (the teacher's) is not a student's, whichever tile it floats over.
        centres = found.boxes[:, :2] + found.boxes[:, 2:] / 2
        inside = (centres[:, 0] >= own.x) & (centres[:, 0] < own.x + own.w) & (centres[:, 1] >= own.y) & (centres[:, 1] < own.y + own.h)
        return found.filter(~inside)

    def _detect_tiles(
        self,
        image_bgr: np.ndarray,
        tiles: Sequence[Tile],
        *,
        stream: Hashable | None,
        clock: StageClock | None,
        gray: np.ndarray | None,
    ) -> list[Detections]:
        parts: list[Detections] = []
        fresh: list[int] = []  # the tiles the detector looks at: all in one call, so that they can share its passes
        if gray is None:
            gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        for tile in tiles:
            found = Detections.empty() if camera_off(gray, tile) else None
            if found is None and stream is not None:
                found = self.memory.recall(stream=stream, tile=tile, image=gray)
                if found is not None and clock is not None:
                    clock.count("tiles_reused")
            if found is None:
                fresh.append(len(parts))
                found = Detections.empty()
            parts.append(found)
        for index, found in zip(fresh, self.detector.detect_tiles(image_bgr, [tiles[i] for i in fresh]), strict=True):
            parts[index] = found
            if stream is not None:
                self.memory.remember(stream=stream, tile=tiles[index], image=gray, found=found)
        return parts

    def process(
        self,
        image_bgr: np.ndarray,
        *,
        tiles: Sequence[Tile] | None = None,
        tiles_mode: TilesMode = "auto",
        stream: Hashable | None = None,
        clock: StageClock | None = None,
        now: float = 0.0,
        label_stream: Hashable | None = None,
    ) -> Detections:
        """Faces with 48×48 ``crops``, ``yaw``/``pitch``, tile names and the names painted on their tiles;
        low-quality faces in ``rejected``.

        ``clock`` (optional) receives the time of the ``detect``, ``align`` (crop, quality, pose) and ``labels``
        stages. ``now`` (seconds) is the frame's time, for the label memory of a ``stream`` (or of ``label_stream``,
        which settles labels over a video's frames without the detection memory a live ``stream`` also keeps).
        """
        clock = clock or StageClock()
        with clock.stage("detect"):
            # Only the face detector looks at colour; the camera-off test, the memory's thumbnails, the crops and the
            # labels look at gray levels: one conversion for the whole frame.
            gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
            found = self.detect(image_bgr, tiles=tiles, tiles_mode=tiles_mode, stream=stream, clock=clock, gray=gray)
        with clock.stage("align"):
            aligned = align(found, gray, min_face_px=self.min_face_px, min_sharpness=self.min_sharpness, min_brightness=self.min_brightness)
            posed = estimate_pose(aligned)
        with clock.stage("labels"):
            return self.read_labels(posed, gray, stream=label_stream if label_stream is not None else stream, now=now)

    def read_labels(self, found: Detections, image: np.ndarray, *, stream: Hashable | None, now: float) -> Detections:
        """``found`` with the name painted on each face's tile of ``image`` (the frame, BGR or gray): of a ``stream``,
        settled over a few frames and read again only when the label changes (:class:`ingest.vision.labels.TileLabels`);
        of a single picture, read once."""
        painted: list[str | None] = []
        read: dict[tuple[int, ...], str | None] = {}
        for name, box in zip(found.tile, found.tile_boxes, strict=True):
            if name is None:
                painted.append(None)
                continue
            rect = tuple(int(v) for v in box)
            if rect not in read:
                tile = Tile(name, *rect)
                if stream is None:
                    read[rect] = label_read(image=image, tile=tile).text
                else:
                    # Only the client's named tiles are the page's names: its unnamed ones ("") and the grid's found
                    # tiles ("r0c1") are named by their labels.
                    check_every = PAGE_NAMED_CHECK_S if found.client_tiles and name else 0.0
                    read[rect] = self.labels.name_for(stream=hash(stream), image=image, tile=tile, now=now, check_every=check_every)
            painted.append(read[rect])
        return found.replace(painted=painted)


@functools.cache
def get_pipeline() -> FramePipeline:
    """The process-wide pipeline with default settings (its detector is created once and kept warm)."""
    return FramePipeline()
