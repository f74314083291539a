"""A Celery worker process keeps one database connection between tasks instead of a new one (or a new pool) per task."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.conf import settings
from django.db import connections

from project.celery import app
from project.worker_db import REUSE_MAX_TASKS


def _task(*, is_eager: bool = False) -> Any:
    return SimpleNamespace(request=SimpleNamespace(is_eager=is_eager))


@pytest.fixture
def worker_settings() -> Iterator[dict[str, Any]]:
    """The default database's settings as a worker process sees them after its start, restored afterwards."""
    saved = copy.deepcopy(connections.settings["default"])
    connections.settings["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 4}
    worker_process_init.send(sender=None)
    yield connections.settings["default"]
    connections.settings["default"].clear()
    connections.settings["default"].update(saved)


def test_celerys_fixup_leaves_connections_to_django() -> None:
    # Unset, the fix-up closes every connection before and after each task (and a prefork worker's whole pool).
    assert DjangoWorkerFixup(app).db_reuse_max == REUSE_MAX_TASKS


def test_a_worker_process_holds_one_persistent_connection_and_no_pool(worker_settings: dict[str, Any]) -> None:
    assert "pool" not in worker_settings["OPTIONS"]
    assert worker_settings["CONN_MAX_AGE"] == settings.DATABASE_WORKER_CONN_MAX_AGE > 0


@pytest.mark.django_db(transaction=True)
def test_the_connection_outlives_a_task(worker_settings: dict[str, Any]) -> None:
    database = connections["default"]
    database.connect()  # as a worker's first task does, after its start
    # The test database lives in memory and its close() keeps it; that close() is never called is what is checked.
    with mock.patch.object(database, "close") as close:
        task_prerun.send(sender=None, task=_task())
        database.ensure_connection()
        task_postrun.send(sender=None, task=_task())
    close.assert_not_called()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("is_eager", "closed"),
    [
        (False, True),  # a worker's task: a connection that failed is dropped after it
        (True, False),  # run eagerly in the caller's process: the connection is the caller's to keep
    ],
)
def test_a_connection_that_failed_is_dropped_after_a_workers_task(worker_settings: dict[str, Any], is_eager: bool, closed: bool) -> None:
    database = connections["default"]
    database.connect()
    database.errors_occurred = True
    # The test database lives in memory and its close() keeps it; whether close() is called is what is checked.
    with mock.patch.object(database, "is_usable", return_value=False), mock.patch.object(database, "close") as close:
        task_postrun.send(sender=None, task=_task(is_eager=is_eager))
    assert close.called is closed
