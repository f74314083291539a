"""FER+ labels: ten taggers' votes per FER2013 face (Barsoum et al., ICMI 2016), mapped onto our seven classes.

``shared/data/ferplus/<split>.csv`` gives, per file of ``shared/data/fer2013/<split>/``, the votes for
``neutral happiness surprise sadness anger disgust fear contempt unknown NF``. Our classes have no
``contempt``, and ``unknown`` / ``NF`` (not a face) say nothing about an expression, so their votes are
dropped and the rest renormalised into a distribution over our seven classes. Faces that the taggers
mostly called not a face, or that keep no vote in our seven classes, are left out of training.

Two readings of the votes are used:

- for training, the **distribution** (soft targets: cross-entropy against it);
- for evaluation, the **majority**: the class with the most of all ten columns' votes, kept only when it is
  one of our seven and no other column ties it (ties are skipped, not broken).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.data import CLASS_NAMES, DEFAULT_DATA_ROOT, DataError, Dataset, folder_items
from training.metrics import classification_metrics

FERPLUS_ROOT = DEFAULT_DATA_ROOT / "ferplus"
VOTE_COLUMNS: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# The vote column of each of our classes, in CLASS_NAMES order; the other three columns are dropped.
OUR_COLUMNS: tuple[int, ...] = tuple(
    VOTE_COLUMNS.index(name)
    for name in ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")  # angry disgust fear happy sad surprise neutral
)
NOT_A_FACE = VOTE_COLUMNS.index("NF")
LABEL_SETS: tuple[str, ...] = ("fer2013", "ferplus", "both")


def read_votes(path: Path) -> dict[str, np.ndarray]:
    """The vote counts (``(10,)`` int64, :data:`VOTE_COLUMNS` order) of each ``file`` of a FER+ CSV."""
    path = Path(path)
    votes: dict[str, np.ndarray] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file")
        if tuple(header) != ("file", *VOTE_COLUMNS):
            raise DataError(f"{path}: header must be file,{','.join(VOTE_COLUMNS)}; got {','.join(header)}")
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise DataError(f"{path}:{line}: {len(row)} fields, expected {len(header)}")
            try:
                counts = np.array([int(field) for field in row[1:]], dtype=np.int64)
            except ValueError:
                raise DataError(f"{path}:{line}: vote counts must be integers, got {','.join(row[1:])}") from None
            if counts.min() < 0:
                raise DataError(f"{path}:{line}: negative vote count")
            if row[0] in votes:
                raise DataError(f"{path}:{line}: {row[0]} appears twice")
            votes[row[0]] = counts
    return votes


@dataclass(frozen=True)
class FerPlusLabels:
    """The FER+ votes of a data set's faces, in its order; a face without a FER+ row has ``has_row`` False and no votes."""

    votes: np.ndarray  # (n, 10) int64, VOTE_COLUMNS order
    has_row: np.ndarray  # (n,) bool

    @property
    def seven(self) -> np.ndarray:
        """Votes for our seven classes only, ``(n, 7)`` in CLASS_NAMES order."""
        return self.votes[:, OUR_COLUMNS]

    @property
    def usable(self) -> np.ndarray:
        """Faces whose votes can train: a FER+ row, ``NF`` not the plurality (a tie with it counts as NF), a vote left in our classes."""
        others = np.delete(self.votes, NOT_A_FACE, axis=1).max(axis=1)
        return self.has_row & (self.votes[:, NOT_A_FACE] < others) & (self.seven.sum(axis=1) > 0)

    @property
    def distributions(self) -> np.ndarray:
        """The seven-class votes renormalised, ``(n, 7)`` float32; rows of zeros where a face is not :attr:`usable`."""
        seven = self.seven.astype(np.float32)
        totals = seven.sum(axis=1, keepdims=True)
        return np.where(self.usable[:, None], seven / np.maximum(totals, 1.0), 0.0).astype(np.float32)

    @property
    def majority(self) -> np.ndarray:
        """The class (CLASS_NAMES index) with the most votes of all ten columns; -1 where that is a tie, a dropped column or no row."""
        top = self.votes.max(axis=1, keepdims=True)
        unique = (self.votes == top).sum(axis=1) == 1
        column = self.votes.argmax(axis=1)
        ours = np.full(len(VOTE_COLUMNS), -1, dtype=np.int64)
        ours[list(OUR_COLUMNS)] = np.arange(len(OUR_COLUMNS))
        return np.where(self.has_row & unique, ours[column], -1)


