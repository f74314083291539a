"""The Celery app: queue ``ingest`` (detection) and queue ``inference`` (the CNN).

Its name stays ``classroom`` (task routes and names are unchanged); tasks are found in each installed app's
``tasks`` module, the domain's housekeeping in ``classroom.tasks``.
"""

import os

from celery import Celery

from project import warmup  # noqa: F401  (connects the worker warm-up to worker_process_init)
from project.worker_db import worker_connections_persist

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("classroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
worker_connections_persist(app)
app.autodiscover_tasks()
