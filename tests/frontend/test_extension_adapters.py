"""The extension's tile reader (frontend/extension/adapters/*.js, then tiles.js) and its frame mapping
(geometry.js), in headless Chromium on fixture pages built like Google Meet, the Zoom web client and
Microsoft Teams (tests/frontend/fixtures/meetings/), and on plain pages for the generic fallback. Meet and
Zoom have a page of their older structure and one of today's (*-2026.html): today's Zoom client paints its
gallery into one canvas inside a same-origin iframe, so its tiles are worked out from the canvas and sent
without names (names_from=picture).

Page zoom is emulated three ways: a 1.25 device scale factor (a HiDPI screen: devicePixelRatio 1.25,
same layout), CSS ``zoom: 1.25`` on the body (same devicePixelRatio and viewport, bigger boxes), and
Chrome's browser zoom at 125% in a 1280×720 tab, which lays the page out at 1024×576 CSS pixels drawn
at devicePixelRatio 1.25 (a 1024×576 viewport with a 1.25 device scale factor is exactly that). The
screenshot stands for the captured frame: each mapped tile must cover its own video's colour.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import Browser, Frame, Page, Route, ViewportSize, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

EXTENSION = Path(settings.BASE_DIR) / "frontend" / "extension"
# What background.js injects, in its order; the value of the last file is the result.
READER = [
    (EXTENSION / name).read_text()
    for name in ("adapters/generic.js", "adapters/meet.js", "adapters/zoom.js", "adapters/teams.js", "tiles.js")
]
GEOMETRY = (EXTENSION / "geometry.js").read_text()
FIXTURES = Path(__file__).parent / "fixtures" / "meetings"
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}

# The fixture pages' cast (fixture.js): a self view, three cameras, a long, a non-ASCII and a badly spaced
# name; Marie Curie has her camera off and Grace Hopper shares her screen, so neither is a tile.
LONG_NAME = "Adolph Blaine Charles " + "Wolfeschlegelsteinhausenbergerdorff" * 7
NON_ASCII = "Zoë Ångström-Łukasiewicz 王小明"
SPACED = " Katherine \n  Johnson "

# The participant's video as the reader should see it: its box cut by its tile and the viewport.
VISIBLE_VIDEO = """name => {
  const video = fixture.videoOf(name).getBoundingClientRect();
  const tile = fixture.tileOf(name).getBoundingClientRect();
  const [left, top] = [Math.max(video.left, tile.left, 0), Math.max(video.top, tile.top, 0)];
  const [right, bottom] = [Math.min(video.right, tile.right, innerWidth), Math.min(video.bottom, tile.bottom, innerHeight)];
  return { x: left, y: top, w: right - left, h: bottom - top };
}"""
MAP_TILES = "([page, width, height]) => engagementMapTiles(page, width, height)"
NAMES_FROM = "tiles => engagementNamesFrom(tiles)"


@dataclass(frozen=True)
class Meeting:
    page: str  # fixture file and query
    platform: str
    self_label: str  # what the platform writes on the self view
    extra: tuple[str, ...] = ()  # cameras besides fixture.js's CAST (CAST_2026 adds one)

    def cast(self) -> dict[str, str]:
        """The names the reader should return, each with the fixture participant it belongs to."""
        return {
            self.self_label: "Teacher Tom",
            "Ada Lovelace": "Ada Lovelace",
            "Alan Turing": "Alan Turing",
            LONG_NAME[:200]: LONG_NAME,
            NON_ASCII: NON_ASCII,
            "Katherine Johnson": SPACED,
        } | {name: name for name in self.extra}


MEETINGS = [
    Meeting("meet.html", "meet", "You"),
    Meeting("zoom.html", "zoom", "Teacher Tom"),
    Meeting("teams.html", "teams", "Teacher Tom"),
    Meeting("teams.html?layout=classic", "teams", "Teacher Tom"),
    # Six cameras besides the self view, a camera-off tile and a presentation, as Meet lays them out today.
    Meeting("meet-2026.html", "meet", "Teacher Tom", ("Emmy Noether",)),
]
MEETING_IDS = ["meet", "zoom", "teams", "teams-classic", "meet-2026"]
ZOOMED = [*MEETINGS[:3], MEETINGS[4]]  # the classic Teams layout is laid out alike
ZOOMED_IDS = [*MEETING_IDS[:3], MEETING_IDS[4]]

ZOOMS: dict[str, tuple[dict[str, Any], str | None]] = {
    "hidpi-1.25": ({"viewport": VIEWPORT, "device_scale_factor": 1.25}, None),
    "css-zoom-1.25": ({"viewport": VIEWPORT}, "1.25"),
    "browser-zoom-125": ({"viewport": {"width": 1024, "height": 576}, "device_scale_factor": 1.25}, None),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def open_meeting(page: Page, meeting: Meeting) -> None:
    file, _, query = meeting.page.partition("?")
    page.goto((FIXTURES / file).as_uri() + (f"?{query}" if query else ""))


def read_tiles(page: Page) -> Any:
    """Inject the reader as background.js does: the files in order, the last one's value is the result."""
    result = None
    for source in READER:
        result = page.evaluate(source)
    return result


