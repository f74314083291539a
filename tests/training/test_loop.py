"""The training loop resumes exactly: a run interrupted after a checkpoint ends where an uninterrupted one does."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from training.augment import Augmentation
from training.loop import (
    CHECKPOINT_FILE,
    Recipe,
    Trainer,
    class_weight_vector,
    epoch_steps,
    fit,
    make_optimizer,
    run_steps,
    steps_per_epoch,
    where,
)

SAMPLES, BATCH, EPOCHS = 40, 8, 2


def tiny_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((48, 48, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, strides=2),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dropout(0.3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(7, activation="softmax"),
        ]
    )


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, SAMPLES)
    one_hot = np.eye(7, dtype=np.float32)[labels]
    return rng.integers(0, 256, (SAMPLES, 48, 48, 1)).astype(np.uint8), np.concatenate([one_hot, one_hot], axis=1), labels


def trainer(recipe: Recipe, *, init_seed: int) -> Trainer:
    _, _, labels = data()
    per_epoch = steps_per_epoch(SAMPLES, recipe.batch_size)
    return Trainer(
        tiny_model(init_seed),
        recipe,
        total_steps=run_steps(recipe, SAMPLES),
        steps_in_epoch=per_epoch,
        class_weights=class_weight_vector(labels, 7, 0.5),
    )


def run(recipe: Recipe, folder: Path, *, init_seed: int, stop_after_steps: int | None = None) -> Trainer:
    images, targets, _ = data()
    training = trainer(recipe, init_seed=init_seed)
    fit(
        training,
        images=images,
        targets=targets,
        seed=11,
        folder=folder,
        checkpoint_every=2,
        end_of_epoch=lambda epoch: {"val_accuracy": 0.0},
        stop_after_steps=stop_after_steps,
        log=lambda line: None,
    )
    return training


@pytest.mark.parametrize("stop_at", [1, 3, 5, 7])  # mid-epoch, on a checkpoint boundary and not, at the epoch's end
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path: Path, stop_at: int, optimizer: str) -> None:
    recipe = Recipe(epochs=EPOCHS, batch_size=BATCH, optimizer=optimizer, warmup_epochs=0.5, augmentation=Augmentation(mixup=0.2))
    whole = run(recipe, tmp_path / "whole", init_seed=1)

    run(recipe, tmp_path / "split", init_seed=1, stop_after_steps=stop_at)
    resumed = run(recipe, tmp_path / "split", init_seed=99)  # a new process would start from other weights

    for expected, got in zip(whole.model.variables, resumed.model.variables, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=0, atol=1e-6, err_msg=expected.path)
    for expected, got in zip(whole.optimizer.variables, resumed.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=0, atol=1e-6, err_msg=expected.path)
    assert int(resumed.optimizer.iterations) == EPOCHS * steps_per_epoch(SAMPLES, BATCH)
    assert float(resumed.optimizer.learning_rate) == pytest.approx(float(whole.optimizer.learning_rate))


def test_a_finished_run_records_each_epoch_and_its_cpu_time(tmp_path: Path) -> None:
    recipe = Recipe(epochs=EPOCHS, batch_size=BATCH)
    training = run(recipe, tmp_path, init_seed=1)
    state = training.restore(tmp_path)
    assert state is not None
    assert [row["epoch"] for row in state.history] == [1, 2]
    assert state.epoch == EPOCHS and state.step == 0
    assert state.cpu_seconds > 0 and all(row["cpu_hours"] >= 0 for row in state.history)
    assert state.trained_on == [where()] and where().endswith("keras tensorflow on cpu")


def test_a_finished_run_needs_no_checkpoint_to_be_reported(tmp_path: Path) -> None:
    # A run trained elsewhere comes back as its state and best model; its checkpoint stays behind.
    recipe = Recipe(epochs=EPOCHS, batch_size=BATCH)
    trained = run(recipe, tmp_path, init_seed=1)
    (tmp_path / CHECKPOINT_FILE).unlink()

    again = run(recipe, tmp_path, init_seed=99)
    state = again.restore(tmp_path)

    assert state is not None and state.epoch == EPOCHS and len(state.history) == EPOCHS
    assert int(again.optimizer.iterations) == 0  # nothing trained, nothing loaded
    assert not np.allclose(np.asarray(again.model.variables[1]), np.asarray(trained.model.variables[1]))


@pytest.mark.parametrize(
    ("epochs", "steps", "per_epoch"),
    [(2, 10, [5, 5]), (1.4, 7, [5, 2]), (0.4, 2, [2]), (0.01, 1, [1])],  # whole epochs, a cut last epoch, under one, the floor
)
def test_a_fraction_of_an_epoch_cuts_the_last_one_short(epochs: float, steps: int, per_epoch: list[int]) -> None:
    recipe = Recipe(epochs=epochs, batch_size=BATCH)
    assert run_steps(recipe, SAMPLES) == steps
    assert [epoch_steps(recipe, SAMPLES, epoch) for epoch in range(len(per_epoch) + 1)] == [*per_epoch, 0]


def test_a_run_with_a_cut_last_epoch_resumes_and_ends_on_its_step(tmp_path: Path) -> None:
    recipe = Recipe(epochs=1.4, batch_size=BATCH)
    whole = run(recipe, tmp_path / "whole", init_seed=1)
    run(recipe, tmp_path / "split", init_seed=1, stop_after_steps=6)  # inside the cut epoch
    resumed = run(recipe, tmp_path / "split", init_seed=99)

    state = resumed.restore(tmp_path / "split")
    assert state is not None and [row["epoch"] for row in state.history] == [1, 2]
    assert int(resumed.optimizer.iterations) == int(whole.optimizer.iterations) == 7
    for expected, got in zip(whole.model.variables, resumed.model.variables, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=0, atol=1e-6, err_msg=expected.path)


def test_a_run_shorter_than_five_warm_ups_warms_up_over_its_first_fifth() -> None:
    schedule = make_optimizer(Recipe(learning_rate=1e-2, warmup_epochs=1.0), total_steps=20, steps_in_epoch=10)._learning_rate
    assert float(schedule(4)) == pytest.approx(1e-2)  # the peak at step 20 // 5, not at one epoch (10)


def test_the_schedule_warms_up_then_decays() -> None:
    optimizer = make_optimizer(Recipe(learning_rate=1e-2, warmup_epochs=1.0), total_steps=100, steps_in_epoch=10)
    schedule = optimizer._learning_rate
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-2)
    assert rates[2] > rates[3] > rates[4] == pytest.approx(1e-4, rel=1e-3)


def test_an_unknown_optimizer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer(Recipe(optimizer="rmsprop"), total_steps=10, steps_in_epoch=5)
