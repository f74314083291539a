"""The extension's upload logic (frontend/extension/uploads.js, which the camera page shares), run in Chromium: back
off on 429/503 as Retry-After says, stop with the server's words on 401/403, count every refusal and carry on
otherwise; slow to the server's max_fps, never above the client's own rate; encode each frame under the server's byte
limit, and smaller after a 413."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from frontend.management.commands.build_extension import EXTENSION_DIR
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
PERIOD_MS = 1000


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_script_tag(content=(EXTENSION_DIR / "uploads.js").read_text())
            page.add_script_tag(content="globalThis.MIDDLE = () => 0.5;")  # a stretched wait drawn at its middle: the period itself
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 202, "retryAfter": None, "message": ""}, {"count": "sent", "stop": None, "waitMs": 1000, "lastError": ""}),
        (
            {"status": 429, "retryAfter": "3", "message": "too many frames for this session; slow down"},
            {
                "count": "refused",
                "stop": None,
                "waitMs": 3000,
                "lastError": "Frame refused: too many frames for this session; slow down (429)",
            },
        ),
        (
            {"status": 503, "retryAfter": None, "message": "the frame buffer is full; retry later"},
            {"count": "refused", "stop": None, "waitMs": 1000, "lastError": "Frame refused: the frame buffer is full; retry later (503)"},
        ),
        (
            {"status": 503, "retryAfter": "not-a-number", "message": ""},
            {"count": "refused", "stop": None, "waitMs": 1000, "lastError": "Frame refused: refused (503)"},
        ),
        (
            {"status": 401, "retryAfter": None, "message": "ingest token is not valid"},
            {
                "count": None,
                "stop": "Stopped by the server: ingest token is not valid (401)",
                "waitMs": 0,
                "lastError": "Stopped by the server: ingest token is not valid (401)",
            },
        ),
        (
            {"status": 403, "retryAfter": None, "message": "session has ended; start a new session to upload frames"},
            {
                "count": None,
                "stop": "Stopped by the server: session has ended; start a new session to upload frames (403)",
                "waitMs": 0,
                "lastError": "Stopped by the server: session has ended; start a new session to upload frames (403)",
            },
        ),
        (
            {"status": 413, "retryAfter": None, "message": "request is 5000000 bytes; the limit is 4456448 bytes"},
            {
                "count": "refused",
                "stop": None,
                "waitMs": 1000,
                "lastError": "Frame refused: request is 5000000 bytes; the limit is 4456448 bytes (413)",
            },
        ),
        (
            {"error": "Failed to fetch"},
            {"count": "refused", "stop": None, "waitMs": 2000, "lastError": "Server unreachable, retrying: Failed to fetch"},
        ),
    ],
)
def test_what_each_server_answer_means(page: Page, answer: dict[str, Any], expected: dict[str, Any]) -> None:
    # None of these answers carries max_fps: the client keeps its own period.
    no_hint = {"maxFps": None, "periodMs": PERIOD_MS}
    assert page.evaluate("([answer, period]) => engagementAfterUpload(answer, period, MIDDLE)", [answer, PERIOD_MS]) == {
        **expected,
        **no_hint,
    }


def accepted(**answer: Any) -> dict[str, Any]:
    return {"status": 202, "retryAfter": None, "message": "", **answer}


@pytest.mark.parametrize(
    ("answer", "wait_ms", "max_fps", "period_ms"),
    [
        # The server's max_fps stretches the 1 s period to 1000 / max_fps; above the client's own rate it changes nothing.
        (accepted(maxFps=0.5), 2000, 0.5, 2000),
        (accepted(maxFps=0.8), 1250, 0.8, 1250),
        (accepted(maxFps=1), 1000, 1, 1000),
        (accepted(maxFps=5), 1000, 5, 1000),
        # Refusals carry it too; on 429/503 the longer of it and Retry-After wins.
        ({"status": 429, "retryAfter": "3", "message": "slow down", "maxFps": 0.5}, 3000, 0.5, 2000),
        ({"status": 503, "retryAfter": "1", "message": "busy", "maxFps": 0.25}, 4000, 0.25, 4000),
        ({"status": 503, "retryAfter": None, "message": "busy", "maxFps": 0.5}, 2000, 0.5, 2000),
        ({"status": 413, "retryAfter": None, "message": "too large", "maxFps": 0.5}, 2000, 0.5, 2000),
        ({"status": 401, "retryAfter": None, "message": "ingest token is not valid", "maxFps": 0.5}, 0, 0.5, 2000),
        # No hint that makes sense: absent, null, 0, negative, not a number (a proxy's page, an older server).
        (accepted(), 1000, None, 1000),
        (accepted(maxFps=None), 1000, None, 1000),
        (accepted(maxFps=0), 1000, None, 1000),
        (accepted(maxFps=-1), 1000, None, 1000),
        (accepted(maxFps="0.5"), 1000, None, 1000),
        (accepted(maxFps=True), 1000, None, 1000),
        (accepted(maxFps={"fps": 0.5}), 1000, None, 1000),
        (accepted(maxFps=float("inf")), 1000, None, 1000),
        (accepted(maxFps=float("nan")), 1000, None, 1000),
        ({"status": 429, "retryAfter": "3", "message": "slow down", "maxFps": "fast"}, 3000, None, 1000),
        # Unreachable: no answer, no hint.
        ({"error": "Failed to fetch", "maxFps": 0.1}, 2000, None, 1000),
    ],
)
def test_the_servers_max_fps_sets_the_period(
    page: Page, answer: dict[str, Any], wait_ms: int, max_fps: float | None, period_ms: int
) -> None:
    next_ = page.evaluate("([answer, period]) => engagementAfterUpload(answer, period, MIDDLE)", [answer, PERIOD_MS])
    assert (next_["waitMs"], next_["maxFps"], next_["periodMs"]) == (wait_ms, max_fps, period_ms)


def test_a_higher_max_fps_brings_the_client_back_to_its_own_rate_and_no_faster(page: Page) -> None:
    """Pure: each answer is read against the client's own period, so the slowdown ends with the answer that lifts it."""
    waits = page.evaluate(
        """period => [0.5, 0.5, 2, 10, null].map((maxFps) =>
          engagementAfterUpload({ status: 202, retryAfter: null, message: "", maxFps }, period, MIDDLE).waitMs)""",
        500,  # a client sending 2 frames per second
    )
    assert waits == [2000, 2000, 500, 500, 500]


