"""Head yaw and pitch from the detector's six keypoints: an approximation, not a head-pose model.

Model: after levelling the eye line, the head is a rigid body turning about the axis through the
two ear tragions (half-span ``r``), with the nose tip ``k·r`` in front of that axis and, in a
frontal view, ``FRONTAL_NOSE_DROP·r`` below it. Yaw moves the nose sideways by ``k·r·sin(yaw)``
while the ear span shrinks by ``cos(yaw)``; pitch moves it vertically by ``k·r·sin(pitch)``.

``k`` = :data:`NOSE_DEPTH_RATIO` comes from anthropometry (nose tip about 10 cm in front of the
tragions, bitragion breadth about 14.5 cm); ``FRONTAL_NOSE_DROP`` was measured on the five shared
talking-head clips (median 0.17–0.32 per clip). Expect errors of 5–10° near frontal, growing past
about 45° of yaw where one ear is hidden and its keypoint is guessed. Signs: yaw > 0 when the face
turns towards the image's right, pitch > 0 when it tilts up.
"""

from __future__ import annotations

import math

import numpy as np

from ingest.vision.align import eye_angle
from ingest.vision.detections import Detections

NOSE_DEPTH_RATIO = 1.4
FRONTAL_NOSE_DROP = 0.2


def head_pose(keypoints: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from one face's (6, 2) keypoints; NaN when keypoints are missing."""
    if not np.isfinite(keypoints).all():
        return math.nan, math.nan
    roll = math.radians(eye_angle(keypoints))
    cos_r, sin_r = math.cos(-roll), math.sin(-roll)
    points = (keypoints - keypoints[:2].mean(axis=0)) @ np.array([[cos_r, -sin_r], [sin_r, cos_r]]).T
    nose, right_ear, left_ear = points[2], points[4], points[5]
    ear_mid = (right_ear + left_ear) / 2
    eye_span = float(np.linalg.norm(points[1] - points[0]))
    # Past ~80° the ears overlap on the image; a floor keeps the ratio finite (yaw tends to ±90°).
    half_span = max(float(left_ear[0] - right_ear[0]) / 2, 0.05 * eye_span, 1e-6)
    yaw = math.atan2(float(nose[0] - ear_mid[0]) / half_span, NOSE_DEPTH_RATIO)
    radius = half_span / max(math.cos(yaw), 0.05)
    drop = float(nose[1] - ear_mid[1]) / radius
    # Solve drop = A·cos(p) − B·sin(p) for the root nearest 0 (B shrinks as the face turns away).
    a, b = FRONTAL_NOSE_DROP, NOSE_DEPTH_RATIO * math.cos(yaw)
    alpha = math.atan2(b, a)
    turn = math.acos(max(-1.0, min(1.0, drop / math.hypot(a, b))))
    pitch = min(turn - alpha, -turn - alpha, key=abs)
    return math.degrees(yaw), math.degrees(pitch)


def estimate_pose(detections: Detections) -> Detections:
    """Detections with ``yaw`` and ``pitch`` (degrees) filled in."""
    poses = np.array([head_pose(points) for points in detections.keypoints], dtype=np.float32).reshape(len(detections), 2)
    return detections.replace(yaw=poses[:, 0], pitch=poses[:, 1])
