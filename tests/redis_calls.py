"""Counting the round trips a piece of code makes to the project's Redis (:func:`classroom.live_state.client`)."""

from __future__ import annotations

from typing import Any

import pytest

from classroom import live_state


class RedisCalls:
    """Each round trip, in order: a command's name (``"MGET"``), or ``"PIPELINE"`` with the commands it carried."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []
        client = live_state.client()
        command, pipeline = client.execute_command, client.pipeline

        def counted_command(*args: Any, **options: Any) -> Any:
            self.calls.append((str(args[0]), [args]))
            return command(*args, **options)

        def counted_pipeline(*args: Any, **options: Any) -> Any:
            pipe = pipeline(*args, **options)
            execute = pipe.execute

            def counted_execute(*a: Any, **o: Any) -> Any:
                self.calls.append(("PIPELINE", [tuple(c[0]) for c in pipe.command_stack]))
                return execute(*a, **o)

            pipe.execute = counted_execute  # type: ignore[method-assign]
            return pipe

        monkeypatch.setattr(client, "execute_command", counted_command)
        monkeypatch.setattr(client, "pipeline", counted_pipeline)

    def names(self) -> list[str]:
        """The round trips' names: commands, and ``PIPELINE of n``."""
        return [name if name != "PIPELINE" else f"PIPELINE of {len(carried)}" for name, carried in self.calls]

    def clear(self) -> None:
        """Forget the round trips so far."""
        self.calls.clear()
