"""FramePipeline end to end: single faces, empty and texture frames, client tiles, and detection
recall/precision on galleries composed from the shared clips and FER faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ingest.vision.detections import Detections
from ingest.vision.gallery import compose_gallery
from ingest.vision.labels import PAGE_NAMED_CHECK_S
from ingest.vision.pipeline import FramePipeline
from ingest.vision.scenes import jpeg, score_tiles
from ingest.vision.tiles import Tile


def assert_complete(found: Detections) -> None:
    assert found.crops is not None and found.crops.shape == (len(found), 48, 48)
    assert found.yaw is not None and found.pitch is not None and np.isfinite(found.yaw).all()


@pytest.mark.parametrize("mode", ["auto", "none"])
def test_one_face_in_a_plain_picture(pipeline: FramePipeline, astronaut: np.ndarray, mode: str) -> None:
    found = pipeline.process(astronaut, tiles_mode=mode)  # type: ignore[arg-type]
    assert len(found) == 1 and found.tile == [None] and found.layout == [] and not found.client_tiles
    x, y, w, h = found.boxes[0]
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 200 and 80 < w < 140  # her face
    assert_complete(found)


def test_one_face_in_a_webcam_frame(pipeline: FramePipeline, webcam_frames: list[np.ndarray]) -> None:
    for frame in webcam_frames[::5]:
        found = pipeline.process(jpeg(cv2.resize(frame, (640, 480))))
        assert len(found) == 1 and not found.rejected


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((480, 640, 3), dtype=np.uint8),
        cv2.resize(np.random.default_rng(0).integers(0, 255, (36, 48, 3), dtype=np.uint8), (1280, 960), interpolation=cv2.INTER_CUBIC),
    ],
    ids=["black", "smooth-noise"],
)
def test_no_faces_no_false_alarms(pipeline: FramePipeline, image: np.ndarray) -> None:
    found = pipeline.process(image)
    assert len(found) == 0 and found.rejected == []


def test_client_tiles_name_faces_and_empty_tiles_stay_empty(pipeline: FramePipeline, astronaut: np.ndarray) -> None:
    frame, tiles = compose_gallery([astronaut, np.full_like(astronaut, 90)], names=["Ana", "Ben"], tile_size=(320, 180))
    found = pipeline.process(frame, tiles=tiles)
    assert found.client_tiles and found.layout == tiles and found.tile == ["Ana"]
    assert found.tile_boxes[0].tolist() == [tiles[0].x, tiles[0].y, tiles[0].w, tiles[0].h]
    assert_complete(found)


def test_a_label_is_checked_every_frame_only_on_tiles_the_page_did_not_name(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = FramePipeline()  # its own label memory
    frame, tiles = compose_gallery([astronaut, astronaut], names=["Ana", "Ben"], tile_size=(320, 180))
    unnamed = [Tile("", tile.x, tile.y, tile.w, tile.h) for tile in tiles[1:]]  # a canvas gallery's tile: named by its label
    asked: dict[str, float] = {}
    real = pipeline.labels.name_for

    def recording(*, stream: int, image: np.ndarray, tile: Tile, now: float, check_every: float = 0.0) -> str | None:
        asked[tile.name] = check_every
        return real(stream=stream, image=image, tile=tile, now=now, check_every=check_every)

    monkeypatch.setattr(pipeline.labels, "name_for", recording)
    found = pipeline.process(frame, tiles=[tiles[0], *unnamed], stream=1)
    assert len(found) == 2 and asked == {"Ana": PAGE_NAMED_CHECK_S, "": 0.0}
    asked.clear()
    found = pipeline.process(frame, stream=2)  # no client tiles: the grid found in the picture names its tiles "r0c1"
    assert len(found) == 2 and asked and set(asked.values()) == {0.0}


# (layout, sources, compose options, minimum recall); measured: 1.0 on every clip layout, 0.92–0.96 on FER faces.
LAYOUTS = [
    ("3x3", "clips", {"tile_size": (320, 180)}, 1.0),
    ("5x5", "clips", {"tile_size": (320, 180)}, 1.0),
    ("7x7-strips", "clips", {"tile_size": (256, 144), "name_strip": True}, 1.0),
    ("7x7-small", "clips", {"tile_size": (160, 90), "gap": 4}, 1.0),
    ("5x5-uneven-strips", "clips", {"tile_size": (256, 144), "uneven": True, "name_strip": True}, 1.0),
    ("speaker", "clips", {"tile_size": (200, 112), "speaker": True, "name_strip": True}, 1.0),
    ("5x5-fer", "fer", {"tile_size": (256, 144)}, 0.88),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "kind", "options", "min_recall"), LAYOUTS, ids=[layout[0] for layout in LAYOUTS])
@pytest.mark.parametrize("client", [False, True], ids=["grid-found", "client-tiles"])
def test_gallery_recall_and_precision(
    pipeline: FramePipeline,
    webcam_frames: list[np.ndarray],
    fer_faces: list[np.ndarray],
    name: str,
    kind: str,
    options: dict[str, object],
    min_recall: float,
    client: bool,
) -> None:
    count = {"3x3": 9, "speaker": 9}.get(name, 49 if name.startswith("7x7") else 25)
    sources = (webcam_frames * 3)[:count] if kind == "clips" else fer_faces[:count]
    frame, truth = compose_gallery(sources, **options)  # type: ignore[arg-type]
    found = pipeline.process(jpeg(frame), tiles=truth if client else None)
    tile_h = options["tile_size"][1]  # type: ignore[index]
    strip = max(14, tile_h // 8) if options.get("name_strip") and not client else 0
    score = score_tiles(found, truth, strip=strip)
    assert score.recall >= min_recall and score.precision == 1.0, score
    assert client or len(found.layout) == count  # the grid finder saw every tile
