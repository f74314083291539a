"""``python -m training digits`` and ``train`` end to end on tiny synthetic data (one epoch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.training.conftest import write_mnist
from training import cli, train


@pytest.mark.parametrize("arch", ["seed", "strong"])
def test_digits_trains_tests_and_records(arch: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_mnist(tmp_path / "mnist", n_train=20, n_test=10)

    assert cli.main(["digits", "--arch", arch, "--epochs", "1", "--data", str(data), "--out", str(tmp_path / "digits")]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["architecture"] == arch and result["test_samples"] == 10 and result["train_samples"] == 20
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["seed_reported_accuracy"] == 0.9795
    assert json.loads((tmp_path / "digits" / f"{arch}.json").read_text())["test_accuracy"] == result["test_accuracy"]
    assert (tmp_path / "digits" / f"{arch}.keras").exists()


def test_train_runs_an_epoch_and_records_the_command(
    face_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, out = face_folder(per_class=2), tmp_path / "run"
    argv = [
        "train",
        "--arch",
        "cnn4_dense1024",
        "--train",
        str(data),
        "--test",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "8",
    ]

    assert cli.main(argv) == 0

    run = json.loads((out / "run.json").read_text())
    assert run["command"] == "python -m training " + " ".join(argv)
    assert run["public_test"]["samples"] == 14 and run["epochs"] == 1
    assert run["validation"]["samples"] == 7  # one face of each class held out for selection
    assert run["public_test_flip_tta"]["samples"] == run["public_test_ten_crop_tta"]["samples"] == 14 and run["cpu_seconds"] > 0
    assert {"best.keras", "log.csv", "run.json", "checkpoint.npz", "state.json"} <= {p.name for p in out.iterdir()}
    log = (out / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,loss,val_accuracy,") and log[1].startswith("0,")  # counted from 0, as Keras's CSVLogger does
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["architecture"] == "cnn4_dense1024"

    # The finished run reported again without PublicTest (as on a machine that lacks it): nothing retrains.
    assert cli.main([*argv[:5], "--no-test", *argv[7:]]) == 0
    rerun = json.loads((out / "run.json").read_text())
    assert "public_test" not in rerun and "test_fingerprint" not in rerun
    assert rerun["validation_accuracy"] == run["validation_accuracy"] and rerun["trained_on"] == run["trained_on"]
