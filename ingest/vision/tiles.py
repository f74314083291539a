"""Where to look for faces: client tile rectangles, the gallery grid found in the frame, overlapping
windows, and merging the duplicates these produce (NMS).

One detector pass over a whole gallery frame finds almost nothing (docs/architecture.md, "Gallery views need
tiled detection"), so faces are searched per tile.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ingest.vision.seams import even_split, line_contrast

MAX_NAME_LENGTH = 200  # a participant's name as stored (Participant.key); the extension cuts names to this


@dataclass(frozen=True)
class Tile:
    """A participant rectangle in frame pixels; ``name`` is the participant name (client), ``""`` (a client tile whose
    name the page did not give) or ``rXcY`` (found)."""

    name: str
    x: int
    y: int
    w: int
    h: int


CAMERA_OFF_SHARE = 0.55  # a tile this much one flat colour shows no camera (a live picture never is)
CAMERA_OFF_MAX_LEVEL = 100  # and that colour is dark: Zoom, Meet and Teams fill camera-off tiles with black or dark gray


def camera_off(image: np.ndarray, tile: Tile) -> bool:
    """Whether ``tile`` shows a camera-off placeholder: over half of it one flat dark colour (an initial or
    a profile picture on a plain fill). Such a tile is not searched: a face on it would not be a live one.
    ``image`` is BGR or already gray."""
    region = image[tile.y : tile.y + tile.h : 2, tile.x : tile.x + tile.w : 2]
    if region.size == 0:
        return False
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY) if region.ndim == 3 else region
    counts = np.bincount(gray.ravel(), minlength=256)
    # The commonest level with its neighbours either side: JPEG leaves a flat fill within a level or two.
    window = np.convolve(counts, np.ones(5, dtype=np.int64), mode="same")
    level = int(np.argmax(window))
    return bool(window[level] >= CAMERA_OFF_SHARE * gray.size and level < CAMERA_OFF_MAX_LEVEL)


class TileError(ValueError):
    """The client's tile list is unusable; ``message`` is safe to return verbatim in a 400 response."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _number(item: dict[str, Any], index: int, key: str) -> int:
    if key not in item:
        raise TileError(f"tiles[{index}] is missing '{key}'")
    value = item[key]
    # bool is an int subclass; "x": true is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TileError(f"tiles[{index}].{key} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise TileError(f"tiles[{index}].{key} must be a finite number")
    return round(value)


MAX_TILES_JSON_CHARS = 64 * 1024  # 64 tiles with long names fit easily


