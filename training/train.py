"""Train one named architecture on FER2013: data, model, train, evaluate — top to bottom.

Fit on the Training split less a stratified validation share; select the epoch (and, across runs, the
recipe) on that validation share only; report PublicTest, which no choice ever looked at. A run folder holds
everything: ``checkpoint.npz`` + ``state.json`` (the exact resumable state, written every
``checkpoint_every`` steps and at each epoch's end), ``best.keras`` (the model at its best validation
accuracy), ``log.csv`` (per-epoch figures) and ``run.json``. Re-running the same command after an
interruption resumes from the last checkpoint, step for step.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import Architecture
from training.augment import TEST_TIME_AUGMENTATIONS
from training.data import DataError, load_cached, split_validation, validation_mask
from training.loop import Recipe, Trainer, class_weight_vector, evaluate_probs, fit, run_steps, steps_per_epoch
from training.metrics import classification_metrics

SEED = 1337
CACHE_DIR = Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "engagement-monitor"))
VALIDATION_SHARE = 0.1
CHECKPOINT_EVERY = 50  # steps: about 40 s of vggnet_s on 2 cores, the most an interruption can cost
SUMMARY_KEYS = {"none": "public_test", "flip": "public_test_flip_tta", "ten_crop": "public_test_ten_crop_tta"}


@dataclass(frozen=True)
class TrainConfig:
    """What a run needs besides the architecture."""

    train_data: Path
    test_data: Path | None  # PublicTest: reported, never selected on; None trains without it (evaluate by re-running with it)
    out_dir: Path
    recipe: Recipe
    seed: int = SEED
    validation_share: float = VALIDATION_SHARE
    teacher: Path | None = None  # .npy of soft labels for every Training face (distillation)
    checkpoint_every: int = CHECKPOINT_EVERY
    test_time_augmentation: tuple[str, ...] = TEST_TIME_AUGMENTATIONS  # "none" is always reported
    command: str = ""


def targets_for(labels: np.ndarray, num_classes: int, teacher: np.ndarray | None) -> np.ndarray:
    """One-hot labels side by side with the teacher's soft labels (the one-hot again when there is no teacher)."""
    one_hot = np.eye(num_classes, dtype=np.float32)[labels]
    return np.concatenate([one_hot, one_hot if teacher is None else teacher.astype(np.float32)], axis=1)


def train(arch: Architecture, config: TrainConfig) -> dict[str, Any]:
    """Train ``arch`` per ``config`` (resuming any checkpoint in ``out_dir``); the run summary, also in ``run.json``."""
    keras.utils.set_random_seed(config.seed)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recipe = config.recipe

    # Data
    full_train = load_cached(config.train_data, cache_dir=CACHE_DIR)
    test_set = load_cached(config.test_data, cache_dir=CACHE_DIR) if config.test_data else None
    teacher = np.load(config.teacher) if config.teacher else None
    if teacher is not None and teacher.shape != (len(full_train), len(full_train.class_names)):
        raise DataError(f"teacher {config.teacher}: shape {teacher.shape}, expected ({len(full_train)}, {len(full_train.class_names)})")
    held = validation_mask(full_train.labels, share=config.validation_share, seed=config.seed)
    fit_set, val_set = split_validation(full_train, share=config.validation_share, seed=config.seed)
    fit_teacher = None if teacher is None else teacher[~held]
    num_classes = len(full_train.class_names)

    # Model
    model = arch.build(full_train.images.shape[1:], num_classes)
    trainer = Trainer(
        model,
        recipe,
        total_steps=run_steps(recipe, len(fit_set)),
        steps_in_epoch=steps_per_epoch(len(fit_set), recipe.batch_size),
        class_weights=class_weight_vector(fit_set.labels, num_classes, recipe.class_weight_power),
    )
    model.summary(print_fn=lambda line, **_: print(line, file=sys.stderr))

    # Train, keeping the model of the best validation epoch
    best_path = out / "best.keras"

    def end_of_epoch(epoch: int) -> dict[str, float]:
        accuracy = float(np.mean(evaluate_probs(model, val_set.images).argmax(axis=1) == val_set.labels))
        previous = (
            json.loads(best_path.with_suffix(".json").read_text())["val_accuracy"] if best_path.with_suffix(".json").exists() else -1.0
        )
        if accuracy > previous:
            model.save(best_path)
            best_path.with_suffix(".json").write_text(json.dumps({"epoch": epoch + 1, "val_accuracy": accuracy}))
        return {"val_accuracy": round(accuracy, 4)}

    state = fit(
        trainer,
        images=fit_set.images,
        targets=targets_for(fit_set.labels, num_classes, fit_teacher),
        seed=config.seed,
        folder=out,
        checkpoint_every=config.checkpoint_every,
        end_of_epoch=end_of_epoch,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    _write_log(out / "log.csv", state.history)

    # Evaluate the selected model on PublicTest, plain and with the configured test-time augmentation
    best = keras.models.load_model(best_path)
    selected = json.loads(best_path.with_suffix(".json").read_text())
    summary: dict[str, Any] = {
        "architecture": arch.name,
        "description": arch.description,
        "command": config.command,
        "recipe": recipe.to_json(),
        "parameters": int(model.count_params()),
        "epochs": recipe.epochs,
        "best_epoch": selected["epoch"],
        "validation_accuracy": selected["val_accuracy"],
        "cpu_hours": round(state.cpu_seconds / 3600, 3),
        "cpu_seconds": round(state.cpu_seconds, 2),  # a short run rounds to 0.000 h
        "wall_hours": round(state.wall_seconds / 3600, 3),
        "trained_on": state.trained_on,
        "train_fingerprint": full_train.fingerprint(),
        "validation": {"share": config.validation_share, "samples": len(val_set), "seed": config.seed},
        "seed": config.seed,
        "batch_size": recipe.batch_size,
    }
    if test_set is not None:
        summary["test_fingerprint"] = test_set.fingerprint()
        for tta in dict.fromkeys(("none", *config.test_time_augmentation)):
            probs = evaluate_probs(best, test_set.images, tta=tta)
            summary[SUMMARY_KEYS[tta]] = classification_metrics(test_set.labels, probs, full_train.class_names)
    (out / "run.json").write_text(json.dumps(summary, indent=2))
    return summary


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    """Per-epoch figures as CSV, epochs counted from 0 as Keras's ``CSVLogger`` does (the report's learning curves read it)."""
    if not history:
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows({**row, "epoch": row["epoch"] - 1} for row in history)
