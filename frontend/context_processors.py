"""Template context every teacher page gets."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from frontend.middleware import request_time_zone


def time_zone(request: HttpRequest) -> dict[str, object]:
    """``time_zone_name``: the zone the page shows times in; ``time_zone_detect``: a signed-in user with none chosen
    yet, whose browser's zone the page then saves (base.html loads timezone.js)."""
    return {
        "time_zone_name": timezone.get_current_timezone_name(),
        "time_zone_detect": request.user.is_authenticated and not request_time_zone(request),
    }