@pytest.mark.parametrize(("fps", "words"), [(0.66, "0.7"), (1, "1"), (1.0, "1"), (0.5, "0.5"), (2.25, "2.3"), (1.04, "1"), (0.04, "0.04")])
def test_a_rate_in_words_has_at_most_one_decimal(page: Page, fps: float, words: str) -> None:
    assert page.evaluate("fps => engagementFpsText(fps)", fps) == words


# A 1280×720 picture of noise (JPEG cannot make it small) to encode, as the upload loops do with a <video>.
ENCODE = """async ([maxBytes, scale]) => {
  const source = document.createElement("canvas");
  [source.width, source.height] = [1280, 720];
  const context = source.getContext("2d");
  const pixels = context.createImageData(1280, 720);
  for (let i = 0; i < pixels.data.length; i += 1) pixels.data[i] = (i * 2654435761) % 251;
  context.putImageData(pixels, 0, 0);
  const frame = await engagementEncodeFrame(source, 1280, 720, maxBytes, scale);
  return { bytes: frame.blob.size, type: frame.blob.type, width: frame.width, height: frame.height, scale: frame.scale };
}"""


def test_a_frame_is_encoded_whole_when_it_fits(page: Page) -> None:
    frame = page.evaluate(ENCODE, [4 * 1024 * 1024, 1])
    assert (frame["width"], frame["height"], frame["scale"], frame["type"]) == (1280, 720, 1, "image/jpeg")
    assert frame["bytes"] <= 0.9 * 4 * 1024 * 1024


