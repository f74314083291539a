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
from training.data import DataError, Dataset, load_cached, split_validation, validation_mask
from training.ferplus import FerPlusLabels, ferplus_csv, label_targets, load_ferplus, majority_metrics
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
    labels: str = "fer2013"  # what the faces are fitted to: "fer2013", "ferplus" or "both" (training.ferplus.label_targets)
    ferplus: Path | None = None  # FER+ folder (<split>.csv); given, validation and PublicTest are also scored on the FER+ majority
    initial_weights: Path | None = None  # a trained .keras to start from (fine-tuning); a checkpoint, if any, wins
    checkpoint_every: int = CHECKPOINT_EVERY
    test_time_augmentation: tuple[str, ...] = TEST_TIME_AUGMENTATIONS  # "none" is always reported
    command: str = ""


def targets_for(labels: np.ndarray, teacher: np.ndarray | None) -> np.ndarray:
    """Label distributions ``(n, classes)`` (one-hot, or FER+ votes) side by side with the teacher's soft labels
    (the labels again when there is no teacher): the two halves the loss of :class:`training.loop.Trainer` reads."""
    labels = labels.astype(np.float32)
    return np.concatenate([labels, labels if teacher is None else teacher.astype(np.float32)], axis=1)


def _ferplus_for(folder: Path | None, config: TrainConfig, dataset: Dataset | None) -> FerPlusLabels | None:
    """FER+ votes of ``folder``'s faces when the run has a FER+ folder, else None."""
    root = config.ferplus
    if folder is None or root is None:
        return None
    return load_ferplus(folder, ferplus_csv(root, folder), dataset=dataset)


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
    if config.labels != "fer2013" and config.ferplus is None:
        raise DataError(f"labels {config.labels!r} need a FER+ folder")
    ferplus = _ferplus_for(config.train_data, config, full_train)
    test_ferplus = _ferplus_for(config.test_data, config, test_set)
    # The validation faces are chosen on FER2013's labels whatever the run fits, so every run (and the model it
    # fine-tunes) holds out the same faces; FER+ only changes the targets of the faces fitted, and which of them train.
    held = validation_mask(full_train.labels, share=config.validation_share, seed=config.seed)
    fit_set, val_set = split_validation(full_train, share=config.validation_share, seed=config.seed)
    all_targets, trains = label_targets(full_train.labels, ferplus, label_set=config.labels)
    fit_targets, fit_images = all_targets[~held][trains[~held]], fit_set.images[trains[~held]]
    fit_teacher = None if teacher is None else teacher[~held][trains[~held]]
    if not len(fit_images):
        raise DataError(f"labels {config.labels!r} leave no face to fit")
    val_majority = None if ferplus is None else ferplus.majority[held]
    select_on = "fer2013" if config.labels == "fer2013" else "ferplus"  # a run is selected on the labels it fits
    if val_majority is not None and not (val_majority >= 0).any():
        raise DataError("no validation face has a FER+ majority in our classes to score")
    num_classes = len(full_train.class_names)

    # Model
    model = arch.build(full_train.images.shape[1:], num_classes)
    if config.initial_weights is not None:
        model.load_weights(config.initial_weights)
    trainer = Trainer(
        model,
        recipe,
        total_steps=run_steps(recipe, len(fit_images)),
        steps_in_epoch=steps_per_epoch(len(fit_images), recipe.batch_size),
        # Soft targets weigh classes by their plurality, as one-hot labels by their class.
        class_weights=class_weight_vector(fit_targets.argmax(axis=1), num_classes, recipe.class_weight_power),
    )
    model.summary(print_fn=lambda line, **_: print(line, file=sys.stderr))

    # Train, keeping the model of the best validation epoch
    best_path = out / "best.keras"

    def end_of_epoch(epoch: int) -> dict[str, float]:
        predicted = evaluate_probs(model, val_set.images).argmax(axis=1)
        scores = {"fer2013": float(np.mean(predicted == val_set.labels))}
        if val_majority is not None:
            scores["ferplus"] = float(np.mean(predicted[val_majority >= 0] == val_majority[val_majority >= 0]))
        accuracy = scores[select_on]
        previous = (
            json.loads(best_path.with_suffix(".json").read_text())["val_accuracy"] if best_path.with_suffix(".json").exists() else -1.0
        )
        if accuracy > previous:
            model.save(best_path)
            best_path.with_suffix(".json").write_text(json.dumps({"epoch": epoch + 1, "val_accuracy": accuracy, "selected_on": select_on}))
        row = {"val_accuracy": round(scores["fer2013"], 4)}
        return row | ({"val_accuracy_ferplus": round(scores["ferplus"], 4)} if "ferplus" in scores else {})

    state = fit(
        trainer,
        images=fit_images,
        targets=targets_for(fit_targets, fit_teacher),
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
        "labels": config.labels,
        "validation_selected_on": selected.get("selected_on", "fer2013"),
        "fit_samples": len(fit_images),
        "initial_weights": None if config.initial_weights is None else str(config.initial_weights),
        "ferplus": None if config.ferplus is None else str(config.ferplus),
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
            if test_ferplus is not None:
                summary[f"{SUMMARY_KEYS[tta]}_ferplus"] = majority_metrics(test_ferplus, probs, full_train.class_names)
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
