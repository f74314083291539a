"""The face handed from ingest to inference: one validated type across the queue, with exact refusals."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from classroom.faces import CROP_SIDE, FaceToRead

CROP = bytes(range(256)) * (CROP_SIDE * CROP_SIDE // 256)


def test_a_face_crosses_the_queue_unchanged() -> None:
    face = FaceToRead(participant=7, box=(10.04, 20.0, 40.0, 41.0), yaw=-3.5, pitch=2.0, low_resolution=True, crop=CROP)
    payload = json.loads(json.dumps(face.to_payload()))  # what Celery's JSON carries
    assert FaceToRead.from_payload(payload) == FaceToRead(
        participant=7, box=(10.0, 20.0, 40.0, 41.0), yaw=-3.5, pitch=2.0, low_resolution=True, crop=CROP
    )
    without = FaceToRead(participant=7, box=(1.0, 2.0, 3.0, 4.0), yaw=0.0, pitch=0.0)  # attention policy: no crop
    assert FaceToRead.from_payload(without.to_payload()) == without


GOOD: dict[str, Any] = {"participant": 7, "box": [1, 2, 3, 4], "yaw": 0.0, "pitch": 0.0, "low_resolution": False, "crop": None}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "a face lacks participant, box, yaw, pitch"),
        ([], "a face must be an object, got list"),
        ({**GOOD, "participant": 0}, "participant must be a positive id, got 0"),
        ({**GOOD, "participant": True}, "participant must be a positive id, got True"),
        ({**GOOD, "box": [1, 2, 3]}, "box must be four numbers, got [1, 2, 3]"),
        ({**GOOD, "box": [1, 2, 0, 4]}, "box must be four finite numbers with a positive size, got (1.0, 2.0, 0.0, 4.0)"),
        ({**GOOD, "box": [1, 2, float("nan"), 4]}, "box must be four finite numbers with a positive size, got (1.0, 2.0, nan, 4.0)"),
        ({**GOOD, "crop": "not base64!"}, "crop is not base64"),
        ({**GOOD, "crop": base64.b64encode(b"short").decode()}, f"crop must be {CROP_SIDE}×{CROP_SIDE} bytes, got 5"),
    ],
    ids=["empty", "not an object", "zero id", "bool id", "three numbers", "empty box", "nan", "bad crop", "short crop"],
)
def test_a_malformed_face_is_refused_with_a_precise_message(payload: Any, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        FaceToRead.from_payload(payload)
    assert str(refused.value) == message
