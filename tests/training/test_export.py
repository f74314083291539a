"""``python -m training export``: three files, each measured, a production choice, model cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from inference.predictor import load_predictor
from training import cli, export
from training.data import DataError, load_folder
from training.export import choose_production, sha256


def speed(batch1: float, batched: float) -> list[dict[str, float]]:
    return [{"batch_size": 1, "faces_per_second": batch1}, {"batch_size": 64, "faces_per_second": batched}]


def test_choice_is_the_fastest_within_half_a_point_of_the_best() -> None:
    files = [
        {"file": "m.keras", "public_test": {"accuracy": 0.700}, "speed": speed(100, 900)},
        {"file": "m.f16.tflite", "public_test": {"accuracy": 0.699}, "speed": speed(400, 1500)},
        {"file": "m.int8.tflite", "public_test": {"accuracy": 0.690}, "speed": speed(900, 3000)},
    ]

    chosen, why = choose_production(files)

    assert chosen["file"] == "m.f16.tflite"
    assert "within 0.5 pt of the best (m.keras, 0.7000)" in why and "1500 faces/s" in why


def run_folder(tmp_path: Path, tiny_model_path: Path, run: dict[str, object]) -> Path:
    """A run folder holding the tiny model as ``best.keras`` and ``run`` as its ``run.json``; the model's path."""
    folder = tmp_path / "run"
    folder.mkdir()
    model = folder / "best.keras"
    model.write_bytes(tiny_model_path.read_bytes())
    (folder / "run.json").write_text(json.dumps(run))
    return model


@pytest.mark.usefixtures("small_speed_runs")
def test_export_writes_measured_files_cards_and_production(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, val, out = face_folder("train", per_class=4, seed=1), face_folder("val", per_class=2, seed=2), tmp_path / "models"

    code = cli.main(
        ["export", "--model", str(tiny_model_path), "--out", str(out), "--name", "fer_tiny", "--train", str(train), "--val", str(val)]
    )

    assert code == 0 and "production" in json.loads(capsys.readouterr().out)
    names = {"fer_tiny.keras", "fer_tiny.f16.tflite", "fer_tiny.int8.tflite"}
    figures = {"fer_tiny.confusion.png", "fer_tiny.reliability.png"}
    assert {p.name for p in out.iterdir()} == names | figures | {"fer_tiny.json", "fer_tiny.md", "production.json"}
    card = json.loads((out / "fer_tiny.json").read_text())
    production = json.loads((out / "production.json").read_text())
    assert production["file"] in names and production["card"] == "fer_tiny.json" and production["why"] == card["production"]["why"]
    assert {f["file"] for f in card["files"]} == names
    for f in card["files"]:
        assert f["sha256"] == sha256(out / f["file"])
        assert f["public_test"]["accuracy"] >= 0 and [s["batch_size"] for s in f["speed"]] == [1, 8]
    assert card["data"]["public_test_fingerprint"] == load_folder(val).fingerprint()
    assert card["parameters"] > 0 and card["training"]["selected_epoch"] == 2 and card["training"]["epochs_logged"] == 2
    markdown = (out / "fer_tiny.md").read_text()
    assert production["file"] in markdown and "![Confusion matrix" in markdown and "selected its epoch on PublicTest" in markdown
    # A run that recorded no validation split gets no temperature: nothing to fit it on but the test split.
    assert card["calibration"]["fitted_on"] is None and production["temperature"] == 1.0
    assert card["int8_against_float"]["int8_accuracy"] == card["files"][2]["public_test"]["accuracy"]

    faces = load_folder(val).images[..., 0]
    reference = load_predictor(out / "fer_tiny.keras").predict(faces)
    for suffix, tolerance in ((".f16.tflite", 1e-2), (".int8.tflite", 0.1)):
        predictor = load_predictor(out / f"fer_tiny{suffix}")
        for batch in (faces[:1], faces):  # any batch size
            assert np.abs(predictor.predict(batch) - reference[: len(batch)]).max() < tolerance
    int8 = load_predictor(out / "fer_tiny.int8.tflite")
    assert int8.file.input["dtype"] == np.int8 and int8.file.input["quantization"] == (1.0, -128)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("small_speed_runs")
def test_export_refuses_other_training_data_than_the_run_used(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path
) -> None:
    model = run_folder(tmp_path, tiny_model_path, {"architecture": "tiny", "train_fingerprint": "0" * 64})
    train = face_folder("train", per_class=1)

    with pytest.raises(DataError, match=r"is not the data .* was trained on"):
        export.export(model, tmp_path / "out", "x", train_data=train, val_data=train)


@pytest.mark.usefixtures("small_speed_runs")
def test_a_run_with_a_validation_split_gets_its_temperature_fitted_there(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path
) -> None:
    train, test = face_folder("train", per_class=4, seed=1), face_folder("test", per_class=2, seed=2)
    recipe = {"optimizer": "adamw", "label_smoothing": 0.1}
    validation = {"share": 0.25, "samples": 7, "seed": 3}
    model = run_folder(tmp_path, tiny_model_path, {"architecture": "tiny", "recipe": recipe, "validation": validation})

    card = export.export(model, tmp_path / "out", "fer_tiny", train_data=train, val_data=test)

    calibration = card["calibration"]
    assert calibration["fitted_on"] == "validation" and 0.5 <= calibration["temperature"] <= 3.0
    assert calibration["validation"]["nll_tempered"] <= calibration["validation"]["nll"]
    assert card["data"]["fit_samples"] == 21 and card["data"]["validation"]["samples"] == 7
    assert json.loads((tmp_path / "out" / "production.json").read_text())["temperature"] == calibration["temperature"]
    markdown = (tmp_path / "out" / "fer_tiny.md").read_text()
    assert "selects the epoch and fits the calibration temperature" in markdown and "optimizer adamw" in markdown


@pytest.mark.usefixtures("small_speed_runs")
def test_a_validation_split_unlike_the_recorded_one_is_refused(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path
) -> None:
    model = run_folder(tmp_path, tiny_model_path, {"architecture": "tiny", "validation": {"share": 0.25, "samples": 99, "seed": 3}})
    train = face_folder("train", per_class=4)

    with pytest.raises(DataError, match=r"run\.json recorded 99"):
        export.export(model, tmp_path / "out", "x", train_data=train, val_data=train)


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([[5, 0], [0, 5]], []),
        ([[8, 2], [5, 5]], [("b", "a", 0.5, 5), ("a", "b", 0.2, 2)]),
        ([[0, 0], [1, 0]], [("b", "a", 1.0, 1)]),
    ],
    ids=["perfect", "two_confusions", "an_empty_class"],
)
def test_failure_modes_are_the_largest_confusions_by_share_of_the_true_class(
    matrix: list[list[int]], expected: list[tuple[str, str, float, int]]
) -> None:
    modes = export.failure_modes({"class_names": ["a", "b"], "confusion_matrix": matrix})
    assert [(m["true"], m["predicted"], m["share"], m["faces"]) for m in modes] == expected
