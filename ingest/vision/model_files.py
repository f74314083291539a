"""The MediaPipe face-detection model files: where they live, how the install step fetches them.

mediapipe 1.2.2 ships no model files, and its Tasks ``FaceDetector`` refuses models without
input-normalisation metadata. The copies inside the mediapipe 0.10.21 wheel on PyPI carry that
metadata (DESIGN.md, "MediaPipe model files"), so the install step downloads that wheel from the
package registry and extracts the two files, checked against pinned hashes. Nothing is fetched at
run time: :func:`ensure_detector_models` without ``download=True`` only verifies.
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
SETUP_HINT = "run the setup script (or `python -m ingest.vision.model_files`) to fetch them"


class ModelFileError(RuntimeError):
    """A detector model file is missing, has the wrong hash, or could not be fetched."""


def default_model_dir() -> Path:
    """``DETECTOR_MODEL_DIR`` if set, else ``<repo>/var/models``."""
    override = os.environ.get("DETECTOR_MODEL_DIR")
    return Path(override) if override else REPO_ROOT / "var" / "models"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _problems(dest: Path) -> list[str]:
    problems = []
    for filename, digest in MODEL_FILES.values():
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


def _extract(wheel: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for filename, digest in MODEL_FILES.values():
            data = archive.read(f"{WHEEL_MEMBER_DIR}/{filename}")
            if hashlib.sha256(data).hexdigest() != digest:
                raise ModelFileError(f"{filename} in {wheel.name} has an unexpected sha256; refusing to install it")
            # Write then rename so a concurrent reader never sees a half-written model.
            partial = dest / f".{filename}.partial"
            partial.write_bytes(data)
            partial.replace(dest / filename)


def ensure_detector_models(*, dest: Path | None = None, download: bool = False) -> dict[str, Path]:
    """Paths of the verified model files, ``{"short": ..., "full": ...}``.

    With ``download=True`` missing or corrupt files are fetched from the mediapipe 0.10.21 wheel on
    PyPI (the install step); otherwise they raise :class:`ModelFileError` naming the fix.
    """
    dest = dest or default_model_dir()
    problems = _problems(dest)
    if problems and download:
        with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as workdir:
            _extract(_download_wheel(Path(workdir)), dest)
        problems = _problems(dest)
    if problems:
        raise ModelFileError("face detector model files are not usable: " + "; ".join(problems) + f"; {SETUP_HINT}")
    return {name: dest / filename for name, (filename, _digest) in MODEL_FILES.items()}


if __name__ == "__main__":
    for kind, model_path in ensure_detector_models(download=True).items():
        print(f"{kind}: {model_path}")
