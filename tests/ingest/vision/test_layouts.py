"""The gallery layouts Zoom, Meet and Teams draw (touching tiles, a 7×7 at 640×400, uneven rows...):
the grid is found, and every face is read in its own tile, with small faces flagged low resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.vision.align import LOW_RESOLUTION_PX
from ingest.vision.gallery import compose_gallery, self_view_rect
from ingest.vision.layouts import LAYOUTS, Layout
from ingest.vision.pipeline import FramePipeline
from ingest.vision.scenes import REFLOWING_CLASS_SIZE, jpeg, make_participants, reflowing_class, tile_owners
from ingest.vision.self_view import find_layout
from ingest.vision.tiles import Tile
from project.demo_media import registry_faces


def _iou(a: Tile, b: Tile) -> float:
    inter_w = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    inter_h = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = inter_w * inter_h
    return inter / (a.w * a.h + b.w * b.h - inter)


def _holding(tiles: list[Tile], x: float, y: float) -> Tile | None:
    return next((tile for tile in tiles if tile.x <= x < tile.x + tile.w and tile.y <= y < tile.y + tile.h), None)


@pytest.fixture(scope="module")
def faces() -> list[np.ndarray]:
    return registry_faces()


def _with_strip(layout: Layout, truth: list[Tile]) -> list[Tile]:
    """The true tiles as the grid finder sees them: a name strip under a tile belongs to it."""
    strip = max(14, layout.tile_size[1] // 8) if layout.name_strip else 0
    return [Tile(tile.name, tile.x, tile.y, tile.w, tile.h + strip) for tile in truth]


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def test_the_grid_is_found(layout: Layout, faces: list[np.ndarray]) -> None:
    """Every tile of a layout tuned on; nine in ten of a held-out one (benchmarks/vision.py reports both)."""
    frame, truth = layout.compose(faces)
    found, own = find_layout(jpeg(frame))
    if layout.self_view:
        assert own is not None and _iou(own, self_view_rect(frame.shape[1], frame.shape[0])) >= 0.85
    else:
        assert own is None
    matched = [true for true in _with_strip(layout, truth) if max(_iou(true, tile) for tile in found) >= 0.85]
    if layout.held_out:
        assert len(matched) >= 0.9 * len(truth) and len(found) == len(truth)
    else:
        assert len(matched) == len(truth) == len(found)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def test_every_face_is_read_in_its_own_tile(layout: Layout, faces: list[np.ndarray], pipeline: FramePipeline) -> None:
    frame, truth = layout.compose(faces)
    with_face = [tile for index, tile in enumerate(truth) if index not in layout.camera_off]
    found = pipeline.process(jpeg(frame))
    grid = {tile.name: tile for tile in found.layout}
    truth_seen = _with_strip(layout, truth)
    for box, tile_name in zip(found.boxes, found.tile, strict=True):
        centre = box[:2] + box[2:] / 2
        true = _holding(with_face, *centre)
        assert true is not None, f"a face at {centre} outside every tile with a camera on"
        assert tile_name is not None, f"the face in {true.name} has no tile"
        tile = grid[tile_name]
        assert _holding([tile], *centre) is not None, f"the face in {true.name} was put in {tile_name}, which does not hold it"
        assert max(truth_seen, key=lambda other: _iou(other, tile)).name == true.name, f"{tile_name} is not {true.name}'s tile"
    assert len(found.tile) == len(set(found.tile)), "two faces in one tile"
    refused = [rejection for rejection in found.rejected if rejection.reason != "too_small"]
    assert not refused, refused
    assert len(found) >= 0.85 * len(with_face)
    small = np.minimum(found.boxes[:, 2], found.boxes[:, 3]) < LOW_RESOLUTION_PX
    assert found.low_resolution is not None and (found.low_resolution == small).all()


def test_a_7x7_gallery_at_640x400_is_read_from_small_faces(faces: list[np.ndarray], pipeline: FramePipeline) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "zoom 7x7 at 640x400")
    frame, _ = layout.compose(faces)
    found = pipeline.process(jpeg(frame))
    sides = np.minimum(found.boxes[:, 2], found.boxes[:, 3])
    assert sides.min() < 16 and np.median(sides) < 20  # the faces of a real 7×7 page: 13–25 px
    assert found.low_resolution is not None and found.low_resolution.sum() >= 20


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def test_client_tiles_name_every_face(layout: Layout, faces: list[np.ndarray], pipeline: FramePipeline) -> None:
    frame, truth = layout.compose(faces)
    found = pipeline.process(jpeg(frame), tiles=truth)
    with_face = {tile.name for index, tile in enumerate(truth) if index not in layout.camera_off}
    assert set(found.tile) <= with_face and len(found.tile) == len(set(found.tile))
    assert len(found) >= 0.85 * len(with_face)


def test_a_reflowing_class_of_large_tiles_with_name_strips(clip_paths: list[Path], pipeline: FramePipeline) -> None:
    """benchmarks/vision.py's reflowing class (608×342 tiles, name strips, 9 → 7 → 8 people at 1 frame/s):
    one face per person in every frame. The text of a name strip is a sliver the gutter test leaves;
    it once let the whole-block seam split take over and halve every tile, so faces were read twice."""
    people = make_participants(clip_paths, REFLOWING_CLASS_SIZE)
    try:
        for index, present in enumerate(reflowing_class(24)):
            pictures = [people[p].frame(25) for p in present]
            if index < 16:
                continue  # the frames with a short, centred last row of two
            frame, truth = compose_gallery(pictures, names=[f"Student {p}" for p in present], tile_size=(608, 342), name_strip=True)
            owners = tile_owners(pipeline.process(jpeg(frame)).boxes, truth)
            assert None not in owners and len(owners) == len(set(owners)) == len(present), index
    finally:
        for person in people:
            person.close()
