"""Named, runnable model configurations: the seed reports' architectures and ours.

Every builder takes ``input_shape`` and ``num_classes`` and returns an uncompiled Keras model whose
input is a grayscale face with pixel values 0..255 (the model rescales itself), so training,
evaluation and the production service feed the same thing. Only ``keras`` APIs are used, so the
same code trains under the TensorFlow, PyTorch or JAX backend.

The seed reports' architectures are rebuilt from their descriptions and trained the same way as ours
(Training split only, selection on a validation share of it, the shared loop of :mod:`training.loop` with
each one's own recipe from :mod:`training.recipes`), so each report keeps a comparable row. Their
measured CPU cost per epoch lives in ``epoch_costs.json`` beside this file (``python -m training cost``
measures it, ``python -m training list`` shows it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

Builder = Callable[[tuple[int, int, int], int], keras.Model]
TRANSFER_SIZE = 96  # the transfer backbones' input side: 2x the face, the smallest the DenseNet/MobileNet stems handle well


@dataclass(frozen=True)
class Architecture:
    """A named configuration: its builder and the training recipe it was reported with."""

    name: str
    build: Builder
    description: str
    batch_size: int = 128
    epochs: int = 40
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    augment: bool = True
    heavy_augment: bool = False


def _input(input_shape: tuple[int, int, int]) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = keras.Input(shape=input_shape, name="face")
    return inputs, layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)


def _conv_bn(
    x: keras.KerasTensor, filters: int, *, activation: str = "relu", init: str = "he_normal", kernel_size: int = 3
) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, kernel_initializer=init)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation(activation)(x)


def _dense_bn(x: keras.KerasTensor, units: int, *, activation: str = "relu", dropout: float) -> keras.KerasTensor:
    x = layers.Dense(units, use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation(activation)(x)
    return layers.Dropout(dropout)(x)


def _classifier(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    return layers.Dense(num_classes, activation="softmax", name="expression")(x)


def build_vggnet_s(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Ours: a compact VGG (4 blocks of 2 conv+BN+ReLU, 32→256 filters, global pooling head).

    Sized for two CPU cores (about 1.2 M parameters, ~120 M multiply-adds per face) while keeping the
    VGG recipe that reaches 73% on FER2013 when scaled up (Khaireddin & Chen 2021).
    """
    inputs, x = _input(input_shape)
    for filters, dropout in ((32, 0.1), (64, 0.15), (128, 0.2), (256, 0.25)):
        x = _conv_bn(x, filters)
        x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="expression")(x)
    return keras.Model(inputs, outputs, name="vggnet_s")


