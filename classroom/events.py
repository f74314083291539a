"""Real-time events, produced in this one place and only after the database commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from classroom.models import Participant

EVENT_HANDLER = "session.event"


def session_group(session_id: int) -> str:
    """The channel-layer group every dashboard of ``session_id`` listens on."""
    return f"session-{session_id}"


def _send(session_id: int, events: list[dict[str, Any]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for event in events:
            await layer.group_send(session_group(session_id), {"type": EVENT_HANDLER, "event": event})

    # One event loop (and Redis connection) for all of them: each async_to_sync call sets up its own.
    async_to_sync(send_all)()


def publish_on_commit(*, session_id: int, event: dict[str, Any], then: dict[str, Any] | None = None) -> None:
    """Send ``event`` (and ``then`` after it) to the session's dashboards once the current transaction commits."""
    events = [event] if then is None else [event, then]
    transaction.on_commit(lambda: _send(session_id, events))


def publish_built_on_commit(
    *, session_id: int, build: Callable[[], dict[str, Any]], then: Callable[[], dict[str, Any]] | None = None
) -> None:
    """Once the current transaction commits, build an event (so it reads what was just written) and send it, and
    ``then``'s after it. Built outside the transaction, the reads never hold the database's write lock (SQLite's is
    the whole file's).

    A failure to build or send one is logged, never raised into the writer that asked: what was written stays.
    """
    transaction.on_commit(lambda: _send(session_id, [build()] if then is None else [build(), then()]), robust=True)


def participant_event(*, participant: Participant) -> dict[str, Any]:
    """The live event that names a participant's card: its name, and the name its tile's label reads."""
    return {
        "type": "participant",
        "participant": participant.pk,
        "name": participant.display_name,
        "painted_name": participant.painted_name,
    }
