"""The end-to-end photo benchmark: its cuts, its scenes, and what it measures on real faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from benchmarks.posed_photos import CUTS, box_crop, correlation, fer_scene, measure, registry_set, roll_image
from project.demo_media import posed_photos
from tests.conftest import require_shared
from training.data import CLASS_NAMES, load_folder


def test_box_crop_is_the_detector_box_squared_about_its_centre() -> None:
    gray = np.zeros((200, 300), np.uint8)
    gray[50:150, 100:160] = 255  # a 60×100 box: squared to 100×100 about its centre, dark either side

    crop = box_crop(gray, np.array([100, 50, 60, 100], np.float32), np.zeros((6, 2), np.float32))

    assert crop.shape == (48, 48)
    assert crop[:, 24].min() == 255 and crop[24, :8].max() == 0 and crop[24, -8:].max() == 0


def test_box_crop_past_the_edge_smears_the_edge_out() -> None:
    gray = np.full((100, 100), 90, np.uint8)
    crop = box_crop(gray, np.array([-20, -20, 60, 60], np.float32), np.zeros((6, 2), np.float32))
    assert crop.shape == (48, 48) and (crop == 90).all()


@pytest.mark.parametrize(("degrees", "shape"), [(0, (100, 200)), (90, (200, 100)), (30, (186, 223))])
def test_a_rolled_picture_keeps_all_of_itself(degrees: float, shape: tuple[int, int]) -> None:
    rolled = roll_image(np.full((100, 200, 3), 128, np.uint8), degrees)
    assert rolled.shape[:2] == pytest.approx(shape, abs=1)


def test_a_fer_scene_puts_its_face_where_it_says() -> None:
    face = cv2.resize(cv2.cvtColor(cv2.imread(str(next(iter(posed_photos().values()))[0])), cv2.COLOR_BGR2GRAY), (48, 48))

    scene = fer_scene(face, label=3, rng=np.random.default_rng(1), name="x")

    assert scene.centre is not None and scene.side is not None and scene.image.shape == (480, 640, 3)
    # Undo the placement from what the photo records: the source face comes back.
    matrix = cv2.getRotationMatrix2D(scene.centre, -scene.roll, 48 / scene.side)
    matrix[:, 2] += 24 - np.array(scene.centre)
    back = cv2.warpAffine(cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY), matrix, (48, 48), flags=cv2.INTER_AREA)
    assert correlation(back[4:-4, 4:-4], face[4:-4, 4:-4]) > 0.9
    assert abs(scene.roll) <= 30 and math.isfinite(scene.roll)


def test_registry_photos_are_named_by_their_expression_and_all_found() -> None:
    photos = registry_set()
    assert {CLASS_NAMES[photo.label] for photo in photos} == {"surprise", "happy", "angry", "disgust"}

    result = measure(photos)

    assert result["photos"] == len(photos) == 40 and result["faces_found"] == 40
    assert set(result["cuts"]) == set(CUTS)
    for cut in result["cuts"].values():
        assert 0 <= cut["accuracy"] <= 1 and cut["framing_correlation"] is None


def test_the_served_cut_reproduces_fer_framing_better_than_the_detector_box() -> None:
    test = load_folder(require_shared("fer2013", "test"))
    rng = np.random.default_rng(0)
    picked = rng.choice(len(test), size=60, replace=False)
    photos = [fer_scene(test.images[k, ..., 0], label=int(test.labels[k]), rng=rng, name=str(k)) for k in picked]

    result = measure(photos)

    assert result["faces_found"] >= 0.8 * len(photos)
    framing = {name: cut["framing_correlation"] for name, cut in result["cuts"].items()}
    assert framing["FER margins, eyes level"] > framing["FER margins"] > framing["detector box"], framing