def map_tiles(page: Page, result: dict[str, Any], width: int, height: int) -> list[dict[str, Any]]:
    page.evaluate(GEOMETRY)
    mapped: list[dict[str, Any]] = page.evaluate(MAP_TILES, [result, width, height])
    return mapped


def frame_of(page: Page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))


def colours(page: Page, participants: list[str]) -> list[np.ndarray]:
    """Each participant's video colour, as RGB."""
    hex_colours: list[str] = page.evaluate("names => names.map((name) => fixture.colourOf(name))", participants)
    return [hex_rgb(hex_colour) for hex_colour in hex_colours]


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def assert_tiles_match(page: Page, tiles: list[dict[str, Any]], cast: dict[str, str], self_label: str) -> None:
    """The tiles are exactly the cast's, each on its participant's visible video, self only on the self view."""
    by_name = {tile["name"]: tile for tile in tiles}
    assert len(by_name) == len(tiles)
    assert sorted(by_name) == sorted(cast)
    for name, participant in cast.items():
        box = page.evaluate(VISIBLE_VIDEO, participant)
        tile = by_name[name]
        assert {key: tile[key] for key in "xywh"} == pytest.approx(box, abs=0.01), name
        assert tile["self"] is (name == self_label), name


def assert_painted(frame: np.ndarray, tile: dict[str, Any], expected: np.ndarray) -> None:
    """The mapped rectangle lies on the participant's video: nearly all of it and each edge just inside
    is the video's colour, and just outside each edge (where that is in the frame) is not."""
    x, y, w, h = (tile[key] for key in "xywh")
    left, top = max(x - 5, 0), max(y - 5, 0)
    matches = np.abs(frame[top : y + h + 5, left : x + w + 5].astype(int) - expected).max(axis=2) <= 6
    x, y = x - left, y - top  # within the crop
    label = tile["name"][:30]
    inside = matches[y : y + h, x : x + w]
    assert inside.mean() >= 0.95, f"{label}: only {inside.mean():.0%} of its rectangle shows its video"
    edges = {"top": inside[2:4], "bottom": inside[-4:-2], "left": inside[:, 2:4], "right": inside[:, -4:-2]}
    for edge, strip in edges.items():
        assert strip.mean() >= 0.9, f"{label}: the {edge} edge is off its video"
    height, width = matches.shape
    outside = {
        "top": matches[y - 5 : y - 3, x : x + w] if y >= 5 else None,
        "bottom": matches[y + h + 3 : y + h + 5, x : x + w] if y + h + 5 <= height else None,
        "left": matches[y : y + h, x - 5 : x - 3] if x >= 5 else None,
        "right": matches[y : y + h, x + w + 3 : x + w + 5] if x + w + 5 <= width else None,
    }
    for edge, strip in outside.items():
        assert strip is None or strip.mean() <= 0.1, f"{label}: the video goes on past the {edge} edge"


