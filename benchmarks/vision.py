"""Vision pipeline figures on composed meeting galleries.

    python -m benchmarks.vision [--quick] [--out benchmarks/results/vision.json] [--data ../shared/data]

1. Face recall and precision per gallery layout (clips of the five shared talking heads, FER2013
   PublicTest faces), with the grid found by the server and with client tiles. A face is found when
   a detection's centre (kept or rejected on quality) lies in its true tile; one per tile, the rest
   are false positives.
2. Ingest time per frame (``FramePipeline.process``: detection, alignment, head pose) for 9, 25 and
   49 tiles, found grid against client tiles, and the CNN time for the frame's batch of faces.
3. Identity switches per 100 frames in a reflowing class (:func:`ingest.vision.scenes.reflowing_class`)
   sampled at 1 and 2 fps, grid found by the server, keys from ``tracker.assign``.
4. End-to-end accuracy (detection + CNN) on PublicTest faces placed in 3×3 galleries, against the
   CNN on the same bare 48×48 faces.

Frames go through a JPEG round trip, as uploads do. The model is the production one
(``get_predictor()``; ``FER_MODEL_PATH`` overrides). Timings are wall-clock on this machine as it is
(the load average is recorded with them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

import numpy as np  # noqa: E402

from benchmarks.tables import pct, table  # noqa: E402
from classroom.models import EXPRESSIONS  # noqa: E402
from inference.predictor import ModelError, Predictor, get_predictor  # noqa: E402
from ingest.vision.detections import Detections  # noqa: E402
from ingest.vision.gallery import compose_gallery  # noqa: E402
from ingest.vision.pipeline import FramePipeline, get_pipeline  # noqa: E402
from ingest.vision.scenes import (  # noqa: E402
    REFLOWING_CLASS_SIZE,
    SwitchCounter,
    TileScore,
    jpeg,
    make_participants,
    reflowing_class,
    score_tiles,
    tile_owners,
    webcam_fer_face,
)
from ingest.vision.tiles import Tile  # noqa: E402
from ingest.vision.tracker import TrackerState, assign  # noqa: E402
from training.data import DEFAULT_DATA_ROOT, Dataset, load_folder  # noqa: E402

CLIP_COUNT = 5
CLIP_FPS = 25  # the shared clips run at 22–30 fps; steps between samples are counted in frames
WARMUP_FRAMES = 2  # timed frames start after these (detector graphs and the CNN's first batch shape)
Modes = Literal["auto", "client"]
MODES: tuple[Modes, ...] = ("auto", "client")


@dataclass(frozen=True)
class Layout:
    """A gallery to compose: ``count`` participants from ``source``, tiles of ``tile_size`` (w, h)."""

    name: str
    count: int
    source: Literal["clips", "fer"]
    tile_size: tuple[int, int]
    name_strip: bool = False
    uneven: bool = False
    speaker: bool = False


# Tile sizes of a 1920×1080 meeting tab at each grid size.
GRID_3, GRID_5, GRID_7 = (608, 342), (368, 207), (260, 146)
LAYOUTS = [
    Layout("3x3", 9, "clips", GRID_3),
    Layout("3x3 names", 9, "clips", GRID_3, name_strip=True),
    Layout("5x5", 25, "clips", GRID_5),
    Layout("5x5 names", 25, "clips", GRID_5, name_strip=True),
    Layout("5x5 uneven gaps, names", 25, "clips", GRID_5, name_strip=True, uneven=True),
    Layout("7x7", 49, "clips", GRID_7),
    Layout("7x7 names", 49, "clips", GRID_7, name_strip=True),
    Layout("speaker + strip of 8, names", 9, "clips", (200, 112), name_strip=True, speaker=True),
    Layout("5x5 FER faces", 25, "fer", GRID_5),
    Layout("7x7 FER faces", 49, "fer", GRID_7),
]
TIMED_LAYOUTS = [LAYOUTS[0], LAYOUTS[2], LAYOUTS[5]]


@dataclass(frozen=True)
class Config:
    """How much to measure: the full run, or ``--quick``."""

    frames_per_layout: int
    timed_frames: int
    reflow_seconds: float
    reflow_fps: tuple[float, ...]
    e2e_faces: int


FULL = Config(frames_per_layout=5, timed_frames=20, reflow_seconds=30, reflow_fps=(1.0, 2.0), e2e_faces=700)
QUICK = Config(frames_per_layout=2, timed_frames=5, reflow_seconds=10, reflow_fps=(2.0,), e2e_faces=140)


# --- pure helpers -------------------------------------------------------------------------------------------------------------------


def missing_data(root: Path) -> list[str]:
    """What of the shared data the benchmark needs is absent under ``root`` (empty when all is there)."""
    missing = [str(root / "video" / f"talking_head_{i}.mp4") for i in range(1, CLIP_COUNT + 1)]
    missing = [path for path in missing if not Path(path).is_file()]
    missing += [str(root / "fer2013" / "test" / name) for name in EXPRESSIONS if not (root / "fer2013" / "test" / name).is_dir()]
    return missing


def stratified_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``size`` items (all when ``size`` ≥ the number of items), each class in proportion
    to its share (largest remainders, at least one per class present)."""
    labels = np.asarray(labels)
    if size >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * size / len(labels)
    take = np.minimum(np.maximum(np.floor(quota).astype(int), 1), counts)
    for k in np.argsort(-(quota - np.floor(quota)), kind="stable"):
        if take.sum() >= size:
            break
        if take[k] < counts[k]:
            take[k] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=n, replace=False) for c, n in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen))


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile (linear interpolation) of durations given in seconds, in milliseconds (one decimal)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {"median": round(float(np.median(ms)), 1), "p95": round(float(np.percentile(ms, 95)), 1)}


