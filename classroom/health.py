"""``/healthz``: the web process, its database and its Redis answer."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from classroom import live_state


def healthz(request: HttpRequest) -> JsonResponse:
    """200 with ``{"ok": true}`` when the database and Redis answer, else 503 naming what failed."""
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any database failure means unhealthy
        problems.append(f"database: {error}")
    try:
        live_state.client().ping()
    except Exception as error:  # any Redis failure means unhealthy
        problems.append(f"redis: {error}")
    return JsonResponse({"ok": not problems, "problems": problems}, status=503 if problems else 200)
