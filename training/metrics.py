"""Classification metrics in plain NumPy (no scikit-learn dependency at run time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        raise ValueError("no samples to evaluate")
    y_pred = np.asarray(probs).argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, len(class_names))
    true_pos = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(true_pos), where=denom > 0)
    return {
        "samples": len(y_true),
        "accuracy": float(true_pos.sum() / len(y_true)),
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(actual[i])}
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": matrix.tolist(),
        "class_names": list(class_names),
    }


def roc_curve(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of ``scores`` for a binary target, one point per distinct score, from (0, 0)."""
    is_positive = np.asarray(is_positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"a ROC curve needs both classes, got {positives} positive and {negatives} negative samples")
    order = np.argsort(-scores, kind="mergesort")
    scores, is_positive = scores[order], is_positive[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_pos = np.cumsum(is_positive)[last_of_each_score]
    false_pos = (last_of_each_score + 1) - true_pos
    return np.r_[0.0, false_pos / negatives], np.r_[0.0, true_pos / positives]


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve by the trapezoidal rule."""
    return float(np.trapezoid(y, x))


def one_vs_rest_roc(y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each class against the rest: its ROC curve (``fpr``, ``tpr``) and ``auc``; classes absent from ``y_true`` are left out."""
    y_true = np.asarray(y_true)
    curves: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(class_names):
        is_positive = y_true == i
        if is_positive.all() or not is_positive.any():
            continue
        fpr, tpr = roc_curve(is_positive, np.asarray(probs)[:, i])
        curves[name] = {"fpr": fpr, "tpr": tpr, "auc": auc(fpr, tpr)}
    return curves
