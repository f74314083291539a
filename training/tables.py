"""The recipe table and the architecture table, in Markdown, from the committed run summaries (``training/results``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.queue import RESULTS_DIR

RECIPE_CHANGES = {
    "baseline": "AdamW, warm-up + cosine, label smoothing 0.1, flip/rotate/zoom/shift/contrast, random erasing",
    "no_erasing": "baseline without random erasing",
    "no_smoothing": "baseline without label smoothing",
    "mixup": "baseline + mixup (α 0.2)",
    "cutmix": "baseline + CutMix (α 1)",
    "no_warmup": "baseline without the warm-up epoch",
    "sgd_nesterov": "SGD, Nesterov momentum 0.9, peak rate 0.05, instead of AdamW",
    "distill": "baseline + distillation from our ensemble (weight 0.7, T 2)",
}


def read_results(folder: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every committed run summary, by run name."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def trained_where(result: dict[str, Any]) -> str:
    """Where a run trained, short: the device and Keras backend of each working stretch (older summaries: the machine)."""
    places = []
    for stretch in result.get("trained_on") or ([result["machine"]] if result.get("machine") else []):
        machine, _, device = stretch.partition(" on ")
        backend = machine.rpartition("keras ")[2] if "keras " in machine else ""
        cores = machine.split(",")[0].split()[1:2]
        place = f"{cores[0]} CPU cores" if device in ("", "cpu") and cores else device
        places.append(f"{place} ({backend})" if backend else place)
    return "; ".join(places) or "–"


def _pct(metrics: dict[str, Any] | None, key: str = "accuracy") -> str:
    return f"{100 * metrics[key]:.1f}%" if metrics else "–"


def recipe_table(results: list[dict[str, Any]]) -> str:
    """One row per recipe run of vggnet_s: what changed, epochs, CPU hours, validation and PublicTest figures."""
    header = (
        "| recipe | change | epochs | trained on | CPU h | validation (selects) | PublicTest | + flip TTA | + ten-crop TTA | macro-F1 |\n"
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = [
        f"| {r['planned_recipe']} | {RECIPE_CHANGES.get(r['planned_recipe'], '')} | {r['epochs']} | {trained_where(r)} "
        f"| {r['cpu_hours']:.2f} "
        f"| {100 * r['validation_accuracy']:.1f}% | {_pct(r['public_test'])} | {_pct(r.get('public_test_flip_tta'))} "
        f"| {_pct(r.get('public_test_ten_crop_tta'))} | {r['public_test']['macro_f1']:.3f} |"
        for r in results
        if r["run"].startswith("recipe-")
    ]
    return header + "\n".join(rows) + "\n"


def architecture_table(results: list[dict[str, Any]]) -> str:
    """One row per architecture trained with its own recipe under the shared budget."""
    header = (
        "| architecture | parameters | epochs | trained on | CPU h | validation | PublicTest | macro-F1 |\n"
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n"
    )
    rows = [
        f"| {r['architecture']} | {r['parameters']:,} | {r['epochs']} | {trained_where(r)} | {r['cpu_hours']:.2f} "
        f"| {100 * r['validation_accuracy']:.1f}% "
        f"| {_pct(r['public_test'])} | {r['public_test']['macro_f1']:.3f} |"
        for r in results
        if r["run"].startswith("arch-")
    ]
    return header + "\n".join(rows) + "\n"
