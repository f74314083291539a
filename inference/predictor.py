"""The FER CNN at run time: load the production model once per process, predict in one batch.

Input contract (shared with ``training/``): grayscale faces, 48×48, pixel values 0..255; the
model rescales itself. Output: probabilities in :data:`classroom.models.EXPRESSIONS` order.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference.calibration import with_temperature

MODELS_DIR = Path(__file__).resolve().parent / "models"
PRODUCTION_CARD = MODELS_DIR / "production.json"
FACE_SIZE = 48


class ModelError(RuntimeError):
    """The model file is missing or unusable."""


class Predictor(Protocol):
    """Anything that turns a batch of faces into expression probabilities."""

    path: Path

    def predict(self, faces: np.ndarray) -> np.ndarray: ...


def _check_faces(faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces)
    if faces.ndim == 4 and faces.shape[-1] == 1:
        faces = faces[..., 0]
    if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"faces must be (n, {FACE_SIZE}, {FACE_SIZE}), got {faces.shape}")
    return faces.astype(np.float32)[..., None]


class KerasPredictor:
    """A ``.keras`` model, called directly (``predict_on_batch`` avoids per-call dataset set-up)."""

    def __init__(self, path: Path) -> None:
        import keras

        self.path = path
        self.model = keras.models.load_model(path, compile=False)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        batch = _check_faces(faces)
        if len(batch) == 0:
            return np.zeros((0, 7), dtype=np.float32)
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)


RUNTIMES = ("openvino", "litert")  # FER_RUNTIME: what runs a .tflite file; the first is the default


def _threads() -> int:
    return int(os.environ.get("FER_THREADS", "2"))


class _TFLiteFile:
    """A ``.tflite`` file's input and output contract (dtype, quantisation), read by the LiteRT runtime (not
    TensorFlow: a worker serving a .tflite file never imports TensorFlow), whichever runtime then runs it."""

    def __init__(self, path: Path, *, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def quantised(self, batch: np.ndarray) -> np.ndarray:
        """Float faces as the file's input takes them."""
        if self.input["dtype"] != np.int8:
            return batch
        scale, zero = self.input["quantization"]
        return np.clip(np.round(batch / scale + zero), -128, 127).astype(np.int8)

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """The file's output as true probabilities."""
        if out.dtype == np.int8:  # a quantised output (OpenVINO dequantises it itself)
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        # A quantised softmax sums to 1 only within a few thousandths: renormalise to true probabilities.
        out = np.maximum(np.asarray(out, dtype=np.float32), 0.0)
        return np.asarray(out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12), dtype=np.float32)


class LiteRTPredictor:
    """A ``.tflite`` model run by LiteRT (XNNPACK); resizes its input for each batch size it sees."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = _TFLiteFile(path, threads=_threads())
        self.batch = -1

    def predict(self, faces: np.ndarray) -> np.ndarray:
        batch = _check_faces(faces)
        if len(batch) == 0:
            return np.zeros((0, 7), dtype=np.float32)
        interpreter = self.file.interpreter
        if len(batch) != self.batch:
            interpreter.resize_tensor_input(self.file.input["index"], list(batch.shape))
            interpreter.allocate_tensors()
            self.batch = len(batch)
        interpreter.set_tensor(self.file.input["index"], self.file.quantised(batch))
        interpreter.invoke()
        return self.file.probabilities(interpreter.get_tensor(self.file.output["index"]))


class OpenVINOPredictor:
    """A ``.tflite`` model run by OpenVINO's CPU runtime, compiled once for any batch size.

    Why not LiteRT: on a CPU without VNNI (AVX2 only) LiteRT's int8 kernels are no faster than its float ones, 2.8 ms
    a face for the production model; OpenVINO's take 1.2–1.4 ms there (batches of 25, one thread). The outputs agree
    with LiteRT's (PublicTest: the same top expression on every face, probabilities within 0.013).
    """

    def __init__(self, path: Path) -> None:
        import openvino

        self.path = path
        self.file = _TFLiteFile(path, threads=1)
        core = openvino.Core()
        model = core.read_model(str(path))
        model.reshape([-1, FACE_SIZE, FACE_SIZE, 1])
        config = {
            "INFERENCE_NUM_THREADS": _threads(),
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": False,  # a worker shares its cores with the others: pinned threads would fight them
        }
        self.request = core.compile_model(model, "CPU", config).create_infer_request()

    def predict(self, faces: np.ndarray) -> np.ndarray:
        batch = _check_faces(faces)
        if len(batch) == 0:
            return np.zeros((0, 7), dtype=np.float32)
        out = self.request.infer({0: self.file.quantised(batch)})[0]
        return self.file.probabilities(np.array(out))


class TemperedPredictor:
    """Another predictor's probabilities with the model card's calibration temperature applied (:mod:`inference.calibration`)."""

    def __init__(self, inner: Predictor, temperature: float) -> None:
        self.inner = inner
        self.path = inner.path
        self.temperature = temperature

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return with_temperature(self.inner.predict(faces), self.temperature)


def _production_card() -> dict[str, Any]:
    if not PRODUCTION_CARD.exists():
        raise ModelError(f"{PRODUCTION_CARD} is missing: no production model is committed")
    return dict(json.loads(PRODUCTION_CARD.read_text()))


def production_model_path() -> Path:
    """``FER_MODEL_PATH`` if set, else the file named by the committed ``production.json`` card."""
    override = os.environ.get("FER_MODEL_PATH")
    if override:
        return Path(override)
    return MODELS_DIR / _production_card()["file"]


def production_temperature() -> float:
    """The calibration temperature ``production.json`` gives its model; 1.0 (none) for an overridden model or a card without one."""
    if os.environ.get("FER_MODEL_PATH"):
        return 1.0
    temperature = _production_card().get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 < temperature < 100:
        raise ModelError(f"{PRODUCTION_CARD}: temperature must be a positive number, got {temperature!r}")
    return float(temperature)


def load_predictor(path: Path, *, runtime: str | None = None) -> Predictor:
    """A predictor for a ``.keras`` or ``.tflite`` file; a ``.tflite`` file runs on ``runtime`` (one of
    :data:`RUNTIMES`; default ``FER_RUNTIME``, else the first)."""
    if not path.exists():
        raise ModelError(f"model file {path} does not exist")
    if path.suffix == ".tflite":
        chosen = runtime or os.environ.get("FER_RUNTIME") or RUNTIMES[0]
        if chosen not in RUNTIMES:
            raise ModelError(f"FER_RUNTIME must be one of {', '.join(RUNTIMES)}, got {chosen!r}")
        return OpenVINOPredictor(path) if chosen == "openvino" else LiteRTPredictor(path)
    if path.suffix == ".keras":
        return KerasPredictor(path)
    raise ModelError(f"{path}: unsupported model format (use .keras or .tflite)")


@functools.cache
def get_predictor() -> Predictor:
    """The production predictor with its calibration temperature, loaded once per process and kept warm."""
    predictor = load_predictor(production_model_path())
    temperature = production_temperature()
    return predictor if temperature == 1.0 else TemperedPredictor(predictor, temperature)
