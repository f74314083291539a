"""The web process's cheap decodability check: sizes as the workers will decode them."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from ingest.validation import IngestError, decode_image, decoded_size, image_size


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
