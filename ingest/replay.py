"""The replay client: posts frames of videos or images to the ingest API, as the extension does.

Several inputs are tiled into one gallery frame with name labels, and the tile rectangles are sent
along, exactly as the extension reads them from the meeting page. Like the extension, each upload says the
client's own rate (``X-Wanted-FPS``), and each answer's ``max_fps`` (the rate the server lets this session send
now, under load) slows the client to that rate, never above its own.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import requests

from ingest.vision.gallery import compose_gallery

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
DEFAULT_IMAGE_FPS = 2.0
JPEG_QUALITY = 85


class ReplayError(RuntimeError):
    """An input cannot be read, or the server refused the upload."""


class UploadRefused(ReplayError):
    """The server refuses this session's uploads for good (401/403: the session ended, the token was rotated).

    Not a failure of the client: there is nothing left to send to, so a replay stops here.
    """

    def __init__(self, *, status: int, code: str, message: str) -> None:
        super().__init__(f"the server refused the upload for good ({status} {code}): {message}")
        self.status = status
        self.code = code


REFUSED_FOR_GOOD = (401, 403)


def server_max_fps(response: requests.Response) -> float | None:
    """The answer's ``max_fps``: the frames per second the server lets this session send now.

    ``None`` when the answer gives none that makes sense (absent, null, not a number, not finite, 0 or below: a
    proxy's page, an older server): the client then keeps its own rate.
    """
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("max_fps") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def allowed_period(period: float, max_fps: float | None) -> float:
    """Seconds between uploads: the client's own ``period``, or ``1 / max_fps`` (the server's) if that is longer."""
    return period if max_fps is None else max(period, 1.0 / max_fps)


def next_wait(period: float, max_fps: float | None, *, draw: Callable[[], float] = random.random) -> float:
    """Seconds until the next upload: :func:`allowed_period`, and when the server's ``max_fps`` stretched it, drawn
    around that, up to half of it either way and never under ``period`` (``draw`` in [0, 1); the same rate on
    average). The server slows every class at the same moment; clients that all kept their old phase would go on
    sending in step, in bursts the workers meet late (as the extension, ``frontend/extension/uploads.js``)."""
    allowed = allowed_period(period, max_fps)
    spread = min(allowed / 2, allowed - period)
    return allowed + spread * (2 * draw() - 1)


def _refusal(response: requests.Response) -> UploadRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error", "refused")) if isinstance(body, dict) else "refused"
    message = str(body.get("message", response.text)) if isinstance(body, dict) else response.text
    return UploadRefused(status=response.status_code, code=code, message=message)


class Source:
    """Frames of one video (looping if asked) or one still image."""

    def __init__(self, path: Path, *, loop: bool) -> None:
        self.path = path
        self.loop = loop
        self.still: np.ndarray | None = None
        self.capture: cv2.VideoCapture | None = None
        if path.suffix.lower() in IMAGE_SUFFIXES:
            self.still = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if self.still is None:
                raise ReplayError(f"{path}: not a readable image")
            self.fps: float | None = None
        else:
            self.capture = cv2.VideoCapture(str(path))
            if not self.capture.isOpened():
                raise ReplayError(f"{path}: not a readable video")
            self.fps = float(self.capture.get(cv2.CAP_PROP_FPS)) or 25.0

    def read(self, skip: int = 0) -> np.ndarray | None:
        """The next frame after skipping ``skip`` (to keep the video's pace); ``None`` at the end."""
        if self.still is not None:
            return self.still
        assert self.capture is not None
        for _ in range(skip):
            self.capture.grab()
        ok, frame = self.capture.read()
        if not ok and self.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
        return frame if ok else None


@dataclass
class ReplayStats:
    """What happened to the posted frames, by HTTP status."""

    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "statuses": {str(k): v for k, v in sorted(self.statuses.items())}, "errors": self.errors[-5:]}


