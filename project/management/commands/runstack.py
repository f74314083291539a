"""``manage.py runstack [--demo]``: the whole stack on this machine, optionally with a live demo class."""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from project.demo_media import demo_class
from project.stack import Stack, StackError, port_open

REPLAY = "replay"


def demo_banner(*, base_url: str, demo: dict[str, Any]) -> str:
    """What ``runstack --demo`` prints once the demo is up: where the teacher and the admin start, and how they sign in.

    ``demo`` is ``demo_setup``'s JSON line. The admin's link is the product's own admin page (all sessions), not
    Django's ``/admin/``, which stays reachable from the admin's menu.
    """
    return (
        f"\nLive demo class: {base_url}{demo['dashboard_url']}\n"
        f"  log in as {demo['teacher']} / {demo['password']}\n"
        f"  session {demo['session']} ingest token: {demo['token']}\n"
        f"Admin pages: {base_url}{reverse('admin-sessions')}\n"
        f"  log in as {demo['admin']} / {demo['admin_password']}\n"
    )


class Command(BaseCommand):
    help = "Run Redis (if none is reachable), daphne, both Celery workers and beat; with --demo, feed a live demo class."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="demo teacher, course and live session fed by the replay client")
        parser.add_argument("--fps", type=float, default=2.0, help="demo replay frames per second")
        parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")

    def handle(self, *args: Any, **options: Any) -> None:
        redis = urlparse(settings.REDIS_URL)
        redis_port = redis.port or 6379
        # An operator's Redis already answering is used as is; otherwise we run our own on that port.
        own_redis = None if port_open(redis.hostname or "127.0.0.1", redis_port) else redis_port
        stack = Stack(host=options["host"], port=options["port"], redis_port=own_redis)
        if port_open(options["host"], options["port"]):
            raise CommandError(f"port {options['port']} is already in use; pass --port")
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            self.stdout.write("starting Redis, daphne, ingest worker, inference worker, beat …")
            stack.start()
            if options["demo"]:
                self._demo(stack, options["fps"])
            self.stdout.write(self.style.SUCCESS(f"stack is up at {stack.base_url}  (logs: {stack.log_dir}); Ctrl-C stops it"))
            deadline = time.monotonic() + options["duration"] if options["duration"] else None
            demo_over = False
            while not stopping and (deadline is None or time.monotonic() < deadline):
                dead = stack.failed()  # the supervisor restarts a part that dies or stalls, and gives up after repeated failures
                if dead is not None:
                    raise CommandError(f"{dead} keeps failing; see {stack.log_dir / (dead + '.log')} and supervisor.log")
                if options["demo"] and not demo_over and stack.finished(REPLAY):
                    demo_over = True
                    self.stdout.write(
                        "the demo session was ended (or its token rotated): its replay client stopped, the server keeps running. "
                        "Start a new session on the course page and point a client at it (see the README).",
                    )
                time.sleep(1)
        except StackError as error:
            raise CommandError(str(error)) from error
        finally:
            stack.stop()
            self.stdout.write("stack stopped")

    def _demo(self, stack: Stack, fps: float) -> None:
        out = io.StringIO()
        call_command("demo_setup", stdout=out)
        demo = json.loads(out.getvalue().strip().splitlines()[-1])
        students = demo_class()
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        replay = [sys.executable, manage, "replay", *(str(path) for _, path in students), "--session", str(demo["session"])]
        names = ",".join(name for name, _ in students)
        replay += ["--token", demo["token"], "--url", stack.base_url, "--fps", str(fps), "--names", names, "--loop"]
        # The demo's own client: when the teacher ends the session it stops, and the stack stays up.
        stack.spawn(REPLAY, replay, optional=True)
        self.stdout.write(self.style.SUCCESS(demo_banner(base_url=stack.base_url, demo=demo)))
