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

``tests/ingest/vision/test_blazeface.py`` checks it against MediaPipe's own results on real faces.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

INPUT_SIDE = 128
NUM_KEYPOINTS = 6
SCORE_CLIP = 100.0
NMS_IOU = 0.3


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


def letterbox(region_bgr: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The model input for a BGR region: (1, 128, 128, 3) RGB in [-1, 1], the scale (input pixels per region
    pixel) and the (x, y) padding in input pixels."""
    height, width = region_bgr.shape[:2]
    scale = INPUT_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bilinear, as MediaPipe's graph resizes: area averaging scored a cat's face 0.505 where MediaPipe
    # finds nothing, and the detector's threshold was set against MediaPipe's scores.
    resized = cv2.resize(region_bgr, size, interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (INPUT_SIDE - size[0]) / 2, (INPUT_SIDE - size[1]) / 2
    canvas = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), np.uint8)
    top, left = int(pad_y), int(pad_x)
    canvas[top : top + size[1], left : left + size[0]] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    tensor = canvas.astype(np.float32)[None] / 127.5 - 1.0
    return tensor, scale, (float(left), float(top))


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
    """The short-range face model in a LiteRT interpreter; one region at a time, thread-safe."""

    def __init__(self, path: Path, *, min_score: float) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.min_score = min_score
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}
        self._regressors, self._classificators = outputs["regressors"], outputs["classificators"]
        self._lock = threading.Lock()

    def detect(self, region_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces in a BGR region, in its pixels: boxes (n, 4) xywh, scores (n,), keypoints (n, 6, 2)."""
        tensor, scale, (pad_x, pad_y) = letterbox(region_bgr)
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._classificators)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = scores >= self.min_score
        raw, scores, anchors = raw[keep], scores[keep], ANCHORS[keep] * INPUT_SIDE
        centres = raw[:, :2] + anchors
        sizes = raw[:, 2:4]
        boxes = np.concatenate([centres - sizes / 2, sizes], axis=1)
        points = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
        boxes, scores, points = weighted_nms(boxes, scores.astype(np.float32), points)
        # From the letterboxed input back to region pixels.
        boxes[:, :2] = (boxes[:, :2] - (pad_x, pad_y)) / scale
        boxes[:, 2:] /= scale
        points = (points - (pad_x, pad_y)) / scale
        return boxes, scores, points
