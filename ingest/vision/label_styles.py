"""Platform-style name labels painted onto gallery tiles, for the label-reading tests and benchmark.

Every meeting app paints the participant's name on the tile, and :mod:`ingest.vision.labels` reads it:

- ``zoom``: bottom left, white text on a translucent dark box;
- ``meet``: white text with a soft shadow straight on the video, bottom left;
- ``teams``: bottom left, white text on a dark pill (a box with round ends);
- ``strip``: a strip under the video holding the name, dark text on light or light text on dark.

Labels are painted over a gallery composed without names (``compose_gallery(..., name_overlay=False)``;
for ``strip`` with ``name_strip=True`` so that the strip's space exists), so :func:`compose_gallery`'s
callers get what they always got. Text is DejaVu Sans, which matplotlib ships; names too wide for the
tile are cut with an ellipsis, as the apps cut them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ingest.vision.tiles import MAX_NAME_LENGTH, Tile

Style = Literal["zoom", "meet", "teams", "strip"]
STYLES: tuple[Style, ...] = ("zoom", "meet", "teams", "strip")
FONT_PATH = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
ELLIPSIS = "…"
REFERENCE_HEIGHT = 720  # font sizes are given at 720p and scale with the frame's height
WHITE = (255, 255, 255)
LIGHT_STRIP_RGB, DARK_ON_LIGHT_RGB = (236, 236, 238), (32, 33, 36)
DARK_STRIP_RGB, LIGHT_ON_DARK_RGB = (54, 56, 60), (232, 234, 237)

# Names as a class list has them: accents of many languages, a double-barrelled one, a very long one.
SAMPLE_NAMES = (
    "José García",
    "Renée Dubois",
    "Jürgen Weiß",
    "Ana Núñez",
    "Bjørn Ødegård",
    "Paweł Łukasiewicz",
    "Çağla Öztürk",
    "Åsa Lindqvist",
    "Zoltán Erdős",
    "Ștefan Popescu",
    "Chen Wei",
    "François Müller-Lüdenscheidt",
    "Zoë Ångström",
    "Łukasz Żółć",
    "Søren Ørsted",
    "Ioana Ștefănescu",
    "Muñoz Peña",
    "Ödön Bőrcsök",
    "Maximilian Alexander von Hohenzollern-Sigmaringen " + "und Ober-Niederbayern " * 6 + "der Zwanzigste",
    "Amélie Lefèvre",
    "Håkon Sæther",
    "Marta Świątek",
    "Nuño Bazán",
    "Ilse Kühn",
    "Priya Raman",
)


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def font_size(*, frame_height: int, size_at_720p: int) -> int:
    """The label's font size in pixels for a frame ``frame_height`` high (at least 6 px)."""
    return max(6, round(size_at_720p * frame_height / REFERENCE_HEIGHT))


def fit_name(name: str, *, font_px: int, max_width: int) -> str:
    """``name`` (cut to 200 characters) as the app shows it in ``max_width`` pixels: whole, or cut with an ellipsis."""
    name = " ".join(name.split())[:MAX_NAME_LENGTH]
    font = _font(font_px)
    if font.getlength(name) <= max_width:
        return name
    # Binary search for the longest prefix that fits with the ellipsis.
    low, high = 0, len(name)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(name[:middle].rstrip() + ELLIPSIS) <= max_width:
            low = middle
        else:
            high = middle - 1
    return name[:low].rstrip() + ELLIPSIS if low else ""


def strip_height(*, font_px: int) -> int:
    """The height of a name strip under a tile for text of ``font_px``."""
    return round(font_px * 1.7)