def frames(
    paths: list[Path], *, names: list[str] | None, loop: bool, fps: float | None
) -> tuple[Iterator[tuple[np.ndarray, list[dict[str, object]]]], float]:
    """Iterate (frame, tiles) at the pace of ``fps`` (default: the slowest video's own rate)."""
    sources = [Source(path, loop=loop) for path in paths]
    video_fps = [s.fps for s in sources if s.fps]
    rate = fps or (min(video_fps) if video_fps else DEFAULT_IMAGE_FPS)
    labels = names or [path.stem for path in paths]
    if len(labels) != len(sources):
        raise ReplayError(f"{len(labels)} names for {len(sources)} inputs")

    def generate() -> Iterator[tuple[np.ndarray, list[dict[str, object]]]]:
        while True:
            images = []
            for source in sources:
                skip = max(0, round((source.fps or rate) / rate) - 1)
                image = source.read(skip)
                if image is None:
                    return
                images.append(image)
            if len(images) == 1:
                yield images[0], []
                continue
            frame, tiles = compose_gallery(images, names=labels)
            yield frame, [asdict(tile) for tile in tiles]

    return generate(), rate


def post_frame(
    http: requests.Session,
    *,
    url: str,
    token: str,
    frame: np.ndarray,
    tiles: list[dict[str, object]],
    frame_id: str | None = None,
    wanted_fps: float | None = None,
) -> requests.Response:
    """One upload: JPEG bytes, capture time now, an idempotency id, and the tiles if any.

    ``wanted_fps``, the client's own rate, goes in the ``X-Wanted-FPS`` header (without it the server assumes 1).
    """
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ReplayError("could not encode frame as JPEG")
    data = {"captured_at": datetime.now(UTC).isoformat(), "frame_id": frame_id or uuid.uuid4().hex}
    if tiles:
        data["tiles"] = json.dumps(tiles)
    headers = {"Authorization": f"Bearer {token}"}
    if wanted_fps is not None:
        headers["X-Wanted-FPS"] = f"{wanted_fps:g}"
    return http.post(
        url,
        headers=headers,
        data=data,
        files={"image": ("frame.jpg", jpeg.tobytes(), "image/jpeg")},
        timeout=10,
    )


class PictureNames:
    """Names read from the labels painted on a recorded meeting's tiles, as the server reads them: the grid found
    in each frame, each tile's label settled over a few frames. Reports each name once, when it first settles."""

    def __init__(self, *, report: Callable[[str, str], None]) -> None:
        from ingest.vision.labels import TileLabels  # OCR only where a recorded meeting is replayed

        self.labels = TileLabels()
        self.report = report
        self.named: dict[str, str] = {}

    def read(self, frame: np.ndarray, *, now: float) -> None:
        """Read this frame's tiles; ``report(tile, name)`` for each name new to a tile."""
        from ingest.vision.self_view import find_layout

        grid, _ = find_layout(frame)
        for tile in grid:
            name = self.labels.name_for(stream=0, image=frame, tile=tile, now=now)
            if name is not None and self.named.get(tile.name) != name:
                self.named[tile.name] = name
                self.report(tile.name, name)


def replay(
    paths: list[Path],
    *,
    base_url: str,
    session_id: int,
    token: str,
    fps: float | None = None,
    names: list[str] | None = None,
    loop: bool = False,
    max_frames: int | None = None,
    on_response: Callable[[int, requests.Response], None] | None = None,
    on_name: Callable[[str, str], None] | None = None,
) -> ReplayStats:
    """Post frames at the inputs' pace until they end (or ``max_frames``); honours Retry-After and ``max_fps``.

    Each upload says the pace (``X-Wanted-FPS``); an answer's ``max_fps`` below it stretches the wait for the next
    frame to ``1 / max_fps`` (the video then plays slower: no frame is skipped), and a later answer with a higher one
    brings the pace back, never above the inputs'. On 429/503 the wait is the longer of that and Retry-After.

    A single input with no ``names`` is a recorded meeting: its frames go up without tiles, the server finds the
    grid and reads the names painted on it, and ``on_name(tile, name)`` hears each name as this client reads
    it too. Raises :class:`UploadRefused` once the server refuses the session for good, :class:`ReplayError`
    on any other refusal.
    """
    iterator, rate = frames(paths, names=names, loop=loop, fps=fps)
    url = f"{base_url.rstrip('/')}/api/v1/sessions/{session_id}/frames"
    stats = ReplayStats()
    period = 1.0 / rate
    next_at = time.monotonic()
    names_read = PictureNames(report=on_name) if on_name is not None and len(paths) == 1 and not names else None
    with requests.Session() as http:
        for index, (frame, tiles) in enumerate(iterator):
            if max_frames is not None and index >= max_frames:
                break
            if names_read is not None:
                names_read.read(frame, now=index * period)
            time.sleep(max(0.0, next_at - time.monotonic()))
            started = time.monotonic()
            next_at = max(next_at + period, started)
            try:
                response = post_frame(http, url=url, token=token, frame=frame, tiles=tiles, wanted_fps=rate)
            except requests.RequestException as error:
                stats.errors.append(str(error))
                continue
            stats.sent += 1
            stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
            if on_response is not None:
                on_response(index, response)
            next_at = max(next_at, started + next_wait(period, server_max_fps(response)))
            if response.status_code in (429, 503):
                next_at = max(next_at, time.monotonic() + float(response.headers.get("Retry-After", "1")))
            elif response.status_code in REFUSED_FOR_GOOD:
                raise _refusal(response)
            elif response.status_code >= 400:
                raise ReplayError(f"server refused the upload ({response.status_code}): {response.text}")
    return stats


