"""Still pictures: a face whose picture does not change from frame to frame is a photo, a paused camera or a stuck
video, not a student watching the class.

A real face always changes a little between two frames a second apart (blinks, small head movements, the camera's
noise, the meeting app's compression); a still picture comes through bit-identical or nearly so. The ingest stage
samples each face's tile on a fixed 48×48 grid (:mod:`ingest.vision.still`) and reduces the sample to a
**signature** (:func:`face_signature`): :data:`SIGNATURE_SIZE` numbers, each its correlation with a fixed random ±1
pattern. They cannot be turned back into a picture (16 numbers for 2,304 pixels), yet the root mean square of the
difference of two signatures estimates that of the two samples, in gray levels (random projections keep distances).
Only the signature crosses the queue, and only the last one per participant is kept, in Redis, with a TTL; no
picture is stored.

A face is **still** once its signature has changed by at most :data:`STILL_MAX_CHANGE` in each of its last
:data:`STILL_MIN_UNCHANGED` frames, over at least :data:`STILL_MIN_SECONDS`; the first frame that changes ends it.
A still face is shown as *still picture*: not engaged, and left out of the class's present count, engagement
mean and expression mix (:mod:`classroom.samples`, :mod:`classroom.rollups`).

Measured through the ingest pipeline on galleries of 3, 10 and 25 tiles (320×180, JPEG quality 85) of the shared
talking heads, the registry clips and the astronaut photo, and on each clip alone: the photo changed by exactly 0
from frame to frame wherever its tile lay; the real faces, posted at 1 frame/s, changed by 5.6 or more, and even one
video frame (40 ms) apart per post, as the replay client's ``LiveFeed`` plays them, never by 0.5 or less in two
frames in a row (the smallest single change: 0.10).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classroom import live_state

STILL = "still"  # the band of a still picture
SIGNATURE_SIZE = 16
PATCH_SIDE = 48  # the sample of a face's tile the signature is taken of: PATCH_SIDE × PATCH_SIDE gray levels
PATCH_PIXELS = PATCH_SIDE * PATCH_SIDE
STILL_MAX_CHANGE = 0.5  # gray levels, root mean square over the crop: below any two real frames in a row measured
STILL_MIN_UNCHANGED = 3  # frames in a row that did not change: at 1 frame/s a still picture shows on its 4th frame
STILL_MIN_SECONDS = 3.0  # and over at least this long, so a fast uploader does not decide on a blink's worth of frames
STATE_TTL_SECONDS = 3600
_SEED = 20_240_601

# Fixed for every process and every version that keeps this seed: signatures of two workers compare.
_PATTERNS = (np.random.default_rng(_SEED).integers(0, 2, size=(SIGNATURE_SIZE, PATCH_PIXELS)) * 2 - 1).astype(np.float32) / math.sqrt(
    PATCH_PIXELS
)


def face_signature(patch: np.ndarray) -> tuple[float, ...]:
    """The signature of one 48×48 gray sample (see the module docstring), rounded to hundredths of a gray level."""
    pixels = np.asarray(patch, dtype=np.float32).reshape(-1)
    if pixels.size != PATCH_PIXELS:
        raise ValueError(f"a face's sample has {PATCH_PIXELS} pixels, got {pixels.size}")
    return tuple(round(float(v), 2) for v in _PATTERNS @ pixels)


def signature_check(signature: object) -> tuple[float, ...]:
    """``signature`` as a tuple of :data:`SIGNATURE_SIZE` finite numbers; :class:`ValueError` says what is wrong."""
    if not isinstance(signature, list | tuple):
        raise ValueError(f"signature must be a list of {SIGNATURE_SIZE} numbers, got {type(signature).__name__}")
    if len(signature) != SIGNATURE_SIZE:
        raise ValueError(f"signature must have {SIGNATURE_SIZE} numbers, got {len(signature)}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in signature):
        raise ValueError("signature must hold finite numbers only")
    return tuple(float(v) for v in signature)


def signature_change(a: Sequence[float], b: Sequence[float]) -> float:
    """How much a face changed between two signatures: the root mean square difference, in gray levels."""
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / SIGNATURE_SIZE)


@dataclass(frozen=True)
class Stillness:
    """One participant's picture over time: the last signature and its frame's time ``at`` (epoch s), and since when
    (``since``) and over how many frames in a row (``unchanged``) it has not changed."""

    at: float
    signature: tuple[float, ...]
    since: float
    unchanged: int = 0

    @property
    def still(self) -> bool:
        """Unchanged long enough to be a still picture."""
        return self.unchanged >= STILL_MIN_UNCHANGED and self.at - self.since >= STILL_MIN_SECONDS


def stillness_add(previous: Stillness | None, *, signature: Sequence[float], at: float) -> Stillness:
    """``previous`` with the frame captured ``at`` folded in. A frame already folded in (a retried task) or older than
    the last one changes nothing; a previous signature of another size (an older version's) starts over."""
    current = tuple(signature)
    if previous is None or len(previous.signature) != len(current):
        return Stillness(at=at, signature=current, since=at)
    if at <= previous.at:
        return previous
    if signature_change(current, previous.signature) <= STILL_MAX_CHANGE:
        return Stillness(at=at, signature=current, since=previous.since, unchanged=previous.unchanged + 1)
    return Stillness(at=at, signature=current, since=at)


def _decode(raw: str | None) -> Stillness | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Stillness(
            at=float(data["at"]), signature=signature_check(data["signature"]), since=float(data["since"]), unchanged=int(data["unchanged"])
        )
    except (ValueError, KeyError, TypeError):
        return None  # a state this version cannot read starts over rather than failing the frame


def stillness_for_frame(faces: Sequence[tuple[int, Sequence[float] | None]], *, at: float) -> dict[int, bool]:
    """Fold one frame's ``(participant, signature)`` into each participant's state in Redis; return who is still.

    A face without a signature (a worker of an older version) is never still and leaves its state alone. Idempotent:
    a retried frame is not folded in twice, and gets the same answer.
    """
    with_signature = [(pid, signature_check(signature)) for pid, signature in faces if signature is not None]
    stored = live_state.states_load(kind=STILL, ids=[pid for pid, _ in with_signature])
    result = {pid: False for pid, _ in faces}
    changed: dict[int, str] = {}
    for (pid, signature), raw in zip(with_signature, stored, strict=True):
        previous = _decode(raw)
        state = stillness_add(previous, signature=signature, at=at)
        result[pid] = state.still
        if state != previous:
            changed[pid] = live_state.state_json(state)
    live_state.states_save(kind=STILL, states=changed, ttl_seconds=STATE_TTL_SECONDS)
    return result
