"""Distillation: an ensemble's soft labels for every Training face, and a student trained on them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

from training import cli, train
from training.data import load
from training.loop import evaluate_probs
from training.teacher import ensemble_soft_labels


def test_soft_labels_are_the_ensemble_mean_over_flipped_views(
    face_folder: Callable[..., Path], tiny_model_path: Path, tmp_path: Path
) -> None:
    dataset = load(face_folder(per_class=2))
    other = tmp_path / "other.keras"
    keras.utils.set_random_seed(5)
    keras.models.clone_model(keras.models.load_model(tiny_model_path)).save(other)

    soft = ensemble_soft_labels([tiny_model_path, other], dataset)

    expected = [evaluate_probs(keras.models.load_model(path), dataset.images, tta="flip") for path in (tiny_model_path, other)]
    assert soft.shape == (14, 7) and soft.dtype == np.float32
    np.testing.assert_allclose(soft, np.mean(expected, axis=0), atol=1e-6)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-5)


def test_no_teacher_is_refused(face_folder: Callable[..., Path]) -> None:
    with pytest.raises(ValueError, match="at least one teacher model"):
        ensemble_soft_labels([], load(face_folder(per_class=1)))


def test_a_student_distils_from_the_teacher_file(
    face_folder: Callable[..., Path],
    tiny_model_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, soft = face_folder(per_class=2), tmp_path / "teacher.npy"
    assert cli.main(["teacher", "--models", str(tiny_model_path), "--train", str(data), "--out", str(soft)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["faces"] == 14

    argv = ["train", "--arch", "cnn4_dense1024", "--recipe", "distill", "--teacher", str(soft), "--train", str(data), "--test", str(data)]
    assert cli.main([*argv, "--out", str(tmp_path / "student"), "--epochs", "1", "--batch-size", "8"]) == 0

    run = json.loads((tmp_path / "student" / "run.json").read_text())
    assert run["recipe"]["distill_weight"] == 0.7 and run["public_test"]["samples"] == 14


def test_a_teacher_file_of_the_wrong_shape_is_refused(
    face_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, soft = face_folder(per_class=2), tmp_path / "teacher.npy"
    np.save(soft, np.full((3, 7), 1 / 7, np.float32))
    argv = ["train", "--arch", "cnn4_dense1024", "--recipe", "distill", "--teacher", str(soft), "--train", str(data), "--test", str(data)]
    assert cli.main([*argv, "--out", str(tmp_path / "student"), "--epochs", "1"]) == 2
    assert "shape (3, 7), expected (14, 7)" in capsys.readouterr().err
    assert not (tmp_path / "student" / "checkpoint.npz").exists()
