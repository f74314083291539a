"""Validation of one frame upload: every failure becomes an :class:`IngestError` with a precise message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
from django.conf import settings
from django.utils import timezone

from ingest.vision.tiles import Tile, TileError, parse_tiles

FRAME_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_CAPTURE_AGE = timedelta(days=1)
IMAGE_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (("image/jpeg", b"\xff\xd8\xff", 0), ("image/png", b"\x89PNG\r\n\x1a\n", 0))


class IngestError(Exception):
    """A refused upload: HTTP status, a stable machine code and a human message."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class FrameUpload:
    """A validated upload: the original bytes, its size, capture time, id and tiles."""

    data: bytes
    media_type: str
    width: int
    height: int
    captured_at: datetime
    frame_id: str | None
    tiles: list[Tile]
    names_from: str = "page"


def sniff_media_type(data: bytes) -> str | None:
    """JPEG, PNG or WebP by magic bytes (the client's Content-Type is not trusted)."""
    for media_type, signature, offset in IMAGE_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_captured_at(raw: str | None, *, not_before: datetime | None = None) -> datetime:
    """ISO 8601 with a time zone, or Unix epoch milliseconds; not in the future, not a day old, not before ``not_before``.

    Capture times come from the client's clock, so a few minutes of skew either way are allowed.
    """
    if raw is None or not raw.strip():
        raise IngestError(400, "invalid_field", "captured_at is required (ISO 8601 with time zone, or Unix epoch milliseconds)")
    raw = raw.strip()
    try:
        if re.fullmatch(r"\d{10,16}(\.\d+)?", raw):
            value = datetime.fromtimestamp(float(raw) / 1000, tz=UTC)
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise IngestError(400, "invalid_field", "captured_at must be ISO 8601 with time zone, or Unix epoch milliseconds") from None
    if value.tzinfo is None:
        raise IngestError(400, "invalid_field", "captured_at must include a time zone")
    now = timezone.now()
    if value > now + MAX_CLOCK_SKEW:
        raise IngestError(400, "invalid_field", "captured_at is in the future")
    if value < now - MAX_CAPTURE_AGE:
        raise IngestError(400, "invalid_field", "captured_at is more than a day ago")
    if not_before is not None and value < not_before - MAX_CLOCK_SKEW:
        raise IngestError(400, "invalid_field", "captured_at is before the session started")
    return value


def parse_frame_id(raw: str | None) -> str | None:
    """Optional idempotency key: 1–64 characters of letters, digits and ``. _ : -``."""
    if raw is None or raw == "":
        return None
    if not FRAME_ID_PATTERN.fullmatch(raw):
        raise IngestError(400, "invalid_field", "frame_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")
    return raw


def decode_image(data: bytes) -> np.ndarray:
    """Decode to BGR; anything OpenCV cannot decode is a 400, never a worker crash."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise IngestError(400, "undecodable_image", "image could not be decoded")
    return image


def decoded_size(data: bytes, *, width: int, height: int) -> tuple[int, int]:
    """Width and height of the image as workers will decode it (EXIF orientation applied), given its header's.

    Decoding at an eighth of the size proves the data decodes at a small part of the cost: JPEG scales
    in its DCT, and the web process is no place for a full decode of every frame.
    """
    small = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8) if data else None
    if small is None or small.size == 0:
        raise IngestError(400, "undecodable_image", "image could not be decoded")
    rotated = abs(small.shape[1] - width / 8) > abs(small.shape[1] - height / 8)
    return (height, width) if rotated else (width, height)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone, so oversized images are refused before decoding."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as header:
            width, height = header.size
    except Image.DecompressionBombError:
        # A header claiming enormous dimensions (a decompression bomb): refused before any pixel is decoded.
        raise IngestError(413, "image_too_large", f"image dimensions exceed the {settings.INGEST_MAX_PIXELS}-pixel limit") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise IngestError(400, "undecodable_image", "image could not be decoded") from None
    if width * height > settings.INGEST_MAX_PIXELS:
        raise IngestError(413, "image_too_large", f"image is {width}x{height}; at most {settings.INGEST_MAX_PIXELS} pixels are accepted")
    return width, height


NAMES_FROM = ("page", "picture")


def parse_names_from(raw: str | None, *, tiles: list[Tile]) -> str:
    """Where the client says the participants' names come from: ``page`` (it read them from the meeting page) or
    ``picture`` (it could not: the server reads the labels painted on the tiles). Unsaid, it follows from the tiles:
    every tile named is ``page``; no tiles, or a tile without a name, is ``picture``."""
    if raw in (None, ""):
        return "page" if tiles and all(tile.name for tile in tiles) else "picture"
    if raw not in NAMES_FROM:
        raise IngestError(400, "invalid_field", f"names_from must be 'page' or 'picture', got {raw[:40]!r}")
    return raw


def validate_upload(
    *,
    data: bytes | None,
    captured_at: str | None,
    frame_id: str | None,
    tiles: str | None,
    session_started_at: datetime | None = None,
    names_from: str | None = None,
) -> FrameUpload:
    """Check one upload's fields in a fixed order (size, type, fields, decodability, tiles, names_from)."""
    if data is None:
        raise IngestError(400, "invalid_field", "image is required (multipart file field 'image')")
    if len(data) > settings.INGEST_MAX_FRAME_BYTES:
        raise IngestError(413, "frame_too_large", f"image is {len(data)} bytes; the limit is {settings.INGEST_MAX_FRAME_BYTES} bytes")
    if not data:
        raise IngestError(400, "invalid_field", "image is empty")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise IngestError(415, "unsupported_media_type", "image must be JPEG, PNG or WebP")
    when = parse_captured_at(captured_at, not_before=session_started_at)
    key = parse_frame_id(frame_id)
    width, height = image_size(data)
    decoded_width, decoded_height = decoded_size(data, width=width, height=height)
    parsed_tiles: list[Tile] = []
    if tiles not in (None, ""):
        try:
            parsed_tiles = parse_tiles(tiles, width=decoded_width, height=decoded_height, max_tiles=settings.INGEST_MAX_TILES)
        except TileError as error:
            raise IngestError(400, "invalid_tiles", str(error)) from None
    return FrameUpload(
        data=data,
        media_type=media_type,
        width=width,
        height=height,
        captured_at=when,
        frame_id=key,
        tiles=parsed_tiles,
        names_from=parse_names_from(names_from, tiles=parsed_tiles),
    )
