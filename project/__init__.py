"""The Django project and its process tooling: settings, URLs, ASGI, the Celery app, the worker warm-up, and the
one-machine stack (``manage.py runstack``) with its supervisor and demo media. It wires the packages below it
together; the domain (``classroom``) never imports it (tests/classroom/test_layering.py)."""

from project.celery import app as celery_app

__all__ = ["celery_app"]