class LiveFeed:
    """A live class posted from a background thread: a named gallery at ``fps``, as a meeting tab would be.

    For tests, demos and benchmarks: ``hidden`` names show an empty tile (the student left the picture)
    and ``pause()`` stops the uploads until ``resume()``. Each upload says ``fps`` (``X-Wanted-FPS``); an answer's
    ``max_fps`` below it slows the feed to that rate until an answer allows more (``max_fps`` keeps the latest).
    """

    def __init__(self, *, base_url: str, session_id: int, token: str, students: list[tuple[str, Path]], fps: float = 1.0) -> None:
        self.url = f"{base_url.rstrip('/')}/api/v1/sessions/{session_id}/frames"
        self.token = token
        self.names = [name for name, _ in students]
        self.paths = [path for _, path in students]
        self.fps = fps
        self.max_fps: float | None = None  # the server's max_fps in its latest answer, None if it gave none
        self.hidden: set[str] = set()
        self.stats = ReplayStats()
        self._running = threading.Event()
        self._posting = threading.Lock()  # held while an upload is under way
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)

    def start(self) -> LiveFeed:
        """Start posting."""
        self._running.set()
        self._thread.start()
        return self

    def pause(self) -> None:
        """Stop uploading (the meeting tab stopped sharing) until :meth:`resume`; returns once an upload under way has
        been answered, so nothing arrives after it."""
        self._running.clear()
        with self._posting:
            pass

    def resume(self) -> None:
        """Upload again."""
        self._running.set()

    def stop(self) -> None:
        """Stop for good and wait for the thread."""
        self._stop.set()
        self._running.set()
        self._thread.join(timeout=15)

    def _post(self, http: requests.Session, frame: np.ndarray, tiles: list[dict[str, object]]) -> None:
        try:
            response = post_frame(http, url=self.url, token=self.token, frame=frame, tiles=tiles, wanted_fps=self.fps)
            self.stats.sent += 1
            self.stats.statuses[response.status_code] = self.stats.statuses.get(response.status_code, 0) + 1
            self.max_fps = server_max_fps(response)
        except requests.RequestException as error:
            self.stats.errors.append(str(error))

    def _run(self) -> None:
        # Each post takes the next frame of every video (no skipping): decoding 25 frames per second of
        # 50 clips would cost more than the server's work; the clips just play slower.
        iterator, _ = frames(self.paths, names=self.names, loop=True, fps=None)
        period = 1.0 / self.fps
        with requests.Session() as http:
            for frame, tiles in iterator:
                started = time.monotonic()
                for tile in tiles:
                    if tile["name"] in self.hidden:
                        x, y, w, h = (int(tile[key]) for key in ("x", "y", "w", "h"))  # type: ignore[call-overload]
                        frame[y : y + h, x : x + w] = 40  # an empty, dark tile: camera on, nobody there
                posted = False
                while not posted:
                    self._running.wait()
                    if self._stop.is_set():
                        return
                    with self._posting:
                        if self._running.is_set():  # not paused since: pause() now waits for this upload
                            self._post(http, frame, tiles)
                            posted = True
                wait = next_wait(period, self.max_fps)  # after a network error, the last answer's
                if self._stop.wait(max(0.0, wait - (time.monotonic() - started))):
                    return