# --- scenes -------------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """The inputs: the shared clips and the PublicTest faces."""

    clips: list[Path]
    faces: Dataset


def gallery_frames(layout: Layout, data: Data, *, frames: int, step: int, rng: np.random.Generator) -> list[tuple[np.ndarray, list[Tile]]]:
    """``frames`` JPEG-round-tripped gallery frames of ``layout`` with their true tiles. Clips show whole
    camera pictures (no zoom) and advance ``step`` video frames between gallery frames; FER faces are
    drawn afresh for each frame."""
    result = []
    if layout.source == "clips":
        people = make_participants(data.clips, layout.count, max_zoom=1.0)
        for index in range(frames):
            image, tiles = compose_gallery(
                [person.frame(step) for person in people],
                tile_size=layout.tile_size,
                name_strip=layout.name_strip,
                uneven=layout.uneven,
                speaker=layout.speaker,
                seed=index,
            )
            result.append((jpeg(image), tiles))
        for person in people:
            person.close()
    else:
        chosen = rng.choice(len(data.faces), size=(frames, layout.count), replace=False)
        for index, row in enumerate(chosen):
            sources = [webcam_fer_face(data.faces.images[k, ..., 0]) for k in row]
            image, tiles = compose_gallery(sources, tile_size=layout.tile_size, name_strip=layout.name_strip, seed=index)
            result.append((jpeg(image), tiles))
    return result


def process(pipeline: FramePipeline, image: np.ndarray, truth: list[Tile], mode: Modes) -> Detections:
    """The pipeline on one frame, with the true tiles as client tiles or with the grid found."""
    return pipeline.process(image, tiles=truth if mode == "client" else None, tiles_mode="auto")


def crops(found: Detections) -> np.ndarray:
    """The 48×48 faces of a processed frame, for the CNN."""
    if found.crops is None:
        raise ValueError("the detections were not aligned")
    return found.crops


# --- the four measurements ----------------------------------------------------------------------------------------------------------


