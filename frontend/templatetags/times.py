"""Times on the pages, one format everywhere: 24-hour ``HH:MM:SS``, dates ``YYYY-MM-DD``, in the user's zone.

The zone is the one :class:`frontend.middleware.UserTimeZoneMiddleware` activated for the request. Values may be
aware datetimes or the ISO 8601 strings the report payloads carry.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()

CLOCK = "%H:%M:%S"
MOMENT = "%Y-%m-%d %H:%M:%S"


def _local(value: datetime | str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


@register.filter
def clock(value: datetime | str | None) -> str:
    """The time of day of ``value`` in the user's zone: ``17:48:05``."""
    moment = _local(value)
    return moment.strftime(CLOCK) if moment else ""


@register.filter
def moment(value: datetime | str | None) -> str:
    """Date and time of ``value`` in the user's zone: ``2026-03-02 17:48:05``."""
    local = _local(value)
    return local.strftime(MOMENT) if local else ""


@register.simple_tag
def zone_label(at: datetime | str | None = None) -> str:
    """The zone times are shown in, with its UTC offset at ``at`` (default: now): ``America/New_York (UTC-05:00)``."""
    offset = (_local(at) or timezone.localtime()).strftime("%z")
    return f"{timezone.get_current_timezone_name()} (UTC{offset[:3]}:{offset[3:]})"
