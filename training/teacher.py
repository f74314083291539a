"""Soft labels for distillation: an ensemble of our own trained models' probabilities on every Training face.

The student (:mod:`training.loop`, ``distill_weight``) learns from these beside the true labels. Each model's
probabilities are averaged over test-time views (flip by default), then over the models.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from training.data import Dataset
from training.loop import evaluate_probs


def ensemble_soft_labels(models: list[Path], dataset: Dataset, *, tta: str = "flip") -> np.ndarray:
    """The mean of ``models``' probabilities on ``dataset``'s faces, ``(n, classes)`` float32."""
    if not models:
        raise ValueError("distillation needs at least one teacher model")
    probs = [evaluate_probs(keras.models.load_model(path), dataset.images, tta=tta) for path in models]
    return np.mean(probs, axis=0).astype(np.float32)
