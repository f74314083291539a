"""docker-compose.yml runs what ``manage.py runstack`` runs: the same parts, commands and worker settings."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from project.stack import QUEUES, beat_command, web_command, worker_command, worker_environment

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def _command(service: dict[str, Any]) -> list[str]:
    words = shlex.split(service["command"]) if isinstance(service["command"], str) else list(service["command"])
    return words[2:] if words[:2] == ["python", "-m"] else words


def test_every_part_of_the_stack_is_a_service_and_nothing_else(services: dict[str, Any]) -> None:
    assert set(services) == {"migrate", "web", "beat", "redis", "postgres", *(f"{queue}-worker" for queue in QUEUES)}


def test_web_serves_the_same_application(services: dict[str, Any]) -> None:
    assert _command(services["web"]) == web_command(host="0.0.0.0", port=8000)


@pytest.mark.parametrize("queue", QUEUES)
def test_each_worker_has_runstacks_command_and_environment(services: dict[str, Any], queue: str) -> None:
    service = services[f"{queue}-worker"]
    assert _command(service) == worker_command(queue=queue, concurrency=settings.WORKER_CONCURRENCY[queue], node=f"{queue}@%h")
    environment = service["environment"]
    assert {key: environment[key] for key in worker_environment(queue=queue)} == worker_environment(queue=queue)


def test_beat_runs_the_same_schedule(services: dict[str, Any]) -> None:
    assert _command(services["beat"]) == beat_command(schedule="/tmp/celerybeat-schedule")


def test_redis_is_bounded_as_runstack_bounds_it(services: dict[str, Any]) -> None:
    words = shlex.split(services["redis"]["command"])
    assert words[words.index("--maxmemory") + 1] == settings.REDIS_MAXMEMORY
    assert words[words.index("--maxmemory-policy") + 1] == "volatile-ttl"


def test_every_app_service_shares_one_environment(services: dict[str, Any]) -> None:
    """One Redis and one database for all: the settings runstack's parts read from the same environment."""
    shared = services["web"]["environment"]
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"} <= set(shared)
    for name in ("migrate", "beat", *(f"{queue}-worker" for queue in QUEUES)):
        environment = services[name]["environment"]
        assert {key: environment[key] for key in shared} == shared, name


@pytest.fixture(scope="module")
def worker_machine() -> dict[str, Any]:
    return dict(yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.workers.yml").read_text())["services"])


def test_a_worker_machine_runs_only_workers(worker_machine: dict[str, Any]) -> None:
    assert set(worker_machine) == {f"{queue}-worker" for queue in QUEUES}


@pytest.mark.parametrize("queue", QUEUES)
def test_a_worker_machines_workers_are_the_main_machines(services: dict[str, Any], worker_machine: dict[str, Any], queue: str) -> None:
    """The same command and settings as the main machine's worker, but Redis and PostgreSQL are the main machine's."""
    here, there = services[f"{queue}-worker"], worker_machine[f"{queue}-worker"]
    assert there["command"] == here["command"] and there["image"] == here["image"]
    urls = {"DATABASE_URL", "REDIS_URL"}
    assert {k: v for k, v in there["environment"].items() if k not in urls} == {
        k: v for k, v in here["environment"].items() if k not in urls
    }
    assert all("${MAIN_HOST:?set MAIN_HOST}" in there["environment"][name] for name in urls)
