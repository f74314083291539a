"""How a Celery worker process holds its database connection: one, kept between tasks.

Celery's Django fix-up closes every connection before and after each task unless ``DB_REUSE_MAX`` is set, and under
prefork it closes a psycopg pool whole too: every task then paid for a new connection (on PostgreSQL a new server
process, about ten a second at 10 classes). A worker process runs one task at a time, so one persistent
connection is what it needs: no pool, ``DATABASE_WORKER_CONN_MAX_AGE`` seconds of reuse, and Django's own rules
(:func:`django.db.close_old_connections`, as around a web request) drop one that broke or grew too old. The web
process keeps its pool: persistent connections are no option under ASGI (Django's docs).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.conf import settings
from django.db import close_old_connections, connections

# Celery's fix-up force-closes every connection once per this many tasks (twice that many signals); a long-lived
# connection is renewed that often anyway.
REUSE_MAX_TASKS = 1000


def worker_connections_persist(app: Celery) -> None:
    """Let Django's rules, not Celery's fix-up, decide when a worker's connection closes (see the module's docstring)."""
    app.conf.CELERY_DB_REUSE_MAX = REUSE_MAX_TASKS


@worker_process_init.connect
def _one_connection_per_process(**_: Any) -> None:
    for alias in connections:
        database = connections.settings[alias]
        database.get("OPTIONS", {}).pop("pool", None)  # a pool per one-task-at-a-time process only adds threads
        database["CONN_MAX_AGE"] = settings.DATABASE_WORKER_CONN_MAX_AGE


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(*, task: Task, **_: Any) -> None:
    if not getattr(task.request, "is_eager", False):  # run in the caller's process, the connection is the caller's
        close_old_connections()
