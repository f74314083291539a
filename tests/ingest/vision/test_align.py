"""Crop/align: level eye line, FER framing, equalisation, and quality rejects with their reasons."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ingest.vision.align import align, crop_transform, eye_angle
from ingest.vision.detections import Detections
from ingest.vision.pipeline import FramePipeline


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def one_face(pipeline: FramePipeline, image: np.ndarray) -> Detections:
    found = pipeline.detect(image, tiles_mode="none")
    assert len(found) == 1
    return found


@pytest.mark.parametrize("degrees", [-25.0, 0.0, 20.0])
def test_eye_line_is_level_after_alignment(pipeline: FramePipeline, astronaut: np.ndarray, degrees: float) -> None:
    image = rotated(astronaut, degrees)
    found = one_face(pipeline, image)
    assert abs(eye_angle(found.keypoints[0]) + degrees) < 8  # the detector sees the roll we applied
    # The eye keypoints land on one row of the crop...
    matrix = crop_transform(found.boxes[0], found.keypoints[0], size=48)
    eyes = np.c_[found.keypoints[0, :2], np.ones(2)] @ matrix.T
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.5
    # ...and the detector, run again on the crop, sees a level face (its keypoints alone wobble by a few degrees).
    crop = align(found, image, min_sharpness=0).crops
    assert crop is not None and crop.shape == (1, 48, 48) and crop.dtype == np.uint8
    big = cv2.copyMakeBorder(cv2.resize(crop[0], (192, 192), interpolation=cv2.INTER_CUBIC), 96, 96, 96, 96, cv2.BORDER_CONSTANT, value=128)
    again = pipeline.detect(cv2.cvtColor(big, cv2.COLOR_GRAY2BGR), tiles_mode="none")
    assert len(again) == 1 and abs(eye_angle(again.keypoints[0])) < 8


def test_crop_is_fer_framed_and_equalised(pipeline: FramePipeline, astronaut: np.ndarray) -> None:
    found = one_face(pipeline, astronaut)
    crop = align(found, astronaut).crops
    assert crop is not None
    assert 110 < crop.mean() < 146  # FER faces here are equalised: mean ≈ 128
    # FER framing: the eyes sit about 40% down the crop, a third of its width apart.
    matrix = crop_transform(found.boxes[0], found.keypoints[0], size=48)
    eyes = np.c_[found.keypoints[0, :2], np.ones(2)] @ matrix.T
    assert 0.3 < eyes[:, 1].mean() / 48 < 0.5
    assert 0.28 < (eyes[1, 0] - eyes[0, 0]) / 48 < 0.45


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda image: (image * 0.12).astype(np.uint8), "too_dark"),
        (lambda image: cv2.GaussianBlur(image, (0, 0), 6), "too_blurred"),
    ],
)
def test_quality_rejects_say_why(pipeline: FramePipeline, astronaut: np.ndarray, spoil: object, reason: str) -> None:
    found = one_face(pipeline, astronaut)
    assert callable(spoil)
    result = align(found, spoil(astronaut))
    assert len(result) == 0 and [rejection.reason for rejection in result.rejected] == [reason]
    assert result.rejected[0].box == pytest.approx(tuple(found.boxes[0].tolist()))
    assert len(align(found, astronaut)) == 1


def test_small_faces_are_rejected_as_too_small(pipeline: FramePipeline, astronaut: np.ndarray) -> None:
    found = one_face(pipeline, astronaut)
    assert [r.reason for r in align(found, astronaut, min_face_px=200).rejected] == ["too_small"]


@pytest.mark.parametrize(
    ("side", "kept", "low_resolution"),
    [(48, True, False), (21, True, False), (19, True, True), (13, True, True), (11, False, None), (0, False, None)],
)
def test_small_faces_are_read_at_low_resolution(
    pipeline: FramePipeline, astronaut: np.ndarray, side: int, kept: bool, low_resolution: bool | None
) -> None:
    """The astronaut shrunk until her face's box is ``side`` px: from 12 px up it is read, under 20 px flagged and
    never refused as blurred (an enlarged crop is always soft); under 12 px it is too small."""
    found = one_face(pipeline, astronaut)
    scale = side / float(found.boxes[0, 2])
    small = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if side else astronaut
    shrunk = found.replace(boxes=found.boxes * scale, keypoints=found.keypoints * scale)
    result = align(shrunk, small)
    assert len(result) == (1 if kept else 0)
    if kept:
        assert result.low_resolution is not None and bool(result.low_resolution[0]) is low_resolution
        assert result.crops is not None and result.crops.shape == (1, 48, 48)
    else:
        assert [r.reason for r in result.rejected] == ["too_small"]
