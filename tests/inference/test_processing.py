"""The inference stage stores and sends the shown expression (classroom.expressions), the raw mix beside it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.db import OperationalError
from django.utils import timezone

from classroom import frames, live_state
from classroom.models import EXPRESSIONS, FrameLog, Observation, Participant
from inference import processing
from tests.factories import live_session

pytestmark = pytest.mark.django_db

SAD_AT_REST = [0.02, 0.01, 0.05, 0.02, 0.6, 0.0, 0.3]  # a calm face that the model reads as mostly sad
SMILE = [0.0, 0.0, 0.0, 0.95, 0.0, 0.02, 0.03]


class Scripted:
    """Stands in for the CNN: the next mix of a script for every face."""

    def __init__(self, script: list[list[float]]) -> None:
        self.script = iter(script)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        return np.asarray([next(self.script) for _ in crops], dtype=np.float32)


def test_a_calm_face_read_as_sad_is_stored_neutral_and_a_smile_happy(monkeypatch: pytest.MonkeyPatch) -> None:
    session, _ = live_session()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    script = [SAD_AT_REST] * 8 + [SMILE, SAD_AT_REST]
    predictor = Scripted(script)
    monkeypatch.setattr(processing, "get_predictor", lambda: predictor)
    crop = base64.b64encode(np.zeros((48, 48), np.uint8).tobytes()).decode()
    start = timezone.now() - timedelta(seconds=len(script))
    for k in range(len(script)):
        at = start + timedelta(seconds=k)
        log = FrameLog.objects.create(session=session, frame_id=f"f{k}", captured_at=at, received_at=at)
        face = {"participant": ada.pk, "box": [0, 0, 48, 48], "yaw": 0.0, "pitch": 0.0, "low_resolution": False, "crop": crop}
        processing.frame_infer(frame_log_id=log.pk, faces=[face], detail={})

    stored = list(Observation.objects.order_by("captured_at"))
    assert [o.expression for o in stored] == ["neutral"] * 8 + ["happy", "neutral"]
    assert stored[8].confidence == pytest.approx(0.95, abs=1e-3)
    # The model's own output is kept as it was: mostly sad, then the smile.
    assert [EXPRESSIONS[int(np.argmax(o.probabilities))] for o in stored] == ["sad"] * 8 + ["happy", "sad"]


def test_a_retried_frame_counts_once_in_every_students_state(monkeypatch: pytest.MonkeyPatch) -> None:
    session, _ = live_session()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    monkeypatch.setattr(processing, "get_predictor", lambda: Scripted([SAD_AT_REST] * 3))
    real_store = frames.frame_results_store
    failures = iter([OperationalError("database is locked")])

    def store_or_fail(**kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_store(**kwargs)

    monkeypatch.setattr(frames, "frame_results_store", store_or_fail)
    crop = base64.b64encode(np.zeros((48, 48), np.uint8).tobytes()).decode()
    at = timezone.now() - timedelta(seconds=5)
    log = FrameLog.objects.create(session=session, frame_id="f0", captured_at=at, received_at=at)
    face = {"participant": ada.pk, "box": [0, 0, 48, 48], "yaw": 3.0, "pitch": 1.0, "low_resolution": False, "crop": crop}
    with pytest.raises(OperationalError):
        processing.frame_infer(frame_log_id=log.pk, faces=[face], detail={})  # the first attempt: the database fails
    processing.frame_infer(frame_log_id=log.pk, faces=[face], detail={})  # Celery's retry

    assert Observation.objects.count() == 1
    [baseline] = live_state.states_load(kind="baseline", ids=[ada.pk])
    assert baseline is not None and json.loads(baseline)["yaws"] == [3.0]  # folded in once, not twice
    [smoothed] = live_state.states_load(kind="smooth", ids=[ada.pk])
    assert smoothed is not None and json.loads(smoothed)["t"] == at.timestamp()


def test_a_malformed_hand_off_closes_the_frame_with_its_reason() -> None:
    session, _ = live_session()
    at = timezone.now()
    log = FrameLog.objects.create(session=session, frame_id="bad", captured_at=at, received_at=at)
    processing.frame_infer(frame_log_id=log.pk, faces=[{"participant": 1, "box": [0, 0, 1]}], detail={})
    log.refresh_from_db()
    assert (log.status, log.detail["reason"]) == ("error", "malformed face from ingest: a face lacks yaw, pitch")
    assert not Observation.objects.exists()
