"""Train one named architecture on FER2013: data, model, train, evaluate — top to bottom.

Fit on the Training split only; select (checkpoint, early-stop) on PublicTest only. A run folder
holds everything: ``backup/`` (resumable state, written every epoch), ``best.keras`` (the model
alone, at its best PublicTest accuracy), ``log.csv`` (per-epoch figures) and ``run.json``.
Re-running the same command after an interruption resumes from the last finished epoch.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import Architecture
from training.data import Dataset, load_cached
from training.metrics import classification_metrics

SEED = 1337
CACHE_DIR = Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "engagement-monitor"))
CLASS_WEIGHT_POWER = 0.5  # inverse-frequency ** 0.5: lifts disgust (1.5%) ~3x without wrecking accuracy
EARLY_STOP_PATIENCE = 8


@dataclass(frozen=True)
class TrainConfig:
    """What a run needs besides the architecture's own recipe (which these may override)."""

    train_data: Path
    val_data: Path
    out_dir: Path
    epochs: int | None = None
    batch_size: int | None = None
    seed: int = SEED
    command: str = ""


def augmenter() -> keras.Sequential:
    """Label-preserving jitter of pose, framing and lighting; inactive outside training."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.05, fill_mode="nearest"),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
            keras.layers.RandomZoom((-0.15, 0.1), fill_mode="nearest"),
            keras.layers.RandomContrast(0.3),
        ],
        name="augment",
    )


def heavy_augmenter() -> keras.Sequential:
    """The "little VGG" seed's heavy jitter: larger rotations, shifts and zooms, plus shear."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(30 / 360, fill_mode="nearest"),
            keras.layers.RandomShear(x_factor=0.2, y_factor=0.2, fill_mode="nearest"),
            keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
            keras.layers.RandomZoom(0.3, fill_mode="nearest"),
            keras.layers.RandomContrast(0.3),
        ],
        name="augment_heavy",
    )


def augmentation(arch: Architecture) -> keras.Layer:
    """The augmentation ``arch`` trains with: none, :func:`augmenter` or :func:`heavy_augmenter`."""
    if not arch.augment:
        return keras.layers.Identity()
    return heavy_augmenter() if arch.heavy_augment else augmenter()


def compile_trainer(arch: Architecture, model: keras.Model, total_steps: int) -> keras.Model:
    """``model`` behind its augmentation, compiled with the shared recipe: AdamW, cosine decay, label smoothing."""
    trainer = keras.Sequential([augmentation(arch), model], name="trainer")
    trainer.build((None, *model.input_shape[1:]))  # BackupAndRestore needs built weights to restore into
    schedule = keras.optimizers.schedules.CosineDecay(arch.learning_rate, decay_steps=total_steps, alpha=0.01, warmup_target=None)
    trainer.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=arch.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=arch.label_smoothing),
        metrics=["accuracy"],
    )
    return trainer


def class_weights(dataset: Dataset, power: float = CLASS_WEIGHT_POWER) -> dict[int, float]:
    """Per-class loss weights ``(mean_count / count) ** power``; 0 keeps every class at 1."""
    counts = np.maximum(dataset.class_counts(), 1).astype(np.float64)
    weights = (counts.mean() / counts) ** power
    return {i: float(w) for i, w in enumerate(weights)}


class SaveBest(keras.callbacks.Callback):
    """Save the bare model (no augmentation layers) whenever PublicTest accuracy improves."""

    def __init__(self, model: keras.Model, path: Path, best: float) -> None:
        super().__init__()
        self.inner = model
        self.path = path
        self.best = best

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        accuracy = (logs or {}).get("val_accuracy", -1.0)
        if accuracy > self.best:
            self.best = accuracy
            self.inner.save(self.path)
            self.path.with_suffix(".json").write_text(json.dumps({"epoch": epoch + 1, "val_accuracy": accuracy}))


def train(arch: Architecture, config: TrainConfig) -> dict[str, Any]:
    """Train ``arch`` per ``config``; returns the run summary also written to ``run.json``."""
    keras.utils.set_random_seed(config.seed)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = config.epochs or arch.epochs
    batch_size = config.batch_size or arch.batch_size

    # Data
    train_set = load_cached(config.train_data, cache_dir=CACHE_DIR)
    val_set = load_cached(config.val_data, cache_dir=CACHE_DIR)
    x_train, y_train = train_set.images.astype("float32"), train_set.labels
    x_val, y_val = val_set.images.astype("float32"), val_set.labels
    num_classes = len(train_set.class_names)

    # Model
    model = arch.build(x_train.shape[1:], num_classes)
    trainer = compile_trainer(arch, model, total_steps=epochs * int(np.ceil(len(x_train) / batch_size)))
    model.summary(print_fn=lambda line, **_: print(line, file=sys.stderr))

    # Train
    best_path = out / "best.keras"
    best_so_far = (
        json.loads(best_path.with_suffix(".json").read_text())["val_accuracy"] if best_path.with_suffix(".json").exists() else -1.0
    )
    started = time.perf_counter()
    history = trainer.fit(
        x_train,
        keras.utils.to_categorical(y_train, num_classes),
        validation_data=(x_val, keras.utils.to_categorical(y_val, num_classes)),
        epochs=epochs,
        batch_size=batch_size,
        class_weight=class_weights(train_set),
        callbacks=[
            keras.callbacks.BackupAndRestore(str(out / "backup")),
            keras.callbacks.CSVLogger(str(out / "log.csv"), append=True),
            SaveBest(model, best_path, best_so_far),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=EARLY_STOP_PATIENCE, mode="max"),
        ],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    train_seconds = time.perf_counter() - started

    # Evaluate the selected model on PublicTest
    best = keras.models.load_model(best_path)
    probs = best.predict(x_val, batch_size=256, verbose=0)
    summary = {
        "architecture": arch.name,
        "description": arch.description,
        "command": config.command,
        "parameters": int(model.count_params()),
        "epochs_run_this_invocation": len(history.history.get("loss", [])),
        "train_seconds_this_invocation": round(train_seconds, 1),
        "backend": keras.backend.backend(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "train_fingerprint": train_set.fingerprint(),
        "val_fingerprint": val_set.fingerprint(),
        "seed": config.seed,
        "batch_size": batch_size,
        "epochs": epochs,
        "public_test": classification_metrics(y_val, probs, train_set.class_names),
    }
    (out / "run.json").write_text(json.dumps(summary, indent=2))
    return summary
