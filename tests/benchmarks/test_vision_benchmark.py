"""The vision benchmark's pure helpers, and its refusal to run without the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.vision import QUICK, missing_data, pct, run, stratified_sample, summary_ms, table


def test_stratified_sample_keeps_class_shares() -> None:
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    sample = stratified_sample(labels, 100, np.random.default_rng(0))
    assert len(sample) == 100 and len(set(sample.tolist())) == 100 and (np.diff(sample) > 0).all()
    assert np.bincount(labels[sample]).tolist() == [60, 30, 10]


def test_stratified_sample_keeps_rare_classes_and_takes_all_when_asked() -> None:
    labels = np.repeat([0, 1], [995, 5])
    assert np.bincount(labels[stratified_sample(labels, 10, np.random.default_rng(0))]).tolist() == [9, 1]
    assert stratified_sample(labels, 5000, np.random.default_rng(0)).tolist() == list(range(1000))


def test_summary_ms_and_pct() -> None:
    assert summary_ms([0.01 * k for k in range(1, 21)]) == {"median": 105.0, "p95": 190.5}
    assert pct(0.9876) == "98.8%"


def test_table_aligns_columns() -> None:
    assert table(["layout", "recall"], [["3x3", "100.0%"], ["7x7 names", "9.0%"]]).splitlines() == [
        "layout     recall",
        "---------  ------",
        "3x3        100.0%",
        "7x7 names    9.0%",
    ]


def test_missing_shared_data_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "talking_head_1.mp4").write_bytes(b"")
    missing = missing_data(tmp_path)
    assert str(tmp_path / "video" / "talking_head_1.mp4") not in missing
    assert str(tmp_path / "video" / "talking_head_5.mp4") in missing and str(tmp_path / "fer2013" / "test" / "neutral") in missing
    with pytest.raises(SystemExit, match="shared data missing"):
        run(tmp_path, QUICK)