@pytest.mark.parametrize("meeting", MEETINGS, ids=MEETING_IDS)
def test_platform_tiles_are_read_with_names_rectangles_and_self_view(page: Page, meeting: Meeting) -> None:
    open_meeting(page, meeting)
    result = read_tiles(page)
    assert (result["platform"], result["fallback"]) == (meeting.platform, False)
    assert result["viewport"] == VIEWPORT
    assert result["devicePixelRatio"] == 1
    names = [tile["name"] for tile in result["tiles"]]
    assert not [name for name in names if "Marie" in name or "Grace" in name], "camera-off and screen-share tiles are skipped"
    assert LONG_NAME[:200] in names and len(LONG_NAME) > 200
    assert NON_ASCII in names
    assert_tiles_match(page, result["tiles"], meeting.cast(), meeting.self_label)


@pytest.mark.parametrize("meeting", MEETINGS, ids=MEETING_IDS)
def test_participants_joining_and_leaving_show_in_the_next_read(page: Page, meeting: Meeting) -> None:
    open_meeting(page, meeting)
    assert "Alan Turing" in [tile["name"] for tile in read_tiles(page)["tiles"]]
    page.evaluate("() => { fixture.leave('Alan Turing'); fixture.join('Niels Bohr'); fixture.join('Hedy Lamarr', 'avatar'); }")
    cast = {name: participant for name, participant in meeting.cast().items() if name != "Alan Turing"} | {"Niels Bohr": "Niels Bohr"}
    assert_tiles_match(page, read_tiles(page)["tiles"], cast, meeting.self_label)


@pytest.mark.parametrize("zoom", ZOOMS, ids=list(ZOOMS))
@pytest.mark.parametrize("meeting", ZOOMED, ids=ZOOMED_IDS)
def test_zoomed_page_tiles_map_onto_their_videos_in_the_captured_frame(browser: Browser, meeting: Meeting, zoom: str) -> None:
    options, css_zoom = ZOOMS[zoom]
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        open_meeting(page, meeting)
        if css_zoom:
            page.evaluate("zoom => { document.body.style.zoom = zoom; }", css_zoom)
        result = read_tiles(page)
        frame = frame_of(page)
        height, width, _ = frame.shape
        assert (width, height) == (
            round(result["viewport"]["width"] * result["devicePixelRatio"]),
            round(result["viewport"]["height"] * result["devicePixelRatio"]),
        )
        mapped = map_tiles(page, result, width, height)
        assert len(mapped) >= 4
        assert [tile["name"] for tile in mapped] == [tile["name"] for tile in result["tiles"]]
        cast = meeting.cast()
        for tile, expected in zip(mapped, colours(page, [cast[tile["name"]] for tile in mapped]), strict=True):
            assert_painted(frame, tile, expected)
    finally:
        context.close()


def test_tiles_map_onto_their_videos_in_a_letterboxed_capture(page: Page) -> None:
    """A capture of another aspect ratio (1920×1200 for a 16:9 tab) has the picture fitted and centred between bars."""
    open_meeting(page, MEETINGS[0])
    result = read_tiles(page)
    picture = Image.fromarray(frame_of(page)).resize((1920, 1080), Image.Resampling.NEAREST)
    capture = Image.new("RGB", (1920, 1200))
    capture.paste(picture, (0, 60))
    frame = np.asarray(capture)
    mapped = map_tiles(page, result, 1920, 1200)
    assert len(mapped) == len(result["tiles"]) == 6
    cast = MEETINGS[0].cast()
    for tile, expected in zip(mapped, colours(page, [cast[tile["name"]] for tile in mapped]), strict=True):
        assert_painted(frame, tile, expected)


def plain_meeting(labels: list[str]) -> str:
    """A page with no platform hooks: 320×180 videos in a row of tiles, each labelled in a span (or, for
    "aria:" labels, by the tile's aria-label), plus a tile with a picture and no video."""
    tiles = []
    for index, label in enumerate(labels):
        attributes, text = (f'aria-label="{label[5:]}"', "") if label.startswith("aria:") else ("", label)
        tiles.append(
            f'<div {attributes} style="position:absolute;left:{330 * index}px;top:0;width:320px;height:200px">'
            f'<video style="width:320px;height:180px;display:block"></video><span>{text}</span></div>'
        )
    tiles.append('<div style="position:absolute;left:0;top:210px;width:320px;height:200px"><img alt=""><span>Camera off</span></div>')
    return f"<html><body style='margin:0'>{''.join(tiles)}</body></html>"


