"""Synthetic out-of-plane head turns: the keypoint pose estimator must see the turn they apply."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.head_turns import FaceMesh, fit_largest_face, mirror_landmarks, rotation_matrix, turn_head
from ingest.vision.detector import get_detector
from ingest.vision.pose import head_pose
from tests.factories import astronaut_bgr


@pytest.fixture(scope="module")
def mesh() -> FaceMesh:
    return FaceMesh(num_threads=1)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return astronaut_bgr()


def estimated_pose(image: np.ndarray) -> tuple[float, float]:
    faces = get_detector().detect_wide(image)
    assert len(faces) == 1
    return head_pose(faces.keypoints[0])


def test_rotation_signs_match_the_pose_estimator() -> None:
    nose = np.array([0.0, 0.0, -1.0])  # in front of the pivot (z grows away from the camera)
    assert (rotation_matrix(30, 0) @ nose)[0] > 0.4  # yaw > 0: towards the image's right
    assert (rotation_matrix(0, 30) @ nose)[1] < -0.4  # pitch > 0: up (y grows down)
    assert np.allclose(rotation_matrix(0, 0), np.eye(3))


def test_mesh_fits_the_face_and_pairs_its_sides(mesh: FaceMesh, astronaut: np.ndarray) -> None:
    found = fit_largest_face(astronaut, mesh)
    assert found is not None
    face, fit = found
    x, y, w, h = face.boxes[0]
    assert fit.points.shape == (468, 3) and fit.score > 0.9
    centre = fit.points[:, :2].mean(axis=0)
    assert abs(centre[0] - (x + w / 2)) < 0.15 * w and abs(centre[1] - (y + h / 2)) < 0.25 * h
    mirror = mirror_landmarks(fit.points)
    assert mirror[33] == 263 and mirror[234] == 454 and mirror[1] == 1  # outer eye corners, cheeks, nose tip


@pytest.mark.parametrize("yaw", [45.0, -45.0])
def test_yaw_turns_are_seen_by_the_keypoint_estimator(mesh: FaceMesh, astronaut: np.ndarray, yaw: float) -> None:
    turned = turn_head(astronaut, yaw=yaw, pitch=0, mesh=mesh)
    assert turned is not None and turned.shape == astronaut.shape
    estimated_yaw, _ = estimated_pose(turned)
    assert estimated_yaw * np.sign(yaw) > 25


def test_looking_down_is_seen_by_the_keypoint_estimator(mesh: FaceMesh, astronaut: np.ndarray) -> None:
    turned = turn_head(astronaut, yaw=0, pitch=-35, mesh=mesh)
    assert turned is not None
    _, before = estimated_pose(astronaut)
    _, after = estimated_pose(turned)
    assert after < 0 and after < before - 15


def test_no_turn_returns_the_picture(mesh: FaceMesh, astronaut: np.ndarray) -> None:
    turned = turn_head(astronaut, yaw=0, pitch=0, mesh=mesh)
    assert turned is not None
    assert np.abs(turned.astype(np.int16) - astronaut).max() <= 1


def test_no_face_gives_none(mesh: FaceMesh) -> None:
    blank = np.full((240, 320, 3), 127, dtype=np.uint8)
    assert turn_head(blank, yaw=30, pitch=0, mesh=mesh) is None
