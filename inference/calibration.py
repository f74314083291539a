"""Calibration of expression probabilities: temperature scaling and the figures that judge it.

A model trained with label smoothing tends to be under-confident, one trained without it over-confident.
Dividing the logits by one temperature, fitted on faces the model did not train on by minimising the
negative log-likelihood, fixes most of either without changing which class wins (Guo et al., 2017). Our
models output probabilities; their logarithms are the logits up to a per-face constant, which the
softmax removes, so a temperature can be applied to probabilities directly.
"""

from __future__ import annotations

import itertools

import numpy as np

ECE_BINS = 10
# Temperatures tried when fitting: 0.50 to 3.00 in steps of 0.01 (the NLL is smooth, so a fine grid is exact enough).
TEMPERATURE_GRID = np.round(np.arange(0.5, 3.0001, 0.01), 2)


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``probabilities`` (``(n, k)`` or ``(k,)``) with their logits divided by ``temperature``, renormalised."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-9, 1.0)) / temperature
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(weights / weights.sum(axis=-1, keepdims=True), dtype=np.float32)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """The gap between confidence and accuracy, averaged over ``bins`` equal-width confidence bins weighted by their faces."""
    if len(labels) == 0:
        raise ValueError("no samples to calibrate on")
    return float(sum(row["share"] * abs(row["accuracy"] - row["confidence"]) for row in reliability(probabilities, labels, bins=bins)))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true class."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("no samples to calibrate on")
    return float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-9, 1.0)).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, *, grid: np.ndarray = TEMPERATURE_GRID) -> float:
    """The temperature of ``grid`` with the lowest negative log-likelihood on these faces."""
    losses = [negative_log_likelihood(with_temperature(probabilities, float(t)), labels) for t in grid]
    return float(grid[int(np.argmin(losses))])


def reliability(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per confidence bin with faces in it: its range, share of faces, mean confidence and accuracy (a reliability diagram's data)."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            rows.append(
                {
                    "low": float(low),
                    "high": float(high),
                    "share": float(inside.mean()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                }
            )
    return rows
