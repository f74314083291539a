"""The inference stage of one frame: one batched CNN call, observations stored, dashboards told."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from classroom.alerts import alerts_after_frame
from classroom.engagement import engagement_band, engagement_score, expression_weight
from classroom.events import publish_on_commit
from classroom.expressions import rest_mix
from classroom.faces import FaceToRead
from classroom.models import EXPRESSIONS, FrameLog, Observation, Participant
from classroom.samples import class_figures, frame_results_store
from classroom.selectors import session_frame_counts
from inference.baselines import baselines_for_frame
from inference.expressions import shown_for_frame
from inference.low_resolution import temper
from inference.predictor import FACE_SIZE, get_predictor
from inference.smoothing import Smoothed, smooth_frame
from ingest.vision.stages import StageClock


def _crops(faces: list[FaceToRead]) -> np.ndarray:
    raw = [np.frombuffer(face.crop or b"", dtype=np.uint8) for face in faces]
    return np.stack(raw).reshape(len(faces), FACE_SIZE, FACE_SIZE) if raw else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)


def observation_event(observation: Observation, name: str, smoothed: Smoothed) -> dict[str, Any]:
    """One observation as the dashboard receives it: raw values, and the smoothed ones to display."""
    probs = observation.probabilities
    smooth_probs = smoothed.probabilities
    return {
        "participant": observation.participant_id,
        "name": name,
        "captured_at": observation.captured_at.isoformat(),
        "expression": observation.expression or None,
        "confidence": observation.confidence,
        "probabilities": dict(zip(EXPRESSIONS, probs, strict=True)) if probs is not None else None,
        "engagement": observation.engagement,
        "band": observation.engagement_band,
        "box": observation.box,
        "yaw": observation.yaw,
        "pitch": observation.pitch,
        "low_resolution": observation.low_resolution,
        "smoothed": {
            "engagement": round(smoothed.engagement, 4),
            "band": engagement_band(smoothed.engagement),
            "expression": observation.expression or None,  # the shown expression is held against flicker already
            "probabilities": dict(zip(EXPRESSIONS, np.round(smooth_probs, 4).tolist(), strict=True)) if smooth_probs is not None else None,
        },
    }


def frame_infer(*, frame_log_id: int, faces: list[dict[str, Any]], detail: dict[str, Any]) -> None:
    """Predict expressions for a frame's faces (:class:`classroom.faces.FaceToRead` payloads) in one batch, store
    observations, publish after commit.

    Idempotent: a frame already processed is left alone.
    """
    log = FrameLog.objects.select_related("session", "session__course").filter(pk=frame_log_id).first()
    if log is None or log.status != FrameLog.Status.QUEUED:
        return
    clock, detail = StageClock(), dict(detail)
    clock.ms = dict(detail.pop("stages_ms", {}))
    handed_off_ms = float(detail.pop("handed_off_ms", 0.0))
    clock.add("inference_wait", (timezone.now() - log.received_at).total_seconds() * 1000 - handed_off_ms)
    read = [FaceToRead.from_payload(face) for face in faces]
    with_crops = [face for face in read if face.crop is not None]
    with clock.stage("cnn"):
        probs = get_predictor().predict(_crops(with_crops)) if with_crops else np.zeros((0, len(EXPRESSIONS)), np.float32)
    with clock.stage("score"):  # engagement, baselines and smoothing from the CNN's output
        by_participant = {
            face.participant: temper(p, box_px=min(face.box[2:])) if face.low_resolution else p
            for face, p in zip(with_crops, probs, strict=True)
        }
        names = dict(Participant.objects.filter(pk__in=[face.participant for face in read]).values_list("pk", "display_name"))
        rounded = {pid: [round(float(v), 5) for v in p] for pid, p in by_participant.items()}
        weights = {pid: expression_weight(p) for pid, p in rounded.items()}
        t = log.captured_at.timestamp()
        # Every per-student state below knows the frame it last took in, so a retried task changes none twice.
        baselines = baselines_for_frame(
            [(face.participant, face.yaw, face.pitch, weights.get(face.participant), rounded.get(face.participant)) for face in read],
            at=t,
        )
        shown = shown_for_frame([(pid, t, p, rest_mix(baselines[pid].mixes, ready=baselines[pid].ready)) for pid, p in rounded.items()])
        observations = []
        for face in read:
            probabilities = rounded.get(face.participant)
            score = engagement_score(probabilities=probabilities, yaw=face.yaw, pitch=face.pitch, baseline=baselines[face.participant])
            card = shown.get(face.participant)  # what the teacher is shown; the raw mix stays in probabilities
            observations.append(
                Observation(
                    session_id=log.session_id,
                    participant_id=face.participant,
                    captured_at=log.captured_at,
                    probabilities=probabilities,
                    expression=card.label if card is not None else "",
                    confidence=card.confidence if card is not None else None,
                    engagement=round(score, 4),
                    engagement_band=engagement_band(score),
                    box=list(face.box),
                    yaw=round(face.yaw, 2),
                    pitch=round(face.pitch, 2),
                    low_resolution=face.low_resolution,
                )
            )
        smoothed = smooth_frame([(o.participant_id, o.captured_at.timestamp(), o.engagement, o.probabilities) for o in observations])
    with transaction.atomic():
        # Claimed only while still queued: a redelivered or duplicated task that got here second stores nothing.
        claimed = FrameLog.objects.filter(pk=log.pk, status=FrameLog.Status.QUEUED).update(status=FrameLog.Status.PROCESSED)
        if not claimed:
            return
        with clock.stage("store"):
            sample = frame_results_store(session=log.session, captured_at=log.captured_at, observations=observations)
            others = Participant.objects.filter(session_id=log.session_id).exclude(pk__in=set(names))
            absent = list(others.exclude(student__opted_out=True))  # opted out: never absent, never alerted on
            bands = {pid: engagement_band(value.engagement) for pid, value in smoothed.items()}
            alerts_after_frame(session=log.session, captured_at=log.captured_at, bands=bands, absent=[(p, p.last_seen_at) for p in absent])
        log.status = FrameLog.Status.PROCESSED
        log.processed_at = timezone.now()
        log.faces_found = len(faces)
        log.latency_ms = round((log.processed_at - log.received_at).total_seconds() * 1000, 1)
        log.detail = {**detail, "stages_ms": clock.ms}
        log.save(update_fields=["processed_at", "faces_found", "latency_ms", "detail"])
        publish_on_commit(
            session_id=log.session_id,
            event={
                "type": "observations",
                "session": log.session_id,
                "captured_at": log.captured_at.isoformat(),
                "frame_id": log.frame_id,
                "latency_ms": log.latency_ms,
                "observations": [observation_event(o, names.get(o.participant_id, ""), smoothed[o.participant_id]) for o in observations],
                "class": class_figures(sample=sample),
                "absent": [{"participant": p.pk, "name": p.display_name} for p in absent],
                "skipped": len(detail.get("skipped", [])),
            },
            then={"type": "frames", **session_frame_counts(session_id=log.session_id)},
        )
