"""Recording what became of a frame: the domain actions the workers call once they have read it.

The ingest worker decodes, detects and reads labels, then either hands the faces on or closes the frame
(:func:`frame_close`: dropped, expired, failed). The inference worker runs the CNN, then calls
:func:`frame_readings_record` once: it scores each face against the student's own baseline, decides the shown
expression, stores the observations and the class sample, runs the alerts and tells the dashboards, after the
commit (the attendance too, when who is here changed). The workers write no rows themselves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from classroom import live_state
from classroom.admission import frame_finished
from classroom.alerts import STREAM_STATE_KIND, STUDENT_STATE_KIND, alerts_after_frame
from classroom.attendance import attendance_after_frame
from classroom.baselines import STATE_KIND as BASELINE_KIND
from classroom.baselines import baselines_for_frame
from classroom.cards import card_values
from classroom.engagement import engagement_band, engagement_score, expression_weight
from classroom.events import publish_built_on_commit, publish_on_commit
from classroom.expressions import STATE_KIND as SHOWN_KIND
from classroom.expressions import rest_mix, shown_for_frame
from classroom.faces import FaceToRead
from classroom.models import EXPRESSIONS, FrameLog, Observation, Participant
from classroom.samples import class_figures, frame_results_store
from classroom.selectors import session_frame_counts, session_series_point
from classroom.smoothing import STATE_KIND as SMOOTH_KIND
from classroom.smoothing import Smoothed, smooth_frame
from classroom.stillness import STILL, stillness_for_frame


def frame_close(*, log: FrameLog, status: str, detail: dict[str, Any]) -> None:
    """Close a frame that will produce no observations (dropped, expired, error) and say so live."""
    with transaction.atomic():
        log.status = status
        log.processed_at = timezone.now()
        log.detail = detail
        log.save(update_fields=["status", "processed_at", "detail"])

        def counts() -> dict[str, Any]:
            return {"type": "frames", **session_frame_counts(session_id=log.session_id)}

        publish_built_on_commit(session_id=log.session_id, build=counts)
    took = (log.processed_at - log.received_at).total_seconds() * 1000
    frame_finished(frame_log_id=log.pk, arrived_at=log.received_at.timestamp(), took_ms=took, stored=False)


COUNTS_QUIET_SECONDS = 2.0  # a session whose frames still arrive sends its counters with each frame already
COUNTS_WINDOW_SECONDS = 70.0  # the counters' last minute, and a beat period to send its last fall to zero


def frame_counts_publish(*, now: datetime | None = None) -> int:
    """Send the frame counters of each session whose uploads stopped within about the last minute (the beat task,
    every few seconds); returns how many. Its "in the last minute" figures fall as time passes, and with no frame
    arriving nothing else would tell its dashboards so."""
    now = now or timezone.now()
    quiet = (
        FrameLog.objects.values("session_id")
        .annotate(last=Max("received_at"))
        .filter(last__gte=now - timedelta(seconds=COUNTS_WINDOW_SECONDS), last__lte=now - timedelta(seconds=COUNTS_QUIET_SECONDS))
    )
    sessions = [row["session_id"] for row in quiet]
    for session_id in sessions:
        publish_on_commit(session_id=session_id, event={"type": "frames", **session_frame_counts(session_id=session_id)})
    return len(sessions)


def observation_event(observation: Observation, name: str, smoothed: Smoothed | None) -> dict[str, Any]:
    """One observation as the dashboard receives it: raw values, and under ``smoothed`` what its card displays
    (:func:`classroom.cards.card_values`, which the history a reloaded page starts from uses too)."""
    probs = observation.probabilities
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
        "smoothed": card_values(observation=observation, smoothed=smoothed),
    }


def _observations(*, log: FrameLog, faces: Sequence[FaceToRead], mixes: Mapping[int, list[float]]) -> list[Observation]:
    """Each face scored against the student's own baseline, with the expression the teacher is shown; a still picture
    (:mod:`classroom.stillness`) is stored as such: band ``still``, engagement 0, no shown expression.

    Every per-student state used here knows the frame it last took in, so a retried frame changes none twice.
    """
    t = log.captured_at.timestamp()
    stills = stillness_for_frame([(face.participant, face.signature) for face in faces], at=t)
    # A still picture is one moment repeated: folded into the baseline and the shown expression each frame, that one
    # moment would weigh as much as all the student's real ones.
    moving = [face for face in faces if not stills[face.participant]]
    weights = {pid: expression_weight(p) for pid, p in mixes.items()}
    baselines = baselines_for_frame(
        [(face.participant, face.yaw, face.pitch, weights.get(face.participant), mixes.get(face.participant)) for face in moving], at=t
    )
    shown = shown_for_frame(
        [(pid, t, p, rest_mix(baselines[pid].mixes, ready=baselines[pid].ready)) for pid, p in mixes.items() if pid in baselines]
    )
    observations = []
    for face in faces:
        probabilities = mixes.get(face.participant)
        if stills[face.participant]:
            observations.append(
                Observation(
                    session_id=log.session_id,
                    participant_id=face.participant,
                    captured_at=log.captured_at,
                    probabilities=probabilities,  # the model's raw mix, as for any face; no expression is shown
                    expression="",
                    confidence=None,
                    engagement=0.0,
                    engagement_band=STILL,
                    box=list(face.box),
                    yaw=round(face.yaw, 2),
                    pitch=round(face.pitch, 2),
                    low_resolution=face.low_resolution,
                )
            )
            continue
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
    return observations


def frame_readings_record(
    *, log: FrameLog, faces: Sequence[FaceToRead], mixes: Mapping[int, Sequence[float]], detail: dict[str, Any], stages_ms: dict[str, float]
) -> None:
    """Record a read frame: ``mixes`` the model's expression mix per participant (none under ``attention``).

    Marks the frame's participants seen, stores observations and the class sample as the policy allows, runs the
    alerts, closes the frame with its timings (``stages_ms`` gains ``score`` and ``store``) and publishes after the
    commit. Idempotent: only the first call for a still queued frame stores anything.
    """
    started = time.perf_counter()
    rounded = {pid: [round(float(v), 5) for v in p] for pid, p in mixes.items()}
    ids = [face.participant for face in faces]
    names = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "display_name"))
    # Every per-student state the frame reads, in one round trip; its writes go out in one after the commit.
    prefetch = {kind: ids for kind in (STILL, BASELINE_KIND, SHOWN_KIND, SMOOTH_KIND, STUDENT_STATE_KIND)}
    with live_state.states_batch(prefetch={**prefetch, STREAM_STATE_KIND: [log.session_id]}):
        _frame_record(log=log, faces=faces, mixes=rounded, names=names, detail=detail, stages_ms=stages_ms, started=started)


def _frame_record(
    *,
    log: FrameLog,
    faces: Sequence[FaceToRead],
    mixes: Mapping[int, list[float]],
    names: dict[int, str],
    detail: dict[str, Any],
    stages_ms: dict[str, float],
    started: float,
) -> None:
    observations = _observations(log=log, faces=faces, mixes=mixes)
    moving = [o for o in observations if o.engagement_band != STILL]
    smoothed = smooth_frame([(o.participant_id, o.captured_at.timestamp(), o.engagement, o.probabilities) for o in moving])
    stages = {**stages_ms, "score": round(1000 * (time.perf_counter() - started), 2)}
    stored = False
    try:
        with transaction.atomic():
            # Claimed only while still queued: a redelivered or duplicated task that got here second stores nothing.
            claimed = FrameLog.objects.filter(pk=log.pk, status=FrameLog.Status.QUEUED).update(status=FrameLog.Status.PROCESSED)
            if not claimed:
                return
            started = time.perf_counter()
            # Seen in this frame: written here, in the frame's one transaction (never earlier than a later frame said).
            seen = Q(last_seen_at__lt=log.captured_at) | Q(last_seen_at=None)
            Participant.objects.filter(seen, pk__in=list(names)).update(last_seen_at=log.captured_at)
            sample = frame_results_store(session=log.session, captured_at=log.captured_at, observations=observations)
            others = Participant.objects.filter(session_id=log.session_id).exclude(pk__in=set(names))
            absent = list(others.exclude(student__opted_out=True))  # opted out: never absent, never alerted on
            bands = {o.participant_id: STILL for o in observations if o.engagement_band == STILL}
            bands.update({pid: engagement_band(value.engagement) for pid, value in smoothed.items()})
            alerts_after_frame(session=log.session, captured_at=log.captured_at, bands=bands, absent=[(p, p.last_seen_at) for p in absent])
            stages["store"] = round(1000 * (time.perf_counter() - started), 2)
            log.status = FrameLog.Status.PROCESSED
            log.processed_at = timezone.now()
            log.faces_found = len(faces)
            log.latency_ms = round((log.processed_at - log.received_at).total_seconds() * 1000, 1)
            log.detail = {**detail, "stages_ms": stages}
            log.save(update_fields=["processed_at", "faces_found", "latency_ms", "detail"])
            event = {
                "type": "observations",
                "session": log.session_id,
                "captured_at": log.captured_at.isoformat(),
                "frame_id": log.frame_id,
                "latency_ms": log.latency_ms,
                "observations": [
                    observation_event(o, names.get(o.participant_id, ""), smoothed.get(o.participant_id)) for o in observations
                ],
                "class": class_figures(sample=sample),
                "absent": [{"participant": p.pk, "name": p.display_name} for p in absent],
                "skipped": len(detail.get("skipped", [])),
            }
            publish_built_on_commit(
                session_id=log.session_id,
                # This second of the class series as the history computes it (other frames of the second included).
                build=lambda: {**event, "series_point": session_series_point(session_id=log.session_id, captured_at=log.captured_at)},
                then=lambda: {"type": "frames", **session_frame_counts(session_id=log.session_id)},
            )
            attendance_after_frame(session=log.session, present=set(names), absent={p.pk for p in absent})
        stored = True
    finally:
        # Stored, or a duplicate or failure that stored nothing: it is no longer in flight, and its time tells the door.
        took = (timezone.now() - log.received_at).total_seconds() * 1000
        frame_finished(frame_log_id=log.pk, arrived_at=log.received_at.timestamp(), took_ms=took, stored=stored)
