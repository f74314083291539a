"""Small faces' confidence is tempered by the temperature measured for their size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.low_resolution import TEMPERATURE_BY_BOX_PX, temper, temperature_for

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "low_resolution.json"


def test_the_temperatures_are_the_measured_ones() -> None:
    measured = json.loads(RESULTS.read_text())["temperature_by_box_px"]
    assert {int(size): t for size, t in measured.items()} == TEMPERATURE_BY_BOX_PX


@pytest.mark.parametrize(("box_px", "expected"), [(0, 1.3), (12, 1.3), (13, 1.175), (14, 1.05), (16, 1.0), (19, 1.0), (200, 1.0)])
def test_temperature_for_interpolates_between_measured_sizes(box_px: float, expected: float) -> None:
    assert temperature_for(box_px) == pytest.approx(expected)


def test_tempering_keeps_the_expression_and_lowers_the_confidence() -> None:
    probabilities = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05], np.float32)
    tempered = temper(probabilities, box_px=12)
    assert tempered.sum() == pytest.approx(1.0) and int(tempered.argmax()) == 3
    assert tempered.max() < probabilities.max()
    assert temper(probabilities, box_px=24) is probabilities  # no change at full size
