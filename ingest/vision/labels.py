"""Participant names read from the picture: the label each meeting app paints on a tile.

Zoom, Meet and Teams paint the name in the tile's bottom left corner as white text (on a translucent
box, on a pill, or with only a soft shadow over the video); other layouts put it in a strip under the
tile (light text on dark or dark on light). :func:`label_read` finds that text, cleans it into dark
text on white about 32 px high and reads it with Tesseract (``tesserocr``, the C API in-process: no process
start and no model load per call). :class:`TileLabels` keeps, per stream and tile, the last few
readings and a tiny thumbnail of the label area, so that a tile's label is read again only when it
changes; per frame it costs a thumbnail of each tile's label.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ingest.vision.shrink import shrink
from ingest.vision.tiles import MAX_NAME_LENGTH, Tile

TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata")
LANGUAGE = "Latin"  # Latin script's model reads English and the accented names English's model misses
MIN_CONFIDENCE = 0.6  # Tesseract's mean word confidence below this is a guess, not a reading
SECOND_TEXT_HEIGHT = 44  # px: the cross-check's scale (see _read)
TEXT_HEIGHT = 32  # px: the line's height with accents and descenders, which puts capitals near the ~30 px Tesseract reads best
STROKE_REACH = 3  # px: label text at 10-16 px (720p) has strokes 1-2 px wide
BRIGHT = 165  # white label text, anti-aliased at 10 px, stays above this
CONTRAST = 70  # and its box or shadow is this much darker next to it
LIGHT_VIDEO = 120  # a label's surroundings this bright (median gray) are light video, not a box
BOX_DARK = 110  # Zoom's translucent box and Teams' pill are darker than this over any video
STRIP_INK = 50  # strip text differs from the strip's fill by at least this


Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class LabelReading:
    """What a tile's label says: ``text`` None when nothing is readable (never a half-read name)."""

    text: str | None
    confidence: float  # 0..1


NOTHING = LabelReading(None, 0.0)


def _tessdata() -> str:
    """The folder holding Tesseract's LANGUAGE model: TESSDATA_PREFIX, else where Debian puts it."""
    for candidate in (os.environ.get("TESSDATA_PREFIX"), *TESSDATA_DIRS):
        if candidate and (Path(candidate) / f"{LANGUAGE}.traineddata").exists():
            return candidate
    raise RuntimeError(f"Tesseract's {LANGUAGE}.traineddata is missing; run scripts/setup.sh (tesseract-ocr-script-latn)")


class _Tesseract:
    """One Tesseract engine per process (loading the model takes ~0.3 s), used under a lock: the C API is not thread-safe."""

    _api = None
    _lock = threading.Lock()

    @classmethod
    def read(cls, picture: np.ndarray) -> tuple[str, float]:
        """The text of a one-line gray picture (dark text on white) and its mean word confidence (0..1)."""
        import tesserocr

        with cls._lock:
            if cls._api is None:
                cls._api = tesserocr.PyTessBaseAPI(path=_tessdata(), lang=LANGUAGE, psm=tesserocr.PSM.SINGLE_LINE)
            api = cls._api
            height, width = picture.shape
            api.SetImageBytes(np.ascontiguousarray(picture).tobytes(), width, height, 1, width)
            text = api.GetUTF8Text()
            confidences = api.AllWordConfidences()
        return text, (sum(confidences) / len(confidences) / 100 if confidences else 0.0)


def _clip(image: np.ndarray, x: int, y: int, w: int, h: int) -> Rect:
    """The rectangle cut to the image (width or height 0 when outside)."""
    frame_h, frame_w = image.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(frame_w, x + w), min(frame_h, y + h)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def _overlay_band(tile: Tile) -> Rect:
    """Where an overlaid label can be: the tile's bottom third."""
    band_h = min(tile.h, max(12, round(tile.h * 0.34)))
    return tile.x, tile.y + tile.h - band_h, tile.w, band_h


