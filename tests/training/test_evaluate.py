"""``python -m training evaluate``: the JSON contract, the report folder and test-time augmentation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from training import cli
from training.data import CLASS_NAMES
from training.evaluate import predict_probs

CONTRACT_KEYS = {"accuracy", "macro_f1", "per_class", "confusion_matrix", "class_names", "samples", "model"}
REPORT_FILES = {"confusion_matrix.png", "per_class.png", "roc.png", "learning_curves.png", "metrics.json"}


class LeftBrightPredictor:
    """Says "angry" in proportion to how much brighter the left half of a face is than the right."""

    path = Path("fake")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces, dtype=np.float64)
        left = faces[:, :, :24].mean(axis=(1, 2)) / 255
        probs = np.zeros((len(faces), 7))
        probs[:, 0], probs[:, 6] = left, 1 - left
        return probs


def test_tta_averages_each_face_with_its_mirror_image() -> None:
    faces = np.zeros((3, 48, 48, 1), np.uint8)
    faces[:, :, :24] = 255  # bright left half

    plain = predict_probs(LeftBrightPredictor(), faces, batch_size=2)
    tta = predict_probs(LeftBrightPredictor(), faces, tta="flip", batch_size=2)

    assert plain[:, 0].tolist() == [1.0, 1.0, 1.0]
    assert tta[:, 0].tolist() == [0.5, 0.5, 0.5]


def test_evaluate_json_contract_and_report(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = face_folder(per_class=3)
    report = tmp_path / "report"

    assert cli.main(["evaluate", "--model", str(tiny_model_path), "--data", str(data), "--json", "--report", str(report)]) == 0

    result = json.loads(capsys.readouterr().out)  # exactly one JSON object on stdout
    assert set(result) >= CONTRACT_KEYS
    assert result["samples"] == 21 and result["model"] == str(tiny_model_path) and result["tta"] == "none"
    assert result["class_names"] == list(CLASS_NAMES)
    assert set(result["per_class"]["happy"]) == {"precision", "recall", "f1", "support"}
    assert np.asarray(result["confusion_matrix"]).sum() == 21
    assert 0.0 <= result["accuracy"] <= 1.0 and set(result["roc_auc"]) == set(CLASS_NAMES)
    assert {p.name for p in report.iterdir()} == REPORT_FILES
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in report.glob("*.png"))
    assert json.loads((report / "metrics.json").read_text())["accuracy"] == result["accuracy"]


def test_evaluate_without_model_uses_the_production_model(
    tiny_model_path: Path,
    face_folder: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FER_MODEL_PATH", str(tiny_model_path))
    data = face_folder(per_class=1)

    assert cli.main(["evaluate", "--data", str(data), "--json", "--tta", "flip", "--report", str(tmp_path / "r")]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["model"] == str(tiny_model_path) and result["tta"] == "flip" and result["samples"] == 7


def test_evaluate_reads_the_kaggle_csv(tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pixels = " ".join(["90"] * 48 * 48)
    data = tmp_path / "fer.csv"
    data.write_text(f"emotion,pixels,Usage\n3,{pixels},PublicTest\n5,{pixels},PublicTest\n")
    log = tmp_path / "elsewhere.csv"
    log.write_text("epoch,loss,val_loss\n0,1.9,2.0\n")

    cli.main(
        ["evaluate", "--model", str(tiny_model_path), "--data", str(data), "--json", "--report", str(tmp_path / "r"), "--log", str(log)]
    )

    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 2 and result["per_class"]["happy"]["support"] == 1
    assert (tmp_path / "r" / "learning_curves.png").exists()


def test_evaluate_answers_bad_input_with_one_line(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    missing = tmp_path / "missing.keras"

    assert cli.main(["evaluate", "--model", str(tiny_model_path), "--data", str(empty), "--json"]) == 2
    assert capsys.readouterr().err == f"python -m training evaluate: error: {empty}: empty file\n"
    assert cli.main(["evaluate", "--model", str(missing), "--data", str(face_folder(per_class=1)), "--json"]) == 2
    assert capsys.readouterr().err == f"python -m training evaluate: error: model file {missing} does not exist\n"
