"""Composed gallery frames and the video frame helpers."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest.vision.gallery import BACKGROUND_BGR, LoopingVideo, compose_gallery, iter_video_frames
from ingest.vision.tiles import Tile


def pictures(count: int) -> list[np.ndarray]:
    return [np.full((120, 160, 3), 60 + 3 * k, dtype=np.uint8) for k in range(count)]


def assert_disjoint_inside(tiles: list[Tile], frame: np.ndarray) -> None:
    for i, a in enumerate(tiles):
        assert a.x >= 0 and a.y >= 0 and a.x + a.w <= frame.shape[1] and a.y + a.h <= frame.shape[0]
        for b in tiles[i + 1 :]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y


@pytest.mark.parametrize("count", [1, 2, 9, 10, 49])
def test_grid_holds_every_source_in_its_tile(count: int) -> None:
    frame, tiles = compose_gallery(pictures(count), tile_size=(64, 36), gap=4)
    assert len(tiles) == count and [t.name for t in tiles] == [f"Participant {i + 1}" for i in range(count)]
    assert_disjoint_inside(tiles, frame)
    for k, tile in enumerate(tiles):
        assert (frame[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] == 60 + 3 * k).all()


def test_name_strip_sits_under_the_tile_and_is_not_part_of_it() -> None:
    frame, tiles = compose_gallery(pictures(4), names=["Ana", "Ben", "Cy", "Di"], tile_size=(160, 90), name_strip=True)
    strip = frame[tiles[0].y + tiles[0].h : tiles[0].y + tiles[0].h + 14, tiles[0].x : tiles[0].x + tiles[0].w]
    assert (strip != BACKGROUND_BGR).any(axis=2).all()  # strip colour and text, not background
    assert [t.name for t in tiles] == ["Ana", "Ben", "Cy", "Di"]


def test_uneven_gaps_differ_and_depend_on_the_seed() -> None:
    _, even = compose_gallery(pictures(9), tile_size=(64, 36), gap=8)
    _, uneven = compose_gallery(pictures(9), tile_size=(64, 36), gap=8, uneven=True, seed=1)
    _, again = compose_gallery(pictures(9), tile_size=(64, 36), gap=8, uneven=True, seed=1)
    assert {b.x - a.x for a, b in itertools.pairwise(even[:3])} == {72}
    assert uneven == again and uneven != even


def test_speaker_view_has_one_large_tile_above_a_strip() -> None:
    frame, tiles = compose_gallery(pictures(5), tile_size=(64, 36), speaker=True)
    big, strip = tiles[0], tiles[1:]
    assert big.w >= 3 * 64 and all(t.y > big.y + big.h for t in strip) and len({t.y for t in strip}) == 1
    assert_disjoint_inside(tiles, frame)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        compose_gallery([])
    with pytest.raises(ValueError, match="2 names for 3 sources"):
        compose_gallery(pictures(3), names=["a", "b"])


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    path = tmp_path / "count.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for k in range(10):
        writer.write(np.full((48, 64, 3), 20 * k, dtype=np.uint8))
    writer.release()
    return path


def test_video_frames_every_and_limit(small_video: Path) -> None:
    frames = list(iter_video_frames(small_video, every=3))
    assert [f.number for f in frames] == [0, 3, 6, 9]
    assert [f.seconds for f in frames] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert [int(f.image.mean()) for f in frames] == pytest.approx([0, 60, 120, 180], abs=3)
    assert len(list(iter_video_frames(small_video, limit=2))) == 2


def test_looping_video_rewinds(small_video: Path) -> None:
    video = LoopingVideo(small_video, start=8)
    means = [int(video.next_frame().mean()) for _ in range(3)]
    video.close()
    assert means == pytest.approx([160, 180, 0], abs=3)


def test_unreadable_video(tmp_path: Path) -> None:
    path = tmp_path / "not-a-video.mp4"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a readable video"):
        list(iter_video_frames(path))
    with pytest.raises(ValueError, match="not a readable video"):
        LoopingVideo(path)
