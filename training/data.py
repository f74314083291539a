"""FER2013 (and MNIST) data loaders.

Two layouts are supported, as users have them: the Kaggle CSV (``emotion,pixels[,Usage]``) and
the image-folder layout (``<split>/<class>/*.jpg``). Every loader returns a :class:`Dataset` of
uint8 images shaped ``(n, 48, 48, 1)`` and int labels in FER2013 order.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classroom.labels import EXPRESSIONS

CLASS_NAMES: tuple[str, ...] = EXPRESSIONS  # FER2013's order, the project's one copy (classroom/labels.py)
IMAGE_SIZE = 48
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DIGIT_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
IDX_UBYTE = 0x08  # IDX magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DataError(ValueError):
    """Raised for data that cannot be used as FER2013 input, with the offending location."""


@dataclass(frozen=True)
class Dataset:
    """Images (``uint8``, ``(n, size, size, 1)``) with integer labels and their class names."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 1:
            raise DataError(f"images must be (n, h, w, 1), got {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        """Number of samples of each class, in class order."""
        return np.bincount(self.labels, minlength=len(self.class_names))

    def fingerprint(self) -> str:
        """A sha256 over pixels and labels: identifies exactly which data a model saw."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels).astype(np.int64).tobytes())
        return digest.hexdigest()


def folder_items(root: Path) -> list[tuple[Path, int]]:
    """The image files of ``root/<class>/`` with their labels, in the order :func:`load_folder` stacks them.

    Other labels keyed by file (FER+ votes, :mod:`training.ferplus`) line up with a loaded folder through this order.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not class_dirs:
        raise DataError(f"{root}: no class folders (expected {', '.join(CLASS_NAMES)})")
    items: list[tuple[Path, int]] = []
    for class_dir in class_dirs:
        if class_dir.name not in CLASS_NAMES:
            raise DataError(f"{class_dir}: unknown class {class_dir.name!r} (expected one of {', '.join(CLASS_NAMES)})")
        label = CLASS_NAMES.index(class_dir.name)
        items += [(path, label) for path in sorted(class_dir.iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise DataError(f"{root}: no images found")
    return items


def load_folder(root: Path, *, image_size: int = IMAGE_SIZE) -> Dataset:
    """Load ``root/<class>/*.jpg``; every class folder must be a FER2013 class name."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    for path, label in folder_items(root):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise DataError(f"{path}: not a readable image")
        if image.shape != (image_size, image_size):
            raise DataError(f"{path}: image is {image.shape[1]}x{image.shape[0]}, expected {image_size}x{image_size}")
        images.append(image)
        labels.append(label)
    return Dataset(np.stack(images)[..., None], np.asarray(labels, dtype=np.int64))


def load_csv(path: Path, *, usage: str | None = None, image_size: int = IMAGE_SIZE) -> Dataset:
    """Load the Kaggle CSV (``emotion,pixels[,Usage]``), optionally only rows of one ``Usage``."""
    path = Path(path)
    expected_pixels = image_size * image_size
    images: list[np.ndarray] = []
    labels: list[int] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise DataError(f"{path}: empty file")
        fields = set(reader.fieldnames)
        if not {"emotion", "pixels"} <= fields:
            raise DataError(f"{path}: header must have 'emotion' and 'pixels' columns, got {sorted(fields)}")
        if usage is not None and "Usage" not in fields:
            raise DataError(f"{path}: no 'Usage' column to select {usage!r}")
        for line, row in enumerate(reader, start=2):
            if usage is not None and row.get("Usage") != usage:
                continue
            try:
                label = int(row["emotion"])
            except (TypeError, ValueError):
                raise DataError(f"{path}:{line}: emotion {row['emotion']!r} is not an integer") from None
            if not 0 <= label < len(CLASS_NAMES):
                raise DataError(f"{path}:{line}: unknown class {label} (expected 0..{len(CLASS_NAMES) - 1})")
            try:
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except (AttributeError, ValueError):
                raise DataError(f"{path}:{line}: pixels must be space-separated integers") from None
            if pixels.size != expected_pixels:
                raise DataError(f"{path}:{line}: {pixels.size} pixels, expected {expected_pixels}")
            if pixels.min() < 0 or pixels.max() > 255:
                raise DataError(f"{path}:{line}: pixel values must be within 0..255")
            images.append(pixels.astype(np.uint8).reshape(image_size, image_size))
            labels.append(label)
    if not images:
        raise DataError(f"{path}: no rows" + (f" with Usage={usage!r}" if usage else ""))
    return Dataset(np.stack(images)[..., None], np.asarray(labels, dtype=np.int64))


def load_npz(path: Path, *, image_size: int = IMAGE_SIZE) -> Dataset:
    """Load ``images`` (n, 48, 48, 1) uint8 and ``labels`` from a ``.npz`` file (the cache's format, a portable copy of a split)."""
    try:
        with np.load(path) as stored:
            images, labels = stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path}: not a .npz file with images and labels ({error})") from error
    if images.dtype != np.uint8 or images.shape[1:] != (image_size, image_size, 1) or labels.shape != images.shape[:1]:
        raise DataError(f"{path}: expected uint8 images (n, {image_size}, {image_size}, 1) and n labels, got {images.shape} {images.dtype}")
    if len(labels) and not 0 <= labels.min() <= labels.max() < len(CLASS_NAMES):
        raise DataError(f"{path}: labels outside 0..{len(CLASS_NAMES) - 1}")
    return Dataset(images, labels.astype(np.int64))


def load(source: Path, *, usage: str | None = None) -> Dataset:
    """Load any layout: a ``.csv`` file, a ``.npz`` copy or an image folder."""
    source = Path(source)
    if source.suffix.lower() == ".csv":
        return load_csv(source, usage=usage)
    if source.suffix.lower() == ".npz":
        return load_npz(source)
    return load_folder(source)


def load_cached(source: Path, *, cache_dir: Path) -> Dataset:
    """Load a folder or CSV once and reuse a ``.npz`` copy keyed by path and modification time."""
    source = Path(source).resolve()
    stamp = max((p.stat().st_mtime_ns for p in source.rglob("*")), default=0) if source.is_dir() else source.stat().st_mtime_ns
    key = hashlib.sha256(f"{source}:{stamp}".encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"{source.name}-{key}.npz"
    if cache.exists():
        with np.load(cache) as stored:
            return Dataset(stored["images"], stored["labels"])
    dataset = load(source)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=dataset.images, labels=dataset.labels)
    return dataset


def load_idx(path: Path, *, ndim: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes with ``ndim`` dimensions, checking its magic number and size."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an IDX header of {ndim} dimensions")
    magic = raw[:4]
    if magic[:2] != b"\0\0" or magic[2] != IDX_UBYTE or magic[3] != ndim:
        raise DataError(f"{path}: bad IDX magic number {magic.hex()}, expected 0000{IDX_UBYTE:02x}{ndim:02x}")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise DataError(f"{path}: {len(raw) - header_size} data bytes, expected {expected} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def load_mnist(root: Path, split: str) -> Dataset:
    """MNIST ``split`` ("train" or "test") from the original gzipped IDX files in ``root``."""
    if split not in MNIST_FILES:
        raise DataError(f"unknown MNIST split {split!r} (expected one of {', '.join(MNIST_FILES)})")
    images_name, labels_name = MNIST_FILES[split]
    images = load_idx(Path(root) / images_name, ndim=3)
    labels = load_idx(Path(root) / labels_name, ndim=1)
    if len(images) != len(labels):
        raise DataError(f"{root}: {len(images)} {split} images but {len(labels)} labels")
    if labels.size and labels.max() >= len(DIGIT_NAMES):
        raise DataError(f"{Path(root) / labels_name}: label {labels.max()} is not a digit")
    return Dataset(images[..., None].copy(), labels.astype(np.int64), DIGIT_NAMES)


def validation_mask(labels: np.ndarray, *, share: float, seed: int) -> np.ndarray:
    """Which faces a stratified ``share`` of ``labels`` sets aside for model selection (True: held out).

    Selection (best epoch, best recipe) happens on these faces, so the test split reported is never chosen on.
    """
    if not 0.0 < share < 1.0:
        raise DataError(f"validation share must be between 0 and 1, got {share}")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held[rng.choice(members, size=max(1, round(share * len(members))), replace=False)] = True
    return held


def split_validation(dataset: Dataset, *, share: float, seed: int) -> tuple[Dataset, Dataset]:
    """The faces to fit on and the validation faces (:func:`validation_mask`)."""
    held = validation_mask(dataset.labels, share=share, seed=seed)
    return (
        Dataset(dataset.images[~held], dataset.labels[~held], dataset.class_names),
        Dataset(dataset.images[held], dataset.labels[held], dataset.class_names),
    )
