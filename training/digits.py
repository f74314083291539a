"""MNIST digits: seed 000's small CNN and a stronger one, trained on the 60,000 training digits and tested once on the 10,000 test digits.

No model selection happens on the test digits: each recipe trains a fixed number of epochs and the
final model is tested. Results go to ``<out>/<arch>.json`` (and the model to ``<out>/<arch>.keras``).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from training.cost import machine
from training.data import load_mnist
from training.metrics import classification_metrics

SEED = 1337
SEED_REPORTED_ACCURACY = 0.9795


@dataclass(frozen=True)
class DigitRecipe:
    """A digit CNN and how it trains."""

    build: Callable[[tuple[int, int, int]], keras.Model]
    description: str
    epochs: int
    learning_rate: float
    augment: bool
    batch_size: int = 128
    weight_decay: float = 1e-4


def build_seed(input_shape: tuple[int, int, int]) -> keras.Model:
    """Seed 000: two conv layers (32, 64; 3x3, ReLU) with max pooling, a 128-unit dense layer, softmax."""
    inputs = keras.Input(shape=input_shape, name="digit")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax", name="digit_class")(x), name="digits_seed")


def build_strong(input_shape: tuple[int, int, int]) -> keras.Model:
    """Stronger: 2 blocks of 2 conv + BN + ReLU (32, 64), dropout, a 128-unit BN dense head."""
    inputs = keras.Input(shape=input_shape, name="digit")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for filters, dropout in ((32, 0.1), (64, 0.2)):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax", name="digit_class")(x), name="digits_strong")


RECIPES: dict[str, DigitRecipe] = {
    "seed": DigitRecipe(
        build_seed,
        "seed 000: 2 conv + 128 dense, Adam (cosine decay), no augmentation",
        epochs=3,
        learning_rate=1e-3,
        augment=False,
        weight_decay=0.0,
    ),
    "strong": DigitRecipe(
        build_strong, "4 conv + BN, dropout, small shifts/rotations/zooms, AdamW + cosine", epochs=6, learning_rate=3e-3, augment=True
    ),
}


def digit_augmenter() -> keras.Sequential:
    """Small shifts, rotations and zooms; no flips (a mirrored digit is another symbol)."""
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360, fill_mode="constant"),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
            layers.RandomZoom(0.1, fill_mode="constant"),
        ],
        name="augment",
    )


def train_digits(arch: str, *, epochs: int | None, data_root: Path, out_dir: Path, limit: int | None = None) -> dict[str, Any]:
    """Train the ``arch`` recipe on MNIST training digits, test it on the test digits, and record the result."""
    if arch not in RECIPES:
        raise KeyError(f"unknown digit architecture {arch!r}; known: {', '.join(RECIPES)}")
    recipe = RECIPES[arch]
    epochs = epochs or recipe.epochs
    keras.utils.set_random_seed(SEED)

    # Data
    train_set, test_set = load_mnist(data_root, "train"), load_mnist(data_root, "test")
    x_train, y_train = train_set.images[:limit].astype("float32"), train_set.labels[:limit]
    x_test, y_test = test_set.images.astype("float32"), test_set.labels

    # Model
    model = recipe.build(x_train.shape[1:])
    trainer = keras.Sequential([digit_augmenter() if recipe.augment else layers.Identity(), model], name="trainer")
    steps = epochs * int(np.ceil(len(x_train) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=steps, alpha=0.01)
    trainer.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=recipe.weight_decay),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    # Train
    started = time.perf_counter()
    trainer.fit(x_train, y_train, epochs=epochs, batch_size=recipe.batch_size, verbose=2)
    train_seconds = time.perf_counter() - started

    # Test once
    metrics = classification_metrics(y_test, model.predict(x_test, batch_size=512, verbose=0), test_set.class_names)
    result = {
        "architecture": arch,
        "description": recipe.description,
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "train_samples": len(x_train),
        "train_seconds": round(train_seconds, 1),
        "test_samples": metrics["samples"],
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "seed_reported_accuracy": SEED_REPORTED_ACCURACY,
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{arch}.keras")
    (out_dir / f"{arch}.json").write_text(json.dumps(result | {"confusion_matrix": metrics["confusion_matrix"]}, indent=2) + "\n")
    return result
