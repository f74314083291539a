"""The served model: loading, the input contract, and true probabilities from every format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.predictor import MODELS_DIR, ModelError, get_predictor, load_predictor, production_model_path

FACES = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)


def test_production_model_is_committed_and_named_by_its_card() -> None:
    path = production_model_path()
    assert path.parent == MODELS_DIR and path.exists()


@pytest.mark.parametrize("name", ["fer_vggnet_s.keras", "fer_vggnet_s.f16.tflite", "fer_vggnet_s.int8.tflite"])
def test_every_exported_format_gives_probabilities(name: str) -> None:
    probs = load_predictor(MODELS_DIR / name).predict(FACES)
    assert probs.shape == (5, 7) and probs.dtype == np.float32
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_empty_batch_and_channel_axis() -> None:
    predictor = get_predictor()
    assert predictor.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    np.testing.assert_allclose(predictor.predict(FACES[..., None]), predictor.predict(FACES), atol=1e-6)


@pytest.mark.parametrize("shape", [(48, 48), (2, 32, 32), (2, 48, 48, 3)])
def test_wrong_face_shape_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="faces must be"):
        get_predictor().predict(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("name", ["missing.keras", "model.onnx"])
def test_missing_or_unsupported_file_is_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if name.endswith(".onnx"):
        path.write_bytes(b"x")
    with pytest.raises(ModelError):
        load_predictor(path)
