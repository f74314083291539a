"""Area-averaged downscaling at about half OpenCV's cost for ratios that are not whole numbers.

``cv2.resize(..., INTER_AREA)`` takes its fast path only when the ratio is a whole number on both axes; at any
other ratio it is several times slower (a 130×130 region to 16×16, one thread: 52 µs against 11 µs from 128×128,
on the AVX2-only development machine). The ingest worker shrinks about ninety regions a frame (the detector
memory's signatures, the name labels' change checks), so where the ratio is at least :data:`MIN_FACTOR` a region is
first resampled linearly to the nearest whole multiple of the target below its size (less than a quarter smaller),
then area-averaged on the fast path: 3.9 ms a frame of the memory's signatures became 2.3 (one thread, as the
workers run), and the result differs from ``INTER_AREA``'s by 0.1 gray levels on average (at most 5).
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_FACTOR = 4  # from this whole ratio up, the linear step shrinks by less than a quarter: no aliasing to speak of


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` area-averaged to ``size`` (width, height), as ``INTER_AREA`` would; small ratios and enlarging use it as is."""
    width, height = size
    source_height, source_width = image.shape[:2]
    if width <= 0 or height <= 0:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    if image.size == 0:
        raise ValueError("image is empty")
    factors = (source_width // width, source_height // height)
    whole = (width * factors[0], height * factors[1])
    # Below MIN_FACTOR the linear step would itself shrink by up to half and alias; there the slow path is kept.
    if min(factors) >= MIN_FACTOR and whole != (source_width, source_height):
        image = cv2.resize(image, whole, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
