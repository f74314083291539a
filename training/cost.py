"""What one FER2013 epoch of an architecture costs on this machine, measured by a short timed run, and where
the time goes.

A full epoch takes minutes on two CPU cores, so the cost is measured on ``steps`` training steps of random
faces (the arithmetic does not depend on pixel values), after warm-up steps, with the architecture's own
recipe on the shared loop (:mod:`training.loop`), and extrapolated to the Training split plus one pass over
PublicTest. The breakdown times each part of a step on its own: the host's batch (indexing and drawing the
augmentation parameters), the batched augmentation, and the whole compiled step; and, for comparison, the
per-layer Keras augmentation the project trained with before (``keras_layers_augmentation``), which ran
inside the step the same way. Figures are recorded in ``epoch_costs.json`` beside this file; an
architecture whose full recipe would take longer than :data:`CPU_BUDGET_HOURS` is marked infeasible on CPU.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training import augment
from training.architectures import Architecture
from training.data import CLASS_NAMES, IMAGE_SIZE
from training.loop import Trainer, batches, class_weight_vector, run_steps, steps_per_epoch
from training.recipes import recipe_for

COSTS_PATH = Path(__file__).resolve().parent / "epoch_costs.json"
TRAIN_SIZE = 28_709  # FER2013 Training faces
VAL_SIZE = 3_589  # FER2013 PublicTest faces
WARMUP_STEPS = 2
VAL_BATCHES_TIMED = 3
CPU_BUDGET_HOURS = 12.0  # one unattended night on this machine: a recipe longer than that is marked infeasible on CPU
SEED = 1337


def machine() -> str:
    """A short description of this machine, for recorded figures."""
    cpu = platform.processor() or platform.system()
    return f"{platform.machine()} {os.cpu_count()} cpu, {cpu}, keras {keras.__version__} ({keras.backend.backend()})"


def keras_layers_augmentation(*, heavy: bool) -> keras.Sequential:
    """The per-layer augmentation the project trained with before the batched one (timed for comparison only)."""
    rotation, shift, zoom = (30 / 360, 0.2, 0.3) if heavy else (0.05, 0.1, (-0.15, 0.1))
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(rotation, fill_mode="nearest"),
            keras.layers.RandomTranslation(shift, shift, fill_mode="nearest"),
            keras.layers.RandomZoom(zoom, fill_mode="nearest"),
            keras.layers.RandomContrast(0.3),
        ]
    )


def _seconds(run: Callable[[], object], steps: int) -> float:
    for _ in range(WARMUP_STEPS):
        run()
    started = time.perf_counter()
    for _ in range(steps):
        run()
    return (time.perf_counter() - started) / steps


def measure_epoch_seconds(arch: Architecture, *, steps: int, batch_size: int | None = None) -> dict[str, Any]:
    """Time ``steps`` training steps of ``arch`` (and each part of one) and extrapolate to a FER2013 epoch."""
    recipe = recipe_for(arch)
    batch_size = batch_size or recipe.batch_size
    recipe = dataclasses.replace(recipe, batch_size=batch_size)
    keras.utils.set_random_seed(SEED)
    shape = (IMAGE_SIZE, IMAGE_SIZE, 1)
    model = arch.build(shape, len(CLASS_NAMES))
    per_epoch = steps_per_epoch(TRAIN_SIZE, batch_size)
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, len(CLASS_NAMES), size=batch_size)
    images = rng.integers(0, 256, size=(batch_size, *shape)).astype(np.uint8)
    targets = np.tile(np.eye(len(CLASS_NAMES), dtype=np.float32)[labels], (1, 2))
    trainer = Trainer(
        model,
        recipe,
        total_steps=run_steps(recipe, TRAIN_SIZE),
        steps_in_epoch=per_epoch,
        class_weights=class_weight_vector(labels, len(CLASS_NAMES), 0.5),
    )
    faces, batch_targets, params = next(batches(images, targets, recipe=recipe, seed=SEED, epoch=0, start_step=0))

    step_seconds = _seconds(lambda: trainer.step(faces, batch_targets, params), steps)
    host_seconds = _seconds(lambda: next(batches(images, targets, recipe=recipe, seed=SEED, epoch=0, start_step=0)), steps)
    batched = tf.function(augment.apply)
    batched_seconds = _seconds(lambda: batched(faces, batch_targets, params), steps)
    layers = keras_layers_augmentation(heavy=arch.heavy_augment)
    per_layer = tf.function(lambda x: layers(x, training=True))
    layers_seconds = _seconds(lambda: per_layer(faces), steps)
    val_batch_seconds = _seconds(lambda: model.predict_on_batch(faces), VAL_BATCHES_TIMED)

    validation = math.ceil(VAL_SIZE / batch_size) * val_batch_seconds
    epoch_seconds = per_epoch * step_seconds + validation
    model_step = max(step_seconds - batched_seconds, 0.0)
    before_seconds = per_epoch * (model_step + layers_seconds) + validation
    recipe_hours = recipe.epochs * epoch_seconds / 3600
    return {
        "parameters": int(model.count_params()),
        "batch_size": batch_size,
        "steps_timed": steps,
        "seconds_per_step": round(step_seconds, 3),
        "step_ms": {
            "host_batch": round(host_seconds * 1000, 1),
            "batched_augmentation": round(batched_seconds * 1000, 1),
            "model_forward_backward_update": round(model_step * 1000, 1),
            "keras_layers_augmentation_before": round(layers_seconds * 1000, 1),
        },
        "epoch_seconds": round(epoch_seconds, 1),
        "epoch_seconds_with_keras_layers_augmentation": round(before_seconds, 1),
        "recipe_epochs": recipe.epochs,
        "recipe_hours": round(recipe_hours, 2),
        "cpu_feasible": recipe_hours <= CPU_BUDGET_HOURS,
    }


def read_costs(path: Path = COSTS_PATH) -> dict[str, Any]:
    """The recorded costs (``{"architectures": {}}`` when none are recorded yet)."""
    return json.loads(path.read_text()) if path.exists() else {"architectures": {}}


def record_costs(measured: dict[str, dict[str, Any]], *, conditions: str, path: Path = COSTS_PATH) -> dict[str, Any]:
    """Merge ``measured`` into the recorded costs, stamped with this machine, the date and the ``conditions``."""
    costs = read_costs(path)
    stamp = {"machine": machine(), "date": datetime.date.today().isoformat(), "conditions": conditions}
    costs["architectures"].update({name: figures | stamp for name, figures in measured.items()})
    costs["budget_hours"] = CPU_BUDGET_HOURS
    path.write_text(json.dumps(costs, indent=2) + "\n")
    return costs
