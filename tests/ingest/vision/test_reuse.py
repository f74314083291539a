"""Skipping the detector on still tiles: when it may, when it must not, and that reused faces stay true."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from ingest.vision.detections import Detections
from ingest.vision.gallery import _fit, compose_gallery, iter_video_frames
from ingest.vision.pipeline import FramePipeline
from ingest.vision.reuse import MAX_REUSE, DetectionMemory, change, signature
from ingest.vision.stages import StageClock
from ingest.vision.tiles import Tile

TILE = Tile("Ana", 0, 0, 320, 180)


def _found(x: float = 100.0) -> Detections:
    return Detections.build(boxes=np.array([[x, 40, 80, 80]]), scores=np.array([0.9]), keypoints=np.zeros((1, 6, 2)), tile=TILE)


def _picture(shift: int = 0) -> np.ndarray:
    """A real face filling the tile, moved ``shift`` pixels to the right."""
    return np.roll(_fit(np.ascontiguousarray(skimage.data.astronaut()[..., ::-1]), 320, 180), shift, axis=1)


def test_a_still_tile_reuses_its_faces_until_its_reuses_run_out() -> None:
    memory = DetectionMemory(max_reuse=2)
    image, found = _picture(), _found()
    memory.remember(stream=1, tile=TILE, image=image, found=found)  # first sight: a staggered number of reuses
    memory.remember(stream=1, tile=TILE, image=image, found=found)  # then the full number
    assert memory.recall(stream=1, tile=TILE, image=image) is found
    assert memory.recall(stream=1, tile=TILE, image=image) is found
    assert memory.recall(stream=1, tile=TILE, image=image) is None  # a detector pass is due


@pytest.mark.parametrize(
    ("stream", "tile", "image"),
    [
        (2, TILE, _picture()),  # another class
        (1, Tile("Ana", 0, 0, 320, 200), _picture()),  # the tile was resized
        (1, Tile("Ana", 4, 0, 320, 180), _picture()),  # the tile moved
        (1, Tile("Ben", 0, 0, 320, 180), _picture()),  # another participant
        (1, TILE, _picture(shift=40)),  # the face moved by half its size
    ],
)
def test_anything_new_goes_to_the_detector(stream: int, tile: Tile, image: np.ndarray) -> None:
    memory = DetectionMemory()
    for _ in range(2):
        memory.remember(stream=1, tile=TILE, image=_picture(), found=_found())
    assert memory.recall(stream=stream, tile=tile, image=image) is None


def test_a_face_that_slid_a_little_is_followed() -> None:
    memory = DetectionMemory()
    for _ in range(2):
        memory.remember(stream=1, tile=TILE, image=_picture(), found=_found())
    followed = memory.recall(stream=1, tile=TILE, image=_picture(shift=12))  # a sixth of the face's size
    assert followed is not None
    assert followed.boxes[0, 0] == pytest.approx(112, abs=2) and followed.boxes[0, 1] == pytest.approx(40, abs=2)
    again = memory.recall(stream=1, tile=TILE, image=_picture(shift=12))  # later frames compare with where it now is
    assert again is not None and again.boxes[0, 0] == pytest.approx(112, abs=2)


def test_a_lighting_change_alone_is_not_movement() -> None:
    image = _picture()
    brighter = np.clip(image.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    region = (60, 20, 220, 160)
    assert change(signature(image, region), signature(brighter, region)) < 3.0


def test_remembered_faces_expire() -> None:
    memory = DetectionMemory(ttl_seconds=0.0)
    for _ in range(2):
        memory.remember(stream=1, tile=TILE, image=_picture(), found=_found())
    assert memory.recall(stream=1, tile=TILE, image=_picture()) is None


def test_first_reuses_are_staggered_across_a_class() -> None:
    memory = DetectionMemory()
    image = _picture()
    budgets = set()
    for k in range(25):
        tile = Tile(f"Student {k}", 0, 0, 320, 180)
        memory.remember(stream=1, tile=tile, image=image, found=_found())
        uses = 0
        while memory.recall(stream=1, tile=tile, image=image) is not None:
            uses += 1
        budgets.add(uses)
    assert budgets == set(range(MAX_REUSE + 1))


def test_reused_faces_match_fresh_ones_on_real_clips_at_one_frame_a_second(pipeline: FramePipeline, registry_videos: list[Path]) -> None:
    """Every face the memory hands back is where the detector finds it in that frame (IoU ≥ 0.75)."""
    detector, memory = pipeline.detector, DetectionMemory()
    reused = compared = 0
    for path in registry_videos:
        tile = Tile(path.stem, 0, 0, 320, 180)
        for frame in iter_video_frames(path, every=25, limit=12):
            image = _fit(frame.image, 320, 180)
            fresh = detector.detect_tile(image, tile)
            recalled = memory.recall(stream="clips", tile=tile, image=image)
            if recalled is None:
                memory.remember(stream="clips", tile=tile, image=image, found=fresh)
                continue
            reused += 1
            assert len(recalled) == len(fresh)
            for a, b in zip(recalled.boxes, fresh.boxes, strict=True):
                inter = np.clip(np.minimum(a[:2] + a[2:], b[:2] + b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
                assert inter / (a[2:].prod() + b[2:].prod() - inter) >= 0.75
                compared += 1
    assert reused >= 5 and compared >= 3  # the memory did work, and on faces


@pytest.mark.parametrize("named", [True, False], ids=["named tiles", "unnamed tiles (names from the picture)"])
def test_the_pipeline_counts_reused_tiles(pipeline: FramePipeline, astronaut: np.ndarray, named: bool) -> None:
    frame, tiles = compose_gallery([astronaut] * 4, tile_size=(320, 180))
    tiles = tiles if named else [dataclasses.replace(tile, name="") for tile in tiles]
    fresh = FramePipeline(detector=pipeline.detector)
    counts = []
    for _ in range(3):
        clock = StageClock()
        found = fresh.process(frame, tiles=tiles, stream=7, clock=clock)
        assert len(found) == 4 and set(clock.ms) == {"detect", "align", "labels"}
        counts.append(clock.counts.get("tiles_reused", 0))
    assert counts[0] == 0 and counts[2] > 0
    without = FramePipeline(detector=pipeline.detector)
    clock = StageClock()
    for _ in range(3):
        without.process(frame, tiles=tiles, clock=clock)  # no stream: every tile meets the detector
    assert clock.counts == {}
