"""``manage.py analyze``: faces, expressions and engagement for images or videos, without the database.

With ``--json`` each processed frame is printed as one JSON object on its own line (a stable
contract for scripts and tests)::

    {"source": path, "frame": i, "faces": [{"box": [x, y, w, h], "score": s, "expression": e, "confidence": c,
     "raw_expression": r, "probs": {name: p, ...}, "engagement": v, "band": b, "participant": key, "tile": name,
     "name": n, "yaw": y, "pitch": p}, ...], "skipped": [{"box": [x, y, w, h], "reason": r}, ...]}

``expression`` and ``confidence`` are exactly what the live page would show for that face in that frame
(:mod:`classroom.expressions`: relative to the participant's resting face as it builds up over a video, only
when clear, held against flicker); ``raw_expression`` and ``probs`` are the model's own output (for a face
under 20 px tempered for its size, as the live path stores it).

``name`` is the participant's name as read from the label the meeting app painted on their tile (``null``
until it reads clearly: in a video, once a few frames agree; in an image, from that one picture).

``band`` is the engagement band of ``engagement``; each tracked participant's baseline (their first
observations, as in a live session) is kept across the frames of one input. A face whose picture has not changed
for a few frames (:mod:`classroom.stillness`: a photo, a paused camera) is ``"band": "still"``, the live page's
*still picture*, with ``engagement``, ``expression`` and ``confidence`` null; a single image is never still.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from classroom.engagement import Baseline, baseline_add, engagement_band, engagement_score, expression_weight
from classroom.expressions import ShownExpression, expression_shown, rest_mix
from classroom.models import EXPRESSIONS
from classroom.stillness import STILL, Stillness, face_signature, stillness_add
from inference.low_resolution import temper
from inference.predictor import ModelError, Predictor, get_predictor
from ingest.replay import IMAGE_SUFFIXES
from ingest.vision.detections import Detections
from ingest.vision.gallery import VideoFrame, iter_video_frames
from ingest.vision.pipeline import TilesMode, get_pipeline
from ingest.vision.still import still_patch
from ingest.vision.tracker import TrackerState, assign


def _number(value: float, digits: int) -> float | None:
    """A JSON-safe rounded float (NaN and infinity become null)."""
    return round(float(value), digits) if math.isfinite(value) else None


def _frames(path: Path, *, every: int) -> Iterator[VideoFrame]:
    """The image as frame 0, or every ``every``-th frame of the video."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is not None:
        yield VideoFrame(0, 0.0, image)
        return
    try:
        yield from iter_video_frames(path, every=every)
    except ValueError:
        raise CommandError(f"{path}: not a readable image or video") from None


def _face_fields(detections: Detections, i: int, key: str | None) -> dict[str, Any]:
    """Where face ``i`` is and who it is."""
    return {
        "box": [round(float(v)) for v in detections.boxes[i]],
        "score": _number(detections.scores[i], 4),
        "participant": key,
        "tile": detections.tile[i],
        "name": detections.painted[i] if detections.painted is not None else None,
    }


