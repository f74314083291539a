"""The web process's cheap decodability check: sizes as the workers will decode them."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from ingest.validation import IngestError, decode_image, decoded_size, image_size, parse_names_from
from ingest.vision.tiles import Tile


def _encoded(width: int, height: int, *, fmt: str, orientation: int | None = None) -> bytes:
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
    buffer = BytesIO()
    if orientation is None:
        picture.save(buffer, format=fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation  # the EXIF Orientation tag
        picture.save(buffer, format=fmt, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_encoded(640, 360, fmt="JPEG"), (640, 360)),
        (_encoded(641, 359, fmt="JPEG"), (641, 359)),  # sizes that are not multiples of 8
        (_encoded(320, 180, fmt="PNG"), (320, 180)),
        (_encoded(320, 180, fmt="WEBP"), (320, 180)),
        (_encoded(640, 360, fmt="JPEG", orientation=6), (360, 640)),  # a phone photo turned by its EXIF tag
    ],
)
def test_decoded_size_matches_the_full_decode(data: bytes, expected: tuple[int, int]) -> None:
    width, height = image_size(data)
    assert decoded_size(data, width=width, height=height) == expected
    full = decode_image(data)
    assert (full.shape[1], full.shape[0]) == expected


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff" + b"\x00" * 64, b"not an image at all"])
def test_decoded_size_refuses_undecodable_data(data: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        decoded_size(data, width=640, height=360)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "undecodable_image", "image could not be decoded")


@pytest.mark.parametrize(
    ("raw", "tiles", "expected"),
    [
        ("page", [Tile("Ana", 0, 0, 10, 10)], "page"),
        ("picture", [Tile("Ana", 0, 0, 10, 10)], "picture"),  # the client's word wins
        (None, [Tile("Ana", 0, 0, 10, 10)], "page"),  # unsaid: every tile named
        ("", [Tile("Ana", 0, 0, 10, 10), Tile("", 10, 0, 10, 10)], "picture"),  # a tile without a name
        (None, [], "picture"),  # no tiles at all: the server finds them and reads their labels
    ],
)
def test_names_from_is_said_or_follows_from_the_tiles(raw: str | None, tiles: list[Tile], expected: str) -> None:
    assert parse_names_from(raw, tiles=tiles) == expected


@pytest.mark.parametrize("raw", ["dom", "PAGE", "page ", "x" * 500])
def test_names_from_refuses_anything_else_with_an_exact_message(raw: str) -> None:
    with pytest.raises(IngestError) as refused:
        parse_names_from(raw, tiles=[])
    assert (refused.value.status, refused.value.code) == (400, "invalid_field")
    assert refused.value.message == f"names_from must be 'page' or 'picture', got {raw[:40]!r}"