def test_page_without_platform_hooks_falls_back_to_the_generic_reader(page: Page) -> None:
    page.set_content(plain_meeting(["Ada Lovelace", "Alan Turing", "aria:Grace Hopper"]))
    result = read_tiles(page)
    assert (result["platform"], result["fallback"]) == ("generic", True)
    assert result["viewport"] == VIEWPORT
    assert [tile["name"] for tile in result["tiles"]] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert result["tiles"][1] == {"name": "Alan Turing", "x": 330, "y": 0, "w": 320, "h": 180, "self": False}


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://meet.google.com/abc-defg-hij", "meet"),
        ("https://app.zoom.us/wc/123456789/join", "zoom"),
        ("https://teams.microsoft.com/v2/", "teams"),
        ("https://teams.live.com/v2/", "teams"),
    ],
)
def test_platform_is_known_by_hostname_and_falls_back_when_its_hooks_find_nothing(page: Page, url: str, platform: str) -> None:
    page.route("**/*", lambda route: route.fulfill(body=plain_meeting(["Ada Lovelace"]), content_type="text/html"))
    page.goto(url)
    result = read_tiles(page)
    assert (result["platform"], result["fallback"]) == (platform, True)
    assert [tile["name"] for tile in result["tiles"]] == ["Ada Lovelace"]


def test_failing_adapter_falls_back_and_reinjection_keeps_one_adapter_per_platform(page: Page) -> None:
    page.set_content(plain_meeting(["Ada Lovelace"]))
    read_tiles(page)
    for source in READER[:-1]:
        page.evaluate(source)
    page.evaluate("engagementTileKit.register({ platform: 'redesigned', matches: () => true, read() { throw new Error('hook gone'); } })")
    result = page.evaluate(READER[-1])
    assert (result["platform"], result["fallback"]) == ("redesigned", True)
    assert [tile["name"] for tile in result["tiles"]] == ["Ada Lovelace"]
    assert page.evaluate("engagementAdapters.map((adapter) => adapter.platform)") == ["generic", "meet", "zoom", "teams", "redesigned"]


def test_empty_page_gives_no_tiles(page: Page) -> None:
    page.set_content("<html><body></body></html>")
    result = read_tiles(page)
    assert (result["platform"], result["fallback"], result["tiles"]) == ("generic", True, [])


def test_names_are_cleaned_cut_to_200_characters_and_kept_apart(page: Page) -> None:
    names = ["Sam", "  Sam\t", "Sam (2)", LONG_NAME, LONG_NAME, "", NON_ASCII, "x" * 199 + " cut at a space"]
    streams = "".join(f'<div data-stream-type="Video" data-tid="{name}">{VIDEO}</div>' for name in names)
    page.set_content(f"<html><body style='margin:0;display:flex;flex-wrap:wrap'>{streams}</body></html>")
    result = read_tiles(page)
    assert result["platform"] == "teams"
    assert [tile.get("name") for tile in result["tiles"]] == [
        "Sam",
        "Sam (2)",
        "Sam (2) (2)",
        LONG_NAME[:200],
        LONG_NAME[:196] + " (2)",
        None,  # no name on the page: no name sent, never an invented one
        NON_ASCII,
        "x" * 199,
    ]
    assert max(len(tile.get("name", "")) for tile in result["tiles"]) == 200


