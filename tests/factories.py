"""Small builders for test data (real objects through the real services)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from classroom.models import ClassSession, Course, FrameLog, Observation, Participant
from classroom.samples import frame_results_store
from classroom.services import course_create, session_start


def teacher(username: str = "teacher", *, staff: bool = False) -> User:
    """A user with a usable password ``pw-<username>-123``."""
    return User.objects.create_user(username=username, password=f"pw-{username}-123", is_staff=staff)


def live_session(*, owner: User | None = None, course_name: str = "Physics") -> tuple[ClassSession, str]:
    """A course of ``owner`` with a live session; returns the session and its ingest token."""
    course: Course = course_create(name=course_name, teacher=owner or teacher())
    return session_start(course=course, title="Lecture 1")


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut (one real face), BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    """Image bytes in the format of ``ext``."""
    ok, buffer = cv2.imencode(ext, image)
    assert ok
    return buffer.tobytes()


def scored_frame(session: ClassSession, at: datetime, seen: Mapping[Participant, Mapping[str, Any]], *, log: bool = True) -> None:
    """A processed frame at ``at``: one observation per participant (fields as given), stored as inference stores it."""
    if log:
        FrameLog.objects.create(session=session, frame_id=at.isoformat(), captured_at=at, received_at=at, status=FrameLog.Status.PROCESSED)
    observations = [
        Observation(
            session=session, participant=participant, captured_at=at, **{"engagement_band": "engaged", "box": [0, 0, 1, 1], **fields}
        )
        for participant, fields in seen.items()
    ]
    frame_results_store(session=session, captured_at=at, observations=observations)
    Participant.objects.filter(Q(last_seen_at__lt=at) | Q(last_seen_at=None), pk__in=[p.pk for p in seen]).update(last_seen_at=at)


def uploaded(data: bytes, name: str = "frame.jpg") -> SimpleUploadedFile:
    """Image bytes as a multipart file field."""
    return SimpleUploadedFile(name, data, content_type="image/jpeg")
