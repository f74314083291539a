"""``manage.py build_extension``: the browser extension as a zip to install or publish, versioned by its manifest."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

EXTENSION_DIR = Path(settings.BASE_DIR) / "frontend" / "extension"


def extension_build(*, out_dir: Path) -> Path:
    """Zip ``frontend/extension`` as ``classroom-engagement-extension-<version>.zip``; the version is the manifest's, its one place."""
    version = json.loads((EXTENSION_DIR / "manifest.json").read_text())["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"classroom-engagement-extension-{version}.zip"
    files = sorted(path for path in EXTENSION_DIR.rglob("*") if path.is_file() and not path.name.startswith("."))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            # A fixed timestamp: the same sources always give the same zip.
            info = zipfile.ZipInfo(str(path.relative_to(EXTENSION_DIR)), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


class Command(BaseCommand):
    help = "Build the browser extension's zip (version from frontend/extension/manifest.json) into --out (default: dist/)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "dist"), help="folder for the zip")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(extension_build(out_dir=Path(options["out"]))))
