"""Batched augmentation for 48×48 faces: one vectorised function over the whole batch, inside the train step.

Keras's preprocessing layers (``RandomRotation``, ``RandomZoom``…) each draw and warp per layer, one after
another; on these CPUs they cost more than the model's own step (the model card has the figures). Here every
random number a batch needs is drawn on the host in one go from a NumPy generator seeded by (run seed, epoch,
step), so a run is reproducible and resumes exactly, and the pixel work is three tensor operations whatever
the batch size: one projective warp (flip, rotation, zoom and shift composed into one matrix per face), one
brightness/contrast affine map, and one random-erasing mask. Mixup and CutMix mix two faces and their labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import keras
import numpy as np
from keras import ops

SIDE = 48


@dataclass(frozen=True)
class Augmentation:
    """How much each face is jittered; every range is symmetric about no change unless stated."""

    flip: bool = True
    rotation_degrees: float = 10.0
    zoom: tuple[float, float] = (0.9, 1.15)  # scale factor range (>1 enlarges the face)
    shift: float = 0.1  # of the side, in x and y
    brightness: float = 0.15  # of the 0..255 range
    contrast: float = 0.3
    erasing: float = 0.5  # probability of erasing one rectangle (Zhong et al., random erasing)
    erasing_area: tuple[float, float] = (0.02, 0.2)  # of the face
    erasing_aspect: tuple[float, float] = (0.3, 3.3)
    mixup: float = 0.0  # Beta(α, α) for mixup; 0: off
    cutmix: float = 0.0  # Beta(α, α) for CutMix; 0: off (with both on, each batch picks one at random)


NONE = Augmentation(flip=False, rotation_degrees=0.0, zoom=(1.0, 1.0), shift=0.0, brightness=0.0, contrast=0.0, erasing=0.0)


# What :func:`draw` returns for a batch of n faces: each parameter's shape after the batch axis.
PARAMETER_SHAPES: dict[str, tuple[int, ...]] = {
    "transform": (8,),
    "gain": (),
    "offset": (),
    "erase_box": (4,),
    "erase_value": (),
    "partner": (),
    "keep": (),
    "cut_box": (4,),
}


def step_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The generator of one training step: the same (seed, epoch, step) always draws the same numbers."""
    return np.random.default_rng([seed, epoch, step])