def _strip_band(tile: Tile) -> Rect:
    """Where a name strip can be: just under the tile."""
    return tile.x, tile.y + tile.h, tile.w, min(60, max(14, round(tile.h * 0.22)))


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _white_text(gray: np.ndarray, reach: int) -> np.ndarray:
    """Pixels of white text: bright, and thinner than ``reach`` with darker pixels (box, pill or shadow) on
    both sides; a white top-hat, so that bright video beside a box or under a shadow does not count."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
    tophat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel)
    return (gray >= BRIGHT) & (tophat >= CONTRAST)


def _line_box(mask: np.ndarray, *, left_limit: int) -> Rect | None:
    """The bounding box (x, y, w, h) of the lowest text line starting within ``left_limit`` of the left edge:
    letters merged into words and words into a line by a wide closing, then the line's neighbours on the same row."""
    height = mask.shape[0]
    gap = max(3, round(height / 12))  # wider than a word space at 10-16 px, narrower than a box's padding
    joined = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 3)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    parts = [
        (int(x), int(y), int(w), int(h)) for x, y, w, h, area in stats[1:count] if 5 <= h <= 0.8 * height and area >= 12 and w >= 0.4 * h
    ]
    if not parts:
        return None
    # The lowest line holding a part that starts near the left edge: the label sits at the bottom left.
    starts = [part for part in parts if part[0] <= left_limit]
    if not starts:
        return None
    words = [part for part in starts if part[2] >= 1.5 * part[3]]
    anchor = max(words, key=lambda part: part[1] + part[3]) if words else max(starts, key=lambda part: part[2])
    line = sorted(
        part for part in parts if min(anchor[1] + anchor[3], part[1] + part[3]) - max(anchor[1], part[1]) >= 0.5 * min(anchor[3], part[3])
    )
    x, y, w, h = line[0]
    if x > left_limit:
        return None
    # Words the closing left apart (wide spaces) join while close enough to the right.
    for px, py, pw, ph in line[1:]:
        if px - (x + w) > h:
            break
        x1, y1 = max(x + w, px + pw), max(y + h, py + ph)
        y = min(y, py)
        w, h = x1 - x, y1 - y
    x, y, w, h = _text_rows(mask, (x, y, w, h))
    return (x, y, w, h) if w >= 1.2 * h else None  # a name's line is wider than tall; a blob of video is not


def _text_rows(mask: np.ndarray, line: Rect) -> Rect:
    """The line's rows cut to the text: the lowest run of rows holding text pixels (a gap of up to 2 rows
    joins, so accents stay with their letters); video details the closing joined above go."""
    x, y, w, h = line
    rows = np.flatnonzero(mask[y : y + h, x : x + w].sum(axis=1) >= 2)
    runs = [run for run in np.split(rows, np.flatnonzero(np.diff(rows) > 3) + 1) if len(run) and run[-1] - run[0] >= 4]
    if not runs:
        return line
    return x, y + int(runs[-1][0]), w, int(runs[-1][-1] - runs[-1][0] + 1)


