"""The replay client against a server that refuses: for good (the session ended, the token rotated) or not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ingest.replay import ReplayError, UploadRefused, replay


class Answers:
    """What the fake ingest API answers every upload with."""

    status = 202
    body: bytes = b"{}"


def _server(answers: Answers) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
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
