"""Export a trained model for production: ``.keras``, LiteRT float16 and LiteRT int8, measured, with model cards.

Top to bottom: write the three files, measure each one's PublicTest accuracy and CPU speed through
the predictor production uses, choose the production file (the most accurate within
:data:`ACCURACY_TOLERANCE`, then the fastest at the batched size), and write the model card
(``<name>.json`` and ``<name>.md``) and ``production.json``, which ``inference.predictor`` reads.

All files keep the input contract: ``(None, 48, 48, 1)`` grayscale faces, pixel values 0..255. The
int8 file takes int8 input quantised with scale 1 and zero point -128, which represents every 0..255
pixel exactly; its output stays float32. TensorFlow is used here only, for the LiteRT conversion.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import ARCHITECTURES
from training.benchmark import benchmark
from training.cost import machine
from training.data import DataError, load_cached
from training.evaluate import evaluate
from training.train import CACHE_DIR, SEED

ACCURACY_TOLERANCE = 0.005  # files within half a point of the most accurate count as equally accurate
SPEED_BATCH = 64
SPEED_SECONDS = 5.0


def sha256(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_tflite(model: keras.Model, *, quantize: str, calibration: np.ndarray | None = None) -> bytes:
    """Convert ``model`` to LiteRT: ``quantize`` is ``"float16"`` (weights) or ``"int8"`` (full integer, needs ``calibration`` faces)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved_model:
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            if calibration is None or not len(calibration):
                raise ValueError("int8 quantisation needs calibration faces")

            def representative() -> Iterator[list[np.ndarray]]:
                for face in calibration:
                    yield [face[None].astype(np.float32)]

            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
        else:
            raise ValueError(f"unknown quantisation {quantize!r} (float16 or int8)")
        return bytes(converter.convert())


