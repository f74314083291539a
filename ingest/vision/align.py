"""Turn detected faces into FER2013-like 48×48 grayscale crops, or reject them with a reason.

Framing calibration (FER test faces upscaled to 192 px, padded, run through the detector; 288/300
found by the short-range model, 149/300 by the full-range one): the detector's box side is a median
0.84 (short) / 0.87 (full) of the FER image side and the box centre lies 0.09 / 0.04 of the side
below the image centre (FER framing includes the forehead). So the crop side is
:data:`CROP_MARGIN` = 1.18 × the box side, centred :data:`CROP_SHIFT_UP` = 0.07 crop sides above
the box centre, after rotating the eye line level.

Small faces (box side :data:`MIN_FACE_PX`–:data:`LOW_RESOLUTION_PX` px, e.g. a 7×7 gallery at 640×400)
are read from a cubically enlarged crop and flagged ``low_resolution``; on FER2013 PublicTest faces
shrunk that far the CNN agrees with the FER+ majority 54–73% of the time against 83% (``benchmarks/low_resolution.py``).

Photometry: the FER2013 copy we train on is histogram-equalised per face (mean ≈ 128 and standard
deviation ≈ 74 in 99% of faces), so crops are equalised the same way.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ingest.vision.detections import CROP_SIZE, Detections, Rejection

CROP_MARGIN = 1.18
CROP_SHIFT_UP = 0.07
MIN_FACE_PX = 12  # the detector's box side; smaller faces are refused (too_small)
# Faces under this side are read from an enlarged crop and flagged ``low_resolution``: the CNN is less
# sure of them, and inference tempers its confidence (benchmarks/low_resolution.py). The sharpness check
# is skipped for them, since an enlarged crop is always soft.
LOW_RESOLUTION_PX = 20
MIN_SHARPNESS = 400.0  # variance of the Laplacian of the equalised crop; 1st percentile of FER faces is about 1700
MIN_BRIGHTNESS = 40.0  # mean gray level of the face before equalisation


def eye_angle(keypoints: np.ndarray) -> float:
    """Roll in degrees: the angle of the line from the right eye to the left eye (0 when level)."""
    (rx, ry), (lx, ly) = keypoints[0], keypoints[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_transform(box: np.ndarray, keypoints: np.ndarray, *, size: int) -> np.ndarray:
    """The 2×3 affine map from frame pixels to a ``size``×``size`` crop with the eye line level."""
    x, y, w, h = (float(value) for value in box)
    side = CROP_MARGIN * math.sqrt(max(w * h, 1.0))
    angle = eye_angle(keypoints) if np.isfinite(keypoints[:2]).all() else 0.0
    radians = math.radians(angle)
    # The face's "up" direction, turned with the eye line.
    up = np.array([math.sin(radians), -math.cos(radians)])
    centre = np.array([x + w / 2, y + h / 2]) + CROP_SHIFT_UP * side * up
    matrix = np.asarray(cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, size / side), dtype=np.float64)
    matrix[:, 2] += size / 2 - centre
    return matrix


def crop_face(gray: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The aligned 48×48 face (not yet equalised) from a grayscale frame."""
    side = CROP_MARGIN * math.sqrt(max(float(box[2] * box[3]), 1.0))
    # Warp to an intermediate size near the face's own, then area-average down: warpAffine alone aliases.
    # A face smaller than the crop is enlarged cubically, which keeps more of its few pixels' detail.
    work = int(min(max(CROP_SIZE, round(side)), 4 * CROP_SIZE))
    interpolation = cv2.INTER_CUBIC if side < CROP_SIZE else cv2.INTER_LINEAR
    warped = cv2.warpAffine(
        gray, crop_transform(box, keypoints, size=work), (work, work), flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )
    return warped if work == CROP_SIZE else cv2.resize(warped, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian (low for blurred or upscaled faces)."""
    return float(cv2.Laplacian(crop, cv2.CV_64F).var())


def align(
    detections: Detections,
    image_bgr: np.ndarray,
    *,
    min_face_px: float = MIN_FACE_PX,
    min_sharpness: float = MIN_SHARPNESS,
    min_brightness: float = MIN_BRIGHTNESS,
) -> Detections:
    """Detections with ``crops`` (equalised, FER-framed) and ``low_resolution`` (box side under
    :data:`LOW_RESOLUTION_PX`); faces failing a quality check move to ``rejected`` with reason
    ``too_small``, ``too_dark`` or ``too_blurred`` (checked in that order; low-resolution faces are
    not checked for sharpness)."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    crops = np.zeros((len(detections), CROP_SIZE, CROP_SIZE), dtype=np.uint8)
    keep = np.ones(len(detections), dtype=bool)
    small = np.minimum(detections.boxes[:, 2], detections.boxes[:, 3]) < LOW_RESOLUTION_PX
    rejected = list(detections.rejected)
    for i, (box, keypoints) in enumerate(zip(detections.boxes, detections.keypoints, strict=True)):
        reason = None
        if min(box[2], box[3]) < min_face_px:
            reason = "too_small"
        else:
            raw = crop_face(gray, box, keypoints)
            crops[i] = cv2.equalizeHist(raw)
            if raw.mean() < min_brightness:
                reason = "too_dark"
            elif not small[i] and sharpness(crops[i]) < min_sharpness:
                reason = "too_blurred"
        if reason:
            keep[i] = False
            rejected.append(
                Rejection(box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])), reason=reason, tile=detections.tile[i])
            )
    return detections.replace(crops=crops, low_resolution=small, rejected=rejected).filter(keep)
