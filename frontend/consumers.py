"""The live dashboard socket: history on connect, then the session's events, redacted by the privacy policy."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import JsonWebsocketConsumer
from django.conf import settings

from classroom.events import session_group
from classroom.policy import course_policy, redact
from classroom.selectors import session_get_for_user, session_history
from classroom.services import audit_foreign_view

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


MAX_CLIENT_MESSAGE_CHARS = 1024


class SessionDashboardConsumer(JsonWebsocketConsumer):
    """One teacher's (or admin's) view of one session.

    Clients listen; the one thing they send is ``{"type": "ping"}``, which re-joins the session's group
    (group membership lives in Redis and is lost if Redis restarts) and is answered ``{"type": "pong"}``.
    Anything else gets an ``error`` message naming what was wrong; the socket stays open.
    """

    group: str | None = None
    policy: str = ""

    def connect(self) -> None:
        """Accept, check who is asking, then send the recent history and join the session's group.

        The socket is accepted before refusing so the browser sees the reason: 4401 anonymous, 4403 not the
        course's teacher nor an admin (an unknown session is 4403 too, so ids cannot be probed).
        """
        self.accept()
        user = self.scope["user"]
        if not user.is_authenticated:
            self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = session_get_for_user(session_id=self.scope["url_route"]["kwargs"]["session_id"], user=user)
        if session is None:
            self.close(code=CLOSE_FORBIDDEN)
            return
        self.policy = course_policy(course=session.course)
        audit_foreign_view(user=user, session=session, action="dashboard.view")
        # Join before reading history: an event racing the read arrives after it, and the page skips frames it already has.
        self.group = session_group(session.pk)
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        history = session_history(session=session, since_seconds=settings.DASHBOARD_HISTORY_SECONDS)
        self._send_redacted({"type": "history", "policy": self.policy, **history})

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Check what the client sent before acting on it."""
        if self.group is None:
            return  # refused sockets are closing; nothing they send matters
        if text_data is None:
            self._refuse("binary_message", "only JSON text messages are accepted")
        elif len(text_data) > MAX_CLIENT_MESSAGE_CHARS:
            self._refuse("message_too_large", f"messages are at most {MAX_CLIENT_MESSAGE_CHARS} characters")
        else:
            try:
                content = json.loads(text_data)
            except (json.JSONDecodeError, RecursionError):
                self._refuse("invalid_json", "messages must be JSON objects")
                return
            self.receive_json(content)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """``ping``: re-join the group and answer ``pong``; anything else is refused with a reason."""
        if not isinstance(content, dict) or content.get("type") != "ping":
            self._refuse("unknown_message", 'the only message clients send is {"type": "ping"}')
            return
        assert self.group is not None
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.send_json({"type": "pong"})

    def _refuse(self, error: str, message: str) -> None:
        self.send_json({"type": "error", "error": error, "message": message})

    def disconnect(self, code: int) -> None:
        """Leave the session's group."""
        if self.group is not None:
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def session_event(self, message: dict[str, Any]) -> None:
        """Forward one ``session.event`` from the group, redacted."""
        self._send_redacted(message["event"])

    def _send_redacted(self, payload: dict[str, Any]) -> None:
        redacted = redact(payload=payload, policy=self.policy)
        if redacted is not None:
            self.send_json(redacted)
