"""The training loop: batched augmentation inside one compiled step, a prefetching input pipeline, and
checkpoints that resume exactly.

A checkpoint holds the model's variables (BatchNorm statistics and dropout's random state included), every optimizer variable (its
iteration count drives the learning-rate schedule), and where the run stands (epoch, step in the epoch).
Everything random is derived from (seed, epoch, step): the epoch's order of faces and each batch's
augmentation, so a run stopped after any checkpoint and started again takes the same steps with the same
numbers as one that never stopped (``tests/training/test_loop.py`` checks weights and optimizer state).
"""

from __future__ import annotations

import json
import math
import os
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from training import augment
from training.augment import Augmentation

CHECKPOINT_FILE = "checkpoint.npz"
STATE_FILE = "state.json"
PREFETCH_BATCHES = 3


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: optimizer, schedule, regularisation, augmentation and distillation."""

    epochs: float = 30  # a fraction ends the last epoch early: runs under a time budget (training/plan.json)
    batch_size: int = 128
    optimizer: str = "adamw"  # "adamw" or "sgd" (Nesterov momentum 0.9)
    learning_rate: float = 2e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0  # linear warm-up, then cosine decay to 1% of the peak
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5  # per-class loss weight (mean count / count) ** power; 0: none
    augmentation: Augmentation = field(default_factory=Augmentation)
    distill_weight: float = 0.0  # share of the loss that matches the teacher's soft labels; 0: none
    distill_temperature: float = 2.0

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain data (recorded with every run)."""
        return asdict(self)


@dataclass
class RunState:
    """Where a run stands; saved with every checkpoint."""

    epoch: int = 0  # the epoch in progress (0-based)
    step: int = 0  # steps finished in that epoch
    cpu_seconds: float = 0.0  # process CPU time spent training so far (all threads), over every working stretch
    wall_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)  # one row per finished epoch
    trained_on: list[str] = field(default_factory=list)  # where the working stretches ran (:func:`where`), each named once


def where() -> str:
    """This machine and the Keras backend and device a step runs on, e.g. ``x86_64 2 cpu, keras tensorflow on cpu``."""
    backend = keras.backend.backend()
    device = "cpu"
    if backend == "jax":
        import jax

        device = jax.devices()[0].device_kind
    return f"{platform.machine()} {os.cpu_count()} cpu, keras {backend} on {device}"


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Batches in one pass over ``samples`` faces (the last one may be short)."""
    return -(-samples // batch_size)


def run_steps(recipe: Recipe, samples: int) -> int:
    """Steps of a whole run over ``samples`` faces: the recipe's epochs, the last one possibly cut short."""
    return max(1, round(recipe.epochs * steps_per_epoch(samples, recipe.batch_size)))


def epoch_steps(recipe: Recipe, samples: int, epoch: int) -> int:
    """Steps of epoch ``epoch`` (0-based): a whole pass, or what is left of :func:`run_steps` in the last one."""
    per_epoch = steps_per_epoch(samples, recipe.batch_size)
    return max(0, min(per_epoch, run_steps(recipe, samples) - epoch * per_epoch))