def parse_tiles(raw: str | list[Any], *, width: int, height: int, max_tiles: int) -> list[Tile]:
    """Validate the client's tiles (JSON text or decoded list) against a ``width``×``height`` frame.

    Each tile is ``{"name": str, "x", "y", "w", "h": numbers, "self": bool?}`` (rounded to pixels; other
    keys are ignored). A missing, null or empty name is an unnamed tile (``Tile.name == ""``): the page gave
    its rectangle but not its name, which is then read from the label painted on the picture. A ``self`` tile
    is the client's own view (the teacher's camera): it is dropped, so the teacher is never read as a student
    nor counted towards a class's size. An empty string or list means no tiles. Raises :class:`TileError`
    with a precise message.
    """
    if isinstance(raw, str):
        if not raw.strip():
            return []
        if len(raw) > MAX_TILES_JSON_CHARS:
            raise TileError(f"tiles is {len(raw)} characters long (at most {MAX_TILES_JSON_CHARS})")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise TileError(f"tiles is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
        except RecursionError:
            raise TileError("tiles is nested too deeply (a list of flat objects is expected)") from None
    if not isinstance(raw, list):
        raise TileError(f"tiles must be a JSON list of objects, got {type(raw).__name__}")
    if len(raw) > max_tiles:
        raise TileError(f"too many tiles: {len(raw)} (at most {max_tiles})")
    tiles: list[Tile] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise TileError(f"tiles[{index}] must be an object with name, x, y, w, h")
        name = item.get("name")
        if name is None:
            name = ""  # the page showed no readable name (a canvas gallery): it is read from the picture
        if not isinstance(name, str):
            raise TileError(f"tiles[{index}].name must be a string or null, got {type(name).__name__}")
        name = name.strip()
        if len(name) > MAX_NAME_LENGTH:
            raise TileError(f"tiles[{index}].name is longer than {MAX_NAME_LENGTH} characters")
        x, y, w, h = (_number(item, index, key) for key in ("x", "y", "w", "h"))
        for key, size in (("w", w), ("h", h)):
            if size <= 0:
                raise TileError(f"tiles[{index}].{key} must be positive, got {item[key]}")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise TileError(f"tiles[{index}] ({x}, {y}, {w}, {h}) lies outside the {width}x{height} image")
        if name and name in seen:
            raise TileError(f"tiles[{index}].name {name!r} is a duplicate")
        seen.add(name)
        own = item.get("self", False)
        if not isinstance(own, bool):
            raise TileError(f"tiles[{index}].self must be true or false, got {type(own).__name__}")
        if not own:  # the client's own view (the teacher) is not a student: not read, not counted
            tiles.append(Tile(name, x, y, w, h))
    return tiles


def overlapping_windows(
    width: int, height: int, *, sizes: Sequence[float] = (0.5, 0.3), overlap: float = 0.5, min_side: int = 240
) -> list[Tile]:
    """Square windows of each size (a fraction of the shorter side) overlapping by ``overlap``.

    Used when no grid is found: faces too small for one whole-frame pass are large in some window,
    and every face lies wholly inside at least one window when overlap ≥ the face's share of it.
    Sizes under ``min_side`` pixels are skipped: the full-range model needs a face of about a tenth
    of its input, so smaller windows would only find faces below the aligner's minimum.
    """
    windows = []
    for size_index, fraction in enumerate(sizes):
        side = round(min(width, height) * fraction)
        if side < min_side:
            continue
        step = max(1, round(side * (1 - overlap)))
        xs = _starts(width, side, step)
        ys = _starts(height, side, step)
        windows += [
            Tile(f"w{size_index}-{iy}-{ix}", x, y, min(side, width), min(side, height))
            for iy, y in enumerate(ys)
            for ix, x in enumerate(xs)
        ]
    return windows


def _starts(length: int, side: int, step: int) -> list[int]:
    if side >= length:
        return [0]
    starts = list(range(0, length - side, step))
    return [*starts, length - side]  # the last window is flush with the edge


def nms_indices(boxes: np.ndarray, scores: np.ndarray, *, iou_threshold: float, containment_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression over xywh ``boxes``: indices kept, best score first.

    A box is a duplicate of a better one when their IoU exceeds ``iou_threshold`` or when most of the
    smaller box (intersection / smaller area > ``containment_threshold``) lies inside it: a face cut
    by a tile or window edge gives a partial box inside the whole-face box with a low IoU.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    areas = np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        inter_w = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
        inter_h = np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None)
        inter = inter_w * inter_h
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-6)
        containment = inter / np.maximum(np.minimum(areas[best], areas[rest]), 1e-6)
        order = rest[(iou <= iou_threshold) & (containment <= containment_threshold)]
    return np.asarray(keep, dtype=np.intp)


def iter_rows(tiles: Sequence[Tile]) -> Iterator[list[Tile]]:
    """Tiles grouped into rows (top to bottom, each left to right): tiles whose vertical centres lie within half a tile height."""
    remaining = sorted(tiles, key=lambda tile: (tile.y + tile.h / 2, tile.x))
    while remaining:
        first = remaining[0]
        centre = first.y + first.h / 2
        row = [tile for tile in remaining if abs(tile.y + tile.h / 2 - centre) < first.h / 2]
        remaining = [tile for tile in remaining if tile not in row]
        yield sorted(row, key=lambda tile: tile.x)


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 of a rectangle found in the frame
GUTTER_TOLERANCE = 24  # per-channel distance from the gutter colour; covers JPEG ringing next to bright tiles
GUTTER_COVERAGE = 0.9  # share of a line that must be gutter-coloured for it to separate tiles (JPEG, 2 px gaps)
DARK_LEVEL = 64  # with no border colour, flat areas this dark are gutters
# A tile narrower or shorter than the typical one down to this share grows back to it: dark hair or a dark
# room at a tile's edge reads as gutter, and at 88×50 tiles that took up to a third of the width.
GROW_FROM = 0.6