def draw(aug: Augmentation, *, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every random parameter of one batch, as float32 arrays (what :func:`apply` takes)."""
    flip = np.where(rng.random(batch) < 0.5, -1.0, 1.0) if aug.flip else np.ones(batch)
    angle = np.deg2rad(rng.uniform(-aug.rotation_degrees, aug.rotation_degrees, batch))
    scale = np.exp(rng.uniform(np.log(aug.zoom[0]), np.log(aug.zoom[1]), batch))
    shift = rng.uniform(-aug.shift, aug.shift, (batch, 2)) * SIDE
    area = rng.uniform(*aug.erasing_area, batch) * SIDE * SIDE
    aspect = np.exp(rng.uniform(np.log(aug.erasing_aspect[0]), np.log(aug.erasing_aspect[1]), batch))
    erase_h = np.minimum(np.sqrt(area * aspect), SIDE)
    erase_w = np.minimum(np.sqrt(area / aspect), SIDE)
    erase_y = rng.uniform(0, 1, batch) * (SIDE - erase_h)
    erase_x = rng.uniform(0, 1, batch) * (SIDE - erase_w)
    erased = rng.random(batch) < aug.erasing
    params = {
        "transform": _inverse_transforms(flip, angle, scale, shift),
        "gain": rng.uniform(1 - aug.contrast, 1 + aug.contrast, batch),
        "offset": rng.uniform(-aug.brightness, aug.brightness, batch) * 255.0,
        # An empty box (zero size) where nothing is erased keeps the mask arithmetic branch-free.
        "erase_box": np.stack([erase_x, erase_y, erase_x + erase_w * erased, erase_y + erase_h * erased], axis=1),
        "erase_value": rng.uniform(0, 255, batch),
    }
    params.update(_draw_mix(aug, batch=batch, rng=rng))
    return {key: np.asarray(value, np.float32) for key, value in params.items()}


def _inverse_transforms(flip: np.ndarray, angle: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Rows ``[a0 a1 a2 b0 b1 b2 0 0]`` mapping each output pixel to its input pixel (what the warp samples):
    the inverse of flipping, rotating and scaling about the centre, then shifting."""
    centre = (SIDE - 1) / 2
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    a0, a1, b0, b1 = flip * cos, flip * sin, -sin, cos
    # input = M (output - centre - shift) + centre
    ox, oy = centre + shift[:, 0], centre + shift[:, 1]
    a2 = centre - (a0 * ox + a1 * oy)
    b2 = centre - (b0 * ox + b1 * oy)
    zeros = np.zeros_like(a0)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _draw_mix(aug: Augmentation, *, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Mixup/CutMix partners and weights; with neither on, every face is its own partner at weight 1."""
    kinds = [kind for kind, alpha in (("mixup", aug.mixup), ("cutmix", aug.cutmix)) if alpha > 0]
    if not kinds:
        return {"partner": np.arange(batch), "keep": np.ones(batch), "cut_box": np.zeros((batch, 4))}
    kind = kinds[int(rng.integers(len(kinds)))]
    alpha = aug.mixup if kind == "mixup" else aug.cutmix
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(batch)
    if kind == "mixup":
        return {"partner": partner, "keep": np.full(batch, lam), "cut_box": np.zeros((batch, 4))}
    # CutMix: one box of area (1 - lam) pasted from the partner; the label weight is the area actually kept.
    cut = SIDE * np.sqrt(1 - lam)
    cx, cy = rng.uniform(0, SIDE, 2)
    x0, x1 = np.clip([cx - cut / 2, cx + cut / 2], 0, SIDE)
    y0, y1 = np.clip([cy - cut / 2, cy + cut / 2], 0, SIDE)
    kept = 1 - (x1 - x0) * (y1 - y0) / (SIDE * SIDE)
    return {"partner": partner, "keep": np.full(batch, kept), "cut_box": np.tile([x0, y0, x1, y1], (batch, 1))}


def _box_mask(box: keras.KerasTensor) -> keras.KerasTensor:
    """(n, 48, 48, 1) float mask, 1 inside each face's ``[x0, y0, x1, y1]`` box (pixel centres)."""
    grid = ops.arange(SIDE, dtype="float32") + 0.5
    inside_x = (grid[None, :] >= box[:, 0:1]) & (grid[None, :] < box[:, 2:3])
    inside_y = (grid[None, :] >= box[:, 1:2]) & (grid[None, :] < box[:, 3:4])
    mask = ops.logical_and(inside_y[:, :, None], inside_x[:, None, :])
    return ops.cast(mask, "float32")[..., None]


def apply(
    images: keras.KerasTensor, labels: keras.KerasTensor, params: dict[str, keras.KerasTensor]
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """Augment a batch of (n, 48, 48, 1) faces in 0..255 and their one-hot (or soft) labels with ``params``
    from :func:`draw`; returns faces still in 0..255 and the mixed labels."""
    faces = ops.image.affine_transform(images, params["transform"], interpolation="bilinear", fill_mode="nearest")
    mean = ops.mean(faces, axis=(1, 2, 3), keepdims=True)
    faces = (faces - mean) * params["gain"][:, None, None, None] + mean + params["offset"][:, None, None, None]
    erase = _box_mask(params["erase_box"])
    faces = faces * (1 - erase) + erase * params["erase_value"][:, None, None, None]
    faces = ops.clip(faces, 0.0, 255.0)
    partner = ops.cast(params["partner"], "int32")
    others, other_labels = ops.take(faces, partner, axis=0), ops.take(labels, partner, axis=0)
    keep = params["keep"][:, None]
    cut = _box_mask(params["cut_box"])
    # Mixup blends whole faces (cut box empty); CutMix pastes the box (keep is then the area kept).
    is_cutmix = ops.cast(ops.sum(params["cut_box"], axis=1) > 0, "float32")[:, None, None, None]
    blended = faces * keep[:, :, None, None] + others * (1 - keep[:, :, None, None])
    pasted = faces * (1 - cut) + others * cut
    faces = is_cutmix * pasted + (1 - is_cutmix) * blended
    return faces, labels * keep + other_labels * (1 - keep)


TEST_TIME_AUGMENTATIONS = ("none", "flip", "ten_crop")
TEN_CROP_SIDE = 44


def test_time_views(images: np.ndarray, mode: str) -> list[np.ndarray]:
    """The views of ``images`` ((n, 48, 48) or (n, 48, 48, 1)) whose probabilities test-time augmentation averages:
    the faces alone (``none``); with their mirror images (``flip``); or the four corner crops and the centre crop
    of 44 px, each enlarged back to 48 px, and the mirror image of each (``ten_crop``)."""
    if mode not in TEST_TIME_AUGMENTATIONS:
        raise ValueError(f"unknown test-time augmentation {mode!r}; use one of {', '.join(TEST_TIME_AUGMENTATIONS)}")
    if mode == "none":
        return [images]
    if mode == "flip":
        return [images, images[:, :, ::-1]]
    side, crop = images.shape[1], TEN_CROP_SIDE
    edge, centre = side - crop, (side - crop) // 2
    views = []
    for top, left in ((0, 0), (0, edge), (edge, 0), (edge, edge), (centre, centre)):
        cropped = images[:, top : top + crop, left : left + crop]
        enlarged = np.stack([cv2.resize(face, (side, side), interpolation=cv2.INTER_LINEAR) for face in cropped])
        enlarged = enlarged.reshape(cropped.shape[0], side, side, *images.shape[3:]).astype(images.dtype)
        views += [enlarged, enlarged[:, :, ::-1]]
    return views