def build_dcnn_elu(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: the DCNN with ELU — 3 blocks of 2 conv (64 5×5, 128, 256) + BN + ELU, he-normal, dropout 0.4–0.5, 128 dense."""
    inputs, x = _input(input_shape)
    for filters, kernel_size, dropout in ((64, 5, 0.4), (128, 3, 0.4), (256, 3, 0.5)):
        x = _conv_bn(x, filters, activation="elu", kernel_size=kernel_size)
        x = _conv_bn(x, filters, activation="elu", kernel_size=kernel_size)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = _dense_bn(x, 128, activation="elu", dropout=0.6)
    return keras.Model(inputs, _classifier(x, num_classes), name="dcnn_elu")


def build_cnn4_dense1024(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: 4 conv blocks (conv + BN + ReLU + pool + dropout, 32→256 filters), flatten, a 1024-unit dense head."""
    inputs, x = _input(input_shape)
    for filters in (32, 64, 128, 256):
        x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = _dense_bn(x, 1024, dropout=0.5)
    return keras.Model(inputs, _classifier(x, num_classes), name="cnn4_dense1024")


def build_little_vgg(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: "little VGG" — 4 blocks of 2 conv (32→256) + BN + ELU, dropout 0.2, two 64-unit dense layers."""
    inputs, x = _input(input_shape)
    for filters in (32, 64, 128, 256):
        x = _conv_bn(x, filters, activation="elu")
        x = _conv_bn(x, filters, activation="elu")
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    x = _dense_bn(x, 64, activation="elu", dropout=0.5)
    x = _dense_bn(x, 64, activation="elu", dropout=0.5)
    return keras.Model(inputs, _classifier(x, num_classes), name="little_vgg")


def build_mymodel7(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: ``mymodel`` — 7 conv layers (2×64, 2×128, 3×256) + BN + ReLU, 3 pools, a 512-unit dense head."""
    inputs, x = _input(input_shape)
    for filters, repeats in ((64, 2), (128, 2), (256, 3)):
        for _ in range(repeats):
            x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = _dense_bn(x, 512, dropout=0.5)
    return keras.Model(inputs, _classifier(x, num_classes), name="mymodel7")


def _transfer(application: Callable[..., keras.Model], name: str, input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """An ImageNet-shaped backbone on a gray face: upsampled to ``TRANSFER_SIZE`` and repeated to 3 channels inside the model.

    ``weights=None``: ImageNet weights come from a download at build time, which no machine of this
    project can make (no model hub is reachable), so the backbone trains from scratch.
    """
    inputs, x = _input(input_shape)
    x = layers.Resizing(TRANSFER_SIZE, TRANSFER_SIZE, interpolation="bilinear", name="upsample")(x)
    x = layers.Concatenate(name="to_rgb")([x, x, x])
    backbone = application(input_shape=(TRANSFER_SIZE, TRANSFER_SIZE, 3), include_top=False, weights=None, pooling="avg")
    x = layers.Dropout(0.3)(backbone(x))
    return keras.Model(inputs, _classifier(x, num_classes), name=name)


def build_mobilenet_transfer(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: MobileNet (v1, alpha 1.0) transfer; here without ImageNet weights (see :func:`_transfer`)."""
    return _transfer(keras.applications.MobileNet, "mobilenet_transfer", input_shape, num_classes)


def build_densenet169_transfer(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Seed: DenseNet169 transfer; here without ImageNet weights (see :func:`_transfer`)."""
    return _transfer(keras.applications.DenseNet169, "densenet169_transfer", input_shape, num_classes)


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            name="vggnet_s",
            build=build_vggnet_s,
            description="ours: compact VGG, 8 conv + BN, GAP, 256 dense head, label smoothing, AdamW + cosine",
            epochs=30,
            learning_rate=2e-3,
            weight_decay=5e-4,
            label_smoothing=0.1,
        ),
        Architecture(
            name="dcnn_elu",
            build=build_dcnn_elu,
            description="seed: DCNN, 6 conv (5x5 and 3x3) + BN + ELU, he-normal init, dropout 0.4-0.6, 128 dense head",
        ),
        Architecture(
            name="cnn4_dense1024",
            build=build_cnn4_dense1024,
            description="seed: 4 conv blocks (conv+BN+ReLU+pool+dropout), flatten, 1024 dense head",
        ),
        Architecture(
            name="little_vgg",
            build=build_little_vgg,
            description="seed: little VGG, 8 conv + BN + ELU, two 64 dense layers, heavy augmentation",
            heavy_augment=True,
        ),
        Architecture(
            name="mymodel7",
            build=build_mymodel7,
            description="seed: 7 conv + BN, 512 dense head; the seed report used a random 8:1:1 train/val/test split, "
            "here it fits Training and selects on PublicTest like every row",
        ),
        Architecture(
            name="mobilenet_transfer",
            build=build_mobilenet_transfer,
            description=f"seed: MobileNet v1 on faces upsampled to {TRANSFER_SIZE}x{TRANSFER_SIZE}x3 inside the model; "
            "no ImageNet weights (not obtainable offline), trained from scratch",
        ),
        Architecture(
            name="densenet169_transfer",
            build=build_densenet169_transfer,
            description=f"seed: DenseNet169 on faces upsampled to {TRANSFER_SIZE}x{TRANSFER_SIZE}x3 inside the model; "
            "no ImageNet weights (not obtainable offline), trained from scratch",
        ),
    )
}


def get_architecture(name: str) -> Architecture:
    """The named configuration, or a ``KeyError`` naming the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}") from None
