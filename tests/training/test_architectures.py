"""The named architectures: every one builds and keeps the input contract; the recorded costs match them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.conftest import tiny_model
from training import cli
from training.architectures import ARCHITECTURES, Architecture, get_architecture
from training.cost import CPU_BUDGET_HOURS, measure_epoch_seconds, read_costs
from training.recipes import CLASSIC, HEAVY, recipe_for

SEED_ROWS = ("dcnn_elu", "cnn4_dense1024", "little_vgg", "mymodel7", "mobilenet_transfer", "densenet169_transfer")


def test_every_seed_report_and_ours_has_a_row() -> None:
    assert set(ARCHITECTURES) == {"vggnet_s", *SEED_ROWS}
    assert "8:1:1" in get_architecture("mymodel7").description
    assert get_architecture("little_vgg").heavy_augment
    assert all("no ImageNet weights" in get_architecture(name).description for name in ("mobilenet_transfer", "densenet169_transfer"))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_builds_and_maps_faces_to_probabilities(name: str) -> None:
    model = get_architecture(name).build((48, 48, 1), 7)
    faces = np.random.default_rng(0).integers(0, 256, size=(2, 48, 48, 1)).astype("float32")

    probs = np.asarray(model(faces, training=False))

    assert model.input_shape == (None, 48, 48, 1)
    assert probs.shape == (2, 7)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    recorded = read_costs()["architectures"].get(name)
    assert recorded is not None, (
        f"{name}: no measured epoch cost in training/epoch_costs.json (python -m training cost --arch {name} --record)"
    )
    assert recorded["parameters"] == model.count_params()


def test_vggnet_s_is_unchanged() -> None:
    model = get_architecture("vggnet_s").build((48, 48, 1), 7)

    assert model.count_params() == 1_242_919
    assert len([layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]) == 8


def test_recorded_costs_mark_feasibility_by_the_budget() -> None:
    for name, cost in read_costs()["architectures"].items():
        assert cost["cpu_feasible"] == (cost["recipe_hours"] <= CPU_BUDGET_HOURS), name
        assert cost["recipe_hours"] == pytest.approx(get_architecture(name).epochs * cost["epoch_seconds"] / 3600, abs=0.01)


@pytest.mark.parametrize(("name", "augmentation"), [("vggnet_s", CLASSIC), ("little_vgg", HEAVY), ("dcnn_elu", CLASSIC)])
def test_each_architecture_trains_with_its_own_recipe(name: str, augmentation: object) -> None:
    arch = get_architecture(name)
    recipe = recipe_for(arch)

    assert recipe.augmentation == augmentation
    assert (recipe.epochs, recipe.batch_size, recipe.learning_rate, recipe.label_smoothing) == (
        arch.epochs,
        arch.batch_size,
        arch.learning_rate,
        arch.label_smoothing,
    )


def test_unknown_architecture_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown architecture 'resnet'; known: cnn4_dense1024, dcnn_elu"):
        get_architecture("resnet")


def test_measure_epoch_seconds_extrapolates_a_short_run() -> None:
    arch = Architecture(name="tiny", build=lambda shape, n: tiny_model(), description="test", epochs=2, batch_size=16)

    cost = measure_epoch_seconds(arch, steps=2)

    assert cost["steps_timed"] == 2 and cost["batch_size"] == 16 and cost["parameters"] == tiny_model().count_params()
    # 28,709 faces / 16 = 1,795 steps; both figures are rounded (to 1 ms per step, 0.1 s per epoch).
    assert cost["epoch_seconds"] >= 1795 * (cost["seconds_per_step"] - 0.0005) - 0.05
    assert cost["cpu_feasible"] is True
    parts = cost["step_ms"]
    assert set(parts) == {"host_batch", "batched_augmentation", "model_forward_backward_update", "keras_layers_augmentation_before"}
    assert all(value >= 0 for value in parts.values())
    assert cost["epoch_seconds_with_keras_layers_augmentation"] > 0


def test_list_prints_every_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0

    out = capsys.readouterr().out
    for name in ARCHITECTURES:
        assert name in out
    assert "1,242,919" in out
