"""ASGI guard in front of Django: refuse oversized API bodies before any byte is read.

Django's ASGI handler spools a request body to a temporary file once it outgrows memory; a frame
must never touch the disk, so bodies over the limit are answered 413 from the headers alone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Answer 413 (too large) or 411 (no Content-Length) for ``/api/`` uploads, before reading them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/") and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            if length is None:
                await _refuse(send, 411, "length_required", "Content-Length is required")
                return
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if not length.isdigit() or int(length) > limit:
                await _refuse(
                    send, 413, "frame_too_large", f"request is {length.decode(errors='replace')} bytes; the limit is {limit} bytes"
                )
                return
        await self.app(scope, receive, send)
