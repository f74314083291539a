"""``python -m training benchmark``: faces/s and latency per model file, each in a fresh process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training import cli
from training.benchmark import format_table, measure_speed


def test_measure_speed_counts_faces_and_calls() -> None:
    seen: list[tuple[int, ...]] = []

    figures = measure_speed(lambda faces: seen.append(np.shape(faces)), 4, seconds=0.0)

    assert figures["calls"] == 10 and len(seen) == 11  # one warm-up call
    assert seen[0] == (4, 48, 48)
    assert figures["faces_per_second"] > 0 and figures["ms_per_batch_p95"] >= figures["ms_per_batch_median"]


def test_benchmark_command_writes_figures(tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results" / "fer_model.json"

    cli.main(["benchmark", "--models", str(tiny_model_path), "--out", str(out), "--batch-size", "16", "--seconds", "0.05"])

    result = json.loads(out.read_text())
    [model] = result["models"]
    assert model["file"] == "best.keras" and model["peak_rss_mb"] > 10
    assert [s["batch_size"] for s in model["speed"]] == [1, 16]
    assert capsys.readouterr().out == format_table(result) + "\n"


def test_benchmark_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.tflite"

    assert cli.main(["benchmark", "--models", str(missing), "--out", str(tmp_path / "b.json")]) == 2

    assert capsys.readouterr().err == f"python -m training benchmark: error: model file {missing} does not exist\n"
    assert not (tmp_path / "b.json").exists()