def make_optimizer(recipe: Recipe, *, total_steps: int, steps_in_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer over a warm-up + cosine schedule spanning ``total_steps``.

    A run shorter than five warm-ups (a small time budget) warms up over its first fifth instead.
    """
    warmup = min(round(recipe.warmup_epochs * steps_in_epoch), total_steps // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.learning_rate / 100 if warmup else recipe.learning_rate,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.01,
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; use 'adamw' or 'sgd'")


def class_weight_vector(labels: np.ndarray, num_classes: int, power: float) -> np.ndarray:
    """Per-class loss weights ``(mean count / count) ** power``; power 0 weighs every class 1."""
    counts = np.maximum(np.bincount(labels, minlength=num_classes), 1).astype(np.float64)
    return ((counts.mean() / counts) ** power).astype(np.float32)


def batches(
    images: np.ndarray, targets: np.ndarray, *, recipe: Recipe, seed: int, epoch: int, start_step: int
) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    """The epoch's batches from ``start_step`` on: faces, targets and augmentation parameters, all from the seed."""
    order = np.random.default_rng([seed, epoch]).permutation(len(images))
    for step in range(start_step, epoch_steps(recipe, len(images), epoch)):
        chosen = np.sort(order[step * recipe.batch_size : (step + 1) * recipe.batch_size])
        params = augment.draw(recipe.augmentation, batch=len(chosen), rng=augment.step_rng(seed, epoch, step))
        yield images[chosen].astype(np.float32), targets[chosen], params


def prefetch(source: Iterator[Any], depth: int = PREFETCH_BATCHES) -> Iterator[Any]:
    """Items of ``source`` produced ahead on a thread, while the compiled step runs (it releases the GIL)."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()

    def produce() -> None:
        for item in source:
            items.put(item)
        items.put(done)

    threading.Thread(target=produce, daemon=True).start()
    while (item := items.get()) is not done:
        yield item


class Trainer:
    """A model, its optimizer and one compiled train step; :meth:`save` / :meth:`restore` checkpoint them.

    The step is compiled for the Keras backend in use: a ``tf.function`` on TensorFlow (this machine), a
    ``jax.jit`` stateless step on JAX (an accelerator); the augmentation and the loss are the same ``keras.ops``.
    """

    def __init__(self, model: keras.Model, recipe: Recipe, *, total_steps: int, steps_in_epoch: int, class_weights: np.ndarray) -> None:
        self.model = model
        self.recipe = recipe
        self.optimizer = make_optimizer(recipe, total_steps=total_steps, steps_in_epoch=steps_in_epoch)
        self.optimizer.build(model.trainable_variables)
        self.class_weights = np.asarray(class_weights, dtype=np.float32)
        self._state: Any = None  # JAX only: (trainable, non-trainable, optimizer) values between synchronisations
        self._step = self._jax_step() if keras.backend.backend() == "jax" else self._tensorflow_step()

    def loss(self, probs: Any, mixed: Any) -> Any:
        """The recipe's loss of a batch: class-weighted cross-entropy on smoothed labels, plus distillation.

        ``mixed`` holds the one-hot label and the teacher's soft label side by side, mixed by the augmentation.
        """
        num_classes = self.class_weights.shape[0]
        hard, soft = mixed[:, :num_classes], mixed[:, num_classes:]
        smoothing = self.recipe.label_smoothing
        hard = hard * (1 - smoothing) + smoothing / num_classes
        weights = ops.sum(hard * self.class_weights, axis=1)
        log_probs = ops.log(ops.clip(probs, 1e-7, 1.0))
        loss = -ops.sum(hard * log_probs, axis=1) * weights
        if self.recipe.distill_weight > 0:
            t = self.recipe.distill_temperature
            student = ops.log_softmax(log_probs / t, axis=-1)
            teacher = ops.softmax(ops.log(ops.clip(soft, 1e-7, 1.0)) / t, axis=-1)
            distill = ops.sum(teacher * (ops.log(ops.clip(teacher, 1e-7, 1.0)) - student), axis=1) * t * t
            loss = (1 - self.recipe.distill_weight) * loss + self.recipe.distill_weight * distill
        return ops.mean(loss)

    def _tensorflow_step(self) -> Callable[..., Any]:
        import tensorflow as tf

        num_classes = int(self.class_weights.shape[0])
        spec = {name: tf.TensorSpec((None, *shape), tf.float32) for name, shape in augment.PARAMETER_SHAPES.items()}
        shape = (None, *self.model.input_shape[1:])

        def train_step(images: Any, targets: Any, params: dict[str, Any]) -> Any:
            images, mixed = augment.apply(images, targets, params)
            with tf.GradientTape() as tape:
                loss = self.loss(self.model(images, training=True), mixed)
                if self.model.losses:
                    loss += tf.add_n(self.model.losses)
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply(gradients, self.model.trainable_variables)
            return loss

        return tf.function(
            train_step,
            input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec((None, 2 * num_classes), tf.float32), spec],
            reduce_retracing=True,
        )

    def _jax_step(self) -> Callable[..., Any]:
        import jax

        model, optimizer = self.model, self.optimizer

        def compute_loss(trainable: Any, non_trainable: Any, images: Any, targets: Any, params: dict[str, Any]) -> Any:
            images, mixed = augment.apply(images, targets, params)
            probs, non_trainable, losses = model.stateless_call(trainable, non_trainable, images, training=True, return_losses=True)
            loss = self.loss(probs, mixed)
            return (loss + sum(losses) if losses else loss), non_trainable

        gradient = jax.value_and_grad(compute_loss, has_aux=True)

        @jax.jit
        def train_step(state: Any, images: Any, targets: Any, params: dict[str, Any]) -> Any:
            trainable, non_trainable, optimizer_values = state
            (loss, non_trainable), grads = gradient(trainable, non_trainable, images, targets, params)
            trainable, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, trainable)
            return loss, (trainable, non_trainable, optimizer_values)

        def step(images: Any, targets: Any, params: dict[str, Any]) -> Any:
            if self._state is None:
                self._state = (
                    [v.value for v in model.trainable_variables],
                    [v.value for v in model.non_trainable_variables],
                    [v.value for v in optimizer.variables],
                )
            loss, self._state = train_step(self._state, images, targets, params)
            return loss

        return step

    def sync(self) -> None:
        """Write the values a stateless (JAX) step holds back into the model's and optimizer's variables."""
        if self._state is None:
            return
        trainable, non_trainable, optimizer_values = self._state
        for variables, values in (
            (self.model.trainable_variables, trainable),
            (self.model.non_trainable_variables, non_trainable),
            (self.optimizer.variables, optimizer_values),
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        # The variables are the truth from here: Keras's own jitted predict donates their buffers and replaces them.
        self._state = None

    def step(self, images: np.ndarray, targets: np.ndarray, params: dict[str, np.ndarray]) -> float:
        """One optimisation step on a batch; its loss."""
        return float(self._step(images, targets, params))

    def save(self, folder: Path, state: RunState) -> None:
        """Write weights, optimizer variables and ``state`` atomically (a crash mid-write keeps the last checkpoint)."""
        self.sync()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {f"w{i}": np.asarray(v) for i, v in enumerate(self.model.variables)}
        arrays |= {f"o{i}": np.asarray(v) for i, v in enumerate(self.optimizer.variables)}
        partial = folder / f"{CHECKPOINT_FILE}.partial.npz"
        np.savez(partial, **arrays)
        os.replace(partial, folder / CHECKPOINT_FILE)
        (folder / f"{STATE_FILE}.partial").write_text(json.dumps(asdict(state)))
        os.replace(folder / f"{STATE_FILE}.partial", folder / STATE_FILE)

    def restore(self, folder: Path) -> RunState | None:
        """Load the checkpoint in ``folder`` into the model and optimizer; its state, or None if there is none.

        A finished run's state is returned without its weights: nothing is left to train, and its
        ``checkpoint.npz`` may have stayed on the machine that trained it (only the state and the best model travel).
        """
        if not (folder / STATE_FILE).exists():
            return None
        state = RunState(**json.loads((folder / STATE_FILE).read_text()))
        if state.epoch >= math.ceil(self.recipe.epochs):
            return state
        with np.load(folder / CHECKPOINT_FILE) as stored:
            for i, variable in enumerate(self.model.variables):
                variable.assign(stored[f"w{i}"])
            for i, variable in enumerate(self.optimizer.variables):
                variable.assign(stored[f"o{i}"])
        self._state = None  # a stateless step starts again from the restored variables
        return state


def evaluate_probs(model: keras.Model, images: np.ndarray, *, batch_size: int = 256, tta: str = "none") -> np.ndarray:
    """Class probabilities for ``images``, averaged over the views of test-time augmentation ``tta``
    (:func:`training.augment.test_time_views`)."""
    views = augment.test_time_views(images, tta)
    return np.mean([model.predict(view.astype(np.float32), batch_size=batch_size, verbose=0) for view in views], axis=0)


def fit(
    trainer: Trainer,
    *,
    images: np.ndarray,
    targets: np.ndarray,
    seed: int,
    folder: Path,
    checkpoint_every: int,
    end_of_epoch: Callable[[int], dict[str, float]],
    stop_after_steps: int | None = None,
    log: Callable[[str], None] = print,
) -> RunState:
    """Train from the checkpoint in ``folder`` (or from scratch) to the recipe's last epoch, checkpointing every
    ``checkpoint_every`` steps and at each epoch's end, where ``end_of_epoch(epoch)`` gives the row for the history.

    ``stop_after_steps`` stops early (after a checkpoint), as an interruption would; tests use it.
    """
    recipe = trainer.recipe
    state = trainer.restore(folder) or RunState()
    taken = 0
    while state.epoch < math.ceil(recipe.epochs):
        if where() not in state.trained_on:
            state.trained_on.append(where())
        total = epoch_steps(recipe, len(images), state.epoch)
        started, wall, losses = time.process_time(), time.monotonic(), []
        for faces, batch_targets, params in prefetch(
            batches(images, targets, recipe=recipe, seed=seed, epoch=state.epoch, start_step=state.step)
        ):
            losses.append(trainer.step(faces, batch_targets, params))
            state.step += 1
            taken += 1
            if state.step % checkpoint_every == 0 or state.step == total or (stop_after_steps is not None and taken >= stop_after_steps):
                state.cpu_seconds += time.process_time() - started
                state.wall_seconds += time.monotonic() - wall
                started, wall = time.process_time(), time.monotonic()
                if state.step == total:
                    trainer.sync()  # the epoch's end reads the model
                    row = {
                        "epoch": state.epoch + 1,
                        "loss": float(np.mean(losses)) if losses else float("nan"),
                        **end_of_epoch(state.epoch),
                    }
                    row |= {"cpu_hours": round(state.cpu_seconds / 3600, 3), "wall_hours": round(state.wall_seconds / 3600, 3)}
                    state.history.append(row)
                    state.epoch, state.step = state.epoch + 1, 0
                    log(json.dumps(row))
                trainer.save(folder, state)
                if stop_after_steps is not None and taken >= stop_after_steps:
                    return state
    return state
