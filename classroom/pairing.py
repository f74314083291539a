"""Pairing a client (the browser extension) with a live session by a short one-time code, never by typing tokens.

The teacher's live page asks for a code (:func:`pairing_code_create`); the extension exchanges it once
(:func:`pairing_code_exchange`) for an ingest credential of its own. Codes are single use, expire after
``PAIRING_CODE_SECONDS`` and are stored hashed; an address that sends ``PAIRING_MAX_FAILURES`` wrong codes
in a row waits ``PAIRING_FAILURE_WINDOW_SECONDS``.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from classroom import live_state
from classroom.models import ClassSession, IngestCredential, PairingCode
from classroom.services import TOKEN_BYTES, SessionEndedError, token_hash

# No 0/O, 1/I/L: a code read aloud or copied by hand survives.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_SEPARATORS = re.compile(r"[\s\-]+")


class PairingError(Exception):
    """A refused exchange: HTTP status, a stable code, a message in words, and when to retry (429)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def _display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def pairing_code_create(*, session: ClassSession, user: User) -> tuple[PairingCode, str]:
    """A new one-time code for ``session`` (live only); returns the row and the code as shown (``ABCD-EFGH``)."""
    if not session.is_live:
        raise SessionEndedError("The session has ended; start a new one to connect the extension.")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = timezone.now()
    row = PairingCode.objects.create(
        session=session,
        code_hash=token_hash(code),
        created_by=user,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.PAIRING_CODE_SECONDS),
    )
    return row, _display(code)


def _failures_key(client: str) -> str:
    return live_state.key("pairing-failures", client)


def _fail(client: str, error: PairingError) -> PairingError:
    pipe = live_state.client().pipeline()
    pipe.incr(_failures_key(client))
    pipe.expire(_failures_key(client), settings.PAIRING_FAILURE_WINDOW_SECONDS)
    pipe.execute()
    return error


def _throttled(client: str) -> PairingError | None:
    failures = live_state.client().get(_failures_key(client))
    if failures is None or int(failures) < settings.PAIRING_MAX_FAILURES:
        return None
    wait = max(1, int(live_state.client().ttl(_failures_key(client))))
    return PairingError(429, "pairing_throttled", f"Too many wrong codes from this address; try again in {wait} s.", wait)


def pairing_code_exchange(*, code: str, client: str, label: str = "extension") -> tuple[ClassSession, str]:
    """Exchange a code for a new ingest credential of its session; returns the session and the token (shown once).

    ``client`` identifies the caller for throttling (its address). Raises :class:`PairingError`.
    """
    if (throttled := _throttled(client)) is not None:
        raise throttled
    normalised = _SEPARATORS.sub("", code).upper()
    if len(normalised) != CODE_LENGTH or any(ch not in ALPHABET for ch in normalised):
        raise _fail(client, PairingError(400, "invalid_code", f"A pairing code is {CODE_LENGTH} letters and digits, like ABCD-EFGH."))
    now = timezone.now()
    with transaction.atomic():
        row = PairingCode.objects.select_related("session", "session__course").filter(code_hash=token_hash(normalised)).first()
        if row is None:
            raise _fail(client, PairingError(404, "unknown_code", "No such pairing code: check it, or get a new one from the live page."))
        if row.used_at is not None:
            raise _fail(client, PairingError(410, "code_used", "This pairing code was used already; get a new one from the live page."))
        if row.expires_at <= now:
            raise _fail(client, PairingError(410, "code_expired", "This pairing code has expired; get a new one from the live page."))
        if not row.session.is_live:
            raise PairingError(403, "session_ended", "The session has ended; start a new one to connect the extension.")
        # Claimed only if still unused: of two simultaneous exchanges, one wins.
        if not PairingCode.objects.filter(pk=row.pk, used_at=None).update(used_at=now):
            raise _fail(client, PairingError(410, "code_used", "This pairing code was used already; get a new one from the live page."))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        IngestCredential.objects.create(session=row.session, token_hash=token_hash(token), token_hint=token[:6], label=label[:40])
    live_state.client().delete(_failures_key(client))
    return row.session, token