def choose_production(files: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The most accurate file within :data:`ACCURACY_TOLERANCE`, then the fastest batched; and why, in words."""
    best = max(files, key=lambda f: f["public_test"]["accuracy"])
    close = [f for f in files if f["public_test"]["accuracy"] >= best["public_test"]["accuracy"] - ACCURACY_TOLERANCE]
    chosen = max(close, key=lambda f: (f["speed"][-1]["faces_per_second"], f["speed"][0]["faces_per_second"]))
    single, batched = chosen["speed"][0], chosen["speed"][-1]
    why = (
        f"PublicTest accuracy {chosen['public_test']['accuracy']:.4f}, within {ACCURACY_TOLERANCE * 100:.1f} pt of the best "
        f"({best['file']}, {best['public_test']['accuracy']:.4f}); the fastest of {', '.join(f['file'] for f in close)} "
        f"at batch {batched['batch_size']}: {batched['faces_per_second']:.0f} faces/s (batch 1: {single['faces_per_second']:.0f} faces/s)"
    )
    return chosen, why


def _run_facts(model_path: Path) -> dict[str, Any]:
    """What the run folder says about how the model was trained (``run.json``, ``best.json``, ``log.csv``), if present.

    A ``run.json`` written before runs recorded their command gets it rebuilt from its own facts
    (architecture, folder, epochs, batch size, seed), which spell the same run explicitly.
    """
    run_dir = Path(model_path).parent
    facts: dict[str, Any] = {"run_dir": str(run_dir)}
    if (run_dir / "run.json").exists():
        run = json.loads((run_dir / "run.json").read_text())
        facts |= {key: value for key, value in run.items() if key != "public_test"}
        if not facts.get("command") and {"architecture", "epochs", "batch_size", "seed"} <= set(run):
            facts["command"] = (
                f"python -m training train --arch {run['architecture']} --out {run_dir} "
                f"--epochs {run['epochs']} --batch-size {run['batch_size']} --seed {run['seed']}"
            )
            facts["command_rebuilt_from_run_json"] = True
    if Path(model_path).with_suffix(".json").exists():
        facts["selected_epoch"] = json.loads(Path(model_path).with_suffix(".json").read_text()).get("epoch")
    if (run_dir / "log.csv").exists():
        with (run_dir / "log.csv").open(newline="") as handle:
            facts["epochs_logged"] = sum(1 for _ in csv.DictReader(handle))
    return facts


def _markdown(card: dict[str, Any]) -> str:
    training = card["training"]
    batched_size = card["files"][0]["speed"][-1]["batch_size"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"Apparent facial expression (7 FER2013 classes) from a 48×48 grayscale face. Exported {card['date']} on {card['machine']}.",
        "",
        f"- Architecture: `{card['architecture']}`, {card['parameters']:,} parameters: {card['description'] or 'no description'}.",
        f"- Training command: `{training.get('command') or 'unknown'}`"
        + (" (rebuilt from run.json)" if training.get("command_rebuilt_from_run_json") else "")
        + (
            f" (best PublicTest epoch {training['selected_epoch']} of {training.get('epochs_logged', '?')} logged)"
            if training.get("selected_epoch")
            else ""
        ),
        f"- Training data fingerprint (sha256 of pixels and labels): `{card['data']['train_fingerprint']}`",
        f"- PublicTest fingerprint: `{card['data']['public_test_fingerprint']}` ({card['data']['public_test_samples']} faces)",
        f"- Production file: **{card['production']['file']}** — {card['production']['why']}",
        "",
        "| file | PublicTest accuracy | macro-F1 | faces/s batch 1 | ms p50 batch 1 | faces/s batch "
        f"{batched_size} | ms p50 batch {batched_size} | peak RSS MB | size KB | sha256 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in card["files"]:
        one, batched = f["speed"][0], f["speed"][-1]
        lines.append(
            f"| {f['file']} | {f['public_test']['accuracy']:.4f} | {f['public_test']['macro_f1']:.4f} | {one['faces_per_second']:.0f} | "
            f"{one['ms_per_batch_median']:.2f} | {batched['faces_per_second']:.0f} | {batched['ms_per_batch_median']:.2f} | "
            f"{f['peak_rss_mb']:.0f} | {f['bytes'] / 1024:.0f} | `{f['sha256'][:16]}…` |"
        )
    production = next(f for f in card["files"] if f["file"] == card["production"]["file"])
    lines += [
        "",
        "Per-class PublicTest F1 of the production file: "
        + ", ".join(f"{name} {scores['f1']:.3f}" for name, scores in production["public_test"]["per_class"].items())
        + ".",
        "",
        "Labels are *apparent* expressions read from a face, not a person's feelings; see docs/architecture.md for the privacy policy.",
        "",
    ]
    return "\n".join(lines)


def export(model_path: Path, out_dir: Path, name: str, *, train_data: Path, val_data: Path, representative: int = 500) -> dict[str, Any]:
    """Write ``<name>.keras``, ``<name>.f16.tflite``, ``<name>.int8.tflite``, the model cards and ``production.json``; returns the card."""
    model_path, out_dir = Path(model_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = keras.models.load_model(model_path, compile=False)
    facts = _run_facts(model_path)

    # Data: calibration faces from Training, accuracy on PublicTest
    train_set = load_cached(train_data, cache_dir=CACHE_DIR)
    val_set = load_cached(val_data, cache_dir=CACHE_DIR)
    train_fingerprint = train_set.fingerprint()
    if facts.get("train_fingerprint") not in (None, train_fingerprint):
        raise DataError(f"{train_data} is not the data {model_path} was trained on (fingerprint differs from run.json)")
    rng = np.random.default_rng(SEED)
    calibration = train_set.images[rng.choice(len(train_set), size=min(representative, len(train_set)), replace=False)]

    # Files
    paths = [out_dir / f"{name}.keras", out_dir / f"{name}.f16.tflite", out_dir / f"{name}.int8.tflite"]
    shutil.copyfile(model_path, paths[0])
    paths[1].write_bytes(to_tflite(model, quantize="float16"))
    paths[2].write_bytes(to_tflite(model, quantize="int8", calibration=calibration))

    # Measure: accuracy on PublicTest and speed, each file through the production predictor
    speeds = benchmark(paths, batch_size=SPEED_BATCH, seconds=SPEED_SECONDS)["models"]
    files = []
    for path, speed in zip(paths, speeds, strict=True):
        result, _ = evaluate(path, val_set)
        public_test = {key: result[key] for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "roc_auc")}
        files.append({"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path), "public_test": public_test} | speed)
    chosen, why = choose_production(files)

    # Cards
    architecture = facts.get("architecture", model.name)
    card = {
        "name": name,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "architecture": architecture,
        "description": facts.get("description") or (ARCHITECTURES[architecture].description if architecture in ARCHITECTURES else ""),
        "parameters": int(model.count_params()),
        "input": {"shape": [None, 48, 48, 1], "pixels": "grayscale 0..255 (the model rescales itself)"},
        "class_names": list(val_set.class_names),
        "source_model": str(model_path),
        "training": facts,
        "data": {
            "train": str(train_data),
            "train_fingerprint": train_fingerprint,
            "public_test": str(val_data),
            "public_test_fingerprint": val_set.fingerprint(),
            "public_test_samples": len(val_set),
        },
        "files": files,
        "production": {"file": chosen["file"], "why": why},
    }
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(_markdown(card))
    (out_dir / "production.json").write_text(json.dumps({"file": chosen["file"], "card": f"{name}.json", "why": why}, indent=2) + "\n")
    return card
