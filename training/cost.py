"""What one FER2013 epoch of an architecture costs on this machine, measured by a short timed run.

A full epoch takes minutes on two CPU cores, so the cost is measured on ``steps`` training steps of
random faces (the arithmetic does not depend on pixel values), after two warm-up steps, with the
architecture's own augmentation, optimizer and batch size, and extrapolated to the Training split
plus one pass over PublicTest. The measured figures are recorded in ``epoch_costs.json`` beside this
file; an architecture whose full recipe would take longer than :data:`CPU_BUDGET_HOURS` is marked
infeasible on CPU.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import Architecture
from training.data import CLASS_NAMES, IMAGE_SIZE
from training.train import SEED, compile_trainer

COSTS_PATH = Path(__file__).resolve().parent / "epoch_costs.json"
TRAIN_SIZE = 28_709  # FER2013 Training faces
VAL_SIZE = 3_589  # FER2013 PublicTest faces
WARMUP_STEPS = 2
VAL_BATCHES_TIMED = 3
CPU_BUDGET_HOURS = 12.0  # one unattended night on this machine: a recipe longer than that is marked infeasible on CPU


def machine() -> str:
    """A short description of this machine, for recorded figures."""
    cpu = platform.processor() or platform.system()
    return f"{platform.machine()} {os.cpu_count()} cpu, {cpu}, keras {keras.__version__} ({keras.backend.backend()})"


def measure_epoch_seconds(arch: Architecture, *, steps: int, batch_size: int | None = None) -> dict[str, Any]:
    """Time ``steps`` training steps of ``arch`` and extrapolate to one FER2013 epoch (train + validation)."""
    batch_size = batch_size or arch.batch_size
    keras.utils.set_random_seed(SEED)
    shape = (IMAGE_SIZE, IMAGE_SIZE, 1)
    model = arch.build(shape, len(CLASS_NAMES))
    steps_per_epoch = math.ceil(TRAIN_SIZE / batch_size)
    trainer = compile_trainer(arch, model, total_steps=arch.epochs * steps_per_epoch)
    rng = np.random.default_rng(SEED)
    faces = rng.integers(0, 256, size=(batch_size, *shape)).astype("float32")
    targets = keras.utils.to_categorical(rng.integers(0, len(CLASS_NAMES), size=batch_size), len(CLASS_NAMES))

    for _ in range(WARMUP_STEPS):
        trainer.train_on_batch(faces, targets)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_on_batch(faces, targets)
    step_seconds = (time.perf_counter() - started) / steps

    model.predict_on_batch(faces)
    started = time.perf_counter()
    for _ in range(VAL_BATCHES_TIMED):
        model.predict_on_batch(faces)
    val_batch_seconds = (time.perf_counter() - started) / VAL_BATCHES_TIMED

    epoch_seconds = steps_per_epoch * step_seconds + math.ceil(VAL_SIZE / batch_size) * val_batch_seconds
    recipe_hours = arch.epochs * epoch_seconds / 3600
    return {
        "parameters": int(model.count_params()),
        "batch_size": batch_size,
        "steps_timed": steps,
        "seconds_per_step": round(step_seconds, 3),
        "epoch_seconds": round(epoch_seconds, 1),
        "recipe_epochs": arch.epochs,
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
