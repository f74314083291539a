"""The MediaPipe model files: where they live, how the install step fetches them.

mediapipe 1.2.2 ships no model files, and its Tasks ``FaceDetector`` refuses models without
input-normalisation metadata. The copies inside the mediapipe 0.10.21 wheel on PyPI carry that
metadata (docs/architecture.md, "MediaPipe model files"), so the install step downloads that wheel from the
package registry and extracts the two detector files, checked against pinned hashes. The same wheel
holds the 468-point face mesh (``face_landmark.tflite``), which only the benchmarks use
(``benchmarks/head_turns.py``); the install step extracts it too, from the same single download.
Nothing is fetched at run time: :func:`ensure_detector_models` and :func:`face_mesh_model_path`
without ``download=True`` only verify, and the detector never requires the mesh file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEEL_VERSION = "0.10.21"
WHEEL_MEMBER_DIR = "mediapipe/modules/face_detection"
# Any cp3x wheel of 0.10.21 holds byte-identical files; try a few platform tags in case one is missing.
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")

MODEL_FILES: dict[str, tuple[str, str]] = {
    "short": ("face_detection_short_range.tflite", "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
    "full": ("face_detection_full_range_sparse.tflite", "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
}
# Face mesh: 192×192 RGB in, 468 3D landmarks and a face-presence score out (not needed by the detector).
MESH_MEMBER_DIR = "mediapipe/modules/face_landmark"
MESH_MODEL_FILE = ("face_landmark.tflite", "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814")
SETUP_HINT = "run the setup script (or `python -m ingest.vision.model_files`) to fetch them"


class ModelFileError(RuntimeError):
    """A detector model file is missing, has the wrong hash, or could not be fetched."""


def default_model_dir() -> Path:
    """``DETECTOR_MODEL_DIR`` if set, else ``<repo>/var/models``."""
    override = os.environ.get("DETECTOR_MODEL_DIR")
    return Path(override) if override else REPO_ROOT / "var" / "models"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# (path inside the wheel, file name, sha256); built at call time so tests can swap the pins.
Member = tuple[str, str, str]


def _detector_members() -> list[Member]:
    return [(f"{WHEEL_MEMBER_DIR}/{filename}", filename, digest) for filename, digest in MODEL_FILES.values()]


def _mesh_members() -> list[Member]:
    filename, digest = MESH_MODEL_FILE
    return [(f"{MESH_MEMBER_DIR}/{filename}", filename, digest)]


def _problems(dest: Path, members: list[Member]) -> list[str]:
    problems = []
    for _member, filename, digest in members:
        path = dest / filename
        if not path.exists():
            problems.append(f"{path} is missing")
        elif _sha256(path) != digest:
            problems.append(f"{path} has the wrong sha256 (expected {digest})")
    return problems


def _download_wheel(workdir: Path) -> Path:
    errors = []
    for platform in WHEEL_PLATFORMS:
        command = [
            sys.executable, "-m", "pip", "download", f"mediapipe=={WHEEL_VERSION}", "--no-deps", "--only-binary=:all:",
            "--python-version", "3.11", "--platform", platform, "--dest", str(workdir), "--quiet",
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(workdir.glob(f"mediapipe-{WHEEL_VERSION}-*.whl"))
        if completed.returncode == 0 and wheels:
            return wheels[0]
        errors.append(f"{platform}: {completed.stderr.strip()[-300:]}")
    raise ModelFileError(f"could not download mediapipe=={WHEEL_VERSION} from the package registry: " + "; ".join(errors))


def _extract(wheel: Path, dest: Path, members: list[Member]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member, filename, digest in members:
            data = archive.read(member)
            if hashlib.sha256(data).hexdigest() != digest:
                raise ModelFileError(f"{filename} in {wheel.name} has an unexpected sha256; refusing to install it")
            # Write then rename so a concurrent reader never sees a half-written model.
            partial = dest / f".{filename}.partial"
            partial.write_bytes(data)
            partial.replace(dest / filename)


def _verify(dest: Path, members: list[Member], *, download: bool) -> list[str]:
    """What is wrong with ``members`` in ``dest`` after, with ``download``, one wheel fetch for all of them."""
    problems = _problems(dest, members)
    if problems and download:
        # Only the bad files are rewritten; good ones may be open in a running process.
        bad = [member for member in members if _problems(dest, [member])]
        with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as workdir:
            _extract(_download_wheel(Path(workdir)), dest, bad)
        problems = _problems(dest, members)
    return problems


def ensure_detector_models(*, dest: Path | None = None, download: bool = False) -> dict[str, Path]:
    """Paths of the verified model files, ``{"short": ..., "full": ...}``.

    With ``download=True`` missing or corrupt files are fetched from the mediapipe 0.10.21 wheel on
    PyPI (the install step); otherwise they raise :class:`ModelFileError` naming the fix.
    """
    dest = dest or default_model_dir()
    problems = _verify(dest, _detector_members(), download=download)
    if problems:
        raise ModelFileError("face detector model files are not usable: " + "; ".join(problems) + f"; {SETUP_HINT}")
    return {name: dest / filename for name, (filename, _digest) in MODEL_FILES.items()}


def face_mesh_model_path(*, dest: Path | None = None, download: bool = False) -> Path:
    """Path of the verified 468-point face mesh model (``face_landmark.tflite``).

    Same rules as :func:`ensure_detector_models`: ``download=True`` fetches it from the mediapipe
    0.10.21 wheel when missing or corrupt, otherwise a bad file raises :class:`ModelFileError`.
    """
    dest = dest or default_model_dir()
    problems = _verify(dest, _mesh_members(), download=download)
    if problems:
        raise ModelFileError("face mesh model file is not usable: " + "; ".join(problems) + f"; {SETUP_HINT}")
    return dest / MESH_MODEL_FILE[0]


def install_models(*, dest: Path | None = None) -> dict[str, Path]:
    """The install step: every model file verified, those missing fetched with a single wheel download.

    Returns the detector paths (``short``, ``full``) and ``mesh``.
    """
    dest = dest or default_model_dir()
    _verify(dest, _detector_members() + _mesh_members(), download=True)
    return {**ensure_detector_models(dest=dest), "mesh": face_mesh_model_path(dest=dest)}


if __name__ == "__main__":
    for kind, model_path in install_models().items():
        print(f"{kind}: {model_path}")
