"""The gallery layouts that Zoom, Meet and Teams draw, as test and benchmark fixtures.

Sizes follow what the apps draw at common window sizes: Zoom's gallery of touching tiles and its 7×7
page at 640×400, Meet's 4×4 at 1080p with gaps, Teams' uneven rows with a centred last row; names
over the video or in strips, camera-off tiles and an active-speaker outline. Layouts marked
``held_out`` were never looked at while the grid finder and the small-face path were tuned, so their
figures in ``benchmarks/vision.py`` say how the code does on layouts it was not fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ingest.vision.gallery import compose_gallery
from ingest.vision.tiles import Tile


@dataclass(frozen=True)
class Layout:
    """One meeting gallery: ``count`` tiles of ``tile_size`` in rows of ``cols``, centred in ``frame_size``."""

    name: str
    count: int
    cols: int
    tile_size: tuple[int, int]
    frame_size: tuple[int, int]
    gap: int
    name_overlay: bool = True
    name_strip: bool = False
    uneven: bool = False
    camera_off: tuple[int, ...] = ()
    active: int | None = None
    distance: float = 1.0  # how far back each person sits: 2.0 halves their face in the tile
    self_view: bool = False  # the uploader's own camera floats over the bottom right corner
    held_out: bool = False

    def compose(self, sources: Sequence[np.ndarray], *, seed: int = 0, names: Sequence[str] | None = None) -> tuple[np.ndarray, list[Tile]]:
        """The gallery frame with ``sources`` (cycled) in its tiles, and the true tiles; ``names`` (one per
        tile) replaces the default "Student NN" names."""
        faces = [_farther(sources[k % len(sources)], self.distance) for k in range(self.count)]
        names = list(names) if names is not None else [f"Student {k + 1:02d}" for k in range(self.count)]
        return compose_gallery(
            faces,
            names=names,
            cols=self.cols,
            tile_size=self.tile_size,
            gap=self.gap,
            name_strip=self.name_strip,
            uneven=self.uneven,
            seed=seed,
            frame_size=self.frame_size,
            name_overlay=self.name_overlay,
            camera_off=self.camera_off,
            active=self.active,
            self_view=_farther(sources[-1], 1.3) if self.self_view else None,
        )


def _farther(picture: np.ndarray, distance: float) -> np.ndarray:
    """The picture as a camera ``distance`` times farther away would take it: shrunk, its surroundings
    continued by its edge colours (a reflection would show the face twice)."""
    if distance <= 1.0:
        return picture
    height, width = picture.shape[:2]
    pad_y, pad_x = round(height * (distance - 1) / 2), round(width * (distance - 1) / 2)
    return cv2.copyMakeBorder(picture, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)


LAYOUTS = [
    # Tuned on:
    Layout(
        "zoom 5x5 touching, full window 1280x720, self view over a tile", 25, 5, (256, 144), (1280, 720), gap=0, active=7, self_view=True
    ),
    Layout("zoom 7x7 at 640x400", 49, 7, (88, 50), (640, 400), gap=2, camera_off=(10, 33), distance=1.6),
    Layout("meet 4x4 at 1920x1080", 16, 4, (464, 261), (1920, 1080), gap=8, active=5, camera_off=(9,)),
    Layout("teams 7 in uneven rows (3+3+1), self view", 7, 3, (400, 225), (1280, 720), gap=4, camera_off=(4,), self_view=True),
    Layout("zoom 4x4 touching, centred at 1280x720", 16, 4, (240, 135), (1280, 720), gap=0, active=2),
    # Held out:
    Layout("meet 3x3 touching at 1280x720", 9, 3, (424, 238), (1280, 720), gap=0, active=0, held_out=True),
    Layout(
        "zoom 6x6 with name strips, uneven gaps, 1080p",
        36,
        6,
        (280, 150),
        (1920, 1080),
        gap=6,
        name_overlay=False,
        name_strip=True,
        uneven=True,
        camera_off=(20,),
        held_out=True,
    ),
    Layout("teams 10 in rows of 4+4+2, self view", 10, 4, (300, 169), (1280, 720), gap=4, active=3, self_view=True, held_out=True),
    Layout("zoom 7x7 touching at 1280x800", 49, 7, (176, 99), (1280, 800), gap=0, camera_off=(0, 48), held_out=True),
]