SIZE = "display:block;width:320px;height:180px"
VIDEO = f'<video style="{SIZE}"></video>'
MIRRORED_VIDEO = f'<video style="{SIZE};transform:scaleX(-1)"></video>'
HIDDEN_VIDEO = f'<video style="{SIZE};display:none"></video>'
BESIDE = "position:absolute;left:400px;top:0"  # right of the column of tiles above, inside the viewport
MEET_LABEL = '<div data-tooltip-id="t"><span class="notranslate">{name}</span></div>'
ZOOM_PLAYER = '<video-player node-id="{node}" media-type="video" style="' + SIZE + '"></video-player>'
ZOOM_FOOTER = '<div class="video-avatar__avatar"><div class="video-avatar__avatar-footer"><span role="none">{name}</span></div></div>'
ZOOM_AVATAR = '<div class="video-avatar__avatar"><img class="video-avatar__avatar-img" alt="{name}"></div>'
# Hooks the fixture pages leave to others, each platform's own read(): the names its camera-off tiles
# carry (video false, dropped by tiles.js later), and the other ways a self view or a share shows.
ADAPTER_CASES = {
    "meet": (
        f'<div data-participant-id="d1"><div>{MIRRORED_VIDEO}</div>'
        f"{MEET_LABEL.format(name='Teacher Tom')}</div>"
        f'<div data-participant-id="d2">{VIDEO}{MEET_LABEL.format(name="Grace Hopper (presenting)")}</div>'
        f'<div data-requested-participant-id="d3">{HIDDEN_VIDEO}<div data-self-name="You">Marie Curie</div></div>'
        # Both hooks on nested elements: one tile.
        f'<div data-participant-id="d4"><div data-requested-participant-id="d4">{VIDEO}'
        '<div data-self-name="You">Ada Lovelace</div></div></div>'
        # Another older id hook; today's self view: the tile holding the marker valued with its own name.
        f'<div data-initial-participant-id="d5" style="{BESIDE}">{VIDEO}<span class="notranslate">Alan Turing</span></div>'
        f'<div data-participant-id="d6" style="{BESIDE};top:200px">{VIDEO}'
        '<div data-self-name="Teacher  Tom"><span class="notranslate">Teacher Tom</span></div></div>'
        '<div role="list"><div role="listitem" data-participant-id="d1" aria-label="Teacher Tom">Teacher Tom</div></div>',
        [
            ("Teacher Tom", True, True),
            ("Marie Curie", False, False),
            ("Ada Lovelace", False, True),
            ("Alan Turing", False, True),
            ("Teacher Tom", True, True),
        ],
    ),
    "zoom": (
        # The self view in a self-video container; a share player (node-id off its user's multiple of 1024)
        # in the gallery; a camera-off picture; an older client's <video>.
        f'<div class="self-video-container"><div>{ZOOM_PLAYER.format(node=16778240)}{ZOOM_FOOTER.format(name="Teacher Tom")}</div></div>'
        f"<div>{ZOOM_PLAYER.format(node=16779266)}{ZOOM_FOOTER.format(name='Grace Hopper')}</div>"
        f'<div style="{SIZE}">{ZOOM_AVATAR.format(name="Marie Curie")}</div>'
        f"<div>{VIDEO}{ZOOM_FOOTER.format(name='Ada Lovelace')}</div>",
        [("Teacher Tom", True, True), ("Marie Curie", False, False), ("Ada Lovelace", False, True)],
    ),
    "teams": (
        '<div data-tid="myself-video" aria-label="Myself video, Teacher Tom">'
        f'<div data-cid="calling-participant-stream" aria-label="Teacher Tom, Muted">{VIDEO}</div></div>'
        f'<div data-stream-type="Video" data-tid="Marie Curie" style="{SIZE}"><img alt=""></div>'
        # The classic and the new hook nested: one tile, named by the stream.
        '<div data-cid="calling-participant-stream" aria-label="Ada, Muted">'
        f'<div data-stream-type="Video" data-tid="Ada Lovelace">{VIDEO}</div></div>',
        [("Teacher Tom", True, True), ("Marie Curie", False, False), ("Ada Lovelace", False, True)],
    ),
}


@pytest.mark.parametrize("platform", ADAPTER_CASES)
def test_adapter_reads_other_hooks_and_reports_camera_off_tiles(page: Page, platform: str) -> None:
    html, expected = ADAPTER_CASES[platform]
    page.set_content(f"<html><body style='margin:0'>{html}</body></html>")
    read_tiles(page)
    tiles = page.evaluate("platform => engagementAdapters.find((adapter) => adapter.platform === platform).read(document)", platform)
    assert [(tile["name"], tile["self"], tile["video"]) for tile in tiles] == expected


