"""Per-request set-up of the teacher pages: the signed-in user's time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from classroom.profiles import profile_time_zone, time_zone_effective


def request_time_zone(request: HttpRequest) -> str:
    """The zone the user chose, as :class:`UserTimeZoneMiddleware` found it; empty when none yet (or signed out)."""
    return str(getattr(request, "user_time_zone", ""))


class UserTimeZoneMiddleware:
    """Activates the signed-in user's own time zone (Django's ``timezone.activate``) for the whole request, so every
    page's dates, the admin's date filters and the template ``date`` filter read in it; the deployment's
    ``TIME_ZONE`` (UTC by default) when they have none yet. Must come after the authentication middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        name = profile_time_zone(user=request.user)
        request.user_time_zone = name  # type: ignore[attr-defined]  # read back with request_time_zone()
        timezone.activate(time_zone_effective(name=name))
        try:
            return self.get_response(request)
        finally:
            # The zone is per request: a thread serving the next user must not inherit it.
            timezone.deactivate()
