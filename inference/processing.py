"""The inference stage of one frame: decode the faces handed on, one batched CNN call, then one domain call.

What the readings mean and what is stored is the domain's (:func:`classroom.frames.frame_readings_record`); this
stage only reads faces.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils import timezone

from classroom.faces import FaceToRead
from classroom.frames import frame_close, frame_readings_record
from classroom.labels import EXPRESSIONS
from classroom.models import FrameLog
from inference.low_resolution import temper
from inference.predictor import FACE_SIZE, get_predictor
from ingest.vision.stages import StageClock


def _crops(faces: list[FaceToRead]) -> np.ndarray:
    raw = [np.frombuffer(face.crop or b"", dtype=np.uint8) for face in faces]
    return np.stack(raw).reshape(len(faces), FACE_SIZE, FACE_SIZE) if raw else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)


def frame_infer(*, frame_log_id: int, faces: list[dict[str, Any]], detail: dict[str, Any]) -> None:
    """Read a frame's faces (:class:`classroom.faces.FaceToRead` payloads) in one CNN batch and record them.

    Idempotent: a frame already processed is left alone.
    """
    log = FrameLog.objects.select_related("session", "session__course").filter(pk=frame_log_id).first()
    if log is None or log.status != FrameLog.Status.QUEUED:
        return
    clock, detail = StageClock(), dict(detail)
    clock.ms = dict(detail.pop("stages_ms", {}))
    handed_off_ms = float(detail.pop("handed_off_ms", 0.0))
    clock.add("inference_wait", (timezone.now() - log.received_at).total_seconds() * 1000 - handed_off_ms)
    try:
        read = [FaceToRead.from_payload(face) for face in faces]
    except ValueError as error:
        # A malformed hand-off (a worker of another version) is closed with its reason, not left queued.
        frame_close(log=log, status=FrameLog.Status.ERROR, detail={**detail, "reason": f"malformed face from ingest: {error}"})
        return
    with_crops = [face for face in read if face.crop is not None]
    with clock.stage("cnn"):
        probs = get_predictor().predict(_crops(with_crops)) if with_crops else np.zeros((0, len(EXPRESSIONS)), np.float32)
        # A face under 20 px was read from an enlarged crop: its mix is tempered to how often such faces are right.
        mixes = {
            face.participant: temper(p, box_px=min(face.box[2:])) if face.low_resolution else p
            for face, p in zip(with_crops, probs, strict=True)
        }
    frame_readings_record(
        log=log, faces=read, mixes={pid: [float(v) for v in p] for pid, p in mixes.items()}, detail=detail, stages_ms=clock.ms
    )