def test_a_frame_over_the_limit_gets_smaller_until_it_fits(page: Page) -> None:
    whole = page.evaluate(ENCODE, [4 * 1024 * 1024, 1])
    limit = whole["bytes"] // 3
    frame = page.evaluate(ENCODE, [limit, 1])
    assert frame["bytes"] <= 0.9 * limit
    assert frame["width"] < 1280 and frame["scale"] < 1
    assert abs(frame["width"] / frame["height"] - 16 / 9) < 0.01


def test_a_frame_starts_at_the_scale_it_is_given(page: Page) -> None:
    frame = page.evaluate(ENCODE, [4 * 1024 * 1024, 0.75])
    assert (frame["width"], frame["height"], frame["scale"]) == (960, 540, 0.75)


LIMITS = """([answer, frame, limits]) => {
  const next = engagementFrameLimits(answer, { ...frame, blob: { size: frame.bytes } }, limits);
  return { ...next, same: next === limits };
}"""
WHOLE = {"width": 1280, "height": 720, "scale": 1, "bytes": 300_000}
UNCHANGED = {"maxBytes": 4_000_000, "scale": 1, "same": True}


@pytest.mark.parametrize(
    ("answer", "frame", "expected"),
    [
        # 413: the next frames start at 3/4 of the refused one's scale, under its size in bytes.
        ({"status": 413}, WHOLE, {"maxBytes": 300_000, "scale": 0.75, "same": False}),
        (
            {"status": 413},
            {"width": 960, "height": 540, "scale": 0.75, "bytes": 5_000_000},
            {"maxBytes": 4_000_000, "scale": 0.5625, "same": False},
        ),
        # At 160 pixels wide they go no smaller; any other answer leaves the limits as they are.
        ({"status": 413}, {"width": 200, "height": 150, "scale": 0.25, "bytes": 9_000}, UNCHANGED),
        ({"status": 202}, WHOLE, UNCHANGED),
        ({"status": 429}, WHOLE, UNCHANGED),
        ({"error": "Failed to fetch"}, WHOLE, UNCHANGED),
    ],
)
def test_a_413_makes_the_next_frames_smaller(page: Page, answer: dict[str, Any], frame: dict[str, Any], expected: dict[str, Any]) -> None:
    assert page.evaluate(LIMITS, [answer, frame, {"maxBytes": 4_000_000, "scale": 1}]) == expected


@pytest.mark.parametrize(
    ("max_fps", "lowest_ms", "highest_ms"),
    [
        (0.5, 1000, 3000),  # stretched to 2 s: drawn from 1 to 3 s
        (0.8, 1000, 1500),  # stretched to 1.25 s: drawn from 1 to 1.5 s, never under the client's own period
        (None, 1000, 1000),  # not stretched: the client's own period, exactly
        (5, 1000, 1000),
    ],
)
def test_a_wait_the_server_stretched_is_spread_around_its_period(
    page: Page, max_fps: float | None, lowest_ms: float, highest_ms: float
) -> None:
    """Classes the server slowed at one moment would otherwise go on sending in step: each draws its wait around the
    stretched period, the same on average, never faster than its own rate."""
    waits = page.evaluate(
        """([maxFps, period]) => [0, 0.25, 0.5, 0.75, 0.999999].map((u) =>
          engagementAfterUpload({ status: 202, retryAfter: null, message: "", maxFps }, period, () => u).waitMs)""",
        [max_fps, PERIOD_MS],
    )
    assert waits[0] == pytest.approx(lowest_ms) and waits[-1] == pytest.approx(highest_ms, abs=0.01)
    assert waits[2] == pytest.approx((lowest_ms + highest_ms) / 2)  # the middle draw: the stretched period itself
    assert waits == sorted(waits)
