"""Client tile parsing (exact messages), overlapping windows, NMS and the grid finder."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import skimage.data

from ingest.vision.gallery import compose_gallery
from ingest.vision.scenes import jpeg
from ingest.vision.tiles import Tile, TileError, find_grid, nms_indices, overlapping_windows, parse_tiles

W, H = 640, 480


def tile(**overrides: Any) -> dict[str, Any]:
    return {"name": "Ana", "x": 0, "y": 0, "w": 320, "h": 240, **overrides}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        ("   ", []),
        ("[]", []),
        ([], []),
        (json.dumps([tile()]), [Tile("Ana", 0, 0, 320, 240)]),
        ([tile(x=10.4, y=20.6, extra="ignored")], [Tile("Ana", 10, 21, 320, 240)]),
        ([tile(name="  Ana  ")], [Tile("Ana", 0, 0, 320, 240)]),
        ([tile(), tile(name="Ben", x=320, y=240)], [Tile("Ana", 0, 0, 320, 240), Tile("Ben", 320, 240, 320, 240)]),
        ([tile(self=True), tile(name="Ben", x=320, self=False)], [Tile("Ben", 320, 0, 320, 240)]),  # the teacher's own view is dropped
        # Unnamed tiles (a canvas gallery): rectangles from the page, names read from the picture.
        ([{"x": 0, "y": 0, "w": 320, "h": 240}, tile(name=None, x=320)], [Tile("", 0, 0, 320, 240), Tile("", 320, 0, 320, 240)]),
        ([tile(name="  "), tile(name="Ben", x=320)], [Tile("", 0, 0, 320, 240), Tile("Ben", 320, 0, 320, 240)]),
    ],
)
def test_parse_tiles_accepts(raw: Any, expected: list[Tile]) -> None:
    assert parse_tiles(raw, width=W, height=H, max_tiles=3) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[", "tiles is not valid JSON: Expecting value at line 1 column 2"),
        ("{'name': 1}", "tiles is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ('{"name": "Ana"}', "tiles must be a JSON list of objects, got dict"),
        ("42", "tiles must be a JSON list of objects, got int"),
        ('"Ana"', "tiles must be a JSON list of objects, got str"),
        ([tile()] * 4, "too many tiles: 4 (at most 3)"),
        ([tile(), 7], "tiles[1] must be an object with name, x, y, w, h"),
        ([tile(name=5)], "tiles[0].name must be a string or null, got int"),
        ([tile(name=["Ana"])], "tiles[0].name must be a string or null, got list"),
        ([tile(name="x" * 201)], "tiles[0].name is longer than 200 characters"),
        ([{"name": "Ana", "x": 0, "y": 0, "w": 10}], "tiles[0] is missing 'h'"),
        ([tile(x="0")], "tiles[0].x must be a number, got str"),
        ([tile(y=None)], "tiles[0].y must be a number, got NoneType"),
        ([tile(w=True)], "tiles[0].w must be a number, got bool"),
        ('[{"name": "Ana", "x": NaN, "y": 0, "w": 1, "h": 1}]', "tiles[0].x must be a finite number"),
        ([tile(w=0)], "tiles[0].w must be positive, got 0"),
        ([tile(h=-5)], "tiles[0].h must be positive, got -5"),
        ([tile(x=-1)], "tiles[0] (-1, 0, 320, 240) lies outside the 640x480 image"),
        ([tile(x=400)], "tiles[0] (400, 0, 320, 240) lies outside the 640x480 image"),
        ([tile(y=300)], "tiles[0] (0, 300, 320, 240) lies outside the 640x480 image"),
        ([tile(), tile(x=320)], "tiles[1].name 'Ana' is a duplicate"),
        ([tile(self="yes")], "tiles[0].self must be true or false, got str"),
    ],
)
def test_parse_tiles_refuses_with_exact_message(raw: Any, message: str) -> None:
    with pytest.raises(TileError) as caught:
        parse_tiles(raw, width=W, height=H, max_tiles=3)
    assert caught.value.message == message
    assert str(caught.value) == message


def test_windows_cover_every_pixel_at_each_size() -> None:
    windows = overlapping_windows(1920, 1080, sizes=(0.5, 0.3), min_side=100)
    for prefix, side in (("w0-", 540), ("w1-", 324)):
        covered = np.zeros((1080, 1920), dtype=bool)
        for window in (w for w in windows if w.name.startswith(prefix)):
            assert (window.w, window.h) == (side, side)
            assert window.x + window.w <= 1920 and window.y + window.h <= 1080
            covered[window.y : window.y + window.h, window.x : window.x + window.w] = True
        assert covered.all()


def test_windows_skip_sizes_below_the_minimum() -> None:
    assert {w.w for w in overlapping_windows(640, 480, sizes=(0.5, 0.3), min_side=240)} == {240}
    assert overlapping_windows(200, 200, sizes=(0.5,), min_side=240) == []


def test_nms_keeps_the_best_of_overlapping_and_contained_boxes() -> None:
    boxes = np.array(
        [
            [100, 100, 50, 50],  # face A
            [104, 102, 50, 50],  # A again (IoU ~ 0.8), lower score
            [100, 100, 25, 50],  # left half of A, cut by a tile edge (contained)
            [300, 300, 40, 40],  # face B
            [148, 100, 50, 50],  # a neighbour touching A, kept
        ],
        dtype=np.float32,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.75, 0.6], dtype=np.float32)
    keep = nms_indices(boxes, scores, iou_threshold=0.4, containment_threshold=0.75)
    assert keep.tolist() == [0, 3, 4]
    assert nms_indices(np.zeros((0, 4)), np.zeros(0), iou_threshold=0.4, containment_threshold=0.75).tolist() == []


def test_nms_containment_off_keeps_partial_boxes() -> None:
    boxes = np.array([[100, 100, 50, 50], [100, 100, 25, 50]], dtype=np.float32)
    keep = nms_indices(boxes, np.array([0.9, 0.8]), iou_threshold=0.6, containment_threshold=1.0)
    assert keep.tolist() == [0, 1]


SCENES = [skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket(), skimage.data.hubble_deep_field()]


def scenes(count: int) -> list[np.ndarray]:
    """Varied camera-like pictures (registry data), shifted so no two tiles are identical."""
    return [np.roll(SCENES[k % len(SCENES)][..., ::-1], 37 * k, axis=1) for k in range(count)]


def iou(a: Tile, b: Tile) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy / (a.w * a.h + b.w * b.h - ix * iy)


def assert_grid_found(found: list[Tile], truth: list[Tile], *, strip: int = 0) -> None:
    """Every true tile is found once (its rectangle, plus the name strip under it when there is one)."""
    assert len(found) == len(truth)
    for true in truth:
        with_strip = Tile(true.name, true.x, true.y, true.w, true.h + strip)
        assert max(iou(with_strip, tile) for tile in found) > 0.9, true


@pytest.mark.parametrize("count", [4, 9, 25, 49])
@pytest.mark.parametrize("name_strip", [False, True])
def test_grid_finder_regular_grids(count: int, name_strip: bool) -> None:
    size = (160, 90) if count == 49 else (256, 144)
    frame, truth = compose_gallery(scenes(count), tile_size=size, name_strip=name_strip)
    strip = max(14, size[1] // 8) if name_strip else 0
    assert_grid_found(find_grid(jpeg(frame)), truth, strip=strip)


def test_grid_finder_names_tiles_in_reading_order() -> None:
    frame, truth = compose_gallery(scenes(7), tile_size=(200, 112))  # 3×3 with one centred tile in the last row
    names = [tile.name for tile in find_grid(frame)]
    assert names == ["r1c1", "r1c2", "r1c3", "r2c1", "r2c2", "r2c3", "r3c1"]
    assert [tile.x for tile in find_grid(frame)][-1] == truth[-1].x


def test_grid_finder_uneven_gaps_and_strips() -> None:
    frame, truth = compose_gallery(scenes(25), tile_size=(200, 112), uneven=True, name_strip=True, seed=5)
    assert_grid_found(find_grid(jpeg(frame)), truth, strip=14)


def test_grid_finder_speaker_view() -> None:
    frame, truth = compose_gallery(scenes(6), tile_size=(200, 112), speaker=True)
    found = find_grid(jpeg(frame))
    assert_grid_found(found, truth)
    assert found[0].w > 3 * found[1].w  # the speaker tile comes first


def test_grid_finder_thin_gaps_after_jpeg() -> None:
    frame, truth = compose_gallery(scenes(9), tile_size=(256, 144), gap=2)
    assert_grid_found(find_grid(jpeg(frame, quality=80)), truth)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((480, 640, 3), dtype=np.uint8),  # empty (black) frame
        np.full((480, 640, 3), 200, dtype=np.uint8),  # flat frame
        skimage.data.astronaut()[..., ::-1].copy(),  # one camera picture
        compose_gallery(scenes(1), tile_size=(320, 180))[0],  # a one-tile gallery
        np.zeros((40, 40, 3), dtype=np.uint8),  # too small to hold tiles
    ],
)
def test_grid_finder_returns_nothing_without_a_grid(image: np.ndarray) -> None:
    assert find_grid(image) == []
