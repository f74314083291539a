"""``manage.py build_extension``: one zip, versioned from the manifest, holding every file the extension loads."""

from __future__ import annotations

import json
import re
import zipfile
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from frontend.management.commands.build_extension import EXTENSION_DIR


def test_the_zip_has_the_manifests_version_and_every_file_it_references(tmp_path: Path) -> None:
    out = StringIO()
    call_command("build_extension", "--out", str(tmp_path), stdout=out)
    target = Path(out.getvalue().strip())
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text())
    assert target.name == f"classroom-engagement-extension-{manifest['version']}.zip"
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        assert json.loads(archive.read("manifest.json")) == manifest
    referenced = {manifest["background"]["service_worker"], manifest["action"]["default_popup"]}
    for page in ("popup.html", "offscreen.html"):
        referenced |= set(re.findall(r'(?:src|href)="([^"]+)"', (EXTENSION_DIR / page).read_text()))
    background = (EXTENSION_DIR / "background.js").read_text()
    referenced |= set(re.findall(r'"((?:adapters/)?[a-z]+\.js)"', background.split("READER_FILES = ")[1].split(";")[0]))
    referenced.add("offscreen.html")
    assert referenced <= names, sorted(referenced - names)


def test_building_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first = StringIO()
    call_command("build_extension", "--out", str(tmp_path / "a"), stdout=first)
    second = StringIO()
    call_command("build_extension", "--out", str(tmp_path / "b"), stdout=second)
    assert Path(first.getvalue().strip()).read_bytes() == Path(second.getvalue().strip()).read_bytes()
