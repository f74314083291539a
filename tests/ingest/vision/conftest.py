"""Faces and meeting-like frames for the vision tests, and the shared (session-wide) pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from ingest.vision.gallery import LoopingVideo, iter_video_frames
from ingest.vision.pipeline import FramePipeline, get_pipeline
from tests.conftest import require_shared


@pytest.fixture(scope="session")
def pipeline() -> FramePipeline:
    """The process-wide pipeline (detector created once for the whole run)."""
    return get_pipeline()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (one face, 512×512), available on any machine."""
    return np.ascontiguousarray(skimage.data.astronaut()[..., ::-1])


@pytest.fixture(scope="session")
def clip_paths() -> list[Path]:
    """The five shared talking-head clips (fails under CI when missing)."""
    return sorted(require_shared("video").glob("talking_head_*.mp4"))


@pytest.fixture(scope="session")
def webcam_frames(clip_paths: list[Path]) -> list[np.ndarray]:
    """Twenty distinct one-face frames: four moments of each clip, every other one mirrored."""
    frames = []
    for index, path in enumerate(clip_paths):
        for moment, frame in enumerate(iter_video_frames(path, every=30, limit=4)):
            frames.append(cv2.flip(frame.image, 1) if (index + moment) % 2 else frame.image)
    return frames


@pytest.fixture(scope="session")
def fer_faces() -> list[np.ndarray]:
    """Sixty FER2013 test faces (every class), each padded as a webcam would frame it, 2× upscaled."""
    files = sorted(require_shared("fer2013", "test").glob("*/*.jpg"))[::60][:60]
    faces = []
    for path in files:
        face = cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (96, 96), interpolation=cv2.INTER_CUBIC)
        faces.append(cv2.copyMakeBorder(face, 40, 40, 80, 80, cv2.BORDER_CONSTANT, value=150))
    return faces


class Participant:
    """A synthetic meeting participant: a looping clip framed in its own way (zoom and offset)."""

    def __init__(self, path: Path, *, start: int, mirror: bool, rng: np.random.Generator) -> None:
        self.video = LoopingVideo(path, start=start)
        self.mirror = mirror
        self.zoom = rng.uniform(1.0, 1.5)
        self.offset = (rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.6))

    def frame(self) -> np.ndarray:
        """The next camera picture."""
        image = self.video.next_frame()
        image = cv2.flip(image, 1) if self.mirror else image
        height, width = image.shape[:2]
        crop_w, crop_h = int(width / self.zoom), int(height / self.zoom)
        x, y = int((width - crop_w) * self.offset[0]), int((height - crop_h) * self.offset[1])
        return image[y : y + crop_h, x : x + crop_w]


@pytest.fixture
def make_participants(clip_paths: list[Path]) -> Callable[[int], list[Participant]]:
    """``make(n)``: n participants cycling through the clips (mirrored on the second round)."""

    def make(count: int) -> list[Participant]:
        rng = np.random.default_rng(3)
        return [
            Participant(clip_paths[k % len(clip_paths)], start=17 * k, mirror=(k // len(clip_paths)) % 2 == 1, rng=rng)
            for k in range(count)
        ]

    return make


def jpeg(image: np.ndarray, quality: int = 80) -> np.ndarray:
    """The image after a JPEG round trip, as uploaded frames arrive."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
