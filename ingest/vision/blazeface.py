"""MediaPipe's short-range face model (BlazeFace) run directly with LiteRT, without the MediaPipe graph.

Through MediaPipe Tasks one tile costs about 3.3 ms on these cores, of which the model itself is 1.4 ms;
the rest is the graph's per-image overhead. This module does what that graph does for this one model
(``face_detection_short_range_common.pbtxt`` in MediaPipe's sources), in a few lines of NumPy:

1. letterbox the region into the 128×128 input (aspect kept, black bars), values scaled to [-1, 1];
2. 896 fixed-size SSD anchors: a 16×16 grid with 2 anchors a cell (stride 8), then 8×8 with 6 (stride 16);
3. decode each anchor's 16 numbers (box centre, size, six keypoints, in input pixels from the anchor
   centre) and its score (sigmoid of the clipped logit), keep those at or above ``min_score``;
4. weighted non-maximum suppression (IoU > 0.3): each kept face is the score-weighted mean of its
   cluster, with the best score;
5. map back from the letterboxed input to frame pixels.

A webcam tile is wide (16:9), so letterboxed alone it leaves 44% of the input black. :meth:`ShortRangeModel.detect_many`
puts two wide regions in one input instead, one above the other, each letterboxed into its half (faces about 11%
smaller than alone): half the passes for a gallery, the model being most of a tile's cost. A face belongs to the
half its centre lies in, and each half's faces are merged on their own. Where the two pictures meet the model can
see ghost faces, so a shared input keeps only faces scoring :data:`SHARED_MIN_SCORE`; a region left with none is read
again alone (a face filling its tile also scores up to 0.16 lower beside another tile's picture than over black bars),
so a region with no face costs one and a half passes instead of one.

``tests/ingest/vision/test_blazeface.py`` checks it against MediaPipe's own results on real faces.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

INPUT_SIDE = 128
NUM_KEYPOINTS = 6
SCORE_CLIP = 100.0
NMS_IOU = 0.3
PAIR_MIN_ASPECT = 1.75  # width over height of a region that shares an input (16:9 webcam tiles do)
# A shared input has no black bars between its halves: where the pictures meet, the model sees ghost faces (scores
# up to 0.55 on the vision benchmark's galleries). Faces under this score in a shared input count only when found alone.
SHARED_MIN_SCORE = 0.65
HALF = INPUT_SIDE // 2


def ssd_anchors() -> np.ndarray:
    """The model's (896, 2) anchor centres, in [0, 1] input coordinates."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = INPUT_SIDE // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


ANCHORS = ssd_anchors()


