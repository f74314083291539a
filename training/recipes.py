"""Named training recipes: each architecture's own, and the variants the recipe table compares.

The variants change one thing at a time from ``baseline`` (our vggnet_s recipe) so the table reads as
the effect of that one thing under the same budget: what the FER2013 literature reports helps (label
smoothing, mixup, CutMix, random erasing, a warm-up + cosine schedule, SGD with Nesterov momentum against
AdamW, and distillation from an ensemble of our own models).
"""

from __future__ import annotations

import dataclasses

from training.architectures import Architecture
from training.augment import NONE, Augmentation
from training.loop import Recipe

# The "little VGG" seed's heavy jitter; its shear has no counterpart here (a shear is a small rotation plus zoom).
HEAVY = Augmentation(rotation_degrees=30.0, zoom=(0.7, 1.3), shift=0.2, erasing=0.0)
# What the seeds trained with before random erasing was added: flips, small rotations, shifts, zooms, contrast.
CLASSIC = Augmentation(erasing=0.0)

BASELINE = Recipe(epochs=30, batch_size=128, optimizer="adamw", learning_rate=2e-3, weight_decay=5e-4, label_smoothing=0.1)

VARIANTS: dict[str, Recipe] = {
    "baseline": BASELINE,
    "no_erasing": dataclasses.replace(BASELINE, augmentation=CLASSIC),
    "no_smoothing": dataclasses.replace(BASELINE, label_smoothing=0.0),
    "mixup": dataclasses.replace(BASELINE, augmentation=dataclasses.replace(BASELINE.augmentation, mixup=0.2)),
    "cutmix": dataclasses.replace(BASELINE, augmentation=dataclasses.replace(BASELINE.augmentation, cutmix=1.0)),
    "no_warmup": dataclasses.replace(BASELINE, warmup_epochs=0.0),
    "sgd_nesterov": dataclasses.replace(BASELINE, optimizer="sgd", learning_rate=0.05, weight_decay=5e-4),
    "distill": dataclasses.replace(BASELINE, distill_weight=0.7, distill_temperature=2.0),
    # Fine-tuning a trained model (``train --init``) on other labels: a tenth of the rate, a short warm-up so the
    # fresh AdamW moments settle before the rate peaks, and few epochs (what two cores give in a session).
    "finetune": dataclasses.replace(BASELINE, epochs=10, learning_rate=2e-4, warmup_epochs=0.5),
}


def recipe_for(arch: Architecture) -> Recipe:
    """The recipe an architecture was reported with, on the shared loop: its batch size, epochs, learning rate,
    weight decay, label smoothing and augmentation (none, classic or heavy)."""
    augmentation = NONE if not arch.augment else HEAVY if arch.heavy_augment else CLASSIC
    return Recipe(
        epochs=arch.epochs,
        batch_size=arch.batch_size,
        learning_rate=arch.learning_rate,
        weight_decay=arch.weight_decay,
        label_smoothing=arch.label_smoothing,
        augmentation=augmentation,
    )


def get_recipe(name: str) -> Recipe:
    """A variant by name, or a ``KeyError`` naming the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(VARIANTS)}") from None
