"""Small builders for test data (real objects through the real services)."""

from __future__ import annotations

import cv2
import numpy as np
from django.contrib.auth.models import User

from classroom.models import ClassSession, Course
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