def frame_record(
    source: str,
    frame: int,
    detections: Detections,
    probabilities: np.ndarray,
    baselines: dict[str, Baseline] | None = None,
    shown: dict[str, ShownExpression] | None = None,
    t: float = 0.0,
    stills: dict[str, Stillness] | None = None,
    image: np.ndarray | None = None,
) -> dict[str, Any]:
    """The JSON object of one frame (see the module docstring) at ``t`` seconds; ``baselines``, ``shown`` and ``stills``
    (by participant) gain this frame's faces, as a live session's state does. Without the frame's ``image`` no face
    can be found still."""
    known = baselines if baselines is not None else {}
    cards = shown if shown is not None else {}
    pictures = stills if stills is not None else {}
    faces = []
    for i in range(len(detections)):
        small = detections.low_resolution is not None and bool(detections.low_resolution[i])
        # As the live path reads it (inference.processing): a face under 20 px has its mix tempered for its size.
        probs = [float(p) for p in (temper(probabilities[i], box_px=float(min(detections.boxes[i][2:]))) if small else probabilities[i])]
        yaw = float(detections.yaw[i]) if detections.yaw is not None else math.nan
        pitch = float(detections.pitch[i]) if detections.pitch is not None else math.nan
        key = detections.participant[i]
        raw = int(np.argmax(probs))
        # The live path's decision (classroom.frames): a still picture is shown as such, and teaches no baseline.
        picture = None
        if image is not None:
            patch = still_patch(image, box=detections.boxes[i], tile_box=detections.tile_boxes[i])
            picture = stillness_add(pictures.get(key or ""), signature=face_signature(patch), at=t)
        if key is not None and picture is not None:
            pictures[key] = picture
        if picture is not None and picture.still:
            faces.append(
                {
                    **_face_fields(detections, i, key),
                    "expression": None,
                    "confidence": None,
                    "raw_expression": EXPRESSIONS[raw],
                    "probs": {name: round(p, 4) for name, p in zip(EXPRESSIONS, probs, strict=True)},
                    "engagement": None,
                    "band": STILL,
                    "yaw": _number(yaw, 1),
                    "pitch": _number(pitch, 1),
                }
            )
            continue
        baseline = baseline_add(known.get(key or ""), yaw=yaw, pitch=pitch, weight=expression_weight(probs), mix=probs)
        card = expression_shown(
            probabilities=probs, rest=rest_mix(baseline.mixes, ready=baseline.ready), previous=cards.get(key or ""), t=t
        )
        if key is not None:
            known[key], cards[key] = baseline, card
        score = engagement_score(probabilities=probs, yaw=yaw, pitch=pitch, baseline=baseline)
        faces.append(
            {
                **_face_fields(detections, i, key),
                "expression": card.label,
                "confidence": card.confidence,
                "raw_expression": EXPRESSIONS[raw],
                "probs": {name: round(p, 4) for name, p in zip(EXPRESSIONS, probs, strict=True)},
                "engagement": _number(score, 4),
                "band": engagement_band(score),
                "yaw": _number(yaw, 1),
                "pitch": _number(pitch, 1),
            }
        )
    skipped = [{"box": [round(v) for v in rejection.box], "reason": rejection.reason} for rejection in detections.rejected]
    return {"source": source, "frame": frame, "faces": faces, "skipped": skipped}


class Command(BaseCommand):
    help = "Detect faces and read apparent expressions in images or videos (no database); --json prints one object per frame."
    requires_system_checks: list[str] = []  # runs without a database or a configured deployment

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="image or video files")
        parser.add_argument("--json", action="store_true", help="print one JSON object per processed frame")
        parser.add_argument("--every", type=int, default=1, help="process every N-th video frame (default 1)")
        parser.add_argument("--tiles", choices=["auto", "none"], default="auto", help="find the gallery grid (auto) or use the whole frame")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["every"] < 1:
            raise CommandError("--every must be at least 1")
        tiles_mode: TilesMode = options["tiles"]
        try:
            predictor: Predictor = get_predictor()
        except ModelError as error:
            raise CommandError(f"no expression model: {error} (set FER_MODEL_PATH to a .keras or .tflite file)") from None
        pipeline = get_pipeline()
        for index, path in enumerate(options["paths"]):
            state = TrackerState()  # participants are tracked within one input
            baselines: dict[str, Baseline] = {}
            shown: dict[str, ShownExpression] = {}
            stills: dict[str, Stillness] = {}
            # A video's labels settle over its frames; a still image's are read from it alone.
            labels = None if path.suffix.lower() in IMAGE_SUFFIXES else ("analyze", index)
            for frame in _frames(path, every=options["every"]):
                detections = pipeline.process(frame.image, tiles_mode=tiles_mode, label_stream=labels, now=frame.seconds)
                detections, state = assign(detections, state, now=frame.seconds)
                crops = detections.crops if detections.crops is not None else np.zeros((0, 48, 48), np.uint8)
                probabilities = predictor.predict(crops)
                record = frame_record(
                    str(path), frame.number, detections, probabilities, baselines, shown, frame.seconds, stills, frame.image
                )
                self.stdout.write(json.dumps(record) if options["json"] else self._summary(record))

    @staticmethod
    def _summary(record: dict[str, Any]) -> str:
        faces = "".join(
            f"; {face['name'] or face['participant']} still picture"
            if face["band"] == STILL
            else f"; {face['name'] or face['participant']} {face['expression']} (engagement {face['engagement']}, {face['band']})"
            for face in record["faces"]
        )
        return f"{record['source']} frame {record['frame']}: {len(record['faces'])} faces, {len(record['skipped'])} skipped{faces}"
