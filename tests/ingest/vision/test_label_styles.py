"""Platform-style name labels painted onto gallery tiles (test and benchmark fixtures)."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.vision.gallery import compose_gallery
from ingest.vision.label_styles import (
    ELLIPSIS,
    SAMPLE_NAMES,
    STYLES,
    Style,
    fit_name,
    font_size,
    paint_labels,
    strip_height,
    video_tone,
)
from ingest.vision.tiles import MAX_NAME_LENGTH, Tile


def _gallery(style: Style) -> tuple[np.ndarray, list[Tile]]:
    sources = [np.full((180, 320, 3), level, np.uint8) for level in (40, 120, 220, 90)]
    return compose_gallery(
        sources, names=[""] * 4, cols=2, tile_size=(400, 200), gap=8, frame_size=(1280, 720), name_strip=style == "strip"
    )


@pytest.mark.parametrize("style", STYLES)
def test_paints_only_the_label_area(style: Style) -> None:
    frame, tiles = _gallery(style)
    painted, shown = paint_labels(frame, tiles=tiles, names=SAMPLE_NAMES[:4], style=style, size_at_720p=13)
    assert shown == list(SAMPLE_NAMES[:4])
    assert painted.shape == frame.shape and painted is not frame
    changed = np.argwhere((painted != frame).any(axis=2))
    for tile in tiles:
        inside = changed[(changed[:, 1] >= tile.x) & (changed[:, 1] < tile.x + tile.w)]
        inside = inside[(inside[:, 0] >= tile.y) & (inside[:, 0] < tile.y + tile.h + strip_height(font_px=13))]
        assert len(inside), "the label is painted"
        if style == "strip":
            assert inside[:, 0].min() >= tile.y + tile.h, "a strip is under the video, not on it"
        else:
            # Bottom left: the label stays in the tile's lower third and left of its middle for a short name.
            assert inside[:, 0].min() >= tile.y + tile.h * 2 // 3
            assert inside[:, 1].max() < tile.x + tile.w // 2
    assert (changed[:, 0] < tiles[0].y).sum() == 0, "nothing above the first row"


def test_default_compose_is_unchanged() -> None:
    """Labels are painted over a composed gallery; compose_gallery's own output does not depend on this module."""
    frame, _ = _gallery("zoom")
    again, _ = _gallery("zoom")
    assert np.array_equal(frame, again)


def test_long_names_are_cut_with_an_ellipsis() -> None:
    long_name = SAMPLE_NAMES[18]
    assert len(long_name) <= MAX_NAME_LENGTH
    shown = fit_name(long_name, font_px=13, max_width=200)
    assert shown.endswith(ELLIPSIS) and long_name.startswith(shown[:-1])
    assert fit_name("x" * 500, font_px=13, max_width=10**6) == "x" * MAX_NAME_LENGTH
    assert fit_name("  Ana   Núñez ", font_px=13, max_width=500) == "Ana Núñez"
    assert fit_name("Ana Núñez", font_px=13, max_width=3) == ""


@pytest.mark.parametrize("height, size, expected", [(720, 13, 13), (1080, 10, 15), (400, 16, 9), (100, 10, 6)])
def test_font_size_scales_with_the_frame(height: int, size: int, expected: int) -> None:
    assert font_size(frame_height=height, size_at_720p=size) == expected


def test_labels_on_tiles_at_the_frame_edge_and_empty_tiles() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    edge = Tile("edge", 150, 60, 100, 60)  # reaches past the right and bottom edges
    painted, shown = paint_labels(frame, tiles=[edge, Tile("none", 0, 0, 0, 0)], names=["Zoë", "Ana"], style="zoom", size_at_720p=13)
    assert shown[1] == "" and painted.shape == frame.shape
    strips = [Tile("cut", 0, 40, 200, 55), Tile("outside", 0, 40, 200, 60)]
    _, strip_shown = paint_labels(frame, tiles=strips, names=["Zoë", "Ana"], style="strip", size_at_720p=13)
    assert strip_shown == ["Zoë", ""]  # painted as far as the frame goes; not at all under a tile at the bottom edge


def test_video_tone() -> None:
    picture = np.full((4, 4, 3), 100, np.uint8)
    assert video_tone(picture, tone="light").mean() > 180
    assert video_tone(picture, tone="dark").mean() < 40
    assert video_tone(picture, tone="natural") is picture
