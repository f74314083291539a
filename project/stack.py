"""Run the whole one-machine stack as child processes: Redis, daphne, the two Celery workers, beat.

Used by ``manage.py runstack`` (the README's main command), the integration tests and the
benchmarks, so all three exercise the same real processes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests
from django.conf import settings

from project.supervisor import STALL_SECONDS, Part, Supervisor
from project.warmup import WARM_MARKER

READY_TIMEOUT_SECONDS = 120.0
QUEUES = ("ingest", "inference")


def web_command(*, host: str, port: int) -> list[str]:
    """The web part: daphne serving HTTP and WebSockets (also docker-compose.yml's ``web``)."""
    return ["daphne", "-b", host, "-p", str(port), "project.asgi:application"]


def worker_command(*, queue: str, concurrency: int, node: str) -> list[str]:
    """A Celery worker of one queue with ``concurrency`` processes (also docker-compose.yml's ``<queue>-worker``)."""
    prefetch = str(settings.WORKER_PREFETCH[queue])
    return ["celery", "-A", "project", "worker", "-Q", queue, "-c", str(concurrency), "--prefetch-multiplier", prefetch, "-n", node]


# glibc gives each thread that meets a busy heap its own 64 MB arena; a worker's detector and model threads
# then hold several, and the peak grows with contention. Two arenas keep a worker's memory what its work needs.
WORKER_MALLOC_ARENAS = "2"


def worker_environment(*, queue: str) -> dict[str, str]:
    """What a worker of ``queue`` adds to the shared environment: it loads and runs its model once before taking
    work, its heap is held to :data:`WORKER_MALLOC_ARENAS` arenas, and its CNN runs on one thread (the stack runs
    more worker processes than cores: a second thread only contends with them)."""
    return {"WORKER_WARMUP": queue, "MALLOC_ARENA_MAX": WORKER_MALLOC_ARENAS, "FER_THREADS": "1"}


def beat_command(*, schedule: str) -> list[str]:
    """Celery beat: the retention purge and closing frames no worker will process (also compose's ``beat``)."""
    return ["celery", "-A", "project", "beat", "-s", schedule]


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """For a PostgreSQL ``url``: a fresh database beside the one it names, dropped afterwards (tests and benchmarks
    start each stack on an empty one, as SQLite does in a fresh ``DATA_DIR``); any other ``url`` as it is."""
    if not url.startswith("postgres"):
        yield url
        return
    import psycopg

    name = f"engagement_{uuid.uuid4().hex[:8]}"
    admin_url = re.sub(r"/[^/]*$", "/postgres", url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class StackError(RuntimeError):
    """A part of the stack failed to start; the message names it and where its log is."""


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    """Child processes of one stack; a context manager that stops them all on exit."""

    host: str = "127.0.0.1"
    port: int = 8000
    redis_port: int | None = None  # None: use REDIS_URL as configured; a number: run our own Redis there
    concurrency: dict[str, int] = field(default_factory=lambda: dict(settings.WORKER_CONCURRENCY))  # processes per worker, by queue
    replicas: int = 1  # worker instances per queue, as more machines (or compose --scale) would run
    log_dir: Path = field(default_factory=lambda: Path(settings.DATA_DIR) / "logs")
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = field(default_factory=dict)
    supervised: bool = True  # restart parts that die or stall (see project.supervisor)
    stall_seconds: float = STALL_SECONDS
    supervisor: Supervisor | None = None
    held: set[str] = field(default_factory=set)  # parts killed on purpose (kill()), not to be revived until restart()
    # Parts the service does not need (the demo's replay client): one that ends is done, one that keeps failing
    # is left down, and neither ever stops the stack.
    optional: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def redis_url(self) -> str:
        """The Redis every part uses."""
        return self.environment()["REDIS_URL"] if self.redis_port is not None else settings.REDIS_URL

    def environment(self) -> dict[str, str]:
        """The environment every part runs with (ours, the stack's overrides, its Redis)."""
        # The parts share this process's key, so a stack in a fresh DATA_DIR (tests, benchmarks) starts too.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "DJANGO_SECRET_KEY": settings.SECRET_KEY, **self.env}
        if self.redis_port is not None:
            env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
            env.pop("CELERY_BROKER_URL", None)
        return env

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None, *, optional: bool = False) -> None:
        """Start one part (a new one, or again) with its output appended to ``<log_dir>/<name>.log``;
        ``optional`` marks a part whose end or failure never stops the stack."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.lock, (self.log_dir / f"{name}.log").open("ab") as log:
            self.commands[name] = (args, env)
            if optional:
                self.optional.add(name)
            # A new process group, so stopping the stack also stops each part's own children.
            self.processes[name] = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.environment(), **(env or {})},
                cwd=settings.BASE_DIR,
                start_new_session=True,
            )

    def note(self, message: str) -> None:
        """Record what the supervisor did, in ``<log_dir>/supervisor.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / "supervisor.log").open("a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    @contextmanager
    def watched(self) -> Iterator[list[Part]]:
        """The parts a supervisor checks: every part started, but those killed on purpose (:meth:`kill`) and
        optional parts that finished. Nothing kills, restarts or starts a part until the block ends."""
        with self.lock:
            yield [self._part(name) for name in list(self.commands) if name not in self.held and not self.finished(name)]

    def _part(self, name: str) -> Part:
        process = self.processes.get(name)
        log = self.log_dir / f"{name}.log"
        return Part(
            name=name,
            exit_code=process.returncode if process is not None and process.poll() is not None else None,
            queue=self.queue_of(name),
            log_size=log.stat().st_size if log.exists() else 0,
        )

    def revive(self, name: str) -> None:
        """Kill a part if it still runs (SIGKILL: a stalled worker would not finish a warm shutdown) and start it
        again with the arguments it first had; unlike :meth:`restart`, does not wait until it answers."""
        with self.lock:
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            self.spawn(name, *self.commands[name])

    def _wait(self, name: str, ready: object, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}")
            if callable(ready) and ready():
                return
            time.sleep(0.25)
        raise StackError(f"{name} was not ready after {timeout:.0f}s; see {self.log_dir / (name + '.log')}")

    def start(self) -> Stack:
        """Start every part and wait until each one answers."""
        python = sys.executable
        if self.redis_port is not None:
            self.redis_start()
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        subprocess.run([python, manage, "migrate", "--noinput", "-v", "0"], check=True, env=self.environment(), cwd=settings.BASE_DIR)
        self.spawn("daphne", [python, "-m", *web_command(host=self.host, port=self.port)])
        for name, queue, replica in self.workers():
            worker = worker_command(queue=queue, concurrency=self.concurrency[queue], node=f"{queue}{replica}-{self.port}@%h")
            self.spawn(name, [python, "-m", *worker, "-l", "INFO"], env=worker_environment(queue=queue))
        self.spawn("beat", [python, "-m", *beat_command(schedule=str(self.log_dir / "celerybeat-schedule")), "-l", "INFO"])
        self._wait_ready("daphne")
        for name, _, _ in self.workers():
            self._wait_ready(name)
        if self.supervised:
            self.supervisor = Supervisor(self, stall_seconds=self.stall_seconds).start()
        return self

    def workers(self) -> list[tuple[str, str, int]]:
        """(part name, queue, replica number) of each worker: ``worker-ingest``, then ``worker-ingest-2``... per queue."""
        return [
            (f"worker-{queue}" + (f"-{replica}" if replica > 1 else ""), queue, replica)
            for queue in QUEUES
            for replica in range(1, self.replicas + 1)
        ]

    def queue_of(self, name: str) -> str | None:
        """The queue a worker part consumes; None for the other parts."""
        return next((queue for worker, queue, _ in self.workers() if worker == name), None)

    def _wait_ready(self, name: str, log_from: int = 0) -> None:
        if name == "redis":
            self._wait(name, lambda: port_open("127.0.0.1", self.redis_port or 0), 20)
        elif name == "daphne":
            self._wait(name, self._healthy)
        elif name.startswith("worker-"):
            # Ready means consuming and warm: the detector or the CNN is loaded and has run once.
            queue = self.queue_of(name)
            markers = (b" ready.", f"{WARM_MARKER} {queue}".encode())
            self._wait(name, lambda: self._log_says(name, *markers, log_from=log_from))

    def kill(self, name: str) -> None:
        """``kill -9`` one part (and its children), as a crash would; it stays down until :meth:`restart`."""
        with self.lock:
            self.held.add(name)
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, name: str) -> None:
        """Start a part again with the arguments it first had, and wait until it answers."""
        args, env = self.commands[name]
        log = self.log_dir / f"{name}.log"
        log_from = log.stat().st_size if log.exists() else 0
        with self.lock:
            self.spawn(name, args, env)
            self.held.discard(name)
        self._wait_ready(name, log_from)

    def redis_start(self) -> None:
        """Start (or restart) the stack's own Redis: bounded, evicting keys that expire soonest (frame bytes) first."""
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise StackError("redis-server is not installed; run scripts/setup.sh")
        if self.redis_port is None:
            raise StackError("this stack uses an outside Redis (REDIS_URL); it does not run one")
        bounds = ["--maxmemory", settings.REDIS_MAXMEMORY, "--maxmemory-policy", "volatile-ttl"]
        args = [redis_server, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *bounds]
        self.spawn("redis", args)
        self._wait_ready("redis")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _log_says(self, name: str, *markers: bytes, log_from: int = 0) -> bool:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return False
        text = path.read_bytes()[log_from:]
        return all(marker in text for marker in markers)

    def stop(self) -> None:
        """Stop every part (SIGTERM, then SIGKILL after a grace period)."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def manage(self, *args: str) -> str:
        """Run a management command against this stack's database and Redis; its stdout."""
        result = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
            env=self.environment(),
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def login(self, username: str, password: str) -> requests.Session:
        """An HTTP session logged in through the real login form (CSRF included)."""
        http = requests.Session()
        http.get(f"{self.base_url}/accounts/login/", timeout=10).raise_for_status()
        response = http.post(
            f"{self.base_url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
            headers={"Referer": f"{self.base_url}/accounts/login/"},
            timeout=10,
        )
        response.raise_for_status()
        if "sessionid" not in http.cookies:
            raise StackError(f"login as {username} failed")
        return http

    def failed(self) -> str | None:
        """The name of a needed part that is down for good: given up by the supervisor, or dead in an unsupervised
        stack. Optional parts never count."""
        if self.supervisor is not None:
            return next(iter(sorted(self.supervisor.given_up - self.optional)), None)
        down = (name for name, process in self.processes.items() if process.poll() is not None and name not in self.held)
        return next((name for name in down if name not in self.optional), None)

    def finished(self, name: str) -> bool:
        """Whether an optional part ended of its own accord (exit status 0): its work is done."""
        process = self.processes.get(name)
        return name in self.optional and process is not None and process.poll() == 0

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()