def paint_label(frame: np.ndarray, *, tile: Tile, name: str, style: Style, font_px: int, light_strip: bool = False) -> str:
    """Paint ``name`` in ``style`` onto ``tile`` of the BGR ``frame`` (in place); return the text as shown
    (cut with an ellipsis when too wide, empty when nothing fits). ``light_strip`` makes a ``strip``
    style label dark text on a light strip instead of light text on a dark one."""
    frame_h, frame_w = frame.shape[:2]
    font = _font(font_px)
    pad = max(2, round(font_px * 0.45))
    margin = max(2, round(font_px * 0.3))  # the label's distance from the tile's edges
    if style == "strip":
        top, height = tile.y + tile.h, strip_height(font_px=font_px)
        region = (tile.x, top, tile.w, min(height, frame_h - top))
        max_text = tile.w - 2 * pad
    else:
        max_text = tile.w - 2 * margin - 2 * pad
        region = (tile.x, tile.y, tile.w, tile.h)
    x0, y0, w, h = region
    x0, y0 = max(0, x0), max(0, y0)
    w, h = min(w, frame_w - x0), min(h, frame_h - y0)
    shown = fit_name(name, font_px=font_px, max_width=max_text)
    if w <= 0 or h <= 0 or (not shown and style != "strip"):
        return ""
    patch = frame[y0 : y0 + h, x0 : x0 + w]
    base = Image.fromarray(cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    ascent, descent = font.getmetrics()
    text_w = round(font.getlength(shown))
    if style == "strip":
        fill, ink = (LIGHT_STRIP_RGB, DARK_ON_LIGHT_RGB) if light_strip else (DARK_STRIP_RGB, LIGHT_ON_DARK_RGB)
        draw.rectangle((0, 0, w - 1, h - 1), fill=(*fill, 255))
        draw.text((pad, (h - ascent - descent) // 2), shown, font=font, fill=(*ink, 255))
    else:
        box_h = ascent + descent + pad
        box = (margin, h - margin - box_h, margin + text_w + 2 * pad, h - margin)
        text_at = (box[0] + pad, box[1] + (box_h - ascent - descent) // 2)
        if style == "zoom":
            draw.rectangle(box, fill=(0, 0, 0, 150))
        elif style == "teams":
            draw.rounded_rectangle(box, radius=box_h // 2, fill=(32, 32, 32, 200))
        else:
            # Meet: no box; a soft shadow (the text blurred, drawn twice for density) keeps it readable.
            shadow = Image.new("RGBA", base.size, (0, 0, 0, 0))
            ImageDraw.Draw(shadow).text(text_at, shown, font=font, fill=(0, 0, 0, 255), stroke_width=max(1, font_px // 10))
            shadow = shadow.filter(ImageFilter.GaussianBlur(radius=max(1.0, font_px / 8)))
            base = Image.alpha_composite(Image.alpha_composite(base, shadow), shadow)
        draw.text(text_at, shown, font=font, fill=(*WHITE, 255))
    painted = Image.alpha_composite(base, layer).convert("RGB")
    patch[:] = cv2.cvtColor(np.asarray(painted), cv2.COLOR_RGB2BGR)
    return shown


def paint_labels(
    frame: np.ndarray,
    *,
    tiles: Sequence[Tile],
    names: Sequence[str],
    style: Style,
    size_at_720p: int = 13,
    light_strip: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """A copy of ``frame`` with each of ``names`` painted on its tile in ``style`` at ``size_at_720p``
    (scaled with the frame's height), and the texts as shown."""
    out = frame.copy()
    font_px = font_size(frame_height=frame.shape[0], size_at_720p=size_at_720p)
    shown = [
        paint_label(out, tile=tile, name=name, style=style, font_px=font_px, light_strip=light_strip)
        for tile, name in zip(tiles, names, strict=True)
    ]
    return out, shown


def video_tone(picture: np.ndarray, *, tone: Literal["natural", "light", "dark"]) -> np.ndarray:
    """A camera picture as a bright room (washed towards white) or a dim one (darkened) would show it, so that
    labels are tested over light and dark video."""
    if tone == "light":
        return cv2.addWeighted(picture, 0.35, np.full_like(picture, 235), 0.65, 0)
    if tone == "dark":
        return cv2.convertScaleAbs(picture, alpha=0.3)
    return picture
