"""Temperature scaling and the calibration figures: exact values on hand-made cases, recovery of a known temperature."""

from __future__ import annotations

import numpy as np
import pytest

from inference.calibration import (
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    with_temperature,
)


def softmax(logits: np.ndarray) -> np.ndarray:
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def test_temperature_one_changes_nothing_and_others_keep_the_winner() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32)

    assert with_temperature(probabilities, 1.0) is not None and np.array_equal(with_temperature(probabilities, 1.0), probabilities)
    softer, sharper = with_temperature(probabilities, 2.0), with_temperature(probabilities, 0.5)

    assert np.allclose(softer.sum(axis=1), 1) and np.allclose(sharper.sum(axis=1), 1)
    assert (softer.argmax(axis=1) == probabilities.argmax(axis=1)).all() and (sharper.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    assert (softer.max(axis=1) < probabilities.max(axis=1)).all() and (sharper.max(axis=1) > probabilities.max(axis=1)).all()
    # Exact: logits log(p) / 2, renormalised.
    expected = np.sqrt(probabilities[0]) / np.sqrt(probabilities[0]).sum()
    assert np.allclose(softer[0], expected, atol=1e-6)


def test_a_single_face_vector_is_tempered_too() -> None:
    assert with_temperature(np.array([0.5, 0.25, 0.25]), 0.5) == pytest.approx([4 / 6, 1 / 6, 1 / 6], abs=1e-6)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_a_temperature_must_be_positive(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be positive"):
        with_temperature(np.array([[0.5, 0.5]]), temperature)


def test_ece_and_reliability_on_a_hand_made_case() -> None:
    # Four faces at confidence 0.9 of which 3 right; two at 0.6 of which both right.
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 0])

    rows = reliability(probabilities, labels)

    assert [(round(r["low"], 1), r["share"], round(r["confidence"], 2), r["accuracy"]) for r in rows] == [
        (0.5, pytest.approx(2 / 6), 0.6, 1.0),
        (0.8, pytest.approx(4 / 6), 0.9, 0.75),
    ]
    assert expected_calibration_error(probabilities, labels) == pytest.approx(2 / 6 * 0.4 + 4 / 6 * 0.15)
    assert negative_log_likelihood(probabilities, labels) == pytest.approx(-(3 * np.log(0.9) + np.log(0.1) + 2 * np.log(0.6)) / 6)


@pytest.mark.parametrize("function", [expected_calibration_error, negative_log_likelihood, fit_temperature])
def test_no_faces_is_an_error(function: object) -> None:
    with pytest.raises(ValueError, match="no samples"):
        function(np.zeros((0, 7)), np.zeros(0, dtype=int))  # type: ignore[operator]


@pytest.mark.parametrize("true_temperature", [0.7, 1.0, 1.8])
def test_fit_recovers_the_temperature_the_labels_were_drawn_with(true_temperature: float) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(20_000, 7))
    # Labels drawn from softmax(logits / T): the model reporting softmax(logits) is off by exactly T.
    truth = softmax(logits / true_temperature)
    labels = (truth.cumsum(axis=1) > rng.random((len(logits), 1))).argmax(axis=1)
    reported = softmax(logits)

    fitted = fit_temperature(reported, labels)

    assert fitted == pytest.approx(true_temperature, abs=0.06)
    tempered_ece, reported_ece = (
        expected_calibration_error(with_temperature(reported, fitted), labels),
        expected_calibration_error(reported, labels),
    )
    assert tempered_ece < 0.02
    assert true_temperature == 1.0 or tempered_ece < reported_ece
