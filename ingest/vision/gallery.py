"""Meeting-like gallery frames composed from image or video sources, with the true tile rectangles.

Used by tests, the replay client and benchmarks to build what a meeting tab looks like: a grid of
participant tiles on a dark background, with gaps or touching, names in strips under the tiles or
over the video, uneven gaps, camera-off tiles, an active-speaker border, or a speaker view (one large
tile above a strip of small ones).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from ingest.vision.tiles import Tile

BACKGROUND_BGR = (36, 32, 30)  # meeting apps draw galleries on a near-black background
STRIP_BGR = (60, 56, 54)
TEXT_BGR = (235, 235, 235)
CAMERA_OFF_BGR = (67, 64, 60)  # the dark gray meeting apps fill a tile with when its camera is off
AVATAR_BGR = (160, 110, 60)
SPEAKER_BGR = (248, 180, 138)  # the active speaker's outline
SELF_VIEW_BORDER_BGR = (90, 90, 90)


def _fit(source: np.ndarray, w: int, h: int, *, contain: bool = False) -> np.ndarray:
    """Scale to cover w×h and centre-crop, as meeting apps fill gallery tiles with the camera image;
    or, with ``contain``, scale to fit inside and pad with black bars, as they show the speaker."""
    if source.ndim == 2:
        source = cv2.cvtColor(source, cv2.COLOR_GRAY2BGR)
    sh, sw = source.shape[:2]
    scale = min(w / sw, h / sh) if contain else max(w / sw, h / sh)
    size = (max(1, round(sw * scale)), max(1, round(sh * scale)))
    resized = cv2.resize(source, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((max(h, size[1]), max(w, size[0]), 3), dtype=np.uint8)
    top, left = (canvas.shape[0] - size[1]) // 2, (canvas.shape[1] - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = resized
    top, left = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    return canvas[top : top + h, left : left + w]


def _gaps(count: int, gap: int, uneven: bool, rng: np.random.Generator) -> list[int]:
    # Uneven: each gap between 1/2 and 2× the nominal one (browser zoom and rounding do this).
    return [int(rng.integers(max(1, gap // 2), gap * 2 + 1)) if uneven else gap for _ in range(count)]


def _cells(
    count: int, *, cols: int, tile_size: tuple[int, int], gap: int, cell_h: int, uneven: bool, rng: np.random.Generator
) -> tuple[list[tuple[int, int]], int, int]:
    """Top-left corners of ``count`` cells in rows of ``cols`` (last row centred), and the grid's size."""
    tw, _th = tile_size
    rows = math.ceil(count / cols)
    col_gaps, row_gaps = _gaps(cols - 1, gap, uneven, rng), _gaps(rows - 1, gap, uneven, rng)
    xs = [sum(col_gaps[:c]) + c * tw for c in range(cols)]
    ys = [sum(row_gaps[:r]) + r * cell_h for r in range(rows)]
    grid_w = xs[-1] + tw
    corners = []
    for index in range(count):
        row, col = divmod(index, cols)
        in_row = min(cols, count - row * cols)
        # Meeting apps centre an incomplete last row.
        shift = (grid_w - (xs[in_row - 1] + tw)) // 2
        corners.append((xs[col] + shift, ys[row]))
    return corners, grid_w, ys[-1] + cell_h


def compose_gallery(
    sources: Sequence[np.ndarray],
    *,
    names: Sequence[str] | None = None,
    cols: int | None = None,
    tile_size: tuple[int, int] = (320, 180),
    gap: int = 8,
    name_strip: bool = False,
    uneven: bool = False,
    speaker: bool = False,
    margin: int = 16,
    seed: int = 0,
    frame_size: tuple[int, int] | None = None,
    name_overlay: bool = False,
    camera_off: Collection[int] = (),
    active: int | None = None,
    self_view: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Tile]]:
    """A BGR gallery frame holding each source (BGR or gray image) in a tile, and the tiles' true rectangles.

    ``cols`` defaults to the most square grid; ``tile_size`` is (w, h) of one video area; ``gap`` 0 makes
    tiles touch; a name strip (under the video, holding the name) adds to each cell's height and is not
    part of the tile, while ``name_overlay`` writes the name over the video's lower left corner;
    ``uneven`` varies the gaps (seeded); ``speaker`` puts the first source in one large tile above a
    strip of the others; ``frame_size`` (w, h) centres the grid in a frame of that size instead of
    ``margin``; tiles at the ``camera_off`` indices show an initial on dark gray instead of their
    source; tile ``active`` gets the active speaker's outline; ``self_view`` floats the uploader's own
    camera over the bottom right corner, as Teams draws it (:func:`self_view_rect`), not as a tile.
    """
    if not sources:
        raise ValueError("compose_gallery needs at least one source")
    names = list(names) if names is not None else [f"Participant {i + 1}" for i in range(len(sources))]
    if len(names) != len(sources):
        raise ValueError(f"{len(names)} names for {len(sources)} sources")
    rng = np.random.default_rng(seed)
    tw, th = tile_size
    strip_h = max(14, th // 8) if name_strip else 0
    cell_h = th + strip_h
    small = sources[1:] if speaker else sources
    cols = cols or (len(small) if speaker else math.ceil(math.sqrt(len(small)))) or 1
    corners, grid_w, grid_h = (
        _cells(len(small), cols=cols, tile_size=tile_size, gap=gap, cell_h=cell_h, uneven=uneven, rng=rng) if small else ([], 0, 0)
    )
    rects: list[tuple[int, int, int, int]] = [(x, y, tw, th) for x, y in corners]
    if speaker:
        # The speaker tile takes the width of the strip (at least three small tiles) at 16:9.
        big_w = max(grid_w, 3 * tw)
        big_h = round(big_w * 9 / 16)
        offset_x = (big_w - grid_w) // 2
        rects = [(0, 0, big_w, big_h)] + [(x + offset_x, y + big_h + strip_h + gap, w, h) for x, y, w, h in rects]
        grid_w, grid_h = big_w, big_h + strip_h + gap + grid_h
    frame_w, frame_h = frame_size or (grid_w + 2 * margin, grid_h + 2 * margin)
    if frame_w < grid_w or frame_h < grid_h:
        raise ValueError(f"a {grid_w}x{grid_h} grid does not fit in a {frame_w}x{frame_h} frame")
    left, top = (frame_w - grid_w) // 2, (frame_h - grid_h) // 2
    frame = np.full((frame_h, frame_w, 3), BACKGROUND_BGR, dtype=np.uint8)
    tiles = []
    for index, (source, name, (x, y, w, h)) in enumerate(zip(sources, names, rects, strict=True)):
        x, y = x + left, y + top
        frame[y : y + h, x : x + w] = _camera_off(name, w, h) if index in camera_off else _fit(source, w, h, contain=speaker and index == 0)
        if name_overlay:
            _write_name(frame[y : y + h, x : x + w], name)
        if index == active:
            thickness = max(2, w // 80)
            cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), SPEAKER_BGR, thickness=thickness)
        if name_strip:
            cv2.rectangle(frame, (x, y + h), (x + w - 1, y + h + strip_h - 1), STRIP_BGR, thickness=-1)
            font_scale = strip_h / 30
            cv2.putText(frame, name, (x + 4, y + h + strip_h - 4), cv2.FONT_HERSHEY_SIMPLEX, font_scale, TEXT_BGR, 1, cv2.LINE_AA)
        tiles.append(Tile(name, x, y, w, h))
    if self_view is not None:
        own = self_view_rect(frame_w, frame_h)
        frame[own.y : own.y + own.h, own.x : own.x + own.w] = _fit(self_view, own.w, own.h)
        cv2.rectangle(frame, (own.x, own.y), (own.x + own.w - 1, own.y + own.h - 1), SELF_VIEW_BORDER_BGR, thickness=2)
    return frame, tiles


