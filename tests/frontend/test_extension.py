"""The extension's manifest. The tile reader and its frame mapping are tested in test_extension_adapters.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.browser

EXTENSION = Path(settings.BASE_DIR) / "frontend" / "extension"


def test_manifest_is_valid_mv3() -> None:
    manifest = json.loads((EXTENSION / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert {"tabCapture", "offscreen"} <= set(manifest["permissions"])
    for name in (manifest["background"]["service_worker"], manifest["action"]["default_popup"], "offscreen.html", "tiles.js"):
        assert (EXTENSION / name).exists(), name
