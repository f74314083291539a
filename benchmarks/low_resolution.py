"""How far to trust the CNN on small faces: accuracy and calibration of the served model when FER2013
PublicTest faces are shrunk to the size a small gallery tile gives them and enlarged back, as the
aligner does, and the softmax temperature that makes its confidence honest there.

    python -m benchmarks.low_resolution [--out benchmarks/results/low_resolution.json] [--data ../shared/data]

A face whose detector box is ``s`` px has its FER-framed crop (1.18 × the box) cut from about
``1.18 s`` px of frame; so each 48×48 test face is resized to that side (area averaging), back to 48
(cubic), and equalised. Each is judged against the majority of FER+'s ten taggers (the faces that have
one in our classes), the labels the served model is calibrated on. A temperature is fitted (minimum
negative log-likelihood) at each box size the pipeline flags ``low_resolution`` (12–19 px);
``inference.low_resolution`` divides the logits of such faces by the temperature for their size.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.tables import markdown_table, pct, table  # noqa: E402
from inference.calibration import expected_calibration_error, fit_temperature, with_temperature  # noqa: E402
from inference.predictor import get_predictor  # noqa: E402
from ingest.vision.align import CROP_MARGIN, LOW_RESOLUTION_PX, MIN_FACE_PX  # noqa: E402
from training.data import DEFAULT_DATA_ROOT, load_folder  # noqa: E402
from training.ferplus import ferplus_csv, load_ferplus  # noqa: E402

SIZES = [None, 32, 24, 19, 16, 14, 12]  # detector box side in px; None: the face as FER2013 has it
TEMPERATURES = np.round(np.arange(1.0, 4.01, 0.05), 2)


def public_test_faces(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """FER2013 PublicTest faces (uint8, n×48×48) that FER+'s ten taggers give a majority in our classes, and that
    majority: the labels the served model is calibrated against (its card's *Calibration*)."""
    folder = root / "fer2013" / "test"
    dataset = load_folder(folder)
    majority = load_ferplus(folder, ferplus_csv(root / "ferplus", folder), dataset=dataset).majority
    images = np.asarray(dataset.images)[..., 0]
    return images[majority >= 0], majority[majority >= 0]


def shrunk(faces: np.ndarray, box_px: int | None) -> np.ndarray:
    """Faces as the aligner cuts them from a face whose detector box is ``box_px`` (None: unchanged)."""
    if box_px is None:
        return faces
    side = max(2, round(CROP_MARGIN * box_px))
    out = [
        cv2.resize(cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA), (48, 48), interpolation=cv2.INTER_CUBIC) for face in faces
    ]
    return np.stack([cv2.equalizeHist(face) for face in out])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/low_resolution.json"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT)
    args = parser.parse_args()
    faces, labels = public_test_faces(args.data)
    if len(faces) == 0:
        raise SystemExit(f"no FER2013 PublicTest faces under {args.data / 'fer2013' / 'test'}")
    predictor = get_predictor()
    probabilities = {size: predictor.predict(shrunk(faces, size)) for size in SIZES}

    temperatures = {
        size: fit_temperature(probabilities[size], labels, grid=TEMPERATURES)
        for size in SIZES
        if size is not None and MIN_FACE_PX <= size < LOW_RESOLUTION_PX
    }
    rows, results = [], []
    for size in SIZES:
        plain = probabilities[size]
        temperature = temperatures.get(size, 1.0) if size is not None else 1.0
        scaled = with_temperature(plain, temperature)
        row: dict[str, Any] = {
            "box_px": size,
            "accuracy": round(float((plain.argmax(axis=1) == labels).mean()), 4),
            "mean_confidence": round(float(plain.max(axis=1).mean()), 4),
            "ece": round(expected_calibration_error(plain, labels), 4),
            "temperature": temperature,
            "mean_confidence_tempered": round(float(scaled.max(axis=1).mean()), 4),
            "ece_tempered": round(expected_calibration_error(scaled, labels), 4),
        }
        results.append(row)
        rows.append(
            [
                size or "FER (48)",
                pct(row["accuracy"]),
                pct(row["mean_confidence"]),
                row["ece"],
                temperature,
                pct(row["mean_confidence_tempered"]),
                row["ece_tempered"],
            ]
        )
    headers = ["box px", "accuracy", "mean confidence", "ECE", "temperature", "confidence tempered", "ECE tempered"]
    print(table(headers, rows))
    print()
    print(markdown_table(headers, rows))
    out = {
        "benchmark": "served model on FER2013 PublicTest faces shrunk to small-face sizes, against the FER+ majority",
        "faces": len(labels),
        "temperature_by_box_px": {str(size): t for size, t in temperatures.items()},
        "rows": results,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
