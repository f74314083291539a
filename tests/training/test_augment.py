"""Batched augmentation: shapes, value range, determinism under a seed, and what each part does to a face."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from training import augment
from training.augment import NONE, Augmentation


def faces(n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)


def one_hot(n: int = 16) -> np.ndarray:
    return np.eye(7, dtype=np.float32)[np.arange(n) % 7]


def run(aug: Augmentation, images: np.ndarray, labels: np.ndarray, *, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    params = augment.draw(aug, batch=len(images), rng=augment.step_rng(seed, 0, 0))
    out, mixed = augment.apply(images, labels, params)
    return np.asarray(out), np.asarray(mixed)


@pytest.mark.parametrize("batch", [1, 16, 128])
@pytest.mark.parametrize(
    "aug", [Augmentation(), Augmentation(mixup=0.4), Augmentation(cutmix=1.0), NONE], ids=["default", "mixup", "cutmix", "none"]
)
def test_shapes_and_range(aug: Augmentation, batch: int) -> None:
    out, mixed = run(aug, faces(batch), one_hot(batch))
    assert out.shape == (batch, 48, 48, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert mixed.shape == (batch, 7)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-5)  # mixed labels are still distributions


def test_the_same_seed_gives_the_same_batch_and_another_seed_does_not() -> None:
    images, labels = faces(), one_hot()
    first, second = run(Augmentation(mixup=0.4), images, labels, seed=7), run(Augmentation(mixup=0.4), images, labels, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], run(Augmentation(mixup=0.4), images, labels, seed=8)[0])


def test_no_augmentation_is_the_identity() -> None:
    images, labels = faces(), one_hot()
    out, mixed = run(NONE, images, labels)
    np.testing.assert_allclose(out, images, atol=1e-3)
    np.testing.assert_array_equal(mixed, labels)


def test_a_flip_alone_mirrors_the_face() -> None:
    images = faces(64)
    only_flip = dataclasses.replace(NONE, flip=True)
    params = augment.draw(only_flip, batch=64, rng=augment.step_rng(3, 0, 0))
    out, _ = augment.apply(images, one_hot(64), params)
    flipped = params["transform"][:, 0] < 0
    assert 0 < flipped.sum() < 64  # about half
    np.testing.assert_allclose(np.asarray(out)[flipped], images[flipped][:, :, ::-1], atol=1e-3)
    np.testing.assert_allclose(np.asarray(out)[~flipped], images[~flipped], atol=1e-3)


def test_erasing_fills_one_rectangle_with_one_value() -> None:
    images = np.full((32, 48, 48, 1), 100.0, np.float32)
    only_erase = dataclasses.replace(NONE, erasing=1.0)
    params = augment.draw(only_erase, batch=32, rng=augment.step_rng(5, 0, 0))
    out, _ = augment.apply(images, one_hot(32), params)
    out = np.asarray(out)
    for face, value, (x0, y0, x1, y1) in zip(out, params["erase_value"], params["erase_box"], strict=True):
        changed = np.argwhere(np.abs(face[..., 0] - 100.0) > 1e-3)
        assert len(changed) > 0
        np.testing.assert_allclose(face[changed[:, 0], changed[:, 1], 0], value, atol=1e-3)
        assert changed[:, 1].min() >= int(x0) and changed[:, 1].max() <= int(np.ceil(x1))
        assert changed[:, 0].min() >= int(y0) and changed[:, 0].max() <= int(np.ceil(y1))


def test_cutmix_weighs_labels_by_the_area_kept() -> None:
    images = np.concatenate([np.zeros((8, 48, 48, 1)), np.full((8, 48, 48, 1), 255.0)]).astype(np.float32)
    only_cutmix = dataclasses.replace(NONE, cutmix=1.0)
    params = augment.draw(only_cutmix, batch=16, rng=augment.step_rng(2, 0, 0))
    out, mixed = augment.apply(images, one_hot(16), params)
    out, keep = np.asarray(out), params["keep"]
    for i, partner in enumerate(params["partner"].astype(int)):
        if (images[i] == images[partner]).all():
            continue
        share_own = np.mean(np.abs(out[i] - images[i]) < 1e-3)
        assert share_own == pytest.approx(keep[i], abs=0.03)
    np.testing.assert_allclose(np.asarray(mixed).sum(axis=1), 1.0, atol=1e-5)


def test_the_host_draws_every_parameter_as_float32() -> None:
    params = augment.draw(Augmentation(cutmix=1.0, mixup=0.2), batch=4, rng=augment.step_rng(0, 0, 0))
    assert set(params) == {"transform", "gain", "offset", "erase_box", "erase_value", "partner", "keep", "cut_box"}
    assert all(value.dtype == np.float32 and len(value) == 4 for value in params.values())


@pytest.mark.parametrize(("mode", "count"), [("none", 1), ("flip", 2), ("ten_crop", 10)])
@pytest.mark.parametrize("shape", [(3, 48, 48), (3, 48, 48, 1)], ids=["gray", "channel"])
def test_test_time_views_keep_the_faces_shape(mode: str, count: int, shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    views = augment.test_time_views(images, mode)
    assert len(views) == count
    assert all(view.shape == shape and view.dtype == np.uint8 for view in views)
    np.testing.assert_array_equal(views[0] if mode != "ten_crop" else images, images)
    if mode != "none":
        np.testing.assert_array_equal(views[1], views[0][:, :, ::-1])


def test_an_unknown_test_time_augmentation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown test-time augmentation 'five_crop'"):
        augment.test_time_views(np.zeros((1, 48, 48), np.uint8), "five_crop")