def _border_colour(image: np.ndarray) -> np.ndarray | None:
    """The colour most of the frame's outer ring has (the gallery background), or ``None`` if it has none."""
    ring = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.int16)
    median = np.median(ring, axis=0)
    close = np.abs(ring - median).max(axis=1) <= GUTTER_TOLERANCE
    return median.astype(np.uint8) if close.mean() >= 0.6 else None


def _gutter_mask(image: np.ndarray) -> np.ndarray:
    """Pixels that look like gallery background: the border colour, else any dark flat area."""
    background = _border_colour(image)
    if background is not None:
        lower = np.clip(background.astype(np.int16) - GUTTER_TOLERANCE, 0, 255).astype(np.uint8)
        upper = np.clip(background.astype(np.int16) + GUTTER_TOLERANCE, 0, 255).astype(np.uint8)
        return cv2.inRange(image, lower, upper) > 0
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return (gray < DARK_LEVEL) & (gradient <= 6)


def _bands(lines: np.ndarray, min_size: int) -> list[tuple[int, int]]:
    """Runs of content lines (``lines`` False) at least ``min_size`` long, as (start, stop)."""
    bands, start = [], None
    for index, is_gutter in enumerate([*lines.tolist(), True]):
        if not is_gutter and start is None:
            start = index
        elif is_gutter and start is not None:
            if index - start >= min_size:
                bands.append((start, index))
            start = None
    return bands


def _coverage(integral: np.ndarray, box: Box, *, axis: int) -> np.ndarray:
    """Share of gutter pixels on each row (``axis=1``) or column (``axis=0``) of ``box``, from the mask's integral image."""
    x0, y0, x1, y1 = box
    if axis == 1:
        sums = integral[y0 + 1 : y1 + 1, x1] - integral[y0 + 1 : y1 + 1, x0] - integral[y0:y1, x1] + integral[y0:y1, x0]
        return np.asarray(sums / (x1 - x0))
    sums = integral[y1, x0 + 1 : x1 + 1] - integral[y0, x0 + 1 : x1 + 1] - integral[y1, x0:x1] + integral[y0, x0:x1]
    return np.asarray(sums / (y1 - y0))


def _cut(integral: np.ndarray, box: Box, *, min_size: int, depth: int) -> list[Box]:
    """Recursive XY-cut of ``box`` (x0, y0, x1, y1) along lines that are almost all gutter: leaf rectangles."""
    x0, y0, x1, _ = box
    rows = _bands(_coverage(integral, box, axis=1) >= GUTTER_COVERAGE, min_size)
    leaves: list[Box] = []
    for top, bottom in rows:
        band = (x0, y0 + top, x1, y0 + bottom)
        columns = _bands(_coverage(integral, band, axis=0) >= GUTTER_COVERAGE, min_size)
        for left, right in columns:
            cell = (x0 + left, y0 + top, x0 + right, y0 + bottom)
            split = len(rows) > 1 or len(columns) > 1
            # Only a cell that was just split off can hold a nested layout (the strip under a speaker).
            leaves += _cut(integral, cell, min_size=min_size, depth=depth - 1) if split and depth > 0 else [cell]
    return leaves


def _split_touching(gray: np.ndarray, integral: np.ndarray, leaf: Box, *, min_tile: int) -> list[Box]:
    """A block of touching tiles cut along its seams: into rows, then the rows into tiles. A leaf that is
    one tile comes back whole.

    The rows share their column edges, so those are found on all rows at once (two neighbours that look
    alike in one row rarely do in every row). A row whose ends are background (a shorter last row,
    centred) is cut into tiles of the same width; a row whose dark edge the background test nibbled
    keeps the shared columns.
    """
    x0, y0, x1, y1 = leaf
    rows = [y0, *(y0 + edge for edge in even_split(line_contrast(gray, leaf, axis=1), min_part=min_tile)), y1]
    bands = list(itertools.pairwise(rows))
    contrast = np.mean([line_contrast(gray, (x0, top, x1, bottom), axis=0) for top, bottom in bands], axis=0)
    shared = even_split(contrast, min_part=min_tile)
    tile_w = (x1 - x0) / (len(shared) + 1)
    grid_columns = list(itertools.pairwise([x0, *(x0 + edge for edge in shared), x1]))
    cells: list[Box] = []
    for top, bottom in bands:
        trimmed = _trim(integral, (x0, top, x1, bottom), min_size=min_tile)
        if trimmed is None:
            continue
        bx0, _, bx1, _ = trimmed
        width, count = bx1 - bx0, max(1, round((bx1 - bx0) / tile_w))
        if shared and count < len(grid_columns) and abs(count * tile_w - width) <= 0.05 * tile_w:
            spans = list(itertools.pairwise([bx0 + round(k * tile_w) for k in range(count)] + [bx1]))
        elif shared:
            spans = [(left, right) for left, right in grid_columns if min(right, bx1) - max(left, bx0) >= 0.5 * tile_w]
        else:
            edges = even_split(line_contrast(gray, trimmed, axis=0), min_part=min_tile)
            spans = list(itertools.pairwise([bx0, *(bx0 + edge for edge in edges), bx1]))
        cells += [(left, top, right, bottom) for left, right in spans]
    return cells


