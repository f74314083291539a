"""Both worker stages on real frames: detection, participants, one batched CNN call, events after commit."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import numpy as np
import pytest
from django.utils import timezone

from classroom import events, live_state
from classroom.models import EXPRESSIONS, ClassSample, ClassSession, FrameLog, Observation, Participant, Student
from inference.low_resolution import temper
from inference.predictor import get_predictor
from inference.processing import frame_infer
from inference.tasks import infer_frame
from ingest import buffer, processing
from ingest.processing import frame_ingest
from ingest.services import frame_accept
from ingest.validation import validate_upload
from ingest.vision.gallery import compose_gallery
from project.celery import app as celery_app
from tests.factories import astronaut_bgr, encode, live_session, teacher

pytestmark = pytest.mark.django_db(transaction=True)

FACE = cv2.resize(astronaut_bgr(), (320, 320))


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    """The inference task runs inline, as the worker would run it next."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Events as they leave for the channel layer (only ever after commit)."""
    captured: list[dict[str, Any]] = []
    monkeypatch.setattr(events, "_send", lambda session_id, sent: captured.extend(sent))
    return captured


def accept(session: ClassSession, image: bytes, tiles: list[dict[str, Any]] | None = None) -> FrameLog:
    upload = validate_upload(
        data=image, captured_at=datetime.now(UTC).isoformat(), frame_id=None, tiles=json.dumps(tiles) if tiles else None
    )
    log, created = frame_accept(session=session, upload=upload)
    assert created
    return log


