"""NumPy metrics: per-class scores, confusion matrix, ROC curves and AUC."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import auc, classification_metrics, one_vs_rest_roc, roc_curve


def test_classification_metrics_by_hand() -> None:
    y_true = np.array([0, 0, 1, 1, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 0]]

    result = classification_metrics(y_true, probs, ["a", "b", "c"])

    assert result["accuracy"] == pytest.approx(3 / 5)
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert result["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert result["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and result["per_class"]["b"]["recall"] == 1.0
    assert result["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_roc_curve_by_hand() -> None:
    fpr, tpr = roc_curve(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.6]))

    assert fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert auc(fpr, tpr) == pytest.approx(0.75)


def test_tied_scores_make_one_point() -> None:
    fpr, tpr = roc_curve(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.5]))

    assert fpr.tolist() == [0.0, 1.0] and tpr.tolist() == [0.0, 1.0]
    assert auc(fpr, tpr) == pytest.approx(0.5)


def test_auc_is_the_probability_a_positive_outranks_a_negative() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300).astype(bool)
    scores = np.round(rng.random(300) + 0.4 * labels, 2)  # rounded: ties count one half

    pos, neg = scores[labels][:, None], scores[~labels][None, :]
    expected = float(np.mean((pos > neg) + 0.5 * (pos == neg)))

    assert auc(*roc_curve(labels, scores)) == pytest.approx(expected)


def test_roc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match=r"^a ROC curve needs both classes, got 2 positive and 0 negative samples$"):
        roc_curve(np.array([1, 1]), np.array([0.1, 0.2]))


def test_one_vs_rest_leaves_out_absent_classes() -> None:
    probs = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]])

    curves = one_vs_rest_roc(np.array([0, 1, 0]), probs, ["a", "b", "c"])

    assert set(curves) == {"a", "b"}
    assert curves["a"]["auc"] == pytest.approx(1.0) and curves["b"]["auc"] == pytest.approx(1.0)
