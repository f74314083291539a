"""The extension's tile reader (frontend/extension/tiles.js), run in headless Chromium on a meeting-like page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

EXTENSION = Path(settings.BASE_DIR) / "frontend" / "extension"
TILE = '<div class="tile" {attrs} style="position:absolute;left:{x}px;top:{y}px;width:320px;height:200px">{video}<span>{label}</span></div>'
VIDEO = '<video style="width:320px;height:180px;display:block"></video>'


def meeting(tiles: list[dict[str, Any]]) -> str:
    body = "".join(
        TILE.format(x=t["x"], y=t["y"], label=t["label"], video=VIDEO if t.get("video", True) else "", attrs=t.get("attrs", ""))
        for t in tiles
    )
    return f"<html><body style='margin:0'>{body}</body></html>"


def read_tiles(html: str) -> dict[str, Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_content(html)
            result: dict[str, Any] = page.evaluate((EXTENSION / "tiles.js").read_text())
        finally:
            browser.close()
    return result


def test_manifest_is_valid_mv3() -> None:
    manifest = json.loads((EXTENSION / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert {"tabCapture", "offscreen"} <= set(manifest["permissions"])
    for name in (manifest["background"]["service_worker"], manifest["action"]["default_popup"], "offscreen.html", "tiles.js"):
        assert (EXTENSION / name).exists(), name


def test_gallery_tiles_are_read_with_names_and_rectangles() -> None:
    html = meeting(
        [
            {"x": 0, "y": 0, "label": "Ada Lovelace"},
            {"x": 330, "y": 0, "label": "Alan Turing"},
            {"x": 0, "y": 210, "label": "", "attrs": 'aria-label="Grace Hopper"'},
            {"x": 330, "y": 210, "label": "Camera off", "video": False},
        ]
    )
    result = read_tiles(html)
    assert result["viewport"] == {"width": 1280, "height": 720}
    assert [t["name"] for t in result["tiles"]] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert result["tiles"][1] == {"name": "Alan Turing", "x": 330, "y": 0, "w": 320, "h": 180}


def test_empty_page_has_no_tiles_and_duplicate_names_are_kept_apart() -> None:
    assert read_tiles("<html><body></body></html>")["tiles"] == []
    twins = read_tiles(meeting([{"x": 0, "y": 0, "label": "Sam"}, {"x": 330, "y": 0, "label": "Sam"}]))
    assert [t["name"] for t in twins["tiles"]] == ["Sam", "Sam (2)"]
