"""Head yaw/pitch from six keypoints: exact on the model it assumes, ≈ 0 on frontal faces, roll-free, mirror-odd."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest.vision.gallery import iter_video_frames
from ingest.vision.pipeline import FramePipeline
from ingest.vision.pose import FRONTAL_NOSE_DROP, NOSE_DEPTH_RATIO, head_pose


def model_keypoints(*, yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """The six keypoints of the head model in pose.py (ear half-span 50 px), turned and projected."""
    r = 50.0
    # x right (image), y down, z towards the camera; order: right eye, left eye, nose, mouth, right ear, left ear.
    points = np.array(
        [
            [-0.45 * r, -0.3 * r, 0.9 * r],
            [0.45 * r, -0.3 * r, 0.9 * r],
            [0, FRONTAL_NOSE_DROP * r, NOSE_DEPTH_RATIO * r],
            [0, 0.7 * r, 1.1 * r],
            [-r, 0, 0],
            [r, 0, 0],
        ]
    )
    a, b = math.radians(yaw), math.radians(pitch)
    turn = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    # Pitch up (> 0) lifts the nose tip, which is in front (z > 0): y' = y·cos − z·sin.
    tilt = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    projected = (points @ turn.T)[:, :2] if pitch == 0 else (points @ tilt.T)[:, :2]
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    return projected @ np.array([[c, -s], [s, c]]).T + [320, 240]


def test_frontal_is_zero() -> None:
    assert head_pose(model_keypoints(yaw=0, pitch=0)) == pytest.approx((0.0, 0.0), abs=0.01)


@pytest.mark.parametrize("yaw", [-40, -15, 10, 30])
def test_yaw_is_recovered_on_the_model(yaw: float) -> None:
    assert head_pose(model_keypoints(yaw=yaw, pitch=0)) == pytest.approx((yaw, 0.0), abs=1.0)


@pytest.mark.parametrize("pitch", [-25, -10, 15, 30])
def test_pitch_is_recovered_on_the_model(pitch: float) -> None:
    assert head_pose(model_keypoints(yaw=0, pitch=pitch)) == pytest.approx((0.0, pitch), abs=1.0)


def test_roll_does_not_change_yaw_or_pitch() -> None:
    level = head_pose(model_keypoints(yaw=20, pitch=0))
    assert head_pose(model_keypoints(yaw=20, pitch=0, roll=25)) == pytest.approx(level, abs=0.01)


def test_mirroring_negates_yaw() -> None:
    points = model_keypoints(yaw=25, pitch=0)
    mirrored = points * [-1, 1]
    mirrored = mirrored[[1, 0, 2, 3, 5, 4]]  # the person's right eye is again the one on the image's left
    yaw, pitch = head_pose(mirrored)
    assert yaw == pytest.approx(-25, abs=0.5) and pitch == pytest.approx(0, abs=0.5)


def test_missing_keypoints_give_nan() -> None:
    assert all(math.isnan(v) for v in head_pose(np.full((6, 2), np.nan)))


def test_real_frontal_faces_are_near_zero(pipeline: FramePipeline, astronaut: np.ndarray, clip_paths: list[Path]) -> None:
    yaw, _pitch = head_pose(pipeline.detect(astronaut, tiles_mode="none").keypoints[0])
    assert abs(yaw) < 10
    # talking_head_4 looks into the camera throughout.
    poses = [head_pose(pipeline.detect(f.image, tiles_mode="none").keypoints[0]) for f in iter_video_frames(clip_paths[3], every=20)]
    assert np.abs(np.median(poses, axis=0)).max() < 8
    mirrored = [
        head_pose(pipeline.detect(cv2.flip(f.image, 1), tiles_mode="none").keypoints[0]) for f in iter_video_frames(clip_paths[0], every=40)
    ]
    original = [head_pose(pipeline.detect(f.image, tiles_mode="none").keypoints[0]) for f in iter_video_frames(clip_paths[0], every=40)]
    assert np.median(original, axis=0)[0] > 8 and np.median(mirrored, axis=0)[0] < -8  # the first speaker is turned
