"""Scenes for measuring the vision pipeline, and the scores that compare what it found with the truth.

Participants made from real clips, FER2013 faces framed as webcams, a class whose gallery reflows as
people leave and join; tile-level recall/precision and MOT-style identity switches. Shared by the
vision tests and ``benchmarks/vision.py`` so that both measure the same scenes the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ingest.vision.detections import Detections
from ingest.vision.gallery import LoopingVideo
from ingest.vision.tiles import Tile

REFLOWING_CLASS_SIZE = 11  # people who take part in :func:`reflowing_class` over its whole length


def jpeg(image: np.ndarray, quality: int = 80) -> np.ndarray:
    """The image after a JPEG round trip, as uploaded frames arrive."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ValueError(f"cannot JPEG-encode an image of shape {image.shape}")
    return decoded


def webcam_fer_face(face: np.ndarray) -> np.ndarray:
    """A 48×48 gray FER2013 face upscaled 2× and padded as a webcam would frame it (176×256, gray)."""
    face = cv2.resize(face, (96, 96), interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(face, 40, 40, 80, 80, cv2.BORDER_CONSTANT, value=150)


class Participant:
    """A synthetic meeting participant: a looping clip framed in its own way (zoom up to ``max_zoom``, offset)."""

    def __init__(self, path: Path, *, start: int, mirror: bool, rng: np.random.Generator, max_zoom: float = 1.5) -> None:
        self.video = LoopingVideo(path, start=start)
        self.mirror = mirror
        self.zoom = rng.uniform(1.0, max_zoom)
        self.offset = (rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.6))

    def frame(self, step: int = 1) -> np.ndarray:
        """The camera picture ``step`` video frames on (1: the next frame)."""
        image = self.video.next_frame()
        for _ in range(step - 1):
            image = self.video.next_frame()
        image = cv2.flip(image, 1) if self.mirror else image
        height, width = image.shape[:2]
        crop_w, crop_h = int(width / self.zoom), int(height / self.zoom)
        x, y = int((width - crop_w) * self.offset[0]), int((height - crop_h) * self.offset[1])
        return image[y : y + crop_h, x : x + crop_w]

    def close(self) -> None:
        """Release the clip."""
        self.video.close()


def make_participants(clip_paths: Sequence[Path], count: int, *, max_zoom: float = 1.5) -> list[Participant]:
    """``count`` participants cycling through the clips, 17 frames apart, mirrored on every other round.

    Zooming in varies where each face sits in its tile (what the tracker keys on) but can push part of
    a face out of view; ``max_zoom=1.0`` shows every whole camera picture.
    """
    rng = np.random.default_rng(3)
    return [
        Participant(clip_paths[k % len(clip_paths)], start=17 * k, mirror=(k // len(clip_paths)) % 2 == 1, rng=rng, max_zoom=max_zoom)
        for k in range(count)
    ]


def reflowing_class(frames: int) -> Iterator[list[int]]:
    """Who is in the gallery at each of ``frames`` frames (person numbers, in tile order).

    Nine people (0–8) start; 30% of the way in, 2 and 5 leave and the grid reflows; at 60%, 9 joins;
    at 75%, the first person leaves as 10 joins. :data:`REFLOWING_CLASS_SIZE` people in all.
    """
    events = {round(0.3 * frames): "leave", round(0.6 * frames): "join", round(0.75 * frames): "swap"}
    present = list(range(9))
    for frame in range(frames):
        event = events.get(frame)
        if event == "leave":
            present = [p for p in present if p not in (2, 5)]
        elif event == "join":
            present = [*present, 9]
        elif event == "swap":
            present = [*present[1:], 10]
        yield present


def tile_owners(boxes: np.ndarray, truth: Sequence[Tile], *, strip: int = 0) -> list[int | None]:
    """For each x, y, w, h box, the index of the true tile holding its centre (``None`` outside all);
    a tile reaches ``strip`` pixels below itself, over its name strip."""
    owners: list[int | None] = []
    for x, y, w, h in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        cx, cy = x + w / 2, y + h / 2
        owners.append(next((k for k, t in enumerate(truth) if t.x <= cx < t.x + t.w and t.y <= cy < t.y + t.h + strip), None))
    return owners


@dataclass(frozen=True)
class TileScore:
    """Faces found against true tiles: ``hits`` tiles holding a detection's centre, of ``tiles`` tiles and ``detections`` found."""

    tiles: int
    detections: int
    hits: int

    @property
    def recall(self) -> float:
        """Share of true tiles whose face was found."""
        return self.hits / self.tiles if self.tiles else 1.0

    @property
    def precision(self) -> float:
        """Share of detections that are the first in a distinct true tile (extra ones are false positives)."""
        return self.hits / self.detections if self.detections else 1.0

    def __add__(self, other: TileScore) -> TileScore:
        return TileScore(self.tiles + other.tiles, self.detections + other.detections, self.hits + other.hits)


def score_tiles(found: Detections, truth: Sequence[Tile], *, strip: int = 0) -> TileScore:
    """Score the faces found, kept or rejected on quality, against the true tiles (one face per tile)."""
    boxes = np.r_[found.boxes.reshape(-1, 4), np.array([r.box for r in found.rejected]).reshape(-1, 4)]
    owners = tile_owners(boxes, truth, strip=strip)
    return TileScore(tiles=len(truth), detections=len(boxes), hits=len({owner for owner in owners if owner is not None}))


class SwitchCounter:
    """Identity switches, MOT-style: a person whose key changes, or a key that moves to another person."""

    def __init__(self) -> None:
        self.key_of: dict[Hashable, str] = {}
        self.owner: dict[str, Hashable] = {}
        self.switches = 0

    def observe(self, truth: Sequence[Hashable], keys: Sequence[str | None]) -> None:
        """One frame: the true person of each face and the key it was given."""
        for person, key in zip(truth, keys, strict=True):
            if key is None:
                raise ValueError(f"the face of {person!r} has no participant key")
            if self.key_of.get(person, key) != key or self.owner.get(key, person) != person:
                self.switches += 1
            self.key_of[person], self.owner[key] = key, person
