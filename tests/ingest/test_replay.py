"""The replay client against a server that refuses: for good (the session ended, the token rotated) or not; and
against a busy one, whose answers' max_fps slow the client (replay and LiveFeed) down to it, never above its own rate."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from django.core.management import CommandError, call_command

from ingest.replay import LiveFeed, ReplayError, UploadRefused, next_wait, replay, server_max_fps


class Answers:
    """What the fake ingest API answers every upload with, and when each upload came with which X-Wanted-FPS."""

    status = 202
    body: bytes = b"{}"
    delay = 0.0  # seconds each answer takes

    def __init__(self) -> None:
        self.seen: list[tuple[float, str | None]] = []
        self.answered = 0

    def gaps(self) -> list[float]:
        """Seconds between the uploads, in turn."""
        return [b[0] - a[0] for a, b in itertools.pairwise(list(self.seen))]


def _server(answers: Answers) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answers.seen.append((time.monotonic(), self.headers.get("X-Wanted-FPS")))
            time.sleep(answers.delay)
            answers.answered += 1
            self.send_response(answers.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answers.body)

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def api() -> Iterator[tuple[str, Answers]]:
    answers = Answers()
    server = _server(answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()


@pytest.fixture
def still(tmp_path: Path) -> Path:
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), np.full((120, 160, 3), 128, np.uint8))
    return path


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (403, {"error": "session_ended", "message": "session has ended; start a new session to upload frames"}, "session_ended"),
        (401, {"error": "invalid_token", "message": "ingest token is not valid"}, "invalid_token"),
        (403, {"error": "wrong_session", "message": "ingest token belongs to another session"}, "wrong_session"),
        (403, "not json", "refused"),  # a proxy's page: still a refusal for good, named plainly
        (401, [], "refused"),  # JSON, but not the API's error object
    ],
)
def test_a_refusal_for_good_stops_the_replay_with_its_code(
    api: tuple[str, Answers], still: Path, status: int, body: object, code: str
) -> None:
    url, answers = api
    answers.status = status
    answers.body = (json.dumps(body) if not isinstance(body, str) else body).encode()

    with pytest.raises(UploadRefused) as refused:
        replay([still], base_url=url, session_id=1, token="t", fps=20, loop=True)

    assert refused.value.status == status
    assert refused.value.code == code


def test_any_other_refusal_is_an_error(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.status, answers.body = 400, b'{"error": "bad_image", "message": "not an image"}'

    with pytest.raises(ReplayError) as failed:
        replay([still], base_url=url, session_id=1, token="t", fps=20, loop=True)

    assert not isinstance(failed.value, UploadRefused)
    assert "(400)" in str(failed.value)


def test_the_command_ends_quietly_when_the_session_ended(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.status, answers.body = 403, b'{"error": "session_ended", "message": "session has ended"}'
    out, err = StringIO(), StringIO()

    call_command("replay", str(still), "--session", "1", "--token", "t", "--url", url, "--fps", "20", "--loop", stdout=out, stderr=err)

    assert json.loads(out.getvalue()) == {"stopped": "session_ended"}
    assert "session has ended; stopping" in err.getvalue()


def test_the_command_fails_on_other_refusals(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.status, answers.body = 413, b'{"error": "too_large", "message": "image too large"}'

    with pytest.raises(CommandError, match=r"\(413\)"):
        call_command("replay", str(still), "--session", "1", "--token", "t", "--url", url, "--fps", "20", stdout=StringIO())


def until(condition: Callable[[], bool], *, timeout: float = 15.0) -> None:
    """Wait until ``condition()`` holds (polling), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def answer(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 202
    response._content = body
    return response


@pytest.mark.parametrize(
    ("body", "max_fps"),
    [
        (b'{"status": "queued", "max_fps": 0.5}', 0.5),
        (b'{"max_fps": 2}', 2.0),
        (b'{"status": "queued"}', None),  # an older server
        (b'{"max_fps": null}', None),
        (b'{"max_fps": 0}', None),
        (b'{"max_fps": -1}', None),
        (b'{"max_fps": "0.5"}', None),
        (b'{"max_fps": true}', None),
        (b'{"max_fps": Infinity}', None),
        (b'{"max_fps": NaN}', None),
        (b"[0.5]", None),
        (b"<html>502 Bad Gateway</html>", None),  # a proxy's page
        (b"", None),
    ],
)
def test_only_a_positive_number_is_the_servers_max_fps(body: bytes, max_fps: float | None) -> None:
    assert server_max_fps(answer(body)) == max_fps


@pytest.mark.parametrize(
    ("period", "max_fps", "lowest", "highest"),
    [
        (1.0, 0.5, 1.0, 3.0),  # stretched to 2 s: drawn from 1 to 3 s
        (1.0, 0.8, 1.0, 1.5),  # stretched to 1.25 s: never under the client's own period
        (1.0, None, 1.0, 1.0),  # no hint: the client's own period, exactly
        (1.0, 5.0, 1.0, 1.0),  # a hint above the client's own rate changes nothing
        (0.05, 2.5, 0.2, 0.6),
    ],
)
def test_a_wait_the_server_stretched_is_spread_around_its_period(
    period: float, max_fps: float | None, lowest: float, highest: float
) -> None:
    """Classes the server slowed at one moment would otherwise go on sending in step."""
    waits = [next_wait(period, max_fps, draw=lambda u=u: u) for u in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert waits[0] == pytest.approx(lowest) and waits[-1] == pytest.approx(highest)
    assert waits[2] == pytest.approx((lowest + highest) / 2)  # the middle draw: the stretched period itself
    assert waits == sorted(waits)


def test_the_replay_slows_to_the_servers_max_fps_and_says_its_own_rate(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.body = b'{"frame_id": "f", "status": "queued", "duplicate": false, "max_fps": 2.5}'

    stats = replay([still], base_url=url, session_id=1, token="t", fps=20, max_frames=4)

    assert stats.statuses == {202: 4}
    # 1 / 2.5 s, spread by up to half either way (next_wait), less a tolerance; not 1 / 20 s
    assert all(gap >= 0.18 for gap in answers.gaps()), answers.gaps()
    assert {wanted for _, wanted in answers.seen} == {"20"}


@pytest.mark.parametrize("body", [b'{"status": "queued"}', b'{"max_fps": null}', b'{"max_fps": 0}', b'{"max_fps": "slow"}', b"not json"])
def test_the_replay_keeps_its_own_rate_without_a_max_fps_that_makes_sense(api: tuple[str, Answers], still: Path, body: bytes) -> None:
    url, answers = api
    answers.body = body
    started = time.monotonic()

    replay([still], base_url=url, session_id=1, token="t", fps=20, max_frames=4)

    assert len(answers.seen) == 4
    assert time.monotonic() - started < 3.0  # 0.15 s at its own 20 frames/s; a misread hint would take seconds


def test_retry_after_wins_over_a_shorter_max_fps_period(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.status, answers.body = 429, b'{"error": "rate_limited", "message": "slow down", "max_fps": 10}'

    replay([still], base_url=url, session_id=1, token="t", fps=20, max_frames=2)

    assert answers.gaps()[0] >= 0.8  # the missing Retry-After's 1 s, not max_fps's 0.1 s


def test_a_live_feed_slows_to_the_servers_max_fps_and_comes_back_when_it_allows_more(api: tuple[str, Answers], still: Path) -> None:
    url, answers = api
    answers.body = b'{"status": "queued", "max_fps": 2}'
    feed = LiveFeed(base_url=url, session_id=1, token="t", students=[("Ada", still), ("Ben", still)], fps=10).start()
    try:
        until(lambda: len(answers.seen) >= 3)
        assert feed.max_fps == 2.0
        slow = answers.gaps()[:2]
        answers.body = b'{"status": "queued", "max_fps": 50}'  # more than the feed's own 10 frames/s
        until(lambda: len(answers.seen) >= 9)
        fast = answers.gaps()[4:8]
        answers.body = b'{"status": "queued", "max_fps": "0.1"}'  # not a number: ignored
        until(lambda: feed.max_fps is None and len(answers.seen) >= 14)
        ignored = answers.gaps()[-3:]
    finally:
        feed.stop()

    assert all(gap >= 0.22 for gap in slow), slow  # 0.5 s, spread by up to half either way, less a tolerance
    assert all(0.08 <= gap < 0.4 for gap in fast), fast  # its own 0.1 s again, no faster
    assert all(gap < 0.4 for gap in ignored), ignored
    assert {wanted for _, wanted in answers.seen} == {"10"}


def test_a_paused_live_feed_has_no_upload_under_way(api: tuple[str, Answers], still: Path) -> None:
    # A test that pauses the feed and then waits for every received frame to be processed must not see one more
    # arrive after it: pause() returns once the upload under way was answered.
    url, answers = api
    answers.delay = 0.3
    feed = LiveFeed(base_url=url, session_id=1, token="t", students=[("Ada", still)], fps=10).start()
    try:
        until(lambda: len(answers.seen) >= 2)
        feed.pause()
        assert answers.answered == len(answers.seen)
        paused_at = len(answers.seen)
        feed.resume()
        until(lambda: len(answers.seen) > paused_at)
    finally:
        feed.stop()
