"""The ingest stage of one frame: take its bytes, find faces, assign participants, hand crops on."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from classroom import live_state
from classroom.faces import FaceToRead
from classroom.frames import frame_close
from classroom.models import FrameLog
from classroom.participants import FaceIdentity, participants_resolve, participants_resolve_empty_tiles
from classroom.policy import course_policy, expressions_allowed
from classroom.stillness import face_signature
from inference.tasks import infer_frame
from ingest import buffer
from ingest.validation import IngestError, decode_image
from ingest.vision.detections import Detections
from ingest.vision.pipeline import get_pipeline
from ingest.vision.stages import StageClock
from ingest.vision.still import still_patch
from ingest.vision.tiles import Tile
from ingest.vision.tracker import TrackerState, assign

logger = logging.getLogger(__name__)


def face_identities(detections: Detections) -> list[FaceIdentity]:
    """What the frame says about who each face is: tracker key, the page's tile name, the painted label."""
    painted = detections.painted or [None] * len(detections)
    return [
        FaceIdentity(
            key=key or f"face-{index + 1}",
            page_name=tile if detections.client_tiles and tile else None,
            painted_name=painted[index],
            box=(float(x), float(y), float(w), float(h)),
            tile=tuple(int(v) for v in detections.tile_boxes[index]) if tile is not None else None,  # type: ignore[arg-type]
        )
        for index, (key, tile, (x, y, w, h)) in enumerate(zip(detections.participant, detections.tile, detections.boxes, strict=True))
    ]


def frame_ingest(*, frame_log_id: int, tiles: list[dict[str, Any]]) -> None:
    """Run detection on a queued frame and enqueue its faces for inference. Idempotent."""
    log = FrameLog.objects.select_related("session", "session__course").filter(pk=frame_log_id).first()
    if log is None or log.status != FrameLog.Status.QUEUED:
        return
    session_id = log.session_id
    clock = StageClock()
    clock.add("ingest_wait", (timezone.now() - log.received_at).total_seconds() * 1000)
    data = buffer.frame_take(frame_log_id=frame_log_id)
    try:
        if data is None:
            frame_close(log=log, status=FrameLog.Status.EXPIRED, detail={"reason": "frame expired in the buffer before processing"})
            return
        age = (timezone.now() - log.received_at).total_seconds()
        if age > settings.INGEST_MAX_WAIT_SECONDS:
            # Read now, it would reach the teacher late; dropped before any CPU is spent on it (freshness wins).
            frame_close(log=log, status=FrameLog.Status.DROPPED, detail={"reason": f"stale: waited {age:.1f}s for a worker"})
            return
        with clock.stage("decode"):
            image = decode_image(data)
        del data  # the pixels live only in this function's frame from here on
        detections = get_pipeline().process(
            image, tiles=[Tile(**tile) for tile in tiles] or None, stream=session_id, clock=clock, now=log.captured_at.timestamp()
        )
        with clock.stage("assign"):
            with live_state.tracker_lock(session_id=session_id):
                state = TrackerState.from_json(live_state.tracker_load(session_id=session_id))
                detections, state = assign(detections, state, now=log.captured_at.timestamp())
                live_state.tracker_save(session_id=session_id, state=state.to_json())
            participants, opted_out = participants_resolve(session=log.session, faces=face_identities(detections))
        with_crops = expressions_allowed(policy=course_policy(course=log.session.course))  # no expression inference, no crops
        no_pose = [0.0] * len(detections)
        yaw = detections.yaw if detections.yaw is not None else no_pose
        pitch = detections.pitch if detections.pitch is not None else no_pose
        faces = [
            FaceToRead(
                participant=participant.pk,
                box=(float(x), float(y), float(w), float(h)),
                yaw=float(yaw[i]),
                pitch=float(pitch[i]),
                low_resolution=bool(detections.low_resolution[i]) if detections.low_resolution is not None else False,
                crop=detections.crops[i].tobytes() if with_crops and detections.crops is not None else None,
                # Under every policy: the domain tells a still picture from a face by it (classroom/stillness.py).
                signature=face_signature(still_patch(image, box=detections.boxes[i], tile_box=detections.tile_boxes[i])),
            ).to_payload()
            for i, (participant, (x, y, w, h)) in enumerate(zip(participants, detections.boxes, strict=True))
            if participant is not None
        ]
        skipped = [{"box": [round(float(v), 1) for v in r.box], "reason": r.reason} for r in detections.rejected]
        empty_tiles = sorted({tile["name"] for tile in tiles} - {name for name in detections.tile if name})
        participants_resolve_empty_tiles(session=log.session, names=empty_tiles)  # no face in view: still in class, absent
        if faces and live_state.queue_length(queue="inference") >= settings.INFERENCE_MAX_QUEUED:
            frame_close(log=log, status=FrameLog.Status.DROPPED, detail={"reason": "inference is behind: its queue is full"})
            return
        detail = {
            "skipped": skipped,
            "opted_out": opted_out,
            "empty_tiles": empty_tiles,
            "tiles_reused": clock.counts.get("tiles_reused", 0),
        }
        # The time from receipt to hand-off lets the inference stage tell its own queue wait apart.
        handed_off_ms = round((timezone.now() - log.received_at).total_seconds() * 1000, 2)
        infer_frame.delay(frame_log_id, faces, {**detail, "stages_ms": clock.ms, "handed_off_ms": handed_off_ms})
    except IngestError as error:
        frame_close(log=log, status=FrameLog.Status.ERROR, detail={"reason": error.message})
    except OperationalError:
        raise  # a database hiccup: the task retries with backoff (the bytes are gone, so it ends as expired)
    except Exception:
        # Whatever else breaks on one frame is logged and counted, and the worker carries on.
        logger.exception("frame %s failed", frame_log_id)
        frame_close(log=log, status=FrameLog.Status.ERROR, detail={"reason": "internal error while processing the frame"})
    finally:
        buffer.frame_done(session_id=session_id, frame_log_id=frame_log_id)
