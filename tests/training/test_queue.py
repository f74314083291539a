"""The training queue: plans are checked up front, runs train in order, a finished run is never trained again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from training import train
from training.architectures import get_architecture
from training.loop import Recipe
from training.queue import PlannedRun, budget_epochs, read_plan, run_plan


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
        ([{"name": "a", "arch": "vggnet_s", "epochs": 2, "budget_seconds": 60}], ValueError, "gives both epochs and budget_seconds"),
        (
            [{"name": "a", "arch": "vggnet_s", "test_time_augmentation": ["flip", "five_crop"]}],
            ValueError,
            r"unknown test-time augmentation \['five_crop'\]",
        ),
    ],
    ids=[
        "repeated name",
        "unknown architecture",
        "unknown recipe",
        "no architecture",
        "unknown field",
        "epochs and budget",
        "unknown view",
    ],
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


@pytest.mark.parametrize(
    ("seconds", "epochs"),
    [(202.0, 1.0), (303.0, 1.5), (1.0, 0.01), (1e6, 30)],  # one epoch's steps at 1 s, half more, the floor, the recipe's cap
)
def test_a_time_budget_buys_the_epochs_its_recorded_step_time_allows(seconds: float, epochs: float) -> None:
    costs = {"architectures": {"vggnet_s": {"seconds_per_step": 1.0}}}  # 25,838 fitted faces: 202 steps of 128
    assert budget_epochs(get_architecture("vggnet_s"), Recipe(epochs=30), seconds=seconds, costs=costs) == epochs


def test_a_budget_for_an_architecture_without_a_recorded_cost_is_refused() -> None:
    with pytest.raises(ValueError, match="no recorded cost for dcnn_elu: run `python -m training cost --arch dcnn_elu --record`"):
        budget_epochs(get_architecture("dcnn_elu"), Recipe(), seconds=60, costs={"architectures": {}})


def test_a_budgeted_run_trains_its_epochs_and_reports_only_the_views_asked_for(
    face_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, results = face_folder(per_class=2), tmp_path / "results"
    plan = [PlannedRun(name="budget", arch="cnn4_dense1024", budget_seconds=0.5, test_time_augmentation=("flip",))]

    run_plan(plan, train_data=data, test_data=data, runs_dir=tmp_path / "runs", results_dir=results, log=lambda line: None)

    summary = json.loads((results / "budget.json").read_text())
    assert summary["budget_seconds"] == 0.5 and summary["epochs"] < 1  # half a second of steps: under an epoch of the full set
    assert "public_test" in summary and "public_test_flip_tta" in summary and "public_test_ten_crop_tta" not in summary


def test_the_committed_plan_is_valid() -> None:
    plan = read_plan(Path(__file__).resolve().parents[2] / "training" / "plan.json")
    assert plan and all(run.epochs or run.budget_seconds for run in plan)
    budgets = {run.budget_seconds for run in plan if run.name.startswith("arch-")}
    assert len(budgets) == 1 and None not in budgets  # one budget for every architecture
