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

from training.architectures import get_architecture
from training.recipes import get_recipe, recipe_for
from training.train import TrainConfig, train

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class PlannedRun:
    """One entry of a plan: a name (its run folder and result file), an architecture, a recipe, the epochs."""

    name: str
    arch: str
    recipe: str | None = None  # a named variant of training/recipes.py; None: the architecture's own
    epochs: int | None = None  # None: the recipe's
    teacher: str | None = None  # soft labels (.npy) to distil from


def read_plan(path: Path) -> list[PlannedRun]:
    """The runs of a plan file (a JSON list of objects with :class:`PlannedRun`'s fields), checked up front."""
    entries: list[dict[str, Any]] = json.loads(Path(path).read_text())
    plan = [PlannedRun(**entry) for entry in entries]
    names = [run.name for run in plan]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: run names repeat")
    for run in plan:
        get_architecture(run.arch)
        if run.recipe is not None:
            get_recipe(run.recipe)
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
        recipe = dataclasses.replace(recipe, epochs=run.epochs or recipe.epochs)
        log(f"training {run.name}: {arch.name}, recipe {run.recipe or 'its own'}, {recipe.epochs} epochs")
        config = TrainConfig(
            train_data=train_data,
            test_data=test_data,
            out_dir=runs_dir / run.name,
            recipe=recipe,
            teacher=Path(run.teacher) if run.teacher else None,
            command=command,
        )
        summary = train(arch, config) | {"run": run.name, "planned_recipe": run.recipe or "own"}
        results_dir.mkdir(parents=True, exist_ok=True)
        result.write_text(json.dumps(summary, indent=2) + "\n")
        trained.append(run.name)
    return trained
