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

from inference.calibration import expected_calibration_error, fit_temperature, negative_log_likelihood, reliability, with_temperature
from inference.predictor import load_predictor
from training.architectures import ARCHITECTURES
from training.benchmark import benchmark
from training.cost import machine, read_costs
from training.data import DataError, Dataset, load_cached, validation_mask
from training.evaluate import evaluate, predict_probs
from training.ferplus import FerPlusLabels, ferplus_csv, load_ferplus, majority_metrics
from training.report import plot_confusion_matrix, plot_reliability
from training.tables import card_section, read_digits, read_end_to_end, read_results
from training.train import CACHE_DIR, SEED

ACCURACY_TOLERANCE = 0.005  # files within half a point of the most accurate count as equally accurate
SPEED_BATCH = 64
SPEED_SECONDS = 5.0
FAILURE_MODES = 3  # the largest confusions the card names


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


def choose_production(files: list[dict[str, Any]], *, scores: str = "public_test") -> tuple[dict[str, Any], str]:
    """The most accurate file within :data:`ACCURACY_TOLERANCE`, then the fastest batched; and why, in words. ``scores``:
    the files' key to judge accuracy by (``public_test_ferplus`` for a model fitted to FER+ votes)."""
    best = max(files, key=lambda f: f[scores]["accuracy"])
    close = [f for f in files if f[scores]["accuracy"] >= best[scores]["accuracy"] - ACCURACY_TOLERANCE]
    chosen = max(close, key=lambda f: (f["speed"][-1]["faces_per_second"], f["speed"][0]["faces_per_second"]))
    single, batched = chosen["speed"][0], chosen["speed"][-1]
    against = " against the FER+ majority" if scores == "public_test_ferplus" else ""
    why = (
        f"PublicTest accuracy{against} {chosen[scores]['accuracy']:.4f}, within {ACCURACY_TOLERANCE * 100:.1f} pt of the best "
        f"({best['file']}, {best[scores]['accuracy']:.4f}); the fastest of {', '.join(f['file'] for f in close)} "
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


def calibration_facts(
    model_path: Path,
    *,
    validation: Dataset | None,
    public_test: Dataset,
    public_test_probs: np.ndarray,
    label_set: str = "fer2013",
) -> dict[str, Any]:
    """The temperature fitted on the run's validation faces (1.0 when it recorded none) and, on each split,
    expected calibration error, negative log-likelihood and mean confidence, before and after it.

    Both are judged on the labels the run fitted (``label_set``): FER2013's, or for a run on FER+ votes the
    FER+ majority, on the faces that have one; the datasets' ``labels`` then hold that majority (-1: none)."""

    def figures(probs: np.ndarray, labels: np.ndarray, temperature: float) -> dict[str, float]:
        tempered = with_temperature(probs, temperature)
        return {
            "ece": round(expected_calibration_error(probs, labels), 4),
            "nll": round(negative_log_likelihood(probs, labels), 4),
            "mean_confidence": round(float(probs.max(axis=1).mean()), 4),
            "ece_tempered": round(expected_calibration_error(tempered, labels), 4),
            "nll_tempered": round(negative_log_likelihood(tempered, labels), 4),
            "mean_confidence_tempered": round(float(tempered.max(axis=1).mean()), 4),
        }

    facts: dict[str, Any] = {"fitted_on": None, "temperature": 1.0, "validation": None, "labels": label_set}
    if validation is not None:
        known = validation.labels >= 0
        validation_probs = predict_probs(load_predictor(model_path), validation.images[known])
        temperature = fit_temperature(validation_probs, validation.labels[known])
        facts |= {
            "fitted_on": "validation",
            "temperature": temperature,
            "validation": figures(validation_probs, validation.labels[known], temperature),
        }
    known = public_test.labels >= 0
    probs, labels = public_test_probs[known], public_test.labels[known]
    facts["public_test"] = figures(probs, labels, facts["temperature"])
    facts["reliability_public_test"] = reliability(with_temperature(probs, facts["temperature"]), labels)
    return facts


def _with_majority(dataset: Dataset, ferplus: FerPlusLabels) -> Dataset:
    """``dataset`` labelled by the FER+ majority instead (-1 where a face has none)."""
    return Dataset(dataset.images, ferplus.majority, dataset.class_names)


def failure_modes(result: dict[str, Any], *, count: int = FAILURE_MODES) -> list[dict[str, Any]]:
    """The ``count`` largest confusions: the share of a true class's faces read as another class."""
    names, counts = result["class_names"], np.asarray(result["confusion_matrix"])
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    np.fill_diagonal(rates, 0.0)
    largest = np.argsort(rates, axis=None, kind="stable")[::-1][:count]
    return [
        {"true": names[row], "predicted": names[col], "share": round(float(rates[row, col]), 4), "faces": int(counts[row, col])}
        for row, col in (np.unravel_index(index, rates.shape) for index in largest)
        if rates[row, col] > 0
    ]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _production(card: dict[str, Any]) -> dict[str, Any]:
    """The card's entry for the served file."""
    return next(f for f in card["files"] if f["file"] == card["production"]["file"])


def _model_section(card: dict[str, Any]) -> list[str]:
    training = card["training"]
    lines = [
        "## Model",
        "",
        f"- Architecture: `{card['architecture']}`, {card['parameters']:,} parameters: {card['description'] or 'no description'}.",
        f"- Training command: `{training.get('command') or 'unknown'}`"
        + (" (rebuilt from run.json)" if training.get("command_rebuilt_from_run_json") else ""),
    ]
    if training.get("selected_epoch"):
        split = "validation" if card["data"].get("validation") else "PublicTest"
        lines.append(f"- Selected epoch: {training['selected_epoch']} of {training.get('epochs_logged', '?')} logged, the best on {split}.")
    if training.get("recipe"):
        lines.append("- Recipe: " + ", ".join(f"{key} {value}" for key, value in training["recipe"].items()) + ".")
    if training.get("cpu_hours") is not None:
        lines.append(
            f"- Training cost: {training['cpu_hours']:.2f} CPU hours ({training.get('wall_hours', 0):.2f} h on the clock)"
            + (f", trained on {'; '.join(training['trained_on'])}" if training.get("trained_on") else "")
            + "."
        )
    if card.get("epoch_seconds"):
        epoch = card["epoch_seconds"]
        lines.append(
            f"- One epoch on this machine's 2 cores: {epoch['after']:.0f} s with the batched pipeline"
            + (f", {epoch['before']:.0f} s with the previous one (Keras `fit`, per-layer augmentation)" if epoch.get("before") else "")
            + "; docs/training.md has every architecture."
        )
    return lines


def _data_section(card: dict[str, Any]) -> list[str]:
    data, labels = card["data"], card["training"].get("labels", "fer2013")
    fitted = {"fer2013": "FER2013's labels", "ferplus": "FER+ vote distributions", "both": "the mean of FER2013's labels and FER+ votes"}
    lines = ["## Data and splits", "", f"- Training data fingerprint (sha256 of pixels and labels): `{data['train_fingerprint']}`"]
    if data.get("validation"):
        validation = data["validation"]
        lines.append(
            f"- Fitted on {data['fit_samples']:,} FER2013 Training faces, to {fitted.get(labels, labels)}; a stratified "
            f"{_pct(validation['share'])} of Training ({validation['samples']:,} faces, seed {validation['seed']}) selects the "
            "epoch and fits the calibration temperature."
        )
    else:
        lines.append("- The run recorded no validation split: it selected its epoch on PublicTest, so PublicTest figures are optimistic.")
    lines += [
        f"- PublicTest ({data['public_test_samples']:,} faces, fingerprint `{data['public_test_fingerprint'][:16]}…`) is reported only.",
        "- FER2013 PrivateTest is withheld from this project and judged independently.",
    ]
    return lines


def _files_section(card: dict[str, Any]) -> list[str]:
    batched_size = card["files"][0]["speed"][-1]["batch_size"]
    lines = [
        "## Files",
        "",
        f"Production file: **{card['production']['file']}** — {card['production']['why']}",
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
    quantised = card["int8_against_float"]
    return [
        *lines,
        "",
        f"The int8 file keeps {_pct(quantised['kept'])} of the float model's PublicTest accuracy "
        f"({_pct(quantised['int8_accuracy'])} against {_pct(quantised['float_accuracy'])}).",
    ]


def _accuracy_section(card: dict[str, Any]) -> list[str]:
    training, production = card["training"], _production(card)
    result = production["public_test"]
    lines = [
        "## Accuracy of the production file on PublicTest",
        "",
        f"Against FER2013's labels: accuracy **{_pct(result['accuracy'])}**, macro-F1 **{result['macro_f1']:.3f}**"
        + "".join(
            f"; the float model with {label} {_pct(training[key]['accuracy'])}"
            for key, label in (("public_test_flip_tta", "flip test-time augmentation"), ("public_test_ten_crop_tta", "ten-crop"))
            if training.get(key)
        )
        + ".",
    ]
    if ferplus := production.get("public_test_ferplus"):
        lines += [
            "",
            f"Against the FER+ majority of ten taggers ({ferplus['samples']:,} faces whose majority is one of the 7 classes; "
            f"`python -m training evaluate --labels ferplus`): accuracy **{_pct(ferplus['accuracy'])}**, "
            f"macro-F1 **{ferplus['macro_f1']:.3f}**. docs/training.md, *FER+ labels*, compares the label sets.",
        ]
    return [
        *lines,
        "",
        "| class (FER2013 labels) | faces | accuracy (recall) | precision | F1 |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {name} | {scores['support']} | {_pct(scores['recall'])} | {_pct(scores['precision'])} | {scores['f1']:.3f} |"
            for name, scores in result["per_class"].items()
        ),
        "",
        f"![Confusion matrix of the production file on PublicTest]({card['figures']['confusion']})",
    ]


def _calibration_section(card: dict[str, Any]) -> list[str]:
    calibration = card["calibration"]
    lines = ["## Calibration", ""]
    if calibration["fitted_on"]:
        against = ", against the FER+ majority, the labels this model fitted" if calibration.get("labels", "fer2013") != "fer2013" else ""
        lines.append(
            f"Temperature **{calibration['temperature']:.2f}**, fitted on the validation faces (lowest negative log-likelihood{against}), "
            "is applied to every served probability (`production.json`); it never changes the winning class."
        )
    else:
        lines.append("No temperature was fitted (no validation split recorded); probabilities are served as the model gives them.")
    lines += [
        "",
        "| split | ECE | NLL | mean confidence | ECE, tempered | NLL, tempered | mean confidence, tempered |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for split in ("validation", "public_test"):
        if c := calibration.get(split):
            lines.append(
                f"| {split.replace('_', ' ')} | {c['ece']:.3f} | {c['nll']:.3f} | {_pct(c['mean_confidence'])} | {c['ece_tempered']:.3f} "
                f"| {c['nll_tempered']:.3f} | {_pct(c['mean_confidence_tempered'])} |"
            )
    return [*lines, "", f"![Reliability on PublicTest, tempered]({card['figures']['reliability']})"]


def _failure_section(card: dict[str, Any]) -> list[str]:
    per_class = _production(card)["public_test"]["per_class"]
    weakest = min(per_class, key=lambda name: per_class[name]["f1"])
    return [
        "## Known failure modes",
        "",
        *(
            f"- {mode['true']} read as {mode['predicted']}: {_pct(mode['share'])} of PublicTest {mode['true']} faces ({mode['faces']})."
            for mode in card["failure_modes"]
        ),
        f"- The weakest class is {weakest} (F1 {per_class[weakest]['f1']:.3f}).",
        "- Small faces: below a 20 px face box the crop is enlarged from few pixels and accuracy falls (README, *Small faces*);",
        "  such faces are flagged `low_resolution` and their confidence tempered further.",
        "- Calm faces often read partly sad or fearful (a resting mouth, a brow, a camera angle): what a teacher is shown is read",
        "  against the student's resting face and only when clear (README, *Apparent expression: what the card shows*).",
    ]


def _markdown(card: dict[str, Any]) -> str:
    """The model card in Markdown: one function per section."""
    header = [
        f"# Model card: {card['name']}",
        "",
        f"Apparent facial expression (7 FER2013 classes) from a 48×48 grayscale face. Exported {card['date']} on {card['machine']}.",
        "Labels are *apparent* expressions read from a face, not a person's feelings; see docs/architecture.md for the privacy policy.",
    ]
    sections = (_model_section, _data_section, _files_section, _accuracy_section, _calibration_section, _failure_section)
    parts = [header, *(section(card) for section in sections), [card_section(read_results(), read_digits(), read_end_to_end())]]
    return "\n\n".join("\n".join(part) for part in parts)


def export(
    model_path: Path,
    out_dir: Path,
    name: str,
    *,
    train_data: Path,
    val_data: Path,
    representative: int = 500,
    write_production: bool = True,
    ferplus: Path | None = None,
) -> dict[str, Any]:
    """Write ``<name>.keras``, ``<name>.f16.tflite``, ``<name>.int8.tflite``, the model cards and (unless ``write_production``
    is False: a candidate beside the served model) ``production.json``; returns the card. ``ferplus``, a FER+ folder (by
    default the one the run trained with, if any), also scores every file against the FER+ majority."""
    model_path, out_dir = Path(model_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = keras.models.load_model(model_path, compile=False)
    facts = _run_facts(model_path)

    # Data: quantisation faces from Training, the run's validation faces, PublicTest
    train_set = load_cached(train_data, cache_dir=CACHE_DIR)
    test_set = load_cached(val_data, cache_dir=CACHE_DIR)
    train_fingerprint = train_set.fingerprint()
    if facts.get("train_fingerprint") not in (None, train_fingerprint):
        raise DataError(f"{train_data} is not the data {model_path} was trained on (fingerprint differs from run.json)")
    # A run fitted on FER+ votes is calibrated and judged against the FER+ majority (training.ferplus).
    # Every file is also scored against the FER+ majority where the votes are at hand.
    label_set = facts.get("labels", "fer2013")
    ferplus_root = ferplus if ferplus is not None else (Path(facts["ferplus"]) if facts.get("ferplus") else None)
    test_csv = ferplus_csv(ferplus_root, val_data) if ferplus_root is not None else None
    test_ferplus = load_ferplus(val_data, test_csv, dataset=test_set) if test_csv is not None else None
    calibration_train, calibration_test = train_set, test_set
    if label_set != "fer2013":
        if ferplus_root is None or test_ferplus is None:
            raise DataError(f"{model_path} was fitted to {label_set} labels; give its FER+ folder")
        calibration_train = _with_majority(train_set, load_ferplus(train_data, ferplus_csv(ferplus_root, train_data), dataset=train_set))
        calibration_test = _with_majority(test_set, test_ferplus)
    validation = None
    if facts.get("validation"):
        recorded = facts["validation"]
        # The validation faces are chosen on FER2013's labels whatever the run fitted (training.train).
        held = validation_mask(train_set.labels, share=recorded["share"], seed=recorded["seed"])
        validation = Dataset(calibration_train.images[held], calibration_train.labels[held], train_set.class_names)
        if len(validation) != recorded["samples"]:
            raise DataError(f"the validation split of {train_data} has {len(validation)} faces, run.json recorded {recorded['samples']}")
    rng = np.random.default_rng(SEED)
    representative_faces = train_set.images[rng.choice(len(train_set), size=min(representative, len(train_set)), replace=False)]

    # Files
    paths = [out_dir / f"{name}.keras", out_dir / f"{name}.f16.tflite", out_dir / f"{name}.int8.tflite"]
    shutil.copyfile(model_path, paths[0])
    paths[1].write_bytes(to_tflite(model, quantize="float16"))
    paths[2].write_bytes(to_tflite(model, quantize="int8", calibration=representative_faces))

    # Measure: accuracy on PublicTest and speed, each file through the production predictor
    speeds = benchmark(paths, batch_size=SPEED_BATCH, seconds=SPEED_SECONDS)["models"]
    files, probs = [], {}
    for path, speed in zip(paths, speeds, strict=True):
        result, probs[path.name] = evaluate(path, test_set)
        public_test = {key: result[key] for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "class_names", "roc_auc")}
        scores = {"public_test": public_test}
        if test_ferplus is not None:
            scores["public_test_ferplus"] = majority_metrics(test_ferplus, probs[path.name])
        files.append({"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path)} | scores | speed)
    chosen, why = choose_production(files, scores="public_test" if label_set == "fer2013" else "public_test_ferplus")
    calibration = calibration_facts(
        out_dir / chosen["file"],
        validation=validation,
        public_test=calibration_test,
        public_test_probs=probs[chosen["file"]],
        label_set=label_set,
    )
    figures = {"confusion": f"{name}.confusion.png", "reliability": f"{name}.reliability.png"}
    plot_confusion_matrix(chosen["public_test"], out_dir / figures["confusion"])
    plot_reliability(calibration["reliability_public_test"], out_dir / figures["reliability"], temperature=calibration["temperature"])

    # Cards
    architecture = facts.get("architecture", model.name)
    costs = read_costs()
    float_accuracy, int8_accuracy = files[0]["public_test"]["accuracy"], files[2]["public_test"]["accuracy"]
    card = {
        "name": name,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "architecture": architecture,
        "description": facts.get("description") or (ARCHITECTURES[architecture].description if architecture in ARCHITECTURES else ""),
        "parameters": int(model.count_params()),
        "input": {"shape": [None, 48, 48, 1], "pixels": "grayscale 0..255 (the model rescales itself)"},
        "class_names": list(test_set.class_names),
        "source_model": str(model_path),
        "training": facts,
        "data": {
            "train": str(train_data),
            "train_fingerprint": train_fingerprint,
            "fit_samples": len(train_set) - (len(validation) if validation is not None else 0),
            "validation": facts.get("validation"),
            "public_test": str(val_data),
            "public_test_fingerprint": test_set.fingerprint(),
            "public_test_samples": len(test_set),
        },
        "files": files,
        "production": {"file": chosen["file"], "why": why},
        "int8_against_float": {
            "float_accuracy": float_accuracy,
            "int8_accuracy": int8_accuracy,
            "kept": round(int8_accuracy / float_accuracy, 4) if float_accuracy else 0.0,
        },
        "calibration": calibration,
        "failure_modes": failure_modes(chosen["public_test"]),
        "figures": figures,
        "epoch_seconds": {
            "after": costs["architectures"][architecture]["epoch_seconds"],
            "before": costs.get("before", {}).get("epoch_seconds", {}).get(architecture),
        }
        if architecture in costs["architectures"]
        else None,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(_markdown(card))
    if write_production:
        production = {"file": chosen["file"], "card": f"{name}.json", "why": why, "temperature": calibration["temperature"]}
        (out_dir / "production.json").write_text(json.dumps(production, indent=2) + "\n")
    return card