def _trim(integral: np.ndarray, box: Box, *, min_size: int) -> Box | None:
    """``box`` less the gutter lines along its edges (the background beside a short row), or ``None`` if
    what is left is under ``min_size``."""
    x0, y0, x1, y1 = box
    rows = np.flatnonzero(_coverage(integral, box, axis=1) < GUTTER_COVERAGE)
    if len(rows) == 0:
        return None
    y0, y1 = y0 + int(rows[0]), y0 + int(rows[-1]) + 1
    columns = np.flatnonzero(_coverage(integral, (x0, y0, x1, y1), axis=0) < GUTTER_COVERAGE)
    if len(columns) == 0:
        return None
    x0, x1 = x0 + int(columns[0]), x0 + int(columns[-1]) + 1
    return (x0, y0, x1, y1) if min(x1 - x0, y1 - y0) >= min_size else None


def _regular(leaves: list[Box]) -> bool:
    """Whether at least two leaves make a grid of one tile size (nine in ten within 3% of the typical size)."""
    typical_w = _typical([x1 - x0 for x0, _, x1, _ in leaves])
    typical_h = _typical([y1 - y0 for _, y0, _, y1 in leaves])
    if len(leaves) < 2 or typical_w is None or typical_h is None:
        return False
    same = [abs((x1 - x0) - typical_w) <= 0.03 * typical_w and abs((y1 - y0) - typical_h) <= 0.03 * typical_h for x0, y0, x1, y1 in leaves]
    return sum(same) >= 0.9 * len(leaves)


SLIVER = 0.2  # of a typical tile's area: smaller leaves (the text of a name strip) are no tile's remains


