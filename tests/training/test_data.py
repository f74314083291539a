"""Loaders: the Kaggle CSV, the image-folder layout and MNIST IDX files, with their exact error messages."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.training.conftest import write_idx, write_mnist
from training.data import CLASS_NAMES, DataError, Dataset, load, load_cached, load_csv, load_folder, load_idx, load_mnist

PIXELS = " ".join(["7"] * 48 * 48)
HEADER = "emotion,pixels,Usage\n"
EXPECTED_CLASSES = ", ".join(CLASS_NAMES)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- Kaggle CSV -------------------------------------------------------------------------------------------------------------------


def test_csv_loads_rows_in_order_and_filters_usage(tmp_path: Path) -> None:
    other = " ".join(["200"] * 48 * 48)
    csv_path = write(tmp_path / "fer.csv", f"{HEADER}3,{PIXELS},Training\n6,{other},PublicTest\n0,{PIXELS},Training\n")

    everything = load_csv(csv_path)
    training = load_csv(csv_path, usage="Training")

    assert everything.images.shape == (3, 48, 48, 1) and everything.images.dtype == np.uint8
    assert everything.labels.tolist() == [3, 6, 0]
    assert int(everything.images[1].max()) == 200
    assert training.labels.tolist() == [3, 0]
    assert load(csv_path).labels.tolist() == [3, 6, 0]


@pytest.mark.parametrize(
    ("text", "usage", "message"),
    [
        pytest.param("", None, "{p}: empty file", id="empty-file"),
        pytest.param(HEADER, None, "{p}: no rows", id="header-only"),
        pytest.param(f"{HEADER}0,{PIXELS},Training\n", "PrivateTest", "{p}: no rows with Usage='PrivateTest'", id="no-rows-of-usage"),
        pytest.param(f"emotion,pixels\n0,{PIXELS}\n", "Training", "{p}: no 'Usage' column to select 'Training'", id="no-usage-column"),
        pytest.param(
            "emotion,Usage\n0,Training\n",
            None,
            "{p}: header must have 'emotion' and 'pixels' columns, got ['Usage', 'emotion']",
            id="no-pixels-column",
        ),
        pytest.param(f"{HEADER}happy,{PIXELS},Training\n", None, "{p}:2: emotion 'happy' is not an integer", id="malformed-emotion"),
        pytest.param(f"{HEADER}7,{PIXELS},Training\n", None, "{p}:2: unknown class 7 (expected 0..6)", id="unknown-class"),
        pytest.param(f"{HEADER}-1,{PIXELS},Training\n", None, "{p}:2: unknown class -1 (expected 0..6)", id="negative-class"),
        pytest.param(f"{HEADER}0,1 2 x,Training\n", None, "{p}:2: pixels must be space-separated integers", id="malformed-pixels"),
        pytest.param(f"{HEADER}0,{PIXELS},Training\n1\n", None, "{p}:3: pixels must be space-separated integers", id="truncated-row"),
        pytest.param(f"{HEADER}0,1 2 3,Training\n", None, "{p}:2: 3 pixels, expected 2304", id="wrong-image-size"),
        pytest.param(f"{HEADER}0,{PIXELS} 1,Training\n", None, "{p}:2: 2305 pixels, expected 2304", id="one-pixel-too-many"),
        pytest.param(f"{HEADER}0,{'256 ' * 2304},Training\n", None, "{p}:2: pixel values must be within 0..255", id="pixel-out-of-range"),
    ],
)
def test_csv_errors_name_the_file_line_and_problem(tmp_path: Path, text: str, usage: str | None, message: str) -> None:
    csv_path = write(tmp_path / "bad.csv", text)

    with pytest.raises(DataError) as raised:
        load_csv(csv_path, usage=usage)

    assert str(raised.value) == message.format(p=csv_path)


# --- image folders -----------------------------------------------------------------------------------------------------------------


def test_folder_loads_every_class_in_fer_order(face_folder: Callable[..., Path]) -> None:
    root = face_folder(per_class=2)

    dataset = load_folder(root)

    assert dataset.images.shape == (14, 48, 48, 1)
    assert dataset.class_counts().tolist() == [2] * 7
    first = cv2.imread(str(root / "angry" / "0.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(dataset.images[0, ..., 0], first)
    assert load(root).fingerprint() == dataset.fingerprint()


def test_folder_ignores_files_that_are_not_images(face_folder: Callable[..., Path]) -> None:
    root = face_folder(per_class=1)
    (root / "happy" / "README.txt").write_text("not a face")

    assert len(load_folder(root)) == 7


def test_folder_errors(tmp_path: Path) -> None:
    cases: list[tuple[Path, str]] = []

    missing = tmp_path / "missing"
    cases.append((missing, f"{missing}: not a folder"))

    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((empty, f"{empty}: no class folders (expected {EXPECTED_CLASSES})"))

    no_images = tmp_path / "no-images"
    (no_images / "happy").mkdir(parents=True)
    (no_images / "happy" / "notes.txt").write_text("x")
    cases.append((no_images, f"{no_images}: no images found"))

    for folder, message in cases:
        with pytest.raises(DataError) as raised:
            load_folder(folder)
        assert str(raised.value) == message


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(
            lambda root: (root / "bored").mkdir(),
            "{root}/bored: unknown class 'bored' (expected one of " + EXPECTED_CLASSES + ")",
            id="unknown-class",
        ),
        pytest.param(
            lambda root: cv2.imwrite(str(root / "sad" / "big.png"), np.zeros((40, 64), np.uint8)),
            "{root}/sad/big.png: image is 64x40, expected 48x48",
            id="wrong-image-size",
        ),
        pytest.param(
            lambda root: (root / "fear" / "broken.jpg").write_bytes(b"not a jpeg"),
            "{root}/fear/broken.jpg: not a readable image",
            id="unreadable",
        ),
        pytest.param(
            lambda root: (root / "fear" / "empty.png").write_bytes(b""),
            "{root}/fear/empty.png: not a readable image",
            id="empty-image-file",
        ),
    ],
)
def test_folder_errors_name_the_file(face_folder: Callable[..., Path], damage: Callable[[Path], object], message: str) -> None:
    root = face_folder(per_class=1)
    damage(root)

    with pytest.raises(DataError) as raised:
        load_folder(root)

    assert str(raised.value) == message.format(root=root)


def test_dataset_rejects_mismatched_arrays() -> None:
    with pytest.raises(DataError, match=r"^3 images but 2 labels$"):
        Dataset(np.zeros((3, 48, 48, 1), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(DataError, match=r"^images must be \(n, h, w, 1\), got \(3, 48, 48\)$"):
        Dataset(np.zeros((3, 48, 48), np.uint8), np.zeros(3, np.int64))


def test_load_cached_reuses_its_copy(tmp_path: Path, face_folder: Callable[..., Path]) -> None:
    root = face_folder(per_class=1)
    cache = tmp_path / "cache"

    first = load_cached(root, cache_dir=cache)
    second = load_cached(root, cache_dir=cache)

    assert len(list(cache.glob("*.npz"))) == 1
    assert first.fingerprint() == second.fingerprint()


# --- MNIST IDX ---------------------------------------------------------------------------------------------------------------------


def test_mnist_round_trip(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "mnist")

    train, test = load_mnist(root, "train"), load_mnist(root, "test")

    assert train.images.shape == (6, 28, 28, 1) and test.images.shape == (4, 28, 28, 1)
    assert train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert train.class_names == tuple("0123456789")


@pytest.mark.parametrize(
    ("make", "ndim", "message"),
    [
        pytest.param(
            lambda p: write_idx(p, np.zeros((2, 3, 3)), type_code=0x0D),
            3,
            "{p}: bad IDX magic number 00000d03, expected 00000803",
            id="float-type",
        ),
        pytest.param(
            lambda p: write_idx(p, np.zeros((2, 3, 3))), 1, "{p}: bad IDX magic number 00000803, expected 00000801", id="wrong-ndim"
        ),
        pytest.param(
            lambda p: write_idx(p, np.zeros((2, 3, 3)), payload=b"\0" * 17),
            3,
            "{p}: 17 data bytes, expected 18 for shape (2, 3, 3)",
            id="truncated",
        ),
        pytest.param(
            lambda p: write_idx(p, np.zeros(2), payload=b"\0" * 3), 1, "{p}: 3 data bytes, expected 2 for shape (2,)", id="trailing-bytes"
        ),
        pytest.param(
            lambda p: p.write_bytes(gzip.compress(b"\0\0\x08")),
            1,
            "{p}: 3 bytes, too short for an IDX header of 1 dimensions",
            id="short-header",
        ),
        pytest.param(
            lambda p: p.write_bytes(gzip.compress(b"")), 1, "{p}: 0 bytes, too short for an IDX header of 1 dimensions", id="empty"
        ),
    ],
)
def test_idx_errors(tmp_path: Path, make: Callable[[Path], object], ndim: int, message: str) -> None:
    path = tmp_path / "data-idx.gz"
    make(path)

    with pytest.raises(DataError) as raised:
        load_idx(path, ndim=ndim)

    assert str(raised.value) == message.format(p=path)


def test_idx_rejects_a_file_that_is_not_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.gz", "not gzip")

    with pytest.raises(DataError, match=r"not a readable gzip file"):
        load_idx(path, ndim=1)


def test_mnist_errors(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "mnist")
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.arange(3))
    with pytest.raises(DataError) as raised:
        load_mnist(root, "test")
    assert str(raised.value) == f"{root}: 4 test images but 3 labels"

    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 11]))
    with pytest.raises(DataError) as raised:
        load_mnist(root, "test")
    assert str(raised.value) == f"{root / 't10k-labels-idx1-ubyte.gz'}: label 11 is not a digit"

    with pytest.raises(DataError) as raised:
        load_mnist(root, "validation")
    assert str(raised.value) == "unknown MNIST split 'validation' (expected one of train, test)"


# --- the real data (../shared/data) --------------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_shared_fer2013_public_test_split(shared_data: Path) -> None:
    dataset = load_folder(shared_data / "fer2013" / "test")

    assert len(dataset) == 3589
    assert dict(zip(CLASS_NAMES, dataset.class_counts().tolist(), strict=True)) == {
        "angry": 467, "disgust": 56, "fear": 496, "happy": 895, "sad": 653, "surprise": 415, "neutral": 607,
    }  # fmt: skip


@pytest.mark.shared_data
def test_shared_mnist_is_the_official_data(shared_data: Path) -> None:
    root = shared_data / "mnist"
    train, test = load_mnist(root, "train"), load_mnist(root, "test")

    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert train.class_counts().sum() == 60000 and set(test.labels.tolist()) == set(range(10))
    digest = hashlib.sha256(gzip.decompress((root / "train-images-idx3-ubyte.gz").read_bytes())).hexdigest()
    assert digest.startswith("ba891046") and digest.endswith("776db")


def test_a_npz_copy_loads_as_the_split_it_was_made_from(tmp_path: Path, face_folder: Callable[..., Path]) -> None:
    original = load_folder(face_folder("faces", per_class=2))
    path = tmp_path / "split.npz"
    np.savez(path, images=original.images, labels=original.labels)

    copy = load(path)

    assert copy.fingerprint() == original.fingerprint() and copy.class_names == original.class_names


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({}, r"not a \.npz file with images and labels"),
        ({"images": np.zeros((2, 48, 48, 1), np.uint8)}, r"not a \.npz file with images and labels"),
        ({"images": np.zeros((2, 48, 48, 1), np.float32), "labels": np.zeros(2, int)}, "expected uint8 images"),
        ({"images": np.zeros((2, 32, 32, 1), np.uint8), "labels": np.zeros(2, int)}, "expected uint8 images"),
        ({"images": np.zeros((2, 48, 48, 1), np.uint8), "labels": np.zeros(3, int)}, "expected uint8 images"),
        ({"images": np.zeros((2, 48, 48, 1), np.uint8), "labels": np.array([0, 7])}, "labels outside 0..6"),
    ],
    ids=["empty", "no_labels", "float_pixels", "wrong_size", "count_mismatch", "unknown_label"],
)
def test_npz_errors_name_the_file_and_problem(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "split.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "split.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"not a \.npz file"):
        load(path)
