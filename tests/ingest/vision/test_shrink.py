"""Area-averaged shrinking: what ``INTER_AREA`` gives, within a few gray levels, on the fast path where it can."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ingest.vision.shrink import shrink


@pytest.fixture
def photo(astronaut: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize(
    ("source", "size"),
    [
        ((130, 130), (16, 16)),  # a face region to the memory's signature: fractional ratio, linear step first
        ((257, 131), (32, 32)),
        ((384, 40), (32, 4)),  # a label band to its thumbnail
        ((128, 128), (16, 16)),  # a whole ratio: INTER_AREA's own fast path
        ((50, 50), (16, 16)),  # a ratio under MIN_FACTOR: INTER_AREA as is
        ((10, 12), (16, 16)),  # enlarging: INTER_AREA as is
        ((16, 16), (16, 16)),  # the same size
    ],
)
def test_shrinking_agrees_with_area_averaging(photo: np.ndarray, source: tuple[int, int], size: tuple[int, int]) -> None:
    region = cv2.resize(photo, source, interpolation=cv2.INTER_AREA)
    expected = cv2.resize(region, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    got = shrink(region, size)
    assert got.shape == (size[1], size[0]) and got.dtype == np.uint8
    difference = np.abs(got.astype(np.int16) - expected)
    assert difference.mean() <= 0.5 and difference.max() <= 8


def test_a_colour_region_keeps_its_channels(astronaut: np.ndarray) -> None:
    region = cv2.resize(astronaut, (130, 130), interpolation=cv2.INTER_AREA)
    assert shrink(region, (16, 16)).shape == (16, 16, 3)


@pytest.mark.parametrize("size", [(0, 16), (16, 0), (-1, 4)])
def test_an_empty_or_negative_target_is_refused(photo: np.ndarray, size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="target size must be positive"):
        shrink(photo, size)


def test_an_empty_image_is_refused() -> None:
    with pytest.raises(ValueError, match="image is empty"):
        shrink(np.zeros((0, 40), np.uint8), (16, 16))