def ferplus_csv(ferplus_root: Path, split_folder: Path) -> Path:
    """The FER+ CSV of a FER2013 split folder: ``<ferplus_root>/<folder name>.csv`` (``train`` → ``train.csv``)."""
    return Path(ferplus_root) / f"{Path(split_folder).name}.csv"


def load_ferplus(folder: Path, csv_path: Path, *, dataset: Dataset | None = None) -> FerPlusLabels:
    """The FER+ votes of every face of the FER2013 split ``folder``, in the order :func:`training.data.load_folder` loads it.

    The CSV names files relative to the folder's parent (``train/happy/Training_1.jpg``). ``dataset``, the folder
    already loaded (perhaps from the cache), is checked to line up with the files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: FER+ labels need the image-folder layout (its files are what the votes are keyed by)")
    items = folder_items(folder)
    if dataset is not None and (len(dataset) != len(items) or not np.array_equal(dataset.labels, [label for _, label in items])):
        raise DataError(f"{folder}: the loaded data set does not line up with the folder's files (a stale cache?)")
    table = read_votes(csv_path)
    keys = [path.relative_to(folder.parent).as_posix() for path, _ in items]
    has_row = np.array([key in table for key in keys], dtype=bool)
    if not has_row.any():
        raise DataError(f"{csv_path}: no row names a file of {folder} (files are relative to {folder.parent})")
    votes = np.stack([table.get(key, np.zeros(len(VOTE_COLUMNS), dtype=np.int64)) for key in keys])
    return FerPlusLabels(votes=votes, has_row=has_row)


def label_targets(labels: np.ndarray, ferplus: FerPlusLabels | None, *, label_set: str) -> tuple[np.ndarray, np.ndarray]:
    """Training targets ``(n, 7)`` float32 for ``label_set`` and which faces train (``(n,)`` bool).

    - ``fer2013``: FER2013's one-hot labels, every face;
    - ``ferplus``: the FER+ vote distribution; faces not :attr:`FerPlusLabels.usable`, those without a FER+ row
      included, are left out (148 of 28,709 Training faces have no row, mostly non-faces FER+ dropped);
    - ``both``: the mean of the two where FER+ is usable; faces without a FER+ row keep their one-hot label,
      faces with a row that is not usable (not a face, or no vote in our classes) are left out.
    """
    one_hot = np.eye(len(CLASS_NAMES), dtype=np.float32)[labels]
    if label_set == "fer2013":
        return one_hot, np.ones(len(labels), dtype=bool)
    if ferplus is None:
        raise DataError(f"labels {label_set!r} need FER+ votes")
    if label_set == "ferplus":
        return ferplus.distributions, ferplus.usable
    if label_set == "both":
        mixed = np.where(ferplus.usable[:, None], (one_hot + ferplus.distributions) / 2, one_hot)
        return mixed.astype(np.float32), ferplus.usable | ~ferplus.has_row
    raise DataError(f"unknown label set {label_set!r}; use one of {', '.join(LABEL_SETS)}")


def majority_metrics(ferplus: FerPlusLabels, probs: np.ndarray, class_names: tuple[str, ...] = CLASS_NAMES) -> dict[str, Any]:
    """:func:`training.metrics.classification_metrics` against the FER+ majority, on the faces that have one;
    ``skipped`` counts the others (ties, contempt / unknown / NF pluralities, no FER+ row)."""
    majority = ferplus.majority
    kept = majority >= 0
    return classification_metrics(majority[kept], np.asarray(probs)[kept], class_names) | {
        "labels": "ferplus_majority",
        "skipped": int((~kept).sum()),
    }
