"""Train a planned list of runs one after another, each resumable: the background job that spans working stretches.

Started with ``nohup python -m training queue training/plan.json &``; stopped at any moment (a working
stretch ends, the machine restarts), the same command carries on from the last checkpoint of the run in
progress. A finished run's summary is copied to ``training/results/<name>.json``, which is committed: the
model card's tables are built from those files, and a run with a summary there is not trained again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.architectures import Architecture, get_architecture
from training.cost import TRAIN_SIZE, read_costs
from training.loop import Recipe, steps_per_epoch
from training.recipes import get_recipe, recipe_for
from training.train import TEST_TIME_AUGMENTATIONS, VALIDATION_SHARE, TrainConfig, train

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class PlannedRun:
    """One entry of a plan: a name (its run folder and result file), an architecture, a recipe, and how long it trains."""

    name: str
    arch: str
    recipe: str | None = None  # a named variant of training/recipes.py; None: the architecture's own
    epochs: float | None = None  # None: the recipe's (or what budget_seconds buys)
    budget_seconds: float | None = None  # training time on the recorded machine (epoch_costs.json); never more than the recipe's epochs
    teacher: str | None = None  # soft labels (.npy) to distil from
    test_time_augmentation: tuple[str, ...] = TEST_TIME_AUGMENTATIONS  # the PublicTest views reported


def budget_epochs(arch: Architecture, recipe: Recipe, *, seconds: float, costs: dict[str, Any]) -> float:
    """The epochs (to 0.01) ``seconds`` of training buy ``arch`` at its recorded time per step, capped at the recipe's."""
    try:
        per_step = costs["architectures"][arch.name]["seconds_per_step"]
    except KeyError:
        raise ValueError(f"no recorded cost for {arch.name}: run `python -m training cost --arch {arch.name} --record`") from None
    per_epoch = steps_per_epoch(round(TRAIN_SIZE * (1 - VALIDATION_SHARE)), recipe.batch_size)
    return min(recipe.epochs, max(0.01, round(seconds / per_step / per_epoch, 2)))


def read_plan(path: Path) -> list[PlannedRun]:
    """The runs of a plan file (a JSON list of objects with :class:`PlannedRun`'s fields), checked up front."""
    entries: list[dict[str, Any]] = json.loads(Path(path).read_text())
    plan = [
        PlannedRun(**entry | {"test_time_augmentation": tuple(entry.get("test_time_augmentation", TEST_TIME_AUGMENTATIONS))})
        for entry in entries
    ]
    names = [run.name for run in plan]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: run names repeat")
    for run in plan:
        get_architecture(run.arch)
        if run.recipe is not None:
            get_recipe(run.recipe)
        if run.epochs is not None and run.budget_seconds is not None:
            raise ValueError(f"{path}: {run.name} gives both epochs and budget_seconds; give one")
        if unknown := set(run.test_time_augmentation) - set(TEST_TIME_AUGMENTATIONS):
            raise ValueError(
                f"{path}: {run.name}: unknown test-time augmentation {sorted(unknown)}; known: {', '.join(TEST_TIME_AUGMENTATIONS)}"
            )
    return plan


def run_plan(
    plan: list[PlannedRun],
    *,
    train_data: Path,
    test_data: Path,
    runs_dir: Path,
    results_dir: Path = RESULTS_DIR,
    command: str = "",
    log: Callable[[str], None] = print,
) -> list[str]:
    """Train every run of ``plan`` that has no result yet, in order; the names trained by this call."""
    trained = []
    for run in plan:
        result = results_dir / f"{run.name}.json"
        if result.exists():
            continue
        arch = get_architecture(run.arch)
        recipe = get_recipe(run.recipe) if run.recipe else recipe_for(arch)
        if run.budget_seconds is not None:
            recipe = dataclasses.replace(recipe, epochs=budget_epochs(arch, recipe, seconds=run.budget_seconds, costs=read_costs()))
        recipe = dataclasses.replace(recipe, epochs=run.epochs or recipe.epochs)
        log(f"training {run.name}: {arch.name}, recipe {run.recipe or 'its own'}, {recipe.epochs} epochs")
        config = TrainConfig(
            train_data=train_data,
            test_data=test_data,
            out_dir=runs_dir / run.name,
            recipe=recipe,
            teacher=Path(run.teacher) if run.teacher else None,
            test_time_augmentation=run.test_time_augmentation,
            command=command,
        )
        summary = train(arch, config) | {"run": run.name, "planned_recipe": run.recipe or "own", "budget_seconds": run.budget_seconds}
        results_dir.mkdir(parents=True, exist_ok=True)
        result.write_text(json.dumps(summary, indent=2) + "\n")
        trained.append(run.name)
    return trained
