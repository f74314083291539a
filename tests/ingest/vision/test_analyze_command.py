"""``manage.py analyze``: one JSON object per processed frame, no database, clear errors."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from classroom.models import EXPRESSIONS
from inference.low_resolution import temper
from inference.predictor import ModelError
from ingest.management.commands import analyze
from ingest.vision.detections import Detections
from ingest.vision.gallery import compose_gallery
from ingest.vision.label_styles import paint_labels
from project.demo_media import carphone_video, pyfeat_media, registry_faces
from tests.conftest import require_shared


class HappyPredictor:
    """Stands in for the trained CNN: every face mostly happy."""

    path = Path("stub.keras")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        assert faces.dtype == np.uint8 and faces.shape[1:] == (48, 48)
        probabilities = np.full((len(faces), 7), 0.05, dtype=np.float32)
        probabilities[:, EXPRESSIONS.index("happy")] = 0.7
        return probabilities


@pytest.fixture
def stub_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze, "get_predictor", HappyPredictor)


@pytest.fixture
def astronaut_file(tmp_path: Path, astronaut: np.ndarray) -> Path:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), astronaut)
    return path


@pytest.fixture
def astronaut_video(tmp_path: Path, astronaut: np.ndarray) -> Path:
    path = tmp_path / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (512, 512))
    for k in range(6):
        writer.write(np.roll(astronaut, 4 * k, axis=1))
    writer.release()
    return path


def run(*args: str) -> list[dict[str, object]]:
    out = StringIO()
    call_command("analyze", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.usefixtures("stub_model")
def test_image_gives_one_json_line(astronaut_file: Path) -> None:
    [record] = run(str(astronaut_file), "--json")
    assert record["source"] == str(astronaut_file) and record["frame"] == 0 and record["skipped"] == []
    [face] = record["faces"]  # type: ignore[misc]
    assert set(face) == {
        "box",
        "score",
        "expression",
        "confidence",
        "raw_expression",
        "probs",
        "engagement",
        "band",
        "participant",
        "tile",
        "name",
        "yaw",
        "pitch",
    }
    # One picture: the student's resting face is unknown, and a 70% smile is not clear enough to show before it is.
    assert (face["expression"], face["raw_expression"]) == ("neutral", "happy") and list(face["probs"]) == list(EXPRESSIONS)
    assert face["participant"] == "track-1" and face["tile"] is None and face["name"] is None
    assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
    assert 0 <= face["engagement"] <= 1 and abs(face["yaw"]) < 15
    assert face["band"] == "engaged"  # a frontal, smiling face


NAMED = ("Chen Wei", "Ana Lima", "Jonas Berg", "Renée Dubois")


@pytest.fixture
def named_gallery(tmp_path: Path) -> Path:
    """A 2×2 Zoom-style gallery of registry faces, each tile's name painted on it as Zoom paints it."""
    faces = registry_faces()
    frame, tiles = compose_gallery(faces[:4], names=[""] * 4, cols=2, tile_size=(640, 360), gap=0, frame_size=(1280, 720))
    painted, _ = paint_labels(frame, tiles=tiles, names=NAMED, style="zoom", size_at_720p=16)
    path = tmp_path / "meeting.png"
    cv2.imwrite(str(path), painted)
    return path


@pytest.mark.usefixtures("stub_model")
def test_a_meeting_picture_gives_each_face_the_name_painted_on_its_tile(named_gallery: Path) -> None:
    [record] = run(str(named_gallery), "--json")
    faces = record["faces"]
    assert isinstance(faces, list)
    assert sorted(face["name"] for face in faces) == sorted(NAMED)
    out = StringIO()
    call_command("analyze", str(named_gallery), stdout=out)
    assert all(name in out.getvalue() for name in NAMED)  # the summary line names them too


@pytest.mark.usefixtures("stub_model")
def test_video_every_nth_frame_keeps_the_participant(astronaut_video: Path) -> None:
    records = run(str(astronaut_video), "--json", "--every", "2", "--tiles", "none")
    assert [r["frame"] for r in records] == [0, 2, 4]
    assert {face["participant"] for r in records for face in r["faces"]} == {"track-1"}  # type: ignore[attr-defined]


@pytest.mark.usefixtures("stub_model")
def test_unreadable_inputs_are_command_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    with pytest.raises(CommandError, match=re.escape("junk.jpg: not a readable image or video")):
        run(str(junk), "--json")
    with pytest.raises(CommandError, match=re.escape("missing.png: no such file")):
        run(str(tmp_path / "missing.png"))
    with pytest.raises(CommandError, match="--every must be at least 1"):
        run(str(junk), "--every", "0")


