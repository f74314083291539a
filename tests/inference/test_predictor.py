"""The served model: loading, the input contract, and true probabilities from every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference import predictor as predictor_module
from inference.calibration import with_temperature
from inference.predictor import MODELS_DIR, ModelError, get_predictor, load_predictor, production_model_path, production_temperature

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


@pytest.fixture(scope="module")
def registry_crops() -> np.ndarray:
    """The 48×48 face of every registry-shipped picture, found and cropped as the workers do."""
    import cv2

    from ingest.vision.align import crop_face
    from ingest.vision.detector import get_detector
    from ingest.vision.tiles import Tile
    from project.demo_media import registry_faces

    crops = []
    for image in registry_faces():
        height, width = image.shape[:2]
        found = get_detector().detect_tile(image, Tile("photo", 0, 0, width, height))
        if len(found):
            best = int(np.argmax(found.boxes[:, 2] * found.boxes[:, 3]))
            crops.append(crop_face(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), found.boxes[best], found.keypoints[best]))
    assert len(crops) >= 20
    return np.stack(crops)


@pytest.mark.parametrize("name", ["fer_vggnet_s_ferplus.int8.tflite", "fer_vggnet_s_ferplus.f16.tflite"])
def test_both_runtimes_read_a_tflite_file_alike(name: str, registry_crops: np.ndarray) -> None:
    # OpenVINO serves the CNN for its speed; LiteRT is the file's own runtime, so it is the reference.
    served = load_predictor(MODELS_DIR / name, runtime="openvino")
    reference = load_predictor(MODELS_DIR / name, runtime="litert")
    assert type(served).__name__ == "OpenVINOPredictor" and type(reference).__name__ == "LiteRTPredictor"
    ours, theirs = served.predict(registry_crops), reference.predict(registry_crops)
    assert ours.shape == theirs.shape == (len(registry_crops), 7) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    np.testing.assert_allclose(ours, theirs, atol=0.02)
    np.testing.assert_allclose(served.predict(registry_crops[:3]), ours[:3], atol=1e-6)  # any batch size, one compile


def test_the_default_runtime_is_openvino_and_an_unknown_one_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    path = MODELS_DIR / "fer_vggnet_s.int8.tflite"
    monkeypatch.delenv("FER_RUNTIME", raising=False)
    assert type(load_predictor(path)).__name__ == "OpenVINOPredictor"
    monkeypatch.setenv("FER_RUNTIME", "litert")
    assert type(load_predictor(path)).__name__ == "LiteRTPredictor"
    monkeypatch.setenv("FER_RUNTIME", "onnx")
    with pytest.raises(ModelError, match="FER_RUNTIME must be one of openvino, litert, got 'onnx'"):
        load_predictor(path)


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


@pytest.mark.parametrize(("card", "expected"), [({}, 1.0), ({"temperature": 1.0}, 1.0), ({"temperature": 0.8}, 0.8)])
def test_the_served_predictor_applies_the_cards_temperature(
    card: dict[str, float], expected: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = tmp_path / "production.json"
    production.write_text(json.dumps({"file": "fer_vggnet_s.int8.tflite"} | card))
    monkeypatch.setattr(predictor_module, "PRODUCTION_CARD", production)
    monkeypatch.delenv("FER_MODEL_PATH", raising=False)
    get_predictor.cache_clear()
    try:
        served = get_predictor()
        raw = load_predictor(MODELS_DIR / "fer_vggnet_s.int8.tflite").predict(FACES)
        assert production_temperature() == expected
        np.testing.assert_allclose(served.predict(FACES), with_temperature(raw, expected), atol=1e-6)
    finally:
        get_predictor.cache_clear()


def test_an_overridden_model_is_served_untempered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_MODEL_PATH", str(MODELS_DIR / "fer_vggnet_s.keras"))
    assert production_temperature() == 1.0


@pytest.mark.parametrize("temperature", [0, -1.0, "hot", None, True, 1e9], ids=["zero", "negative", "text", "null", "bool", "absurd"])
def test_a_card_with_a_bad_temperature_is_refused_by_name(temperature: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    production = tmp_path / "production.json"
    production.write_text(json.dumps({"file": "fer_vggnet_s.int8.tflite", "temperature": temperature}))
    monkeypatch.setattr(predictor_module, "PRODUCTION_CARD", production)
    monkeypatch.delenv("FER_MODEL_PATH", raising=False)
    with pytest.raises(ModelError, match="temperature must be a positive number"):
        production_temperature()