def _overlap(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _box_iou(a: Box, b: Box) -> float:
    inter = _overlap(a, b)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _agrees(leaves: list[Box], block: list[Box]) -> bool:
    """Whether most of the leaves of a tile's size or more (slivers, such as a name's text, aside) are
    tiles of ``block`` too."""
    area = max((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in block)
    sized = [leaf for leaf in leaves if (leaf[2] - leaf[0]) * (leaf[3] - leaf[1]) >= SLIVER * area]
    matched = [leaf for leaf in sized if max(_box_iou(leaf, cell) for cell in block) >= 0.7]
    return len(matched) >= 0.6 * len(sized)


def _block(leaf: Box, typical_w: int | None, typical_h: int | None) -> bool:
    """Whether ``leaf`` may hold several touching tiles: with a typical tile size among the leaves, only
    a leaf about twice as wide or tall may; without one, any may (a gallery with no gutter at all)."""
    if typical_w is None or typical_h is None:
        return True
    return leaf[2] - leaf[0] >= 1.8 * typical_w or leaf[3] - leaf[1] >= 1.8 * typical_h


def _grow(start: int, size: int, target: int, low: int, high: int) -> tuple[int, int]:
    """The span [start, start + size) extended towards ``target`` inside [low, high): (start, size)."""
    before_room, after_room = start - low, high - (start + size)
    missing = max(0, min(target - size, before_room + after_room))
    # Roomier side first: that is where the dark edge merged into the gutter.
    if before_room >= after_room:
        before = min(before_room, missing)
        after = missing - before
    else:
        after = min(after_room, missing)
        before = missing - after
    return start - before, size + before + after


def _typical(values: list[int]) -> int | None:
    """The most common value (within 3%; ties go to the larger), when at least two agree."""
    best, best_count = None, 1
    for value in values:
        count = sum(abs(other - value) <= max(2, 0.03 * value) for other in values)
        if count > best_count or (count == best_count and best is not None and value > best):
            best, best_count = value, count
    return best


def _merge_pieces(leaves: list[Box], typical: int, axis: int) -> list[Box]:
    """Join pairs along ``axis`` (0: x) that share most of a span and together make at most one typical tile:
    a band of gutter-coloured content across a tile splits it in two."""
    cross = 1 - axis

    def mergeable(a: Box, b: Box) -> bool:
        overlap = min(a[2 + cross], b[2 + cross]) - max(a[cross], b[cross])
        same_span = overlap >= 0.8 * max(a[2 + cross] - a[cross], b[2 + cross] - b[cross])
        both_small = max(a[2 + axis] - a[axis], b[2 + axis] - b[axis]) < 0.8 * typical
        return same_span and both_small and max(a[2 + axis], b[2 + axis]) - min(a[axis], b[axis]) <= 1.1 * typical

    leaves = list(leaves)
    pair = next(((a, b) for a, b in itertools.combinations(leaves, 2) if mergeable(a, b)), None)
    while pair:
        a, b = pair
        leaves = [box for box in leaves if box not in pair]
        leaves.append((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
        pair = next(((a, b) for a, b in itertools.combinations(leaves, 2) if mergeable(a, b)), None)
    return leaves


def _clusters(values: list[int], tolerance: int = 3) -> list[int]:
    """Distinct values, those within ``tolerance`` of a smaller one dropped."""
    kept: list[int] = []
    for value in sorted(values):
        if not kept or value - kept[-1] > tolerance:
            kept.append(value)
    return kept


def _snap(leaves: list[Box]) -> list[Box]:
    """A tile far smaller than the typical one (most of it read as gutter: a dark room, a dark fill
    beside a small face) becomes the grid cell that holds its centre, if no tile has that cell. The
    cells are where the typical tiles' left and top edges fall. A larger tile (a speaker) is kept."""
    typical_w = _typical([x1 - x0 for x0, _, x1, _ in leaves])
    typical_h = _typical([y1 - y0 for _, y0, _, y1 in leaves])
    if typical_w is None or typical_h is None:
        return leaves

    def typical(box: Box) -> bool:
        return abs(box[2] - box[0] - typical_w) <= 0.03 * typical_w and abs(box[3] - box[1] - typical_h) <= 0.03 * typical_h

    regular = [box for box in leaves if typical(box)]
    if len(regular) < 0.7 * len(leaves):
        return leaves
    lefts, tops = _clusters([box[0] for box in regular]), _clusters([box[1] for box in regular])
    snapped = []
    for box in leaves:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        sliver = (box[2] - box[0]) * (box[3] - box[1]) < SLIVER * typical_w * typical_h
        if sliver or typical(box) or box[2] - box[0] > typical_w or box[3] - box[1] > typical_h:
            snapped.append(box)
            continue
        cells = [(x, y, x + typical_w, y + typical_h) for x in lefts for y in tops if x <= cx < x + typical_w and y <= cy < y + typical_h]
        free = [
            cell
            for cell in cells
            if not any(
                min(cell[2], o[2]) - max(cell[0], o[0]) > 0.5 * typical_w and min(cell[3], o[3]) - max(cell[1], o[1]) > 0.5 * typical_h
                for o in regular
            )
        ]
        snapped.append(min(free, key=lambda cell: abs((cell[0] + cell[2]) / 2 - cx)) if free else box)
    return snapped


def _regularise(leaves: list[Box], *, width: int, height: int) -> list[Box]:
    """Repair tiles whose dark content next to their edge, or across them, reads as gutter.

    Meeting grids use one tile size (a speaker tile is larger): pieces that together make one
    typical tile are joined, and a tile smaller than typical by up to 40% grows into the free
    space beside it, keeping the smallest gap seen between tiles. Tiles never shrink or overlap.
    """
    typical_w = _typical([x1 - x0 for x0, _, x1, _ in leaves])
    typical_h = _typical([y1 - y0 for _, y0, _, y1 in leaves])
    if typical_w is None or typical_h is None:
        return leaves
    leaves = _merge_pieces(_merge_pieces(leaves, typical_w, axis=0), typical_h, axis=1)

    def free(index: int, axis: int) -> tuple[int, int]:
        """The free interval around leaf ``index`` along x (axis 0) or y (axis 1), up to neighbours facing it."""
        box, cross = leaves[index], 1 - axis
        low, high = 0, (width, height)[axis]
        for other_index, other in enumerate(leaves):
            if other_index == index or other[2 + cross] <= box[cross] or other[cross] >= box[2 + cross]:
                continue  # not facing along this axis
            if other[2 + axis] <= box[axis]:
                low = max(low, other[2 + axis])
            elif other[axis] >= box[2 + axis]:
                high = min(high, other[axis])
        return low, high

    lefts = [free(i, 0)[0] for i in range(len(leaves))]
    gap = min((box[0] - left for box, left in zip(leaves, lefts, strict=True) if left > 0), default=0)
    result = []
    for index, (x0, y0, x1, y1) in enumerate(leaves):
        w, h = x1 - x0, y1 - y0
        if GROW_FROM * typical_w <= w < typical_w:
            low, high = free(index, 0)
            x0, w = _grow(x0, w, typical_w, low + gap if low else 0, high - gap if high < width else width)
        if GROW_FROM * typical_h <= h < typical_h:
            low, high = free(index, 1)
            y0, h = _grow(y0, h, typical_h, low + gap if low else 0, high - gap if high < height else height)
        result.append((x0, y0, x0 + w, y0 + h))
    return result


def find_grid(image_bgr: np.ndarray, *, min_tile: int = 32, max_tiles: int = 100, hide: Tile | None = None) -> list[Tile]:
    """The gallery tiles of a meeting frame, named ``r<row>c<col>`` (from 1) in reading order.

    Tiles are the rectangles left by recursively cutting the frame along lines that are almost
    wholly gutter (the border's background colour or flat dark), so uneven gaps, name strips under
    tiles and a speaker view (one large tile above a strip) all come out; blocks of tiles that touch
    are then cut along their seams (:mod:`ingest.vision.seams`). Returns ``[]`` when the
    frame is not a grid (fewer than two tiles of at least ``min_tile`` pixels, or implausibly many).
    ``hide`` (a floating self view) is read as background.
    """
    height, width = image_bgr.shape[:2]
    if image_bgr.ndim != 3 or min(height, width) < 2 * min_tile:
        return []
    mask = _gutter_mask(image_bgr)
    if hide is not None:
        mask[hide.y : hide.y + hide.h, hide.x : hide.x + hide.w] = True
    integral = cv2.integral(mask.view(np.uint8))
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    cut = _cut(integral, (0, 0, width, height), min_size=min_tile, depth=3)
    typical_w, typical_h = _typical([x1 - x0 for x0, _, x1, _ in cut]), _typical([y1 - y0 for _, y0, _, y1 in cut])
    leaves = [
        cell
        for leaf in cut
        for cell in (_split_touching(gray, integral, leaf, min_tile=min_tile) if _block(leaf, typical_w, typical_h) else [leaf])
    ]
    if len(leaves) > max_tiles:
        return []
    leaves = _snap(_regularise(leaves, width=width, height=height))
    if not _regular(leaves):
        # Touching tiles with dark content can fool the gutter cut; the seams of the whole block may not.
        # The block's tiles are taken only where they refine what the cut found, never contradict it.
        content = _trim(integral, (0, 0, width, height), min_size=min_tile)
        block = _split_touching(gray, integral, content, min_tile=min_tile) if content else []
        if _regular(block) and len(block) >= len(leaves) and _agrees(leaves, block):
            leaves = block
    if len(leaves) < 2 or len(leaves) > max_tiles:
        return []
    unnamed = [Tile("", x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in leaves]
    return [
        Tile(f"r{row_index}c{col_index}", tile.x, tile.y, tile.w, tile.h)
        for row_index, row in enumerate(iter_rows(unnamed), start=1)
        for col_index, tile in enumerate(row, start=1)
    ]