def _inside_box(gray: np.ndarray, mask: np.ndarray, line: Rect) -> Rect:
    """The line cut to the dark region it sits in (a box, a pill, or dark video) when that region is box-shaped:
    nearly filled and not much taller than the text. Bright video next to a box would otherwise join the line."""
    x, y, w, h = line
    dark = ((gray < BOX_DARK) | mask).astype(np.uint8)
    _, regions, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    region = regions[y + h // 2, max(0, x - 2)]
    if region == 0:
        return line
    bx, by, bw, bh, area = (int(v) for v in stats[region])
    if area < 0.85 * bw * bh or bh > 0.7 * gray.shape[0] or bh > 3 * h:
        return line
    x1, y0, y1 = min(x + w, bx + bw), max(y, by), min(y + h, by + bh)
    return _text_rows(mask, (x, y0, x1 - x, y1 - y0)) if x1 > x and y1 > y0 else line


def _for_tesseract(gray: np.ndarray, box: Rect, *, ink: str, text_height: int = TEXT_HEIGHT) -> np.ndarray:
    """The line cut out with a margin, scaled to ~TEXT_HEIGHT, as dark text on white.
    ``ink``: "white" (white text by its dark box or shadow), "dark" or "light" (text on a strip)."""
    x, y, w, h = box
    pad = max(2, h // 3)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    crop = gray[y0 : y + h + pad, x0 : x + w + pad]
    scale = text_height / h
    big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if ink == "white":
        # Soft, not binarised: Tesseract's LSTM reads anti-aliased strokes better than thresholded ones. The
        # strokes' strength is a white top-hat (thin and brighter than what is around them).
        reach = max(2, round(STROKE_REACH * scale))
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
        strength = cv2.morphologyEx(big, cv2.MORPH_TOPHAT, kernel).astype(np.float32)
        surround, peak = float(np.median(big)), float(np.percentile(big, 99))
        if surround >= LIGHT_VIDEO:
            # Shadowed text on light video: the gaps between shadows are thin and bright too, but less
            # bright than the text; only the top half of the range between them counts.
            low = (surround + peak) / 2
            strength *= np.clip((big.astype(np.float32) - low) / max(peak - low, 1.0), 0, 1)
        else:
            strength[big < BRIGHT - 45] = 0
        top = float(np.percentile(strength[strength > 0], 95)) if (strength > 0).any() else 1.0
        binary = 255 - np.clip(strength * 255 / max(top, 1.0), 0, 255).astype(np.uint8)
    else:
        # A strip is flat: Otsu splits its fill from its text at the middle of their anti-aliased edges.
        _, binary = cv2.threshold(big, 0, 255, (cv2.THRESH_BINARY if ink == "dark" else cv2.THRESH_BINARY_INV) + cv2.THRESH_OTSU)
    return cv2.copyMakeBorder(binary, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


STRAY = set("|[](){}_~`'\"“”‘’,;:!?^*$#%&lI1i")  # a box edge or shadow gap read as a one-character word


def _clean(text: str) -> str | None:
    """Whitespace normalised, a stray box edge or quote at either end dropped, dots as the ellipsis the apps
    draw, a first name's capital I or J that Tesseract took for an l or a j (alike in UI fonts); None
    when what is left is not a name (under two letters, or mostly symbols)."""
    words = unicodedata.normalize("NFC", " ".join(text.split())).split(" ")
    while words and len(words[0]) == 1 and words[0] in STRAY:
        words.pop(0)
    while words and len(words[-1]) == 1 and words[-1] in STRAY:
        words.pop()
    text = " ".join(words).strip("|[](){}_~`'\"“”‘’,;:!?^*$#%& ")
    # The ellipsis of a name cut mid-word, read as dots (a short last word keeps its dot: "Jr.", "S.").
    text = re.sub(r"\s*(\.{2,}|…+)$|(?<=\w{4})\.$", "…", text)
    # Names start with a capital: a leading l or j before a lower-case letter is an I or a J (Ioana, José).
    text = re.sub(r"^[lj](?=[^\W\d_A-Z])", lambda match: "I" if match.group() == "l" else "J", text)
    text = text[:MAX_NAME_LENGTH]
    letters = sum(char.isalpha() for char in text)
    others = sum(not (char.isalnum() or char in " .-'’…") for char in text)
    if letters < 2 or others > max(1, letters // 4):
        return None
    return text


def _read_once(picture: np.ndarray) -> LabelReading:
    """Tesseract's reading of a prepared line, kept only when it is a confident, clean name."""
    raw, confidence = _Tesseract.read(picture)
    text = _clean(raw)
    if text is None or confidence < MIN_CONFIDENCE:
        return LabelReading(None, confidence)
    return LabelReading(text, confidence)


def _read(gray: np.ndarray, box: Rect, *, ink: str) -> LabelReading:
    """The line read at two scales, kept only when both readings agree to the letter.

    Tesseract's confidence hardly tells a slip (one letter or accent off) from a right reading, but its slips
    depend on the picture's scale: two scales that agree are very rarely both wrong, so a name that they do not
    agree on stays unread (anonymous) rather than half-read.
    """
    first = _read_once(_for_tesseract(gray, box, ink=ink))
    if first.text is None:
        return first
    second = _read_once(_for_tesseract(gray, box, ink=ink, text_height=SECOND_TEXT_HEIGHT))
    return first if second.text == first.text else LabelReading(None, min(first.confidence, second.confidence))


def _read_overlay(image: np.ndarray, tile: Tile) -> tuple[LabelReading, Rect] | None:
    """The white label in the tile's bottom left and where its line is; None when no text line is there."""
    x, y, w, h = _clip(image, *_overlay_band(tile))
    if w < 8 or h < 8:
        return None
    band = _gray(image[y : y + h, x : x + w])
    mask = _white_text(band, STROKE_REACH)
    box = _line_box(mask, left_limit=max(12, w // 10))
    if box is None:
        return None
    box = _inside_box(band, mask, box)
    return _read(band, box, ink="white"), (x + box[0], y + box[1], box[2], box[3])


def _strip_rows(band: np.ndarray) -> tuple[int, int]:
    """(fill level, rows) of a name strip at the top of ``band``: the rows from the top mostly of one level;
    (0, 0) when the band does not start with one."""
    # The fill's level from the strip's first rows, above the text (a long name leaves little fill in the text rows).
    level = int(np.median(band[1:3] if len(band) > 3 else band))
    share = (np.abs(band.astype(np.int16) - level) <= 12).mean(axis=1)
    # The strip's rows: from the top to the last mostly-fill row, the text rows between them being at least partly fill.
    rows = 0
    for row, value in enumerate(share):
        if value < 0.2:
            break
        if value >= 0.5:
            rows = row + 1
    return level, rows


def _read_strip(image: np.ndarray, tile: Tile) -> tuple[LabelReading, Rect] | None:
    """The name in a strip under the tile and where its line is; None when there is no strip with text."""
    x, y, w, h = _clip(image, *_strip_band(tile))
    if w < 8 or h < 8:
        return None
    band = _gray(image[y : y + h, x : x + w])
    level, rows = _strip_rows(band)
    if rows < 8:
        return None
    strip = band[:rows]
    ink = "dark" if level >= 128 else "light"
    mask = strip.astype(np.int16) <= level - STRIP_INK if ink == "dark" else strip.astype(np.int16) >= level + STRIP_INK
    box = _line_box(mask, left_limit=max(12, w // 10))
    return (_read(strip, box, ink=ink), (x + box[0], y + box[1], box[2], box[3])) if box else None


def label_read(*, image: np.ndarray, tile: Tile) -> LabelReading:
    """Find the painted name label in the tile (BGR or gray frame, tile in frame pixels; also look in a strip just
    below the tile) and read it."""
    return _locate_and_read(image, tile)[0]


def _locate_and_read(image: np.ndarray, tile: Tile) -> tuple[LabelReading, Rect | None]:
    """The reading and where its text line is in the frame (None when no line was found)."""
    if tile.w <= 0 or tile.h <= 0 or image.size == 0:
        return NOTHING, None
    # Both places are read and the surer reading wins: video details in the tile can pass for a short word.
    found = [reading for reading in (_read_overlay(image, tile), _read_strip(image, tile)) if reading is not None]
    return max(found, key=lambda reading: (reading[0].text is not None, reading[0].confidence), default=(NOTHING, None))


THUMB_SIZE = (32, 4)  # (w, h) of a label area's thumbnail: enough to see a label change, too small to show anyone
CHANGED = 14.0  # mean absolute difference of stroke thumbnails that means the label changed (measured: another name
# gives 15-50, the video moving under the label for a second 3-8, rarely 20)
CONFIRM_S = 5.0  # an unconfirmed reading is read again after this long, even when the pixels did not change
# A tile the meeting page named is named by the page; its label only cross-checks that name (a contradiction is
# logged, the card's form shows it), so it is looked at for a change this often instead of every frame: checking
# took about 5 ms of a 25-tile frame's ingest CPU.
PAGE_NAMED_CHECK_S = 5.0
FORGET_S = 60.0
VOTES = 3
KEY_GRID = 8  # px: tile rectangles this close are the same tile (layouts shift by a pixel or two)


def _thumbnail(image: np.ndarray, tile: Tile, area: Rect | None) -> np.ndarray:
    """The thin strokes of the label's text line (``area``, in the frame) shrunk to THUMB_SIZE; without one, of
    the places a label can be (the tile's bottom band and the strip under it). A tight area makes a changed
    name stand out from video moving elsewhere in the tile."""
    rects = [area] if area else [_overlay_band(tile), _strip_band(tile)]
    parts = []
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * STROKE_REACH + 1, 2 * STROKE_REACH + 1))
    for rect in rects:
        x, y, w, h = _clip(image, *rect)
        if w == 0 or h == 0:
            parts.append(np.zeros(THUMB_SIZE[::-1], np.uint8))
            continue
        region = _gray(image[y : y + h, x : x + w])
        # Thin strokes of either polarity (white top-hat, black-hat): the text, not the video's slow shading under it.
        strokes = np.maximum(cv2.morphologyEx(region, cv2.MORPH_TOPHAT, kernel), cv2.morphologyEx(region, cv2.MORPH_BLACKHAT, kernel))
        parts.append(shrink(strokes, THUMB_SIZE))
    return np.vstack(parts)


@dataclass
class _Entry:
    thumbnail: np.ndarray
    area: Rect | None  # the text line the last read found, in the frame (found tiles jitter by a pixel; labels do not)
    read_at: float
    used_at: float
    checked_at: float  # when its area was last looked at for a change
    readings: deque[str | None] = field(default_factory=lambda: deque(maxlen=VOTES))

    def settled(self) -> str | None:
        """The name at least two of the last readings agree on (the latest such when tied)."""
        counts = Counter(text for text in self.readings if text is not None)
        agreed = [text for text in reversed(self.readings) if text is not None and counts[text] >= 2]
        return agreed[0] if agreed else None


class TileLabels:
    """Per-process memory of label readings for one stream (a session): reads a tile's label once, again only
    when the label area's pixels change, and votes over a few reads, so per frame it costs next to nothing.

    Only texts and tiny thumbnails (THUMB_SIZE) of label areas are kept, never a frame or a crop. A reading
    that differs from the settled name is confirmed by one more read after CONFIRM_S even when the pixels
    did not change (a label that never changes would otherwise never get its second read); a tile with no
    settled name is read again after CONFIRM_S times the readings it has (5, 10, then every 15 s). A tile the page
    named is looked at for a change every PAGE_NAMED_CHECK_S only."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int, int, int, int], _Entry] = {}
        self._swept_at = 0.0
        self.reads = 0  # OCR reads made, for benchmarks and tests

    def name_for(self, *, stream: int, image: np.ndarray, tile: Tile, now: float, check_every: float = 0.0) -> str | None:
        """The settled name for this tile (majority of the last few reads, at least 2 agreeing), or None while unsettled or
        unreadable. Its label area is looked at for a change at most every ``check_every`` seconds (every call at 0)."""
        if tile.w <= 0 or tile.h <= 0:
            return None
        self._forget(now)
        key = (stream, round(tile.x / KEY_GRID), round(tile.y / KEY_GRID), round(tile.w / KEY_GRID), round(tile.h / KEY_GRID))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(thumbnail=np.zeros(0, np.uint8), area=None, read_at=-np.inf, used_at=now, checked_at=now)
            changed = True
        elif now - entry.checked_at < check_every:
            changed = False
        else:
            entry.checked_at = now
            thumbnail = _thumbnail(image, tile, entry.area)
            changed = (
                thumbnail.shape != entry.thumbnail.shape or float(np.abs(thumbnail.astype(np.int16) - entry.thumbnail).mean()) >= CHANGED
            )
        entry.used_at = now
        # Read again (after a while) while the latest reading differs from the settled name, to confirm one or the
        # other; and while nothing is settled, less and less often: a first read that failed (a frame caught
        # mid-change) would otherwise never be tried again, and a label that cannot be read costs little.
        settled = entry.settled()
        wait = CONFIRM_S if settled is not None else CONFIRM_S * len(entry.readings)
        unconfirmed = bool(entry.readings) and (settled is None or entry.readings[-1] != settled) and now - entry.read_at >= wait
        if changed or unconfirmed:
            reading, line = _locate_and_read(image, tile)
            entry.readings.append(reading.text)
            entry.area = line
            entry.thumbnail, entry.read_at, entry.checked_at = _thumbnail(image, tile, entry.area), now, now
            self.reads += 1
        return entry.settled()

    def _forget(self, now: float) -> None:
        """Drop entries unused for FORGET_S (checked at most once a second)."""
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        for key in [key for key, entry in self._entries.items() if now - entry.used_at > FORGET_S]:
            del self._entries[key]
