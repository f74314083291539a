"""The replay client: posts frames of videos or images to the ingest API, as the extension does.

Several inputs are tiled into one gallery frame with name labels, and the tile rectangles are sent
along, exactly as the extension reads them from the meeting page.
"""

from __future__ import annotations

import json
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
    """An input cannot be read, or the server refused the upload for good."""


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
    http: requests.Session, *, url: str, token: str, frame: np.ndarray, tiles: list[dict[str, object]], frame_id: str | None = None
) -> requests.Response:
    """One upload: JPEG bytes, capture time now, an idempotency id, and the tiles if any."""
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ReplayError("could not encode frame as JPEG")
    data = {"captured_at": datetime.now(UTC).isoformat(), "frame_id": frame_id or uuid.uuid4().hex}
    if tiles:
        data["tiles"] = json.dumps(tiles)
    return http.post(
        url,
        headers={"Authorization": f"Bearer {token}"},
        data=data,
        files={"image": ("frame.jpg", jpeg.tobytes(), "image/jpeg")},
        timeout=10,
    )


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
) -> ReplayStats:
    """Post frames at the inputs' pace until they end (or ``max_frames``); honours Retry-After."""
    iterator, rate = frames(paths, names=names, loop=loop, fps=fps)
    url = f"{base_url.rstrip('/')}/api/v1/sessions/{session_id}/frames"
    stats = ReplayStats()
    period = 1.0 / rate
    next_at = time.monotonic()
    with requests.Session() as http:
        for index, (frame, tiles) in enumerate(iterator):
            if max_frames is not None and index >= max_frames:
                break
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + period, time.monotonic())
            try:
                response = post_frame(http, url=url, token=token, frame=frame, tiles=tiles)
            except requests.RequestException as error:
                stats.errors.append(str(error))
                continue
            stats.sent += 1
            stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
            if on_response is not None:
                on_response(index, response)
            if response.status_code in (429, 503):
                next_at = time.monotonic() + float(response.headers.get("Retry-After", "1"))
            elif response.status_code >= 400:
                raise ReplayError(f"server refused the upload ({response.status_code}): {response.text}")
    return stats
