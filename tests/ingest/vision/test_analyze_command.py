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

from classroom.demo_media import registry_faces
from classroom.models import EXPRESSIONS
from inference.predictor import ModelError
from ingest.management.commands import analyze
from ingest.vision.gallery import compose_gallery
from ingest.vision.label_styles import paint_labels


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
