"""The ASGI entry point as daphne loads it."""

from __future__ import annotations

from unittest.mock import MagicMock

from daphne import http_protocol

import project.asgi  # noqa: F401  (importing it is what daphne does)


def test_daphne_leaves_multipart_bodies_to_django() -> None:
    # Django parses the upload; Twisted's own parse of the same body was a quarter of the web process's time.
    request = http_protocol.WebRequest(MagicMock(), queued=False)
    assert request._parsePOSTFormSubmission is False
