"""The main job as a new user runs it: ``manage.py runstack --demo``, then End session in Chromium."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from playwright.sync_api import Dialog, sync_playwright

from project.stack import free_port
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, until, wait_live
from tests.integration.conftest import OUTPUT_DIR

pytestmark = [pytest.mark.integration, pytest.mark.browser]

START_TIMEOUT_S = 240.0
DEMO_LINE = re.compile(r"Live demo class: (?P<url>\S+)")
LOGIN_LINE = re.compile(r"log in as (?P<user>\S+) / (?P<password>\S+)")
ADMIN_LINE = re.compile(r"Admin pages: (?P<url>\S+)")


class Runstack:
    """``manage.py runstack --demo`` in its own process, its output read line by line on a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = data_dir / "logs"  # where the stack it runs writes each part's log
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # as scripts/setup.sh would have written one
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_BROKER_URL", None)
        env.pop("DATABASE_URL", None)  # its own SQLite file in DATA_DIR, as on a fresh machine
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        self.process = subprocess.Popen(
            [sys.executable, manage, "runstack", "--demo", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=settings.BASE_DIR,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / "runstack.log").open("a") as log:  # beside its parts' logs, for a failure's report
            for line in self.process.stdout:
                self.output.append(line)
                self.lines.put(line)
                log.write(line)
                log.flush()

    def wait_for(self, pattern: re.Pattern[str], *, timeout: float) -> re.Match[str]:
        """The first line from now on that matches, or a failure naming what the command said."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            found = pattern.search(line)
            if found:
                return found
        pytest.fail(f"runstack never printed {pattern.pattern!r}; it said:\n{''.join(self.output[-40:])}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def runstack(tmp_path: Path) -> Iterator[Runstack]:
    running = Runstack(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_end_session_in_the_demo_stops_the_replay_and_leaves_the_server_up(runstack: Runstack) -> None:
    dashboard = runstack.wait_for(DEMO_LINE, timeout=START_TIMEOUT_S)["url"]
    login = runstack.wait_for(LOGIN_LINE, timeout=10)
    admin_page = runstack.wait_for(ADMIN_LINE, timeout=10)["url"]
    admin_login = runstack.wait_for(LOGIN_LINE, timeout=10)  # the line after the admin's page
    base_url = f"http://127.0.0.1:{runstack.port}"
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            log_in(page, base_url, login["user"], login["password"])
            page.goto(dashboard)
            wait_live(page)
            until(page, "Number(document.querySelector('#frames-received').textContent) > 0", timeout=120_000)
            page.once("dialog", lambda dialog: dialog.dismiss())  # asked, and said no: nothing ends
            page.click("text=End session")
            assert page.inner_text("#session-status") == "live"
            page.on("dialog", accept)
            page.click("text=End session")
            page.wait_for_load_state()
            until(page, "document.querySelector('#session-status')?.textContent.trim() === 'ended'", timeout=30_000)
            runstack.wait_for(re.compile(r"replay client stopped, the server keeps running"), timeout=60)
            # The server outlives the demo's client: it answers and its pages still load.
            assert requests.get(f"{base_url}/healthz", timeout=10).status_code == 200
            page.reload()
            assert page.inner_text("#session-status") == "ended"
            OUTPUT_DIR.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT_DIR / "demo-session-ended-1280x720.png"))
            # The admin printed beside the teacher signs in with what was printed and reaches the product's admin page.
            admin = browser.new_page(viewport={"width": 1280, "height": 720})
            log_in(admin, base_url, admin_login["user"], admin_login["password"])
            admin.goto(admin_page)
            assert admin.url == admin_page and admin.inner_text("h1") == "All sessions"
        finally:
            browser.close()
    assert runstack.process.poll() is None, "".join(runstack.output[-40:])
    assert questions and questions[0].startswith("End this session?")
    assert "keeps failing" not in "".join(runstack.output)
