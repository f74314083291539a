"""MediaPipe's two face detection models, run on regions of a frame (a tile, a window, the whole frame).

The short-range model runs directly in LiteRT (:mod:`ingest.vision.blazeface`, 2.2 ms a tile against
3.3–4 ms through the MediaPipe graph, with the same faces; wide tiles two to a pass, 0.7 ms a tile); the
full-range one through MediaPipe Tasks ``FaceDetector`` (IMAGE mode).

Model choice: MediaPipe's short-range model (128×128 input) is made for faces within about 2 m of
the camera, i.e. a face filling a good share of the picture, which is what a webcam tile is; its
full-range model (192×192 input) finds faces down to a few percent of the picture. Rule:

- a tile (client or found): short-range model. Measured on gallery tiles of the shared clips it
  found 30/30 faces at every tile size from 320×180 down to 56×32 (faces of 20 px), scores ≥ 0.86.
  When it finds nothing, the full-range model runs and its faces must be confirmed (below).
- a whole frame or an overlapping window: full-range model, every face confirmed.

Confirming: the full-range model also fires on textures (scores up to 0.73 on smooth random
noise), so each of its faces is re-detected by the short-range model in a crop of
:data:`CONFIRM_CONTEXT` × the face, where a real face fills the picture: true faces scored ≥ 0.92
there, texture false positives ≤ 0.65; faces below :data:`CONFIRM_MIN_SCORE` are dropped.

Regions under :data:`MIN_INPUT_SIDE` pixels are upscaled (cubic) before the full-range model: it lifted
that model from 27/30 to 30/30 faces in 96×54 tiles. The short-range model's letterbox scales every
region to its 128×128 input anyway.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from ingest.vision.blazeface import ShortRangeModel
from ingest.vision.detections import Detections
from ingest.vision.model_files import ensure_detector_models
from ingest.vision.tiles import Tile

ModelKind = Literal["short", "full"]
MIN_INPUT_SIDE = 192
DEFAULT_MIN_SCORE = 0.5
CONFIRM_CONTEXT = 2.0
CONFIRM_MIN_SCORE = 0.75


@functools.cache
def _mediapipe() -> tuple[Any, Any, Any]:
    """``mediapipe``, and its Tasks ``BaseOptions`` and ``vision``, imported without TensorFlow.

    mediapipe imports TensorFlow, when it is installed, only for API-doc decorators
    (``mediapipe/tasks/python/core/optional_dependencies.py``), and matplotlib only for drawing helpers.
    Hidden during that import, the ingest worker does not load about 530 MB it never uses; both import
    normally afterwards.
    """
    hidden: dict[str, types.ModuleType | None] = {"tensorflow": None} if "tensorflow" not in sys.modules else {}
    if "matplotlib" not in sys.modules:
        # Its drawing helpers import pyplot at import time (about 30 MB); a placeholder stands in for them.
        hidden |= {"matplotlib": types.ModuleType("matplotlib"), "matplotlib.pyplot": types.ModuleType("matplotlib.pyplot")}
    sys.modules.update(hidden)  # type: ignore[arg-type]  # None makes "import tensorflow" fail as if absent
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    finally:
        for name in hidden:
            del sys.modules[name]
    return mp, BaseOptions, vision


class FaceDetector:
    """Both MediaPipe face detectors, created lazily and reused; safe to share between threads."""

    def __init__(
        self, *, min_score: float = DEFAULT_MIN_SCORE, confirm_min_score: float = CONFIRM_MIN_SCORE, model_dir: Path | None = None
    ) -> None:
        self.min_score = min_score
        self.confirm_min_score = confirm_min_score
        self.model_paths = ensure_detector_models(dest=model_dir)
        self._detectors: dict[ModelKind, Any] = {}
        self._short: ShortRangeModel | None = None
        self._lock = threading.Lock()  # a Tasks detector handles one image at a time

    def _detector(self, kind: ModelKind) -> Any:
        if kind not in self._detectors:
            _, BaseOptions, vision = _mediapipe()
            options = vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(self.model_paths[kind])),
                running_mode=vision.RunningMode.IMAGE,
                min_detection_confidence=self.min_score,
            )
            self._detectors[kind] = vision.FaceDetector.create_from_options(options)
        return self._detectors[kind]

    def _short_model(self) -> ShortRangeModel:
        with self._lock:
            if self._short is None:
                self._short = ShortRangeModel(self.model_paths["short"], min_score=self.min_score)
            return self._short

    def detect(self, image_bgr: np.ndarray, *, model: ModelKind, region: Tile | None = None) -> Detections:
        """One pass of ``model`` over ``region`` of a BGR frame (whole frame when ``None``), in frame
        coordinates, unconfirmed; faces carry ``region`` as their tile."""
        x, y = (region.x, region.y) if region else (0, 0)
        crop = image_bgr[y : y + region.h, x : x + region.w] if region else image_bgr
        height, width = crop.shape[:2]
        if width == 0 or height == 0:
            return Detections.empty()
        if model == "short":
            return _placed(self._short_model().detect(crop), region)
        mp, _, _ = _mediapipe()
        scale = max(1.0, MIN_INPUT_SIDE / max(width, height))
        if scale > 1.0:
            crop = cv2.resize(crop, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_CUBIC)
        rgb = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
        with self._lock:
            result = self._detector(model).detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        found = Detections.from_mediapipe(result, image_size=(rgb.shape[1], rgb.shape[0]), offset_xy=(x, y), scale=scale)
        return Detections.build(boxes=found.boxes, scores=found.scores, keypoints=found.keypoints, tile=region) if region else found

    def confirm(self, image_bgr: np.ndarray, candidates: Detections) -> Detections:
        """Each candidate re-detected by the short-range model in a crop around it; kept (as the short-range
        face, with the candidate's tile) only when that scores at least ``confirm_min_score``."""
        height, width = image_bgr.shape[:2]
        confirmed = []
        for i, (x, y, w, h) in enumerate(candidates.boxes):
            side, cx, cy = CONFIRM_CONTEXT * max(w, h), x + w / 2, y + h / 2
            x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
            found = self.detect(image_bgr, model="short", region=Tile("confirm", x0, y0, x1 - x0, y1 - y0))
            centres = found.boxes[:, :2] + found.boxes[:, 2:] / 2
            inside = (found.scores >= self.confirm_min_score) & (np.abs(centres - (cx, cy)) < (w / 2, h / 2)).all(axis=1)
            if inside.any():
                best = int(np.argmax(np.where(inside, found.scores, -1)))
                confirmed.append(found.filter([best]).replace(tile=[candidates.tile[i]], tile_boxes=candidates.tile_boxes[[i]]))
        return Detections.concatenate(confirmed)

    def detect_tile(self, image_bgr: np.ndarray, tile: Tile) -> Detections:
        """Faces in a participant tile: short-range model, else confirmed full-range faces."""
        return self.detect_tiles(image_bgr, [tile])[0]

    def detect_tiles(self, image_bgr: np.ndarray, tiles: Sequence[Tile]) -> list[Detections]:
        """:meth:`detect_tile` for each of ``tiles``, their short-range passes shared two wide tiles to a pass
        (:meth:`ingest.vision.blazeface.ShortRangeModel.detect_many`)."""
        crops = {i: image_bgr[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] for i, tile in enumerate(tiles)}
        crops = {i: crop for i, crop in crops.items() if crop.size}
        short = dict(zip(crops, self._short_model().detect_many(list(crops.values())), strict=True))
        found = [_placed(short[i], tile) if i in short else Detections.empty() for i, tile in enumerate(tiles)]
        return [
            faces if len(faces) else self.confirm(image_bgr, self.detect(image_bgr, model="full", region=tile))
            for faces, tile in zip(found, tiles, strict=True)
        ]

    def detect_wide(self, image_bgr: np.ndarray, *, windows: Sequence[Tile] = ()) -> Detections:
        """Confirmed full-range faces in the whole frame and in ``windows``, duplicates merged, no tile names."""
        passes = [self.detect(image_bgr, model="full"), *(self.detect(image_bgr, model="full", region=window) for window in windows)]
        candidates = Detections.concatenate(passes).nms().without_tiles()
        return self.confirm(image_bgr, candidates).nms()

    def close(self) -> None:
        """Release the MediaPipe graphs (also done at interpreter exit for the shared instance)."""
        with self._lock:
            for detector in self._detectors.values():
                detector.close()
            self._detectors.clear()


def _placed(faces: tuple[np.ndarray, np.ndarray, np.ndarray], region: Tile | None) -> Detections:
    """Short-range faces found in ``region`` (the whole frame when ``None``), in frame coordinates, ``region`` their tile."""
    boxes, scores, keypoints = faces
    offset = np.array([region.x, region.y] if region else [0, 0], np.float32)
    boxes[:, :2] += offset
    return Detections.build(boxes=boxes, scores=scores, keypoints=keypoints + offset, tile=region)


@functools.cache
def get_detector(*, min_score: float = DEFAULT_MIN_SCORE) -> FaceDetector:
    """The process-wide detector for ``min_score``, created once and kept warm."""
    import atexit

    detector = FaceDetector(min_score=min_score)
    # Closing explicitly avoids MediaPipe's noisy __del__ during interpreter teardown.
    atexit.register(detector.close)
    return detector
