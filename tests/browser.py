"""Launching Debian's Chromium headless for Playwright tests on this closed network."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying Google's hosts (see the machine notes).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the real login form."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()


def until(page: Page, expression: str, *, timeout: float) -> None:
    """Wait until the JavaScript ``expression`` is true on the page (``timeout`` in ms).

    Passed as a function: Playwright evaluates a bare expression string with ``eval``, which the pages'
    Content-Security-Policy forbids.
    """
    page.wait_for_function(f"() => ({expression})", timeout=timeout)


def wait_live(page: Page, timeout_ms: int = 30_000) -> None:
    """Until the live page's socket has delivered the history (the connection then says ``live``, or ``ended`` for an
    ended session)."""
    until(page, "['live', 'ended'].includes(document.querySelector('#connection-status')?.textContent.trim())", timeout=timeout_ms)


def watch_csp(page: Page) -> list[str]:
    """Collect the page's Content-Security-Policy violations (Chromium reports each on the console) into a list."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    return violations


def y4m_from_video(source: Path, dest: Path, *, frames: int = 40, size: tuple[int, int] = (640, 480), fps: int = 5) -> Path:
    """A Y4M file (what Chromium's ``--use-file-for-fake-video-capture`` plays, looping) from a video's first frames."""
    import cv2

    width, height = size
    capture = cv2.VideoCapture(str(source))
    with dest.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                break
            out.write(b"FRAME\n" + cv2.cvtColor(cv2.resize(frame, size), cv2.COLOR_BGR2YUV_I420).tobytes())
    capture.release()
    return dest
