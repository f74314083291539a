"""The short-range model run directly in LiteRT finds what MediaPipe's own graph finds, where it finds it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.vision.blazeface import ANCHORS, INPUT_SIDE, ShortRangeModel, letterbox, pairs_well, weighted_nms
from ingest.vision.detector import FaceDetector, _mediapipe, get_detector
from ingest.vision.gallery import _fit, iter_video_frames

TILE_SIZES = [(640, 360), (320, 180), (200, 112), (96, 54), (180, 320)]


def _mediapipe_short(detector: FaceDetector, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe Tasks' own result for the short-range model (the reference)."""
    mp, BaseOptions, vision = _mediapipe()
    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(detector.model_paths["short"])), min_detection_confidence=0.5
    )
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    with vision.FaceDetector.create_from_options(options) as reference:
        result = reference.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    height, width = image_bgr.shape[:2]
    boxes = np.array(
        [[d.bounding_box.origin_x, d.bounding_box.origin_y, d.bounding_box.width, d.bounding_box.height] for d in result.detections]
    )
    scores = np.array([d.categories[0].score for d in result.detections])
    points = np.array([[[k.x * width, k.y * height] for k in d.keypoints] for d in result.detections])
    return boxes.reshape(-1, 4), scores.reshape(-1), points.reshape(-1, 6, 2)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter_w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


@pytest.fixture(scope="module")
def tiles(registry_videos: list[Path]) -> list[np.ndarray]:
    """Tiles of several sizes and shapes cut from the registry-shipped clips, face or no face."""
    return [
        _fit(frame.image, *size) for path in registry_videos for frame in iter_video_frames(path, every=20, limit=3) for size in TILE_SIZES
    ]


def test_same_faces_as_mediapipe(tiles: list[np.ndarray]) -> None:
    detector = get_detector()
    model = ShortRangeModel(detector.model_paths["short"], min_score=0.5)
    compared = 0
    for tile in tiles:
        boxes, scores, points = model.detect(tile)
        ref_boxes, ref_scores, ref_points = _mediapipe_short(detector, tile)
        assert len(boxes) == len(ref_boxes)
        for box, score, point, ref_box, ref_score, ref_point in zip(boxes, scores, points, ref_boxes, ref_scores, ref_points, strict=True):
            # MediaPipe rounds its boxes to whole pixels, so tiny faces get a 2 px allowance.
            assert np.abs(box - ref_box).max() <= max(2.0, 0.1 * ref_box[2])
            assert _iou(box, ref_box) > 0.8
            assert abs(score - ref_score) < 0.05
            assert np.abs(point - ref_point).max() < 0.1 * ref_box[2]
            compared += 1
    assert compared >= len(tiles) // 2  # most tiles hold a face: the comparison is not vacuous


def test_anchors_cover_the_input_in_the_models_order() -> None:
    assert ANCHORS.shape == (896, 2)
    assert ANCHORS[:2].tolist() == [[0.03125, 0.03125], [0.03125, 0.03125]]  # stride 8: two anchors a cell
    assert ANCHORS[512:518].tolist() == [[0.0625, 0.0625]] * 6  # stride 16: six a cell
    assert ANCHORS.min() > 0 and ANCHORS.max() < 1


@pytest.mark.parametrize(("width", "height"), [(320, 180), (180, 320), (64, 64), (1, 1)])
def test_letterbox_keeps_the_aspect_and_the_range(width: int, height: int) -> None:
    tensor, scale, (pad_x, pad_y) = letterbox(np.full((height, width, 3), 255, np.uint8))
    assert tensor.shape == (1, INPUT_SIDE, INPUT_SIDE, 3) and tensor.dtype == np.float32
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0
    assert scale == pytest.approx(INPUT_SIDE / max(width, height))
    white = tensor[0, :, :, 0] > 0.99
    assert white.sum() == pytest.approx(width * scale * height * scale, rel=0.1)
    assert (pad_x == 0) or (pad_y == 0)


def test_weighted_nms_merges_a_cluster_into_its_weighted_mean() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], np.float32)
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    points = np.stack([np.full((6, 2), v, np.float32) for v in (0.0, 5.0, 55.0)])
    kept_boxes, kept_scores, kept_points = weighted_nms(boxes, scores, points)
    assert kept_scores.tolist() == pytest.approx([0.9, 0.8])
    assert kept_boxes[0].tolist() == pytest.approx([0.4, 0.4, 10, 10])
    assert kept_points[0, 0].tolist() == pytest.approx([2.0, 2.0])
    assert kept_boxes[1].tolist() == [50, 50, 10, 10]


def test_weighted_nms_of_nothing() -> None:
    kept = weighted_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 6, 2), np.float32))
    assert [part.shape for part in kept] == [(0, 4), (0,), (0, 6, 2)]


def _matched(alone: tuple[np.ndarray, np.ndarray, np.ndarray], shared: tuple[np.ndarray, np.ndarray, np.ndarray]) -> int:
    """How many faces found alone are found with an input shared (IoU > 0.7, score within 0.1); asserts no face more or fewer."""
    assert len(shared[0]) == len(alone[0])
    matched = 0
    for box, score in zip(*alone[:2], strict=True):
        best = max(range(len(shared[0])), key=lambda j: _iou(box, shared[0][j]))
        assert _iou(box, shared[0][best]) > 0.7
        assert abs(score - shared[1][best]) < 0.1
        matched += 1
    return matched


def test_wide_tiles_sharing_an_input_find_the_faces_each_finds_alone(tiles: list[np.ndarray]) -> None:
    model = get_detector()._short_model()
    wide = [tile for tile in tiles if pairs_well(tile)][:-1]
    assert len(wide) % 2 == 1  # the odd one out is read alone
    matched = 0
    for alone, shared in zip([model.detect(tile) for tile in wide], model.detect_many(wide), strict=True):
        matched += _matched(alone, shared)
    assert matched >= len(wide) // 2  # most tiles hold a face: the comparison is not vacuous


@pytest.mark.parametrize("face_first", [True, False], ids=["face above", "face below"])
def test_a_face_belongs_to_its_own_half_of_a_shared_input(tiles: list[np.ndarray], face_first: bool) -> None:
    model = get_detector()._short_model()
    face = next(tile for tile in tiles if tile.shape[:2] == (180, 320) and len(model.detect(tile)[0]) == 1)
    empty = np.full_like(face, 90)
    regions = [face, empty] if face_first else [empty, face]
    found = model.detect_many(regions)
    assert [len(boxes) for boxes, _, _ in found] == ([1, 0] if face_first else [0, 1])
    _matched(model.detect(face), found[0 if face_first else 1])


@pytest.mark.parametrize(
    ("width", "height", "shares"),
    [(320, 180, True), (1280, 720, True), (175, 100, True), (240, 180, False), (180, 320, False), (100, 100, False)],
    ids=["16:9", "16:9 large", "1.75", "4:3", "portrait", "square"],
)
def test_only_wide_regions_share_an_input(width: int, height: int, shares: bool) -> None:
    assert pairs_well(np.zeros((height, width, 3), np.uint8)) is shares


def test_no_regions_no_passes() -> None:
    assert get_detector()._short_model().detect_many([]) == []
