"""Real-time events, produced in this one place and only after the database commit."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_HANDLER = "session.event"


def session_group(session_id: int) -> str:
    """The channel-layer group every dashboard of ``session_id`` listens on."""
    return f"session-{session_id}"


def _send(session_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(session_group(session_id), {"type": EVENT_HANDLER, "event": event})


def publish_on_commit(*, session_id: int, event: dict[str, Any]) -> None:
    """Send ``event`` to the session's dashboards once the current transaction commits."""
    transaction.on_commit(lambda: _send(session_id, event))