def test_a_missing_model_is_a_command_error(monkeypatch: pytest.MonkeyPatch, astronaut_file: Path) -> None:
    def missing() -> None:
        raise ModelError("model file /nowhere.keras does not exist")

    monkeypatch.setattr(analyze, "get_predictor", missing)
    with pytest.raises(CommandError, match=re.escape("no expression model: model file /nowhere.keras does not exist")):
        run(str(astronaut_file), "--json")


def _one_face(side: float, *, low_resolution: bool) -> Detections:
    return Detections(
        boxes=np.array([[10, 10, side, side]], np.float32),
        scores=np.array([0.9], np.float32),
        keypoints=np.zeros((1, 6, 2), np.float32),
        tile=["Avery"],
        tile_boxes=np.zeros((1, 4), np.float32),
        participant=["Avery"],
        crops=np.zeros((1, 48, 48), np.uint8),
        low_resolution=np.array([low_resolution]),
    )


@pytest.mark.parametrize(("side", "low_resolution"), [(12.0, True), (16.0, True), (64.0, False)])
def test_a_small_face_is_read_as_the_live_path_reads_it_tempered_for_its_size(side: float, low_resolution: bool) -> None:
    mix = np.array([[0.05, 0.01, 0.04, 0.7, 0.1, 0.05, 0.05]], np.float32)

    face = analyze.frame_record("clip", 0, _one_face(side, low_resolution=low_resolution), mix)["faces"][0]

    expected = temper(mix[0], box_px=side) if low_resolution else mix[0]
    assert [face["probs"][name] for name in EXPRESSIONS] == pytest.approx([round(float(p), 4) for p in expected], abs=1e-4)
    assert (face["probs"]["happy"] < 0.7) == low_resolution  # tempered: less sure of a face read from few pixels


@pytest.fixture
def astronaut_photo_video(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """Six seconds of a photo played as a camera (one frame a second): the same picture throughout (lossless: the
    MJPG encoder's rate control alters its first few frames)."""
    path = tmp_path / "photo.mkv"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), 1.0, (512, 512))
    for _ in range(6):
        writer.write(astronaut)
    writer.release()
    return path


@pytest.mark.usefixtures("stub_model")
def test_a_photo_played_as_a_camera_is_printed_as_the_live_page_shows_it_a_still_picture(astronaut_photo_video: Path) -> None:
    records = run(str(astronaut_photo_video), "--json", "--tiles", "none")
    faces = [record["faces"][0] for record in records]  # type: ignore[index]
    # As on the live page (classroom.stillness): unchanged in three frames in a row, over 3 s, it is a still picture.
    assert [face["band"] for face in faces] == ["engaged", "engaged", "engaged", "still", "still", "still"]
    assert all(face["engagement"] is None and face["expression"] is None and face["confidence"] is None for face in faces[3:])
    assert all(face["raw_expression"] == "happy" for face in faces)  # the model's own reading is still printed
    out = StringIO()
    call_command("analyze", str(astronaut_photo_video), "--tiles", "none", stdout=out)
    assert out.getvalue().splitlines()[-1].endswith("track-1 still picture")


@pytest.mark.usefixtures("stub_model")
@pytest.mark.parametrize("clip", [f"talking_head_{k}.mp4" for k in range(1, 6)])
def test_a_real_talking_head_is_never_a_still_picture(clip: str) -> None:
    path = require_shared("video", clip)
    fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
    # The clips last about 5 s: five frames a second of them (and at 1 frame/s, as uploaded, they change more).
    records = run(str(path), "--json", "--tiles", "none", "--every", str(round(fps / 5)))
    bands = [face["band"] for record in records for face in record["faces"]]  # type: ignore[attr-defined]
    assert len(bands) >= 20 and "still" not in bands


@pytest.mark.usefixtures("stub_model")
@pytest.mark.parametrize("clip", ["carphone", "single_face.mp4", "WolfgangLanger_Pexels.mp4"])
def test_a_registry_clip_of_a_real_face_is_never_a_still_picture(clip: str) -> None:
    path = carphone_video() if clip == "carphone" else pyfeat_media()[clip]
    # Every frame: a fraction of a second apart, real faces still change from one to the next.
    bands = [face["band"] for record in run(str(path), "--json", "--tiles", "none") for face in record["faces"]]  # type: ignore[attr-defined]
    assert len(bands) >= 20 and "still" not in bands
