"""The Django project and the classroom domain."""

from classroom.celery import app as celery_app

__all__ = ["celery_app"]
