"""The one record that flows through every ingest stage: detect → merge → align → pose → assign.

Columns are parallel arrays/lists of length ``n`` (one row per face), in the style of Roboflow
``supervision``: stages return a new :class:`Detections` (``dataclasses.replace``), never dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ingest.vision.tiles import Tile, nms_indices

KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear_tragion", "left_ear_tragion")
CROP_SIZE = 48


class _Keypoint(Protocol):
    x: float
    y: float


class _Category(Protocol):
    score: float


class _BoundingBox(Protocol):
    origin_x: int
    origin_y: int
    width: int
    height: int


class _Detection(Protocol):
    bounding_box: _BoundingBox
    categories: Sequence[_Category]
    keypoints: Sequence[_Keypoint] | None


class MediaPipeResult(Protocol):
    """The shape of ``mediapipe.tasks.python.vision.FaceDetectorResult`` that we read."""

    detections: Sequence[_Detection]


@dataclass(frozen=True)
class Rejection:
    """A face that was found but not passed on, with why (``too_small``, ``too_blurred``, ``too_dark``)."""

    box: tuple[float, float, float, float]
    reason: str
    tile: str | None = None


def _optional_rows(name: str, value: np.ndarray | None, n: int, shape: tuple[int, ...]) -> None:
    if value is not None and value.shape != (n, *shape):
        raise ValueError(f"{name} must have shape {(n, *shape)}, got {value.shape}")


@dataclass(frozen=True, eq=False)
class Detections:
    """Faces in one frame, in frame pixels.

    ``boxes`` (n, 4) float32 x, y, w, h; ``scores`` (n,); ``keypoints`` (n, 6, 2) in
    :data:`KEYPOINT_NAMES` order (MediaPipe's; "right" is the person's right); ``tile`` the tile
    name each face was found in (``None`` outside tiles) and ``tile_boxes`` that tile's rectangle
    (zeros where ``tile`` is ``None``); ``client_tiles`` whether tile names came from the client
    (then they are participant identities); ``layout`` the tiles the frame was searched in (client or
    found; empty without tiles), a frame-level column; ``participant`` keys once assigned; ``crops`` (n, 48, 48)
    uint8 once aligned, with ``low_resolution`` (n,) bool marking faces read from an enlarged crop;
    ``yaw``/``pitch`` degrees once estimated; ``painted`` the name read from the label painted on each face's
    tile once read (``None`` where unread or unreadable); ``rejected`` faces dropped on quality.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    tile: list[str | None]
    tile_boxes: np.ndarray
    participant: list[str | None]
    client_tiles: bool = False
    layout: list[Tile] = field(default_factory=list)
    crops: np.ndarray | None = None
    low_resolution: np.ndarray | None = None
    yaw: np.ndarray | None = None
    pitch: np.ndarray | None = None
    painted: list[str | None] | None = None
    rejected: list[Rejection] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.boxes)
        _optional_rows("boxes", self.boxes, n, (4,))
        _optional_rows("scores", self.scores, n, ())
        _optional_rows("keypoints", self.keypoints, n, (len(KEYPOINT_NAMES), 2))
        _optional_rows("tile_boxes", self.tile_boxes, n, (4,))
        _optional_rows("crops", self.crops, n, (CROP_SIZE, CROP_SIZE))
        _optional_rows("low_resolution", self.low_resolution, n, ())
        _optional_rows("yaw", self.yaw, n, ())
        _optional_rows("pitch", self.pitch, n, ())
        if self.painted is not None and len(self.painted) != n:
            raise ValueError(f"painted must have {n} entries, got {len(self.painted)}")
        if len(self.tile) != n or len(self.participant) != n:
            raise ValueError(f"tile and participant must have {n} entries, got {len(self.tile)} and {len(self.participant)}")
        if self.crops is not None and self.crops.dtype != np.uint8:
            raise ValueError(f"crops must be uint8, got {self.crops.dtype}")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> Detections:
        """No faces."""
        return cls.build(boxes=np.zeros((0, 4)), scores=np.zeros(0), keypoints=np.zeros((0, len(KEYPOINT_NAMES), 2)))

    @classmethod
    def build(cls, *, boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, tile: Tile | None = None) -> Detections:
        """Detections with the geometric columns given and the rest defaulted (all found in ``tile``)."""
        n = len(boxes)
        tile_box = [tile.x, tile.y, tile.w, tile.h] if tile else [0, 0, 0, 0]
        return cls(
            boxes=np.asarray(boxes, dtype=np.float32).reshape(n, 4),
            scores=np.asarray(scores, dtype=np.float32).reshape(n),
            keypoints=np.asarray(keypoints, dtype=np.float32).reshape(n, len(KEYPOINT_NAMES), 2),
            tile=[tile.name if tile else None] * n,
            tile_boxes=np.tile(np.asarray(tile_box, dtype=np.float32), (n, 1)),
            participant=[None] * n,
        )

    @classmethod
    def from_mediapipe(
        cls, result: MediaPipeResult, *, image_size: tuple[int, int], offset_xy: tuple[float, float] = (0.0, 0.0), scale: float = 1.0
    ) -> Detections:
        """Convert a MediaPipe result on an image of ``image_size`` (w, h) that is a crop of the frame at
        ``offset_xy`` resized by ``scale`` (image pixels per frame pixel) into frame coordinates."""
        width, height = image_size
        offset = np.asarray(offset_xy, dtype=np.float32)
        boxes, scores, keypoints = [], [], []
        for detection in result.detections:
            bbox = detection.bounding_box
            boxes.append([bbox.origin_x, bbox.origin_y, bbox.width, bbox.height])
            scores.append(detection.categories[0].score if detection.categories else 0.0)
            # Keypoints come normalised to the input image, boxes in its pixels.
            points = detection.keypoints or []
            keypoints.append([[point.x * width, point.y * height] for point in points] or np.full((len(KEYPOINT_NAMES), 2), np.nan))
        n = len(boxes)
        box_array = np.asarray(boxes, dtype=np.float32).reshape(n, 4) / scale
        box_array[:, :2] += offset
        point_array = np.asarray(keypoints, dtype=np.float32).reshape(n, len(KEYPOINT_NAMES), 2) / scale + offset
        return cls.build(boxes=box_array, scores=np.asarray(scores), keypoints=point_array)

    def replace(self, **changes: Any) -> Detections:
        """A copy with some columns replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def filter(self, mask: np.ndarray | Sequence[int]) -> Detections:
        """The rows selected by a boolean mask or an index array; ``rejected`` is kept."""
        index = np.asarray(mask)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.intp).reshape(-1)
        return dataclasses.replace(
            self,
            boxes=self.boxes[index],
            scores=self.scores[index],
            keypoints=self.keypoints[index],
            tile=[self.tile[i] for i in index],
            tile_boxes=self.tile_boxes[index],
            participant=[self.participant[i] for i in index],
            crops=None if self.crops is None else self.crops[index],
            low_resolution=None if self.low_resolution is None else self.low_resolution[index],
            yaw=None if self.yaw is None else self.yaw[index],
            pitch=None if self.pitch is None else self.pitch[index],
            painted=None if self.painted is None else [self.painted[i] for i in index],
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Detections]) -> Detections:
        """All rows of ``parts`` in order; optional columns must be present in all parts or in none."""
        if not parts:
            return cls.empty()

        def stacked(name: str) -> np.ndarray | None:
            values = [getattr(part, name) for part in parts]
            present = [value is not None for value in values]
            if any(present) and not all(present):
                raise ValueError(f"cannot concatenate detections where only some have {name}")
            return np.concatenate(values) if all(present) else None

        return cls(
            boxes=np.concatenate([part.boxes for part in parts]),
            scores=np.concatenate([part.scores for part in parts]),
            keypoints=np.concatenate([part.keypoints for part in parts]),
            tile=[name for part in parts for name in part.tile],
            tile_boxes=np.concatenate([part.tile_boxes for part in parts]),
            participant=[key for part in parts for key in part.participant],
            client_tiles=any(part.client_tiles for part in parts),
            layout=list(dict.fromkeys(tile for part in parts for tile in part.layout)),
            crops=stacked("crops"),
            low_resolution=stacked("low_resolution"),
            yaw=stacked("yaw"),
            pitch=stacked("pitch"),
            painted=None if any(part.painted is None for part in parts) else [name for part in parts for name in part.painted or []],
            rejected=[rejection for part in parts for rejection in part.rejected],
        )

    def nms(self, *, iou_threshold: float = 0.4, containment_threshold: float = 0.75) -> Detections:
        """Drop duplicates of the same face (see :func:`ingest.vision.tiles.nms_indices`), best score first."""
        return self.filter(nms_indices(self.boxes, self.scores, iou_threshold=iou_threshold, containment_threshold=containment_threshold))

    def without_tiles(self) -> Detections:
        """The same faces attributed to no tile (window passes: a window is not a participant)."""
        return self.replace(tile=[None] * len(self), tile_boxes=np.zeros_like(self.tile_boxes))

    def assign_tiles(self, tiles: Sequence[Tile]) -> Detections:
        """Give faces found outside tiles (whole-frame or window passes) the tile holding their box centre."""
        names, boxes = list(self.tile), self.tile_boxes.copy()
        centres = self.boxes[:, :2] + self.boxes[:, 2:] / 2
        for i, (cx, cy) in enumerate(centres):
            if names[i] is not None:
                continue
            for tile in tiles:
                if tile.x <= cx < tile.x + tile.w and tile.y <= cy < tile.y + tile.h:
                    names[i], boxes[i] = tile.name, (tile.x, tile.y, tile.w, tile.h)
                    break
        return self.replace(tile=names, tile_boxes=boxes)