GEOMETRY_PAGE = {
    "viewport": {"width": 1280, "height": 720},
    "tiles": [
        {"name": "a", "x": 10, "y": 10, "w": 300, "h": 200, "self": False},
        {"name": "me", "x": 640.4, "y": 360.2, "w": 100.3, "h": 50.5, "self": True},
        {"name": "edge", "x": 1200, "y": 700, "w": 200, "h": 100, "self": False},
        {"name": "tiny", "x": 0, "y": 0, "w": 4, "h": 4, "self": False},
    ],
}


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        # Same aspect ratio: one scale, 1.5, no bars; "edge" (read before the page shrank) is clipped, "tiny" is 6 px and dropped.
        (1920, 1080, [(15, 15, 450, 300), (961, 540, 150, 76), (1800, 1050, 120, 30)]),
        # Taller frame: the picture is 1920×1080 between 60 px bars, top and bottom; tiles stop at the picture's edge.
        (1920, 1200, [(15, 75, 450, 300), (961, 600, 150, 76), (1800, 1110, 120, 30)]),
        # Wider frame: 40 px bars left and right.
        (2000, 1080, [(55, 15, 450, 300), (1001, 540, 150, 76), (1840, 1050, 120, 30)]),
        # Same aspect ratio, smaller: a 640×360 capture scales by one half.
        (640, 360, [(5, 5, 150, 100), (320, 180, 50, 25), (600, 350, 40, 10)]),
    ],
)
def test_map_tiles_scales_letterboxes_rounds_clips_and_drops_small_tiles(
    page: Page, width: int, height: int, expected: list[tuple[int, int, int, int]]
) -> None:
    page.evaluate(GEOMETRY)
    mapped = page.evaluate(MAP_TILES, [GEOMETRY_PAGE, width, height])
    assert [tile["name"] for tile in mapped] == ["a", "me", "edge"]
    assert [(tile["x"], tile["y"], tile["w"], tile["h"]) for tile in mapped] == expected
    assert [tile["self"] for tile in mapped] == [False, True, False]


def test_map_tiles_without_a_viewport_or_frame_maps_nothing(page: Page) -> None:
    page.evaluate(GEOMETRY)
    assert page.evaluate(MAP_TILES, [{"tiles": GEOMETRY_PAGE["tiles"], "viewport": None}, 1920, 1080]) == []
    assert page.evaluate(MAP_TILES, [GEOMETRY_PAGE, 0, 0]) == []


# Today's Zoom web client (zoom-2026.html): the shell page with the meeting in a same-origin iframe#webclient,
# served from one https origin (file: pages are each their own origin, so the frame could not be read).
FIXTURE_ORIGIN = "https://fixtures.test"
# The frame sits 40 px down (the shell's header) and is 1280×680; its footer is 56 px, so the gallery canvas
# is 1280×624 at (0, 40), or 960×624 beside the 320 px participants panel. Its 8 participants (the self
# view, six cameras, one camera off) take 3 × 3 cells of Zoom's 16:9 layout: 23 units of 16×9 (368×207 px
# boxes) on the whole width, 20 (320×180) beside the panel, each box inset by 5 px, the grid centred, and
# the last row's two cells centred under the others. Each cell's corner, in the top page's pixels:
GALLERY_CELLS = [(93, 46.5), (461, 46.5), (829, 46.5), (93, 253.5), (461, 253.5), (829, 253.5), (277, 460.5), (645, 460.5)]
PANEL_CELLS = [(5, 87), (325, 87), (645, 87), (5, 267), (325, 267), (645, 267), (165, 447), (485, 447)]
ZOOM_CANVAS_CASES = {
    "gallery": ("", GALLERY_CELLS, (358, 197)),
    "participants-panel-open": ("panel=1", PANEL_CELLS, (310, 170)),
}


def serve_fixtures(route: Route) -> None:
    route.fulfill(path=FIXTURES / urlsplit(route.request.url).path.lstrip("/"))


def open_zoom_2026(page: Page, query: str = "") -> None:
    page.route(f"{FIXTURE_ORIGIN}/**", serve_fixtures)
    page.goto(f"{FIXTURE_ORIGIN}/zoom-2026.html" + (f"?{query}" if query else ""))


def client_frame(page: Page) -> Frame:
    return next(frame for frame in page.frames if frame.url.startswith(f"{FIXTURE_ORIGIN}/zoom-2026-client.html"))