def detection(pipeline: FramePipeline, data: Data, config: Config, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Recall and precision per layout and mode, summed over ``frames_per_layout`` frames."""
    results = []
    for layout in LAYOUTS:
        frames = gallery_frames(layout, data, frames=config.frames_per_layout, step=CLIP_FPS // 2, rng=rng)
        for mode in MODES:
            score, rejected, grids = TileScore(0, 0, 0), 0, 0
            for image, truth in frames:
                found = process(pipeline, image, truth, mode)
                score += score_tiles(found, truth)
                rejected += len(found.rejected)
                grids += len(found.layout) == len(truth)
            results.append(
                {
                    "layout": layout.name,
                    "mode": mode,
                    "frames": len(frames),
                    "faces": score.tiles,
                    "detections": score.detections,
                    "found": score.hits,
                    "rejected_on_quality": rejected,
                    "recall": round(score.recall, 4),
                    "precision": round(score.precision, 4),
                    "grid_complete_frames": grids if mode == "auto" else None,
                }
            )
    return results


def timing(pipeline: FramePipeline, predictor: Predictor, data: Data, config: Config) -> list[dict[str, Any]]:
    """Per-frame ingest time (``process``) and CNN time on its crops, per tile count and mode."""
    results = []
    for layout in TIMED_LAYOUTS:
        frames = gallery_frames(layout, data, frames=WARMUP_FRAMES + config.timed_frames, step=3, rng=np.random.default_rng(0))
        for mode in MODES:
            ingest, cnn, total, faces = [], [], [], []
            for index, (image, truth) in enumerate(frames):
                start = time.perf_counter()
                found = process(pipeline, image, truth, mode)
                middle = time.perf_counter()
                predictor.predict(crops(found))
                end = time.perf_counter()
                if index >= WARMUP_FRAMES:
                    ingest.append(middle - start)
                    cnn.append(end - middle)
                    total.append(end - start)
                    faces.append(len(found))
            results.append(
                {
                    "tiles": layout.count,
                    "mode": mode,
                    "frame_size": list(frames[0][0].shape[1::-1]),
                    "frames": len(ingest),
                    "faces_per_frame": round(statistics.mean(faces), 1),
                    "ingest_ms": summary_ms(ingest),
                    "cnn_ms": summary_ms(cnn),
                    "total_ms": summary_ms(total),
                }
            )
    return results


def identity_switches(pipeline: FramePipeline, data: Data, *, seconds: float, fps: float) -> dict[str, Any]:
    """Run the reflowing class at ``fps`` for ``seconds`` through the pipeline (grid found) and the tracker."""
    people = make_participants(data.clips, REFLOWING_CLASS_SIZE)
    frames = round(seconds * fps)
    counter, state = SwitchCounter(), TrackerState()
    expected = found_faces = false_positives = 0
    for index, present in enumerate(reflowing_class(frames)):
        pictures = [people[p].frame(round(CLIP_FPS / fps)) for p in present]
        image, tiles = compose_gallery(pictures, names=[f"Student {p}" for p in present], tile_size=GRID_3, name_strip=True)
        found, state = assign(pipeline.process(jpeg(image)), state, now=index / fps)
        matched = [(k, owner) for k, owner in enumerate(tile_owners(found.boxes, tiles)) if owner is not None]
        counter.observe([present[owner] for _, owner in matched], [found.participant[k] for k, _ in matched])
        hit = len({owner for _, owner in matched})
        expected, found_faces, false_positives = expected + len(present), found_faces + hit, false_positives + len(found) - hit
    for person in people:
        person.close()
    return {
        "fps": fps,
        "seconds": seconds,
        "frames": frames,
        "people": REFLOWING_CLASS_SIZE,
        "identity_switches": counter.switches,
        "switches_per_100_frames": round(100 * counter.switches / frames, 2),
        "keys_issued": len(counter.owner),
        "faces_expected": expected,
        "faces_found": found_faces,
        "false_positives": false_positives,
    }


def end_to_end(pipeline: FramePipeline, predictor: Predictor, data: Data, *, size: int, rng: np.random.Generator) -> dict[str, Any]:
    """Accuracy of detection + CNN on a stratified sample of faces in 3×3 galleries (grid found) against bare faces."""
    faces = data.faces
    sample = stratified_sample(faces.labels, size, rng)
    labels = faces.labels[sample]
    bare = predictor.predict(faces.images[sample, ..., 0]).argmax(axis=1)
    full_bare = predictor.predict(faces.images[..., 0]).argmax(axis=1)
    predicted = np.full(len(sample), -1)
    status = np.array(["undetected"] * len(sample), dtype=object)
    for start in range(0, len(sample), 9):
        chunk = sample[start : start + 9]
        image, truth = compose_gallery([webcam_fer_face(faces.images[k, ..., 0]) for k in chunk], tile_size=GRID_3)
        found = pipeline.process(jpeg(image))
        for owner in tile_owners(np.array([r.box for r in found.rejected]), truth):
            if owner is not None:
                status[start + owner] = "rejected_on_quality"
        probabilities = predictor.predict(crops(found))
        best_score: dict[int, float] = {}
        for k, owner in enumerate(tile_owners(found.boxes, truth)):
            if owner is not None and found.scores[k] > best_score.get(owner, -1.0):
                best_score[owner] = float(found.scores[k])
                predicted[start + owner] = int(probabilities[k].argmax())
                status[start + owner] = "detected"
    detected = status == "detected"
    e2e_correct = predicted == labels
    bare_correct = bare == labels
    per_class = {
        name: {
            "faces": int((labels == c).sum()),
            "bare_accuracy": round(float(bare_correct[labels == c].mean()), 4),
            "end_to_end_accuracy": round(float(e2e_correct[labels == c].mean()), 4),
        }
        for c, name in enumerate(faces.class_names)
        if (labels == c).any()
    }
    return {
        "sample_size": len(sample),
        "sampling": "stratified by class, proportional to the PublicTest class shares",
        "gallery": "3x3, tiles 608x342, grid found by the server, JPEG round trip",
        "detected": int(detected.sum()),
        "rejected_on_quality": int((status == "rejected_on_quality").sum()),
        "undetected": int((status == "undetected").sum()),
        "end_to_end_accuracy": round(float(e2e_correct.mean()), 4),
        "accuracy_on_detected_faces": round(float(e2e_correct[detected].mean()), 4) if detected.any() else None,
        "bare_accuracy_same_faces": round(float(bare_correct.mean()), 4),
        "bare_accuracy_on_detected_faces": round(float(bare_correct[detected].mean()), 4) if detected.any() else None,
        "agreement_with_bare_on_detected": round(float((predicted == bare)[detected].mean()), 4) if detected.any() else None,
        "bare_accuracy_full_public_test": round(float((full_bare == faces.labels).mean()), 4),
        "full_public_test_size": len(faces),
        "per_class": per_class,
    }


# --- report -------------------------------------------------------------------------------------------------------------------------


def machine(model: Path) -> dict[str, Any]:
    """Where and with what the figures were taken."""
    return {
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "model_file": model.name,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def show(title: str, text: str) -> None:
    """Print one section."""
    print(f"\n{title}\n{text}", flush=True)


def detection_table(rows: list[dict[str, Any]]) -> str:
    """Section 1 as a table."""
    return table(
        ["layout", "mode", "faces", "found", "dets", "recall", "precision", "rejected", "grid ok"],
        [
            [
                row["layout"],
                row["mode"],
                row["faces"],
                row["found"],
                row["detections"],
                pct(row["recall"]),
                pct(row["precision"]),
                row["rejected_on_quality"],
                "" if row["grid_complete_frames"] is None else f"{row['grid_complete_frames']}/{row['frames']}",
            ]
            for row in rows
        ],
    )


def timing_table(rows: list[dict[str, Any]]) -> str:
    """Section 2 as a table."""
    return table(
        ["tiles", "mode", "frames", "faces", "ingest med", "ingest p95", "CNN med", "CNN p95", "total med", "total p95"],
        [
            [
                row["tiles"],
                row["mode"],
                row["frames"],
                row["faces_per_frame"],
                *(f"{row[key][stat]:.0f} ms" for key in ("ingest_ms", "cnn_ms", "total_ms") for stat in ("median", "p95")),
            ]
            for row in rows
        ],
    )


def switches_table(rows: list[dict[str, Any]]) -> str:
    """Section 3 as a table."""
    return table(
        ["fps", "frames", "switches", "per 100 frames", "keys / people", "faces found", "false pos."],
        [
            [
                row["fps"],
                row["frames"],
                row["identity_switches"],
                row["switches_per_100_frames"],
                f"{row['keys_issued']} / {row['people']}",
                f"{row['faces_found']}/{row['faces_expected']}",
                row["false_positives"],
            ]
            for row in rows
        ],
    )


def accuracy_table(result: dict[str, Any]) -> str:
    """Section 4 as a table."""
    rows: list[list[object]] = [
        ["all", result["sample_size"], pct(result["bare_accuracy_same_faces"]), pct(result["end_to_end_accuracy"])],
        *([name, row["faces"], pct(row["bare_accuracy"]), pct(row["end_to_end_accuracy"])] for name, row in result["per_class"].items()),
    ]
    on_detected = result["accuracy_on_detected_faces"]
    return "\n".join(
        [
            table(["class", "faces", "bare 48x48", "in gallery"], rows),
            f"detected {result['detected']}, rejected on quality {result['rejected_on_quality']}, undetected {result['undetected']} "
            f"(counted wrong); accuracy on detected faces {pct(on_detected) if on_detected is not None else '-'} "
            f"(bare on the same {pct(result['bare_accuracy_on_detected_faces'] or 0)}); "
            f"bare on all {result['full_public_test_size']} PublicTest faces {pct(result['bare_accuracy_full_public_test'])}",
        ]
    )


def run(data_root: Path, config: Config) -> dict[str, Any]:
    """Measure everything (printing each section as it is done) and return the figures."""
    started = time.perf_counter()
    missing = missing_data(data_root)
    if missing:
        raise SystemExit("benchmarks.vision: shared data missing (see ../shared/data/SOURCES.md):\n  " + "\n  ".join(missing))
    try:
        predictor = get_predictor()
    except ModelError as error:
        raise SystemExit(f"benchmarks.vision: {error}") from None
    data = Data(clips=sorted((data_root / "video").glob("talking_head_*.mp4")), faces=load_folder(data_root / "fer2013" / "test"))
    pipeline = get_pipeline()
    rng = np.random.default_rng(2024)
    info = machine(predictor.path)
    show("Machine", json.dumps(info))
    section_s: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        section_s[name], mark = round(time.perf_counter() - mark, 1), time.perf_counter()

    found = detection(pipeline, data, config, rng)
    lap("detection")
    show("1. Faces found per layout (auto: grid found by the server; client: true tiles sent)", detection_table(found))
    timed = timing(pipeline, predictor, data, config)
    lap("time_per_frame")
    show("2. Time per frame (ingest = FramePipeline.process; CNN = one predict on the frame's crops)", timing_table(timed))
    switches = [identity_switches(pipeline, data, seconds=config.reflow_seconds, fps=fps) for fps in config.reflow_fps]
    lap("identity_switches")
    show("3. Identity switches, reflowing class (grid found, tracker keys)", switches_table(switches))
    accuracy = end_to_end(pipeline, predictor, data, size=config.e2e_faces, rng=rng)
    lap("end_to_end_accuracy")
    show("4. Expression accuracy: bare faces vs detection + CNN in 3x3 galleries", accuracy_table(accuracy))
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return {
        "benchmark": "vision pipeline on composed galleries",
        "config": asdict(config),
        "machine": info,
        "detection": found,
        "time_per_frame": timed,
        "identity_switches": switches,
        "end_to_end_accuracy": accuracy,
        "section_runtime_s": section_s,
        "runtime_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    """Parse arguments, measure, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer frames and faces (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vision.json"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT, help="the shared data folder (video/, fer2013/test/)")
    args = parser.parse_args()
    result = run(args.data, QUICK if args.quick else FULL)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nruntime {result['runtime_s']} s; written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
