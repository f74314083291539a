"""Still pictures: the signature, the decision over frames, its Redis state, and what a still face does to a frame's records."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from classroom import events, live_state
from classroom.faces import FaceToRead
from classroom.frames import frame_readings_record
from classroom.models import ClassSample, FrameLog, Observation, Participant
from classroom.samples import class_figures
from classroom.selectors import session_history
from classroom.stillness import (
    SIGNATURE_SIZE,
    STILL,
    STILL_MAX_CHANGE,
    STILL_MIN_SECONDS,
    STILL_MIN_UNCHANGED,
    Stillness,
    face_signature,
    signature_change,
    signature_check,
    stillness_add,
    stillness_for_frame,
)
from tests.factories import live_session

RNG = np.random.default_rng(7)
FACE = RNG.integers(40, 215, size=(48, 48)).astype(np.uint8)


def noisy(crop: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``crop`` with a camera's noise of ``sigma`` gray levels."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, size=crop.shape)
    return np.clip(crop.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def fold(signatures: list[tuple[float, ...]], *, every: float = 1.0) -> Stillness:
    state = None
    for k, signature in enumerate(signatures):
        state = stillness_add(state, signature=signature, at=100.0 + k * every)
    assert state is not None
    return state


# ---- the signature ---------------------------------------------------------------------------------


def test_a_signature_is_sixteen_numbers_and_the_same_crop_gives_the_same_one() -> None:
    signature = face_signature(FACE)
    assert len(signature) == SIGNATURE_SIZE and all(math.isfinite(v) for v in signature)
    assert face_signature(FACE.copy()) == signature
    assert signature_change(signature, face_signature(FACE)) == 0.0


def test_the_change_between_signatures_measures_the_change_between_crops_in_gray_levels() -> None:
    # Random projections keep distances: noise of 4 gray levels reads as about 4 (16 numbers: within a factor of 2).
    changes = [signature_change(face_signature(FACE), face_signature(noisy(FACE, 4.0, seed))) for seed in range(20)]
    assert 2.0 < float(np.median(changes)) < 6.0
    assert min(changes) > STILL_MAX_CHANGE  # a camera's noise alone is never taken for a still picture


def test_a_crop_of_the_wrong_size_has_no_signature() -> None:
    with pytest.raises(ValueError, match="2304 pixels, got 100"):
        face_signature(np.zeros((10, 10), np.uint8))


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("0.5,1", "must be a list of 16 numbers, got str"),
        ({"a": 1}, "must be a list of 16 numbers, got dict"),
        ([0.0] * 15, "must have 16 numbers, got 15"),
        ([0.0] * 17, "must have 16 numbers, got 17"),
        ([0.0] * 15 + [math.nan], "finite numbers only"),
        ([0.0] * 15 + [math.inf], "finite numbers only"),
        ([0.0] * 15 + ["1"], "finite numbers only"),
        ([0.0] * 15 + [True], "finite numbers only"),
    ],
)
def test_a_malformed_signature_is_refused_with_what_is_wrong(signature: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        signature_check(signature)
    payload = {"participant": 1, "box": [0, 0, 48, 48], "yaw": 0.0, "pitch": 0.0, "signature": signature}
    with pytest.raises(ValueError, match=message):
        FaceToRead.from_payload(payload)


def test_the_signature_crosses_the_queue_unchanged() -> None:
    face = FaceToRead(participant=3, box=(1.0, 2.0, 48.0, 48.0), yaw=0.0, pitch=0.0, signature=face_signature(FACE))
    assert FaceToRead.from_payload(json.loads(json.dumps(face.to_payload()))) == face
    assert FaceToRead.from_payload({"participant": 3, "box": [1, 2, 48, 48], "yaw": 0, "pitch": 0}).signature is None


# ---- the decision ----------------------------------------------------------------------------------


def test_a_picture_that_does_not_change_is_still_on_its_fourth_frame_a_second_apart() -> None:
    signature = face_signature(FACE)
    seen = [fold([signature] * n).still for n in range(1, 8)]
    assert STILL_MIN_UNCHANGED == 3 and STILL_MIN_SECONDS == 3.0
    assert seen == [False, False, False, True, True, True, True]


def test_a_moving_face_is_never_still() -> None:
    signatures = [face_signature(noisy(FACE, 3.0, seed)) for seed in range(30)]
    state = None
    for k, signature in enumerate(signatures):
        state = stillness_add(state, signature=signature, at=float(k))
        assert not state.still
    assert state is not None and state.unchanged == 0


def test_too_few_frames_or_too_short_a_time_is_not_still() -> None:
    signature = face_signature(FACE)
    assert not fold([signature]).still  # one frame: nothing to compare
    assert not fold([signature] * 3).still  # two frames in a row unchanged, 2 s
    # A fast uploader: ten unchanged frames, but within one second, say nothing yet (a blink's worth of time).
    assert not fold([signature] * 10, every=0.1).still
    assert fold([signature] * 40, every=0.1).still  # the same over 3.9 s


def test_the_first_frame_that_changes_ends_it() -> None:
    signature = face_signature(FACE)
    state = fold([signature] * 6)
    assert state.still
    moved = stillness_add(state, signature=face_signature(noisy(FACE, 3.0, 1)), at=state.at + 1)
    assert not moved.still and moved.unchanged == 0 and moved.since == moved.at


def test_a_retried_or_late_frame_changes_nothing() -> None:
    signature = face_signature(FACE)
    state = fold([signature] * 4)
    assert stillness_add(state, signature=signature, at=state.at) == state  # the same frame again: a retried task
    assert stillness_add(state, signature=face_signature(noisy(FACE, 3.0, 2)), at=state.at - 0.5) == state  # an older one


# ---- the state in Redis ------------------------------------------------------------------------------


def test_the_state_is_kept_per_participant_in_redis_and_a_retry_gets_the_same_answer() -> None:
    still, moving = face_signature(FACE), [face_signature(noisy(FACE, 3.0, seed)) for seed in range(6)]
    answers = [stillness_for_frame([(1, still), (2, moving[k]), (3, None)], at=float(k)) for k in range(6)]
    assert [a[1] for a in answers] == [False, False, False, True, True, True]
    assert all(not a[2] and not a[3] for a in answers)
    assert stillness_for_frame([(1, still), (2, moving[5]), (3, None)], at=5.0) == answers[5]  # a retried frame
    [raw] = live_state.states_load(kind=STILL, ids=[1])
    assert raw is not None and json.loads(raw)["unchanged"] == 5
    assert live_state.states_load(kind=STILL, ids=[3]) == [None]  # no signature: no state


def test_a_stored_state_this_version_cannot_read_starts_over() -> None:
    live_state.states_save(kind=STILL, states={9: json.dumps({"at": 1.0, "signature": [0.0] * 8})}, ttl_seconds=60)
    assert stillness_for_frame([(9, face_signature(FACE))], at=2.0) == {9: False}


def test_a_malformed_signature_fails_loudly_rather_than_deciding() -> None:
    with pytest.raises(ValueError, match="must have 16 numbers"):
        stillness_for_frame([(1, [0.0] * 4)], at=1.0)


# ---- a frame with a still picture in it ----------------------------------------------------------------

LOOKS_HAPPY = [0.0, 0.0, 0.0, 0.96, 0.0, 0.02, 0.02]


@pytest.mark.django_db
def test_a_still_picture_is_recorded_as_such_and_left_out_of_the_class_figures(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    session, _ = live_session()
    photo = Participant.objects.create(session=session, key="Alex", display_name="Alex Astronaut")
    student = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(events, "_send", lambda session_id, batch: sent.extend(batch))
    start = timezone.now() - timedelta(seconds=10)
    for k in range(6):
        at = start + timedelta(seconds=k)
        log = FrameLog.objects.create(session=session, frame_id=f"f{k}", captured_at=at, received_at=at)
        faces = [
            FaceToRead(participant=photo.pk, box=(0, 0, 48, 48), yaw=0.0, pitch=0.0, signature=face_signature(FACE)),
            FaceToRead(participant=student.pk, box=(60, 0, 48, 48), yaw=0.0, pitch=0.0, signature=face_signature(noisy(FACE, 3.0, k))),
        ]
        with django_capture_on_commit_callbacks(execute=True):
            frame_readings_record(log=log, faces=faces, mixes={photo.pk: LOOKS_HAPPY, student.pk: LOOKS_HAPPY}, detail={}, stages_ms={})

    stored = {o.captured_at: o for o in Observation.objects.filter(participant=photo)}
    bands = [stored[start + timedelta(seconds=k)].engagement_band for k in range(6)]
    assert bands == ["engaged", "engaged", "engaged", STILL, STILL, STILL]  # on its fourth frame
    last = stored[start + timedelta(seconds=5)]
    assert (last.engagement, last.expression, last.confidence) == (0.0, "", None)
    assert last.probabilities is not None  # the model's raw mix is kept, as for every face

    sample = ClassSample.objects.order_by("-captured_at").first()
    assert sample is not None and (sample.present, sample.bands[STILL]) == (1, 1)
    figures = class_figures(sample=sample)
    assert figures["present"] == 1 and figures["still"] == 1
    assert figures["expressions"] is not None and sum(figures["expressions"].values()) == 1  # the student's face only

    observed = [event for event in sent if event["type"] == "observations"][-1]
    photo_event = next(o for o in observed["observations"] if o["participant"] == photo.pk)
    assert photo_event["band"] == STILL and photo_event["smoothed"] == {
        "engagement": None,
        "band": STILL,
        "expression": None,
        "probabilities": None,
    }
    # A reload shows what the live page showed: the history's cards come from the same code.
    history = session_history(session=session, since_seconds=600)
    cards = {person["participant"]: person["smoothed"] for person in history["participants"]}
    live = {o["participant"]: o["smoothed"] for o in observed["observations"]}
    assert cards == live
    assert history["class"] == observed["class"]
    assert history["series"][-1] == observed["series_point"]
