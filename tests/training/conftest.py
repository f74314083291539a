"""Shared fixtures: tiny synthetic FER data and models, and the real data under ../shared/data."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from tests.conftest import require_shared
from training.data import CLASS_NAMES

FACE = 48


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` with ``fer2013/`` and ``mnist/``; missing data fails under CI and skips elsewhere."""
    require_shared("fer2013")
    return require_shared("mnist").parent


def write_face_folder(root: Path, per_class: int = 2, *, size: int = FACE, seed: int = 0) -> Path:
    """``root/<class>/<i>.png`` with random gray faces for every FER2013 class."""
    rng = np.random.default_rng(seed)
    for name in CLASS_NAMES:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{i}.png"), rng.integers(0, 256, size=(size, size), dtype=np.uint8))
    return root


@pytest.fixture
def face_folder(tmp_path: Path) -> Callable[..., Path]:
    """A factory for tiny image-folder data sets under ``tmp_path``."""

    def make(name: str = "faces", per_class: int = 2, seed: int = 0) -> Path:
        return write_face_folder(tmp_path / name, per_class, seed=seed)

    return make


@pytest.fixture
def small_speed_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Exports that time each file briefly at a small batch and cache data under ``tmp_path``."""
    from training import export

    monkeypatch.setattr(export, "SPEED_SECONDS", 0.05)
    monkeypatch.setattr(export, "SPEED_BATCH", 8)
    monkeypatch.setattr(export, "CACHE_DIR", tmp_path / "cache")


def tiny_model() -> keras.Model:
    """A small model with the production input contract: (None, 48, 48, 1) pixels 0..255 in, 7 probabilities out."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(FACE, FACE, 1), name="face")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved :func:`tiny_model` in a run folder with a ``log.csv`` and ``best.json``."""
    run = tmp_path_factory.mktemp("run")
    path = run / "best.keras"
    tiny_model().save(path)
    (run / "best.json").write_text('{"epoch": 2, "val_accuracy": 0.2}')
    (run / "log.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.2,1.9,0.18,2.1\n1,0.3,1.8,0.2,2.0\n")
    return path


def write_idx(path: Path, array: np.ndarray, *, type_code: int = 0x08, payload: bytes | None = None) -> Path:
    """A gzipped IDX file holding ``array`` (or ``payload`` after the header)."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + (array.astype(np.uint8).tobytes() if payload is None else payload))
    return path


def write_mnist(root: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """MNIST-named IDX files with random 28x28 digits under ``root``."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return root
