"""Failed-attempt throttling (sign-in): a counter per key in Redis that expires after a quiet window."""

from __future__ import annotations

from django.conf import settings

from ingest import buffer


def _key(scope: str, key: str) -> str:
    return f"{settings.INGEST_KEY_PREFIX}:throttle:{scope}:{key}"


def throttle_blocked(*, scope: str, key: str) -> int:
    """Seconds until ``key`` may try again (0: it may now)."""
    name = _key(scope, key)
    failures = buffer.client().get(name)
    if failures is None or int(failures) < settings.LOGIN_MAX_FAILURES:
        return 0
    return max(1, int(buffer.client().ttl(name)))


def throttle_failure(*, scope: str, key: str) -> None:
    """Count one failure; the count expires ``LOGIN_FAILURE_WINDOW_SECONDS`` after the latest one."""
    name = _key(scope, key)
    pipe = buffer.client().pipeline()
    pipe.incr(name)
    pipe.expire(name, settings.LOGIN_FAILURE_WINDOW_SECONDS)
    pipe.execute()


def throttle_reset(*, scope: str, key: str) -> None:
    """Forget the failures of ``key`` (it succeeded)."""
    buffer.client().delete(_key(scope, key))
