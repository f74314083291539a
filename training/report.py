"""The evaluation report folder: confusion matrix, per-class P/R/F1, learning curves, ROC curves, metrics.json.

Figures are drawn with Matplotlib's object API on an Agg canvas (no display, no global pyplot state).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from training.metrics import one_vs_rest_roc

DPI = 120


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path


def plot_confusion_matrix(result: dict[str, Any], path: Path) -> Path:
    """Row-normalised confusion matrix (recall on the diagonal) with the raw counts in each cell."""
    names = result["class_names"]
    counts = np.asarray(result["confusion_matrix"])
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure = _figure(7, 6)
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class")
    for (row, col), count in np.ndenumerate(counts):
        axes.text(
            col,
            row,
            f"{rates[row, col]:.2f}\n{count}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if rates[row, col] > 0.5 else "black",
        )
    axes.set(xticks=range(len(names)), yticks=range(len(names)), xlabel="predicted", ylabel="true")
    axes.set_xticklabels(names, rotation=45, ha="right")
    axes.set_yticklabels(names)
    axes.set_title(f"Confusion matrix — accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
    return _save(figure, path)


def plot_per_class(result: dict[str, Any], path: Path) -> Path:
    """Precision, recall and F1 of each class as grouped bars."""
    names = result["class_names"]
    figure = _figure(8, 4.5)
    axes = figure.add_subplot()
    positions = np.arange(len(names))
    for offset, metric in zip((-0.27, 0.0, 0.27), ("precision", "recall", "f1"), strict=True):
        axes.bar(positions + offset, [result["per_class"][name][metric] for name in names], width=0.27, label=metric)
    axes.set(xticks=positions, ylim=(0, 1), ylabel="score", title="Per-class precision, recall and F1")
    axes.set_xticklabels([f"{name}\n(n={result['per_class'][name]['support']})" for name in names])
    axes.legend(loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def plot_learning_curves(log_csv: Path, path: Path) -> Path:
    """Loss and accuracy per epoch, training and validation, from a Keras ``CSVLogger`` file."""
    with Path(log_csv).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{log_csv}: no epochs logged")
    epochs = [int(row["epoch"]) + 1 for row in rows]
    figure = _figure(10, 4)
    for index, metric in enumerate(("loss", "accuracy")):
        axes = figure.add_subplot(1, 2, index + 1)
        for prefix, label in (("", "training (augmented)"), ("val_", "validation")):
            if prefix + metric in rows[0]:
                axes.plot(epochs, [float(row[prefix + metric]) for row in rows], marker=".", label=label)
        axes.set(xlabel="epoch", ylabel=metric, title=metric.capitalize())
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    return _save(figure, path)


def plot_roc(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], path: Path) -> Path:
    """One-vs-rest ROC curve of each class, with its AUC."""
    figure = _figure(6.5, 6)
    axes = figure.add_subplot()
    for name, curve in one_vs_rest_roc(y_true, probs, class_names).items():
        axes.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {curve['auc']:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1), title="One-vs-rest ROC curves")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def write_report(out_dir: Path, result: dict[str, Any], y_true: np.ndarray, probs: np.ndarray, log_csv: Path | None) -> list[Path]:
    """Write every figure (learning curves only with a ``log_csv``) and ``metrics.json``; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        plot_confusion_matrix(result, out_dir / "confusion_matrix.png"),
        plot_per_class(result, out_dir / "per_class.png"),
        plot_roc(y_true, probs, result["class_names"], out_dir / "roc.png"),
    ]
    if log_csv is not None:
        written.append(plot_learning_curves(log_csv, out_dir / "learning_curves.png"))
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(result, indent=2) + "\n")
    return [*written, metrics_path]


def plot_reliability(rows: list[dict[str, float]], path: Path, *, temperature: float) -> Path:
    """A reliability diagram from :func:`inference.calibration.reliability` rows: accuracy against confidence
    per bin, each bin labelled with its share of faces."""
    figure = _figure(6, 5)
    axes = figure.add_subplot()
    centres = [(row["low"] + row["high"]) / 2 for row in rows]
    width = rows[0]["high"] - rows[0]["low"] if rows else 0.1
    axes.bar(centres, [row["accuracy"] for row in rows], width=width * 0.9, alpha=0.7, label="accuracy in the bin")
    axes.plot(
        [row["confidence"] for row in rows],
        [row["accuracy"] for row in rows],
        marker="o",
        color="black",
        label="accuracy at the bin's mean confidence",
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    for centre, row in zip(centres, rows, strict=True):
        axes.text(centre, min(row["accuracy"] + 0.02, 0.97), f"{100 * row['share']:.0f}%", ha="center", fontsize=7)
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=f"Reliability, temperature {temperature:.2f}")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)
