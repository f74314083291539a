"""A user's profile: the one time zone every page, chart and export shows their times in.

Each teacher and admin has one zone (an IANA name such as ``America/New_York``). Until they choose one, the
first page they open after signing in saves their browser's zone (:func:`profile_time_zone_detect`); the
profile page changes it (:func:`profile_time_zone_set`). Times are stored in UTC; only what is shown changes.
"""

from __future__ import annotations

import functools
import re
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction

from classroom.models import Profile

TIME_ZONE_MAX_LENGTH = 64
# An IANA name: letters, digits, "_", "+", "-" in parts separated by "/" ("America/Argentina/Buenos_Aires", "Etc/GMT+5").
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
# Files of the zone database that are not zones a person lives in.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class TimeZoneError(ValueError):
    """A refused time zone name, with the reason in words."""


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this server knows, sorted (the profile page's choices; aliases such as Asia/Calcutta included)."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))


def time_zone_validate(*, name: str) -> str:
    """``name`` (surrounding spaces removed) if it is a known IANA zone; else :class:`TimeZoneError` saying why:
    empty, not shaped like a zone name, or a well-formed name the zone database does not know."""
    cleaned = name.strip()
    if not cleaned:
        raise TimeZoneError("Choose a time zone.")
    if len(cleaned) > TIME_ZONE_MAX_LENGTH or not _ZONE_NAME.fullmatch(cleaned):
        raise TimeZoneError(f"{cleaned[:TIME_ZONE_MAX_LENGTH]!r} is not a time zone name (names look like Europe/Paris).")
    if cleaned not in time_zone_names():
        raise TimeZoneError(f"{cleaned!r} is not a known time zone.")
    return cleaned


def profile_time_zone(*, user: AbstractBaseUser | AnonymousUser) -> str:
    """The zone ``user`` chose (or that was detected for them); empty when none yet or not signed in."""
    if not user.is_authenticated:
        return ""
    return Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""


def time_zone_effective(*, name: str) -> zoneinfo.ZoneInfo:
    """The zone to show times in: ``name``, or the deployment's ``TIME_ZONE`` when it is empty or no longer known."""
    if name in time_zone_names():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@transaction.atomic
def profile_time_zone_set(*, user: User, time_zone: str) -> Profile:
    """Set ``user``'s time zone (validated: :class:`TimeZoneError` if refused); makes the profile if they have none."""
    name = time_zone_validate(name=time_zone)
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    profile.time_zone = name
    profile.save(update_fields=["time_zone"])
    return profile


@transaction.atomic
def profile_time_zone_detect(*, user: User, time_zone: str) -> bool:
    """Save the browser's zone for a user who has none yet; ``True`` if saved. A zone already chosen is kept, so an
    old tab, or a laptop travelling, never overrides the profile page."""
    name = time_zone_validate(name=time_zone)
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    if profile.time_zone:
        return False
    profile.time_zone = name
    profile.save(update_fields=["time_zone"])
    return True