def _fit(region_bgr: np.ndarray, canvas: np.ndarray) -> tuple[float, tuple[float, float]]:
    """``region_bgr`` letterboxed into ``canvas`` (a view of the RGB input, black): the scale (input pixels per region
    pixel) and the (x, y) padding within the canvas."""
    height, width = region_bgr.shape[:2]
    scale = min(canvas.shape[1] / width, canvas.shape[0] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bilinear, as MediaPipe's graph resizes: area averaging scored a cat's face 0.505 where MediaPipe
    # finds nothing, and the detector's threshold was set against MediaPipe's scores.
    resized = cv2.resize(region_bgr, size, interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (canvas.shape[1] - size[0]) / 2, (canvas.shape[0] - size[1]) / 2
    top, left = int(pad_y), int(pad_x)
    canvas[top : top + size[1], left : left + size[0]] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    return scale, (float(left), float(top))


def _tensor(canvas: np.ndarray) -> np.ndarray:
    """The model input for an RGB ``canvas``: (1, 128, 128, 3) in [-1, 1]."""
    return canvas.astype(np.float32)[None] / 127.5 - 1.0


def letterbox(region_bgr: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The model input for a BGR region: (1, 128, 128, 3) RGB in [-1, 1], the scale (input pixels per region
    pixel) and the (x, y) padding in input pixels."""
    canvas = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), np.uint8)
    scale, padding = _fit(region_bgr, canvas)
    return _tensor(canvas), scale, padding


def pairs_well(region_bgr: np.ndarray) -> bool:
    """Whether a region is wide enough to share an input: in half of it, it loses at most 11% of its scale."""
    height, width = region_bgr.shape[:2]
    return width >= PAIR_MIN_ASPECT * height


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS over xywh ``boxes``: clusters of IoU > 0.3 merged into their score-weighted mean."""
    order = np.argsort(-scores, kind="stable")
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    areas = boxes[:, 2] * boxes[:, 3]
    kept_boxes, kept_scores, kept_points = [], [], []
    while order.size:
        best = order[0]
        inter = np.clip(np.minimum(x1[best], x1[order]) - np.maximum(x0[best], x0[order]), 0, None) * np.clip(
            np.minimum(y1[best], y1[order]) - np.maximum(y0[best], y0[order]), 0, None
        )
        iou = inter / np.maximum(areas[best] + areas[order] - inter, 1e-9)
        cluster = order[iou > NMS_IOU]
        weights = scores[cluster][:, None]
        kept_boxes.append((boxes[cluster] * weights).sum(axis=0) / weights.sum())
        kept_points.append((keypoints[cluster] * weights[:, :, None]).sum(axis=0) / weights.sum())
        kept_scores.append(scores[best])
        order = order[iou <= NMS_IOU]
    n = len(kept_scores)
    return (
        np.asarray(kept_boxes, np.float32).reshape(n, 4),
        np.asarray(kept_scores, np.float32).reshape(n),
        np.asarray(kept_points, np.float32).reshape(n, NUM_KEYPOINTS, 2),
    )


class ShortRangeModel:
    """The short-range face model in a LiteRT interpreter; one pass at a time, thread-safe."""

    def __init__(self, path: Path, *, min_score: float) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.min_score = min_score
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}
        self._regressors, self._classificators = outputs["regressors"], outputs["classificators"]
        self._lock = threading.Lock()

    def _run(self, tensor: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One pass: the candidates at or above ``min_score`` in input pixels (boxes xywh, scores, keypoints, centres)."""
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._classificators)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = scores >= min_score
        raw, scores, anchors = raw[keep], scores[keep], ANCHORS[keep] * INPUT_SIDE
        centres = raw[:, :2] + anchors
        sizes = raw[:, 2:4]
        boxes = np.concatenate([centres - sizes / 2, sizes], axis=1)
        points = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
        return boxes, scores.astype(np.float32), points, centres

    @staticmethod
    def _faces(
        candidates: tuple[np.ndarray, np.ndarray, np.ndarray], scale: float, offset: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One region's candidates merged, from the input (where the region sits at ``offset``) back to its pixels."""
        boxes, scores, points = weighted_nms(*candidates)
        boxes[:, :2] = (boxes[:, :2] - offset) / scale
        boxes[:, 2:] /= scale
        return boxes, scores, (points - offset) / scale

    def detect(self, region_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces in a BGR region, in its pixels: boxes (n, 4) xywh, scores (n,), keypoints (n, 6, 2)."""
        tensor, scale, offset = letterbox(region_bgr)
        boxes, scores, points, _ = self._run(tensor, self.min_score)
        return self._faces((boxes, scores, points), scale, offset)

    def detect_many(self, regions: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`detect` for each of ``regions`` (none empty), wide ones two to a pass."""
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(regions)
        wide = [i for i, region in enumerate(regions) if pairs_well(region)]
        for first, second in zip(wide[::2], wide[1::2], strict=False):
            canvas = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), np.uint8)
            placed = [(first, 0, _fit(regions[first], canvas[:HALF])), (second, HALF, _fit(regions[second], canvas[HALF:]))]
            boxes, scores, points, centres = self._run(_tensor(canvas), max(self.min_score, SHARED_MIN_SCORE))
            for index, top, (scale, (pad_x, pad_y)) in placed:
                mine = (centres[:, 1] >= top) & (centres[:, 1] < top + HALF)
                found[index] = self._faces((boxes[mine], scores[mine], points[mine]), scale, (pad_x, top + pad_y))
        return [
            result if result is not None and len(result[0]) else self.detect(region) for result, region in zip(found, regions, strict=True)
        ]
