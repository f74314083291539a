"""The sample a face's stillness is judged on: fixed on its tile, blind to the tile's edge, alive to its inside."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from classroom.stillness import STILL_MAX_CHANGE, face_signature, signature_change
from ingest.replay import frames
from ingest.vision.still import TILE_INSET_PX, still_patch, still_region
from tests.conftest import require_shared

TILE = np.array([100, 60, 320, 180], np.float32)
BOX = np.array([240, 100, 60, 60], np.float32)
NO_TILE = np.zeros(4, np.float32)


def jpeg(image: np.ndarray) -> np.ndarray:
    """Through the uploader's JPEG (quality 85) and back, as the ingest stage receives it."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def test_the_region_is_the_tile_less_its_edge_or_around_a_face_without_one() -> None:
    assert still_region(box=BOX, tile_box=TILE, frame_size=(640, 360)) == (124.0, 84.0, 396.0, 216.0)
    small = np.array([0, 0, 60, 40], np.float32)  # a small tile keeps half of itself
    assert still_region(box=BOX, tile_box=small, frame_size=(640, 360)) == (15.0, 10.0, 45.0, 30.0)
    assert still_region(box=BOX, tile_box=NO_TILE, frame_size=(640, 360)) == (210.0, 70.0, 330.0, 190.0)
    assert still_region(box=np.array([0, 0, 60, 60], np.float32), tile_box=NO_TILE, frame_size=(640, 360)) == (0.0, 0.0, 90.0, 90.0)


def test_a_change_at_the_tiles_edge_is_not_seen_and_one_inside_it_is(astronaut: np.ndarray) -> None:
    frame = np.full((360, 640, 3), 30, np.uint8)
    x, y, w, h = (int(v) for v in TILE)
    frame[y : y + h, x : x + w] = cv2.resize(astronaut, (w, h))
    patch = still_patch(frame, box=BOX, tile_box=TILE)
    assert patch.shape == (48, 48) and patch.dtype == np.uint8
    edge = frame.copy()
    edge[y : y + int(TILE_INSET_PX) - 1, x : x + w] += 3  # what a neighbour's video does to the JPEG blocks astride the edge
    assert np.array_equal(still_patch(edge, box=BOX, tile_box=TILE), patch)
    inside = frame.copy()
    inside[y + 80 : y + 120, x + 140 : x + 180] += 3  # a blink, a nod: inside the tile
    assert not np.array_equal(still_patch(inside, box=BOX, tile_box=TILE), patch)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # a gray frame is sampled alike
    assert np.array_equal(still_patch(gray, box=BOX, tile_box=TILE), patch)


def test_in_a_moving_gallery_a_photos_tile_is_unchanged_and_a_talking_heads_changes(tmp_path: Path, astronaut: np.ndarray) -> None:
    clip = require_shared("video", "talking_head_1.mp4")
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), astronaut)
    # As the replay client posts them: a JPEG a second of a gallery whose tiles do not line up with JPEG's blocks.
    iterator, _ = frames([clip, photo], names=["Jordan", "Photo"], loop=True, fps=1.0)
    signatures: dict[str, list[tuple[float, ...]]] = {"Jordan": [], "Photo": []}
    for _, (frame, tiles) in zip(range(4), iterator, strict=False):
        received = jpeg(frame)
        for tile in tiles:
            box = np.array([tile["x"], tile["y"], tile["w"], tile["h"]], np.float32)
            signatures[str(tile["name"])].append(face_signature(still_patch(received, box=box, tile_box=box)))
    photo_changes = [signature_change(a, b) for a, b in zip(signatures["Photo"], signatures["Photo"][1:], strict=False)]
    live_changes = [signature_change(a, b) for a, b in zip(signatures["Jordan"], signatures["Jordan"][1:], strict=False)]
    assert photo_changes == [0.0, 0.0, 0.0]
    assert min(live_changes) > 4 * STILL_MAX_CHANGE