def self_view_rect(frame_w: int, frame_h: int) -> Tile:
    """Where a floating self view sits: a fifth of the width at 16:9, 2% of the width in from the bottom right corner."""
    w = frame_w // 5
    h = round(w * 9 / 16)
    margin = max(4, frame_w // 50)
    return Tile("self", frame_w - margin - w, frame_h - margin - h, w, h)


def _camera_off(name: str, w: int, h: int) -> np.ndarray:
    """A camera-off tile: the participant's initial in a circle on dark gray."""
    tile = np.full((h, w, 3), CAMERA_OFF_BGR, np.uint8)
    radius = max(4, min(w, h) // 5)
    cv2.circle(tile, (w // 2, h // 2), radius, AVATAR_BGR, thickness=-1, lineType=cv2.LINE_AA)
    scale = radius / 14
    (text_w, text_h), _ = cv2.getTextSize(name[:1].upper(), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(
        tile, name[:1].upper(), (w // 2 - text_w // 2, h // 2 + text_h // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_BGR, 1, cv2.LINE_AA
    )
    return tile


def _write_name(tile: np.ndarray, name: str) -> None:
    """The name over a tile's lower left corner on a darkened box, as Zoom, Meet and Teams draw it (cut at the tile's edge)."""
    h, w = tile.shape[:2]
    scale = max(0.25, h / 360)
    (text_w, text_h), baseline = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = max(2, round(4 * scale))
    box_w, box_h = min(w - 2 * pad, text_w + 2 * pad), text_h + baseline + 2 * pad
    x0, y0 = pad, h - pad - box_h
    region = tile[y0 : y0 + box_h, x0 : x0 + box_w]
    region[:] = (region.astype(np.float32) * 0.4).astype(np.uint8)
    cv2.putText(tile, name, (x0 + pad, y0 + pad + text_h), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_BGR, 1, cv2.LINE_AA)


class VideoFrame(NamedTuple):
    """One decoded frame: its number in the file (from 0), its time in seconds, the BGR pixels."""

    number: int
    seconds: float
    image: np.ndarray


def iter_video_frames(path: Path, *, every: int = 1, limit: int | None = None) -> Iterator[VideoFrame]:
    """Every ``every``-th frame of a video, at most ``limit`` of them.

    Raises ``ValueError`` when the file is not a readable video.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
        ok, image = capture.read()
        if not ok:
            raise ValueError(f"{path}: not a readable video")
        index = yielded = 0
        while ok and (limit is None or yielded < limit):
            if index % every == 0:
                yield VideoFrame(index, index / fps, image)
                yielded += 1
            # grab() skips decoding the frames we do not use.
            ok = capture.grab()
            index += 1
            if ok and index % every == 0:
                ok, image = capture.retrieve()
    finally:
        capture.release()


class LoopingVideo:
    """A video read in a loop from a start frame: one ``next_frame()`` per gallery frame, forever."""

    def __init__(self, path: Path, *, start: int = 0) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise ValueError(f"{path}: not a readable video")
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        self.capture.set(cv2.CAP_PROP_POS_FRAMES, start % count)

    def next_frame(self) -> np.ndarray:
        """The next frame, rewinding at the end."""
        ok, frame = self.capture.read()
        if not ok:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
            if not ok:
                raise ValueError(f"{self.path}: no frames")
        return frame

    def close(self) -> None:
        """Release the file."""
        self.capture.release()