@pytest.mark.parametrize("case", ZOOM_CANVAS_CASES)
def test_zoom_canvas_gallery_in_a_shadow_root_in_the_webclient_frame_is_mapped_to_unnamed_cells(page: Page, case: str) -> None:
    query, cells, (width, height) = ZOOM_CANVAS_CASES[case]
    open_zoom_2026(page, query)
    result = read_tiles(page)
    assert (result["platform"], result["fallback"]) == ("zoom", False)
    # Exactly Zoom's cells, top viewport pixels; no names and no self view, with the panel open or not: the
    # page does not say which cell is whose (the panel lists people in its own order), the picture does.
    assert result["tiles"] == [{"x": x, "y": y, "w": width, "h": height, "self": False} for x, y in cells]
    mapped = map_tiles(page, result, 1280, 720)
    assert page.evaluate(NAMES_FROM, mapped) == "picture"
    frame = frame_of(page)
    people = client_frame(page).evaluate("fixture.people()")
    for tile, person in zip(mapped, people, strict=True):
        assert_painted(frame, tile | {"name": person["name"]}, hex_rgb("#232323" if person["kind"] == "avatar" else person["colour"]))


def test_zoom_canvas_gallery_follows_a_join_and_gives_up_beside_a_share_or_without_a_count(page: Page) -> None:
    open_zoom_2026(page)
    client_frame(page).evaluate("fixture.join('Niels Bohr')")
    tiles = read_tiles(page)["tiles"]
    assert [(tile["x"], tile["y"]) for tile in tiles] == [*GALLERY_CELLS[:6], (93, 460.5), (461, 460.5), (829, 460.5)]
    # Without the footer's count the cells cannot be worked out: no tiles, and the server finds the grid.
    # A screen share on screen squeezes the gallery into a strip this layout does not describe: no tiles.
    client_frame(page).evaluate("document.body.append(el('div', { class: 'sharee-container', style: { height: '50px' } }))")
    assert read_tiles(page)["tiles"] == []
    page.goto(f"{FIXTURE_ORIGIN}/zoom-2026.html?footer=0")
    result = read_tiles(page)
    assert (result["platform"], result["fallback"], result["tiles"]) == ("zoom", True, [])
    assert page.evaluate(NAMES_FROM, map_tiles(page, result, 1280, 720)) == "picture"


def test_older_zoom_page_inside_the_webclient_frame_is_read_with_the_frame_offset(browser: Browser) -> None:
    """The same tiles as the page read on its own in a viewport of the frame's size, 40 px lower."""
    context = browser.new_context(viewport={"width": 1280, "height": 680})
    try:
        alone = context.new_page()
        open_meeting(alone, MEETINGS[1])
        expected = read_tiles(alone)["tiles"]
    finally:
        context.close()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        open_zoom_2026(page, "client=zoom.html")
        result = read_tiles(page)
    finally:
        context.close()
    assert (result["platform"], result["fallback"]) == ("zoom", False)
    assert result["tiles"] == [tile | {"y": tile["y"] + 40} for tile in expected]
    assert len(expected) == 6


def test_meet_tiles_without_a_name_on_the_page_are_sent_unnamed_for_the_server_to_read(page: Page) -> None:
    tiles = "".join(f'<div data-participant-id="spaces/s/devices/{index}">{VIDEO}</div>' for index in range(3))
    page.set_content(f"<html><body style='margin:0;display:flex'>{tiles}</body></html>")
    result = read_tiles(page)
    assert result["platform"] == "meet"
    assert result["tiles"] == [{"x": 320 * index, "y": 0, "w": 320, "h": 180, "self": False} for index in range(3)]
    mapped = map_tiles(page, result, 1280, 720)
    assert [set(tile) for tile in mapped] == [{"x", "y", "w", "h", "self"}] * 3
    assert page.evaluate(NAMES_FROM, mapped) == "picture"


@pytest.mark.parametrize(
    ("names", "expected"),
    [([], "picture"), (["Ada", "Alan"], "page"), (["Ada", None], "picture"), ([None], "picture")],
)
def test_names_from_says_page_only_when_every_tile_sent_has_its_name(page: Page, names: list[str | None], expected: str) -> None:
    page.evaluate(GEOMETRY)
    tiles = [{"x": 0, "y": 0, "w": 10, "h": 10, "self": False} | ({"name": name} if name else {}) for name in names]
    assert page.evaluate(NAMES_FROM, tiles) == expected
