"""Small faces' confidence is tempered by the temperature measured for their size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.low_resolution import FULL_RESOLUTION_PX, TEMPERATURE_BY_BOX_PX, temper, temperature_for
from ingest.vision.align import LOW_RESOLUTION_PX

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "low_resolution.json"


def test_the_temperatures_are_the_measured_ones() -> None:
    measured = json.loads(RESULTS.read_text())["temperature_by_box_px"]
    assert {int(size): t for size, t in measured.items()} == TEMPERATURE_BY_BOX_PX


@pytest.mark.parametrize(
    ("box_px", "expected"), [(0, 1.75), (12, 1.75), (13, 1.65), (14, 1.55), (16, 1.4), (19, 1.25), (19.5, 1.25), (20, 1.0), (200, 1.0)]
)
def test_temperature_for_interpolates_between_measured_sizes(box_px: float, expected: float) -> None:
    assert temperature_for(box_px) == pytest.approx(expected)


def test_tempering_keeps_the_expression_and_lowers_the_confidence() -> None:
    probabilities = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05], np.float32)
    tempered = temper(probabilities, box_px=12)
    assert tempered.sum() == pytest.approx(1.0) and int(tempered.argmax()) == 3
    assert tempered.max() < probabilities.max()
    assert temper(probabilities, box_px=24) is probabilities  # no change at full size


def test_full_resolution_starts_where_ingest_stops_flagging_faces() -> None:
    assert FULL_RESOLUTION_PX == LOW_RESOLUTION_PX
