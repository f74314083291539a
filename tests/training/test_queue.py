"""The training queue: plans are checked up front, runs train in order, a finished run is never trained again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from training import train
from training.queue import PlannedRun, read_plan, run_plan


def write_plan(path: Path, entries: object) -> Path:
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.parametrize(
    ("entries", "error", "message"),
    [
        ([{"name": "a", "arch": "vggnet_s"}, {"name": "a", "arch": "dcnn_elu"}], ValueError, "run names repeat"),
        ([{"name": "a", "arch": "resnet"}], KeyError, "unknown architecture 'resnet'"),
        ([{"name": "a", "arch": "vggnet_s", "recipe": "lion"}], KeyError, "unknown recipe 'lion'"),
        ([{"name": "a"}], TypeError, "missing 1 required positional argument: 'arch'"),
        ([{"name": "a", "arch": "vggnet_s", "lr": 1}], TypeError, "unexpected keyword argument 'lr'"),
    ],
    ids=["repeated name", "unknown architecture", "unknown recipe", "no architecture", "unknown field"],
)
def test_a_bad_plan_is_refused_before_anything_trains(tmp_path: Path, entries: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        read_plan(write_plan(tmp_path / "plan.json", entries))


def test_an_empty_plan_trains_nothing(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path / "plan.json", []))
    assert run_plan(plan, train_data=tmp_path, test_data=tmp_path, runs_dir=tmp_path / "runs", results_dir=tmp_path / "results") == []


def test_runs_train_in_order_and_a_finished_one_is_skipped(
    face_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, results = face_folder(per_class=2), tmp_path / "results"
    plan = [
        PlannedRun(name="first", arch="cnn4_dense1024", epochs=1),
        PlannedRun(name="second", arch="cnn4_dense1024", recipe="mixup", epochs=1),
    ]
    results.mkdir()
    (results / "first.json").write_text("{}")  # finished in an earlier working stretch

    trained = run_plan(plan, train_data=data, test_data=data, runs_dir=tmp_path / "runs", results_dir=results, log=lambda line: None)

    assert trained == ["second"]
    summary = json.loads((results / "second.json").read_text())
    assert summary["run"] == "second" and summary["planned_recipe"] == "mixup"
    assert summary["recipe"]["augmentation"]["mixup"] == 0.2 and summary["epochs"] == 1
    assert not (tmp_path / "runs" / "first").exists()


def test_the_committed_plan_is_valid() -> None:
    plan = read_plan(Path(__file__).resolve().parents[2] / "training" / "plan.json")
    assert plan and all(run.epochs for run in plan)
