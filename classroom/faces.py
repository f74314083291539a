"""A face handed from the ingest stage to the inference stage: one validated type across the queue.

Celery carries JSON, so :meth:`FaceToRead.to_payload` writes a plain dict and :meth:`FaceToRead.from_payload` reads
one back, refusing a malformed one with a precise :class:`ValueError`. The crop (48×48 gray, for expression
inference) travels base64-encoded; it is absent under a policy that infers no expressions. The crop lives only in
the task message and the worker's memory: it is never stored. The face's ``signature`` (16 numbers derived from the
picture of its tile, :func:`classroom.stillness.face_signature`) travels under every policy: it tells a still picture
from a face.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

from classroom.stillness import signature_check

CROP_SIDE = 48


@dataclass(frozen=True)
class FaceToRead:
    """One face of a frame: its participant, box (x, y, w, h in frame pixels), head pose (degrees), whether it was
    read from an enlarged small crop, the aligned crop's bytes (``None`` without expression inference) and its
    stillness signature (``None`` from a worker that computes none: then it is never taken for a still picture)."""

    participant: int
    box: tuple[float, float, float, float]
    yaw: float
    pitch: float
    low_resolution: bool = False
    crop: bytes | None = None
    signature: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.participant, int) or isinstance(self.participant, bool) or self.participant <= 0:
            raise ValueError(f"participant must be a positive id, got {self.participant!r}")
        if len(self.box) != 4 or not all(math.isfinite(v) for v in self.box) or self.box[2] <= 0 or self.box[3] <= 0:
            raise ValueError(f"box must be four finite numbers with a positive size, got {self.box!r}")
        if self.crop is not None and len(self.crop) != CROP_SIDE * CROP_SIDE:
            raise ValueError(f"crop must be {CROP_SIDE}×{CROP_SIDE} bytes, got {len(self.crop)}")
        if self.signature is not None:
            signature_check(self.signature)

    def to_payload(self) -> dict[str, Any]:
        """The JSON-able dict a Celery task carries."""
        return {
            "participant": self.participant,
            "box": [round(float(v), 1) for v in self.box],
            "yaw": float(self.yaw),
            "pitch": float(self.pitch),
            "low_resolution": self.low_resolution,
            "crop": base64.b64encode(self.crop).decode() if self.crop is not None else None,
            "signature": list(self.signature) if self.signature is not None else None,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> FaceToRead:
        """The face a task carried, validated; :class:`ValueError` says what is wrong."""
        if not isinstance(payload, dict):
            raise ValueError(f"a face must be an object, got {type(payload).__name__}")
        missing = [name for name in ("participant", "box", "yaw", "pitch") if name not in payload]
        if missing:
            raise ValueError(f"a face lacks {', '.join(missing)}")
        crop = payload.get("crop")
        try:
            raw = base64.b64decode(crop, validate=True) if crop is not None else None
        except (binascii.Error, TypeError):
            raise ValueError("crop is not base64") from None
        box = payload["box"]
        if not isinstance(box, list | tuple) or len(box) != 4:
            raise ValueError(f"box must be four numbers, got {box!r}")
        return cls(
            participant=payload["participant"],
            box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            yaw=float(payload["yaw"]),
            pitch=float(payload["pitch"]),
            low_resolution=bool(payload.get("low_resolution", False)),
            crop=raw,
            signature=signature_check(payload["signature"]) if payload.get("signature") is not None else None,
        )
