"""The Detections record: validation, conversion from MediaPipe, filtering, concatenation, merging."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ingest.vision.detections import Detections, Rejection
from ingest.vision.tiles import Tile


def faces(*boxes: tuple[float, float, float, float], scores: tuple[float, ...] | None = None, tile: Tile | None = None) -> Detections:
    keypoints = np.array([[[x + w * fx, y + h * fy] for fx, fy in [(0.3, 0.4)] * 6] for x, y, w, h in boxes]).reshape(len(boxes), 6, 2)
    return Detections.build(boxes=np.array(boxes), scores=np.array(scores or [0.9] * len(boxes)), keypoints=keypoints, tile=tile)


def test_empty_has_every_column_with_zero_rows() -> None:
    empty = Detections.empty()
    assert len(empty) == 0
    assert empty.boxes.shape == (0, 4) and empty.keypoints.shape == (0, 6, 2) and empty.tile == [] and empty.participant == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scores": np.zeros(3)}, "scores must have shape"),
        ({"keypoints": np.zeros((2, 5, 2))}, "keypoints must have shape"),
        ({"tile": [None]}, "tile and participant must have 2 entries"),
        ({"crops": np.zeros((2, 48, 48), dtype=np.float32)}, "crops must be uint8"),
        ({"crops": np.zeros((2, 32, 32), dtype=np.uint8)}, "crops must have shape"),
        ({"yaw": np.zeros(1)}, "yaw must have shape"),
    ],
)
def test_columns_must_agree(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        faces((0, 0, 10, 10), (20, 20, 10, 10)).replace(**changes)


def test_from_mediapipe_maps_a_scaled_crop_back_to_frame_pixels() -> None:
    keypoints = [SimpleNamespace(x=0.5, y=0.25)] * 6
    result = SimpleNamespace(
        detections=[
            SimpleNamespace(
                bounding_box=SimpleNamespace(origin_x=40, origin_y=20, width=60, height=60),
                categories=[SimpleNamespace(score=0.8)],
                keypoints=keypoints,
            )
        ]
    )
    found = Detections.from_mediapipe(result, image_size=(200, 100), offset_xy=(300, 400), scale=2.0)
    assert found.boxes.tolist() == [[320, 410, 30, 30]]
    assert found.keypoints[0, 0].tolist() == [350, 412.5]
    assert found.scores.tolist() == pytest.approx([0.8])
    assert found.tile == [None]


def test_filter_concatenate_and_rejections_travel_together() -> None:
    tile = Tile("Ana", 0, 0, 100, 100)
    first = faces((0, 0, 10, 10), (50, 50, 10, 10), tile=tile).replace(rejected=[Rejection(box=(1, 2, 3, 4), reason="too_small")])
    second = faces((200, 0, 10, 10), scores=(0.5,))
    both = Detections.concatenate([first, second])
    assert len(both) == 3 and both.tile == ["Ana", "Ana", None] and len(both.rejected) == 1
    picked = both.filter(np.array([False, True, True]))
    assert picked.boxes[:, 0].tolist() == [50, 200] and picked.tile == ["Ana", None] and picked.rejected == both.rejected
    assert both.filter([2]).scores.tolist() == [0.5]


def test_concatenate_refuses_mixed_optional_columns() -> None:
    with_crops = faces((0, 0, 10, 10)).replace(crops=np.zeros((1, 48, 48), dtype=np.uint8))
    with pytest.raises(ValueError, match="only some have crops"):
        Detections.concatenate([with_crops, faces((5, 5, 10, 10))])


def test_nms_then_tiles_by_box_centre() -> None:
    merged = faces((100, 100, 50, 50), (102, 101, 50, 50), (400, 10, 40, 40), scores=(0.7, 0.9, 0.8)).nms()
    assert merged.boxes[:, 0].tolist() == [102, 400]
    named = merged.assign_tiles([Tile("left", 0, 0, 300, 300), Tile("right", 300, 0, 300, 300)])
    assert named.tile == ["left", "right"] and named.tile_boxes[1].tolist() == [300, 0, 300, 300]
    assert named.without_tiles().tile == [None, None]
