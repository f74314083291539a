"""Evaluate a model file on a labelled data set through the predictor production uses.

The model is loaded with :func:`inference.predictor.load_predictor`, so a ``.keras`` file and a
LiteRT ``.tflite`` file (float or int8) are measured on exactly the path the service runs.
Optional test-time augmentation averages each face's probabilities over its mirror image, or over ten crops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inference.predictor import Predictor, load_predictor, production_model_path
from training.augment import test_time_views
from training.data import Dataset
from training.metrics import classification_metrics, one_vs_rest_roc

EVAL_BATCH = 256


def resolve_model(path: Path | None) -> Path:
    """``path``, or the production model ``inference/`` serves when none is given."""
    return production_model_path() if path is None else Path(path)


def predict_probs(predictor: Predictor, images: np.ndarray, *, tta: str = "none", batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Probabilities for ``images`` (``(n, h, w, 1)`` uint8) in batches, averaged over the views of test-time
    augmentation ``tta`` (``none``, ``flip`` or ``ten_crop``: :func:`training.augment.test_time_views`)."""
    faces = np.asarray(images)[..., 0]
    batches = []
    for start in range(0, len(faces), batch_size):
        views = test_time_views(faces[start : start + batch_size], tta)
        batches.append(np.mean([predictor.predict(view) for view in views], axis=0))
    return np.concatenate(batches)


def evaluate(model_path: Path, dataset: Dataset, *, tta: str = "none") -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of ``model_path`` on ``dataset`` (with one-vs-rest ROC AUC per class) and its probabilities."""
    probs = predict_probs(load_predictor(model_path), dataset.images, tta=tta)
    result = classification_metrics(dataset.labels, probs, dataset.class_names)
    roc = one_vs_rest_roc(dataset.labels, probs, dataset.class_names)
    result["roc_auc"] = {name: curve["auc"] for name, curve in roc.items()}
    result |= {"model": str(model_path), "tta": tta, "data_fingerprint": dataset.fingerprint()}
    return result, probs