def test_a_real_face_becomes_an_observation_and_an_event(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    log = accept(session, encode(FACE))
    frame_ingest(frame_log_id=log.pk, tiles=[])
    log.refresh_from_db()
    assert (log.status, log.faces_found) == ("processed", 1)
    assert log.latency_ms is not None and log.latency_ms > 0
    observation = Observation.objects.get()
    assert observation.participant.display_name == "Participant 1"
    assert observation.expression in EXPRESSIONS and len(observation.probabilities) == 7
    assert sum(observation.probabilities) == pytest.approx(1.0, abs=1e-3)
    assert 0.0 <= observation.engagement <= 1.0
    assert live_state.client().get(f"ingest:frame:{log.pk}") is None, "frame bytes must not outlive processing"
    assert buffer.backlog_size(session_id=session.pk) == 0
    kinds = [event["type"] for event in sent]
    assert kinds == ["observations", "frames", "attendance"]  # attendance: who is here changed (the first face came)
    assert sent[0]["observations"][0]["participant"] == observation.participant_id
    assert sent[0]["observations"][0]["smoothed"]["band"] in {"engaged", "partly", "not_engaged"}
    recent = {"received_last_minute": 1, "processed_last_minute": 1, "dropped_last_minute": 0}
    assert sent[1] == {"type": "frames", "received": 1, "processed": 1, "dropped": 0, "refused": 0, "names_from_picture": 1, **recent}


def test_processing_twice_stores_once(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    log = accept(session, encode(FACE))
    frame_ingest(frame_log_id=log.pk, tiles=[])
    frame_ingest(frame_log_id=log.pk, tiles=[])
    assert Observation.objects.count() == 1


def test_client_tiles_name_participants_and_opted_out_students_leave_no_trace(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    Student.objects.create(course=session.course, name="Olly", opted_out=True)
    ada = Student.objects.create(course=session.course, name="Ada")
    frame, tiles = compose_gallery([FACE, FACE], names=["Ada", "Olly"])
    tile_dicts = [asdict(tile) for tile in tiles]
    log = accept(session, encode(frame), tile_dicts)
    frame_ingest(frame_log_id=log.pk, tiles=tile_dicts)
    log.refresh_from_db()
    assert log.status == "processed"
    assert list(Participant.objects.values_list("key", "display_name", "student")) == [("Ada", "Ada", ada.pk)]
    assert Observation.objects.count() == 1
    assert log.detail["opted_out"] == 1
    assert "Olly" not in str(sent)


def test_a_student_opted_out_under_another_tile_name_is_skipped_too(sent: list[dict[str, Any]]) -> None:
    from classroom.roster import student_set_opt_out

    session, _ = live_session()
    ada = Student.objects.create(course=session.course, name="Ada Lovelace")
    frame, tiles = compose_gallery([FACE], names=["ada's laptop"])
    tile_dicts = [asdict(tile) for tile in tiles]
    first = accept(session, encode(frame), tile_dicts)
    frame_ingest(frame_log_id=first.pk, tiles=tile_dicts)
    Participant.objects.filter(key="ada's laptop").update(student=ada)  # the teacher linked the tile to her
    student_set_opt_out(student=ada, opted_out=True)
    assert Observation.objects.count() == 0  # what was stored about her went
    sent.clear()
    second = accept(session, encode(frame), tile_dicts)
    frame_ingest(frame_log_id=second.pk, tiles=tile_dicts)
    second.refresh_from_db()
    assert second.detail["opted_out"] == 1 and Observation.objects.count() == 0
    assert "laptop" not in str(sent)


def test_an_empty_tile_is_reported(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    blank = FACE * 0
    frame, tiles = compose_gallery([FACE, blank], names=["Ada", "Cam off"])
    tile_dicts = [asdict(tile) for tile in tiles]
    log = accept(session, encode(frame), tile_dicts)
    frame_ingest(frame_log_id=log.pk, tiles=tile_dicts)
    log.refresh_from_db()
    assert log.detail["empty_tiles"] == ["Cam off"]


def test_expired_frame_is_counted_not_lost(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    log = accept(session, encode(FACE))
    live_state.client().delete(f"ingest:frame:{log.pk}")
    frame_ingest(frame_log_id=log.pk, tiles=[])
    log.refresh_from_db()
    assert (log.status, log.detail) == ("expired", {"reason": "frame expired in the buffer before processing"})
    recent = {"received_last_minute": 1, "processed_last_minute": 0, "dropped_last_minute": 1}
    assert sent == [{"type": "frames", "received": 1, "processed": 0, "dropped": 1, "refused": 0, "names_from_picture": 1, **recent}]


def test_a_frame_that_waited_too_long_is_dropped_before_any_cpu_is_spent(
    sent: list[dict[str, Any]], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INGEST_MAX_WAIT_SECONDS = 2.0
    session, _ = live_session()
    log = accept(session, encode(FACE))
    FrameLog.objects.filter(pk=log.pk).update(received_at=timezone.now() - timedelta(seconds=3))

    def no_cpu(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a stale frame was decoded or read")

    monkeypatch.setattr(processing, "decode_image", no_cpu)
    monkeypatch.setattr(processing, "get_pipeline", no_cpu)
    frame_ingest(frame_log_id=log.pk, tiles=[])
    log.refresh_from_db()
    assert log.status == "dropped" and log.detail["reason"].startswith("stale: waited 3.")
    assert live_state.client().get(f"ingest:frame:{log.pk}") is None  # its bytes are gone
    assert live_state.client().zcard("ingest:inflight") == 0  # and it no longer slows the door
    assert Observation.objects.count() == 0 and sent[-1]["dropped"] == 1


def test_bad_bytes_do_not_crash_the_worker(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    log = accept(session, encode(FACE))
    live_state.client().set(f"ingest:frame:{log.pk}", b"\xff\xd8\xff not really a jpeg")
    frame_ingest(frame_log_id=log.pk, tiles=[])
    log.refresh_from_db()
    assert (log.status, log.detail) == ("error", {"reason": "image could not be decoded"})
    assert Observation.objects.count() == 0


def test_attention_policy_runs_no_expression_inference(sent: list[dict[str, Any]], settings: Any) -> None:
    settings.PRIVACY_POLICY = "attention"
    session, _ = live_session()
    log = accept(session, encode(FACE))
    frame_ingest(frame_log_id=log.pk, tiles=[])
    observation = Observation.objects.get()
    assert (observation.probabilities, observation.expression, observation.confidence) == (None, "", None)
    assert 0.0 <= observation.engagement <= 1.0


def test_aggregate_policy_stores_no_per_student_row(sent: list[dict[str, Any]]) -> None:
    session, _ = live_session()
    session.course.privacy_policy = "aggregate"
    session.course.save()
    frame, tiles = compose_gallery([FACE, FACE], names=["Ada", "Bo"])
    tile_dicts = [asdict(tile) for tile in tiles]
    log = accept(session, encode(frame), tile_dicts)
    frame_ingest(frame_log_id=log.pk, tiles=tile_dicts)
    assert Observation.objects.count() == 0
    sample = ClassSample.objects.get()
    assert (sample.present, sum(sample.bands.values()), sum(sample.expressions.values())) == (2, 2, 2)
    assert sample.probability_sums is not None and sum(sample.probability_sums) == pytest.approx(2.0, abs=1e-3)
    assert sorted(Participant.objects.values_list("display_name", flat=True)) == ["Ada", "Bo"]  # who attended, not how


def ingested_face(monkeypatch: pytest.MonkeyPatch) -> tuple[ClassSession, FrameLog, list[dict[str, Any]]]:
    """A live session, the log of a one-face frame that went through ingest, and the faces it handed to inference."""
    session, _ = live_session()
    log = accept(session, encode(FACE))
    captured: list[list[dict[str, Any]]] = []
    monkeypatch.setattr(infer_frame, "delay", lambda frame_log_id, faces, detail: captured.append(faces))
    frame_ingest(frame_log_id=log.pk, tiles=[])
    [faces] = captured
    return session, log, faces


@pytest.mark.parametrize("policy", ["full", "attention"])
def test_each_face_is_handed_on_with_its_stillness_signature_under_every_policy(
    policy: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRIVACY_POLICY = policy
    _, _, faces = ingested_face(monkeypatch)
    [face] = faces
    assert (face["crop"] is None) == (policy == "attention")  # no expression inference, no crop: the signature still goes
    assert len(face["signature"]) == 16 and all(isinstance(v, float) for v in face["signature"])


def test_a_duplicate_delivery_racing_the_first_stores_nothing(sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two deliveries of one inference task overlap: the one that commits second must not store the frame again."""
    _, log, faces = ingested_face(monkeypatch)
    predictor = get_predictor()
    real_predict = predictor.predict

    def predict_while_the_duplicate_finishes(crops: Any) -> Any:
        monkeypatch.setattr(predictor, "predict", real_predict)
        frame_infer(frame_log_id=log.pk, faces=faces, detail={})  # the duplicate, delivered meanwhile, wins
        return real_predict(crops)

    monkeypatch.setattr(predictor, "predict", predict_while_the_duplicate_finishes)
    frame_infer(frame_log_id=log.pk, faces=faces, detail={})
    assert (Observation.objects.count(), ClassSample.objects.count()) == (1, 1)
    assert [event["type"] for event in sent].count("observations") == 1


def test_a_frame_is_dropped_and_counted_when_inference_is_behind(sent: list[dict[str, Any]], settings: Any) -> None:
    settings.INFERENCE_MAX_QUEUED = 1
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    live_state.client().rpush(f"{prefix}inference", "a frame of another session")
    session, _ = live_session()
    log = accept(session, encode(FACE))
    frame_ingest(frame_log_id=log.pk, tiles=[])
    log.refresh_from_db()
    assert (log.status, log.detail) == ("dropped", {"reason": "inference is behind: its queue is full"})
    assert sent[-1]["dropped"] == 1
    assert Observation.objects.count() == 0


def test_the_tracker_is_locked_while_a_frame_is_assigned(sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ingest processes on one session take turns on its tracker: read, assign and save happen under one lock."""
    session, _ = live_session()
    log = accept(session, encode(FACE))
    held: list[bool] = []
    real_assign = processing.assign

    def assign_and_look(*args: Any, **kwargs: Any) -> Any:
        other = live_state.client().lock(f"ingest:tracker-lock:{session.pk}", timeout=5, blocking_timeout=0.1)
        held.append(not other.acquire())  # another process cannot take it now
        return real_assign(*args, **kwargs)

    monkeypatch.setattr(processing, "assign", assign_and_look)
    frame_ingest(frame_log_id=log.pk, tiles=[])
    assert held == [True]
    with live_state.tracker_lock(session_id=session.pk):  # and it was released afterwards
        pass


# 30 measured: 2, 9 or 25 faces alike; 4 of them the attendance event a frame that changes who is here sends.
MAX_QUERIES_PER_FRAME = 32


def queries_for_frame(faces: int, assert_max_queries: Callable[[int], Any]) -> int:
    """Queries made by both stages for one frame of ``faces`` named tiles (each frame held to
    :data:`MAX_QUERIES_PER_FRAME` by ``django_assert_max_num_queries``)."""
    session, _ = live_session(owner=teacher(f"teacher-{faces}"), course_name=f"Course of {faces}")
    frame, tiles = compose_gallery([FACE] * faces, names=[f"Student {k}" for k in range(faces)])
    tile_dicts = [asdict(tile) for tile in tiles]
    counts = []
    for _ in range(2):  # the first frame creates the participants; the second is the steady state
        log = accept(session, encode(frame), tile_dicts)
        with assert_max_queries(MAX_QUERIES_PER_FRAME) as queries:
            frame_ingest(frame_log_id=log.pk, tiles=tile_dicts)
        counts.append(len(queries))
    assert Observation.objects.filter(session=session).count() == 2 * faces  # every face was stored, twice
    return max(counts)


def test_a_frame_costs_the_same_queries_whatever_the_number_of_faces(
    sent: list[dict[str, Any]], django_assert_max_num_queries: Callable[[int], Any]
) -> None:
    counts = {faces: queries_for_frame(faces, django_assert_max_num_queries) for faces in (2, 9, 25)}
    assert counts[2] == counts[9] == counts[25], counts


def test_a_small_face_is_stored_flagged_with_its_confidence_tempered(monkeypatch: pytest.MonkeyPatch) -> None:
    session, log, faces = ingested_face(monkeypatch)
    assert [face["low_resolution"] for face in faces] == [False]  # the astronaut's face is large
    small = [{**faces[0], "low_resolution": True, "box": [10.0, 10.0, 12.0, 12.0]}]
    frame_infer(frame_log_id=log.pk, faces=small, detail={})
    observation = Observation.objects.get(session=session)
    assert observation.low_resolution is True
    raw = get_predictor().predict(np.frombuffer(base64.b64decode(faces[0]["crop"]), np.uint8).reshape(1, 48, 48))[0]
    # The stored mix is the tempered one (what is shown is decided from it: classroom.expressions).
    assert max(observation.probabilities) == pytest.approx(float(temper(raw, box_px=12).max()), abs=1e-4)
    assert max(observation.probabilities) < float(raw.max())


def test_a_camera_that_shows_no_face_is_an_absent_participant_and_raises_the_absence_alert(sent: list[dict[str, Any]]) -> None:
    from datetime import timedelta

    from classroom.models import Alert

    session, _ = live_session()
    session.course.alert_absent_seconds = 10
    session.course.save()
    student = Student.objects.create(course=session.course, name="Camille Camera")
    wall = np.full((480, 640, 3), 180, np.uint8)  # the camera page pointed at a wall: its tile names its student
    tiles = [{"name": "Camille Camera", "x": 0, "y": 0, "w": 640, "h": 480}]
    start = datetime.now(UTC) - timedelta(seconds=12)
    for second in (0, 6, 12):
        upload = validate_upload(
            data=encode(wall), captured_at=(start + timedelta(seconds=second)).isoformat(), frame_id=None, tiles=json.dumps(tiles)
        )
        log, _ = frame_accept(session=session, upload=upload)
        frame_ingest(frame_log_id=log.pk, tiles=tiles)
        log.refresh_from_db()
        assert (log.status, log.faces_found, log.detail["empty_tiles"]) == ("processed", 0, ["Camille Camera"])
    camille = Participant.objects.get()
    assert (camille.display_name, camille.student_id, camille.last_seen_at) == ("Camille Camera", student.pk, None)
    observations = [event for event in sent if event["type"] == "observations"]
    assert all(event["absent"] == [{"participant": camille.pk, "name": "Camille Camera"}] for event in observations)
    attendance = [event["attendance"] for event in sent if event["type"] == "attendance"]
    assert attendance and attendance[-1]["counts"]["absent"] == 1 and attendance[-1]["students"][0]["status"] == "absent"
    alert = Alert.objects.get()  # the absence alert every student gets, after the course's 10 s of frames without them
    assert (alert.kind, alert.participant_id) == ("absent", camille.pk)
