"""Each user's time zone: validated against the IANA zone database, chosen on the profile page or detected once."""

from __future__ import annotations

import zoneinfo

import pytest
from django.contrib.auth.models import AnonymousUser

from classroom.models import Profile
from classroom.profiles import (
    TimeZoneError,
    profile_time_zone,
    profile_time_zone_detect,
    profile_time_zone_set,
    time_zone_effective,
    time_zone_names,
    time_zone_validate,
)
from tests import factories


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_an_empty_zone_is_refused_as_missing(name: str) -> None:
    with pytest.raises(TimeZoneError, match=r"^Choose a time zone\.$"):
        time_zone_validate(name=name)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/localtime", "America/New York", "Europe//Paris", "America/", "<script>", "UTC;DROP", "A" * 65, "1/2"],
)
def test_a_malformed_zone_is_refused_as_no_zone_name(name: str) -> None:
    with pytest.raises(TimeZoneError, match="is not a time zone name"):
        time_zone_validate(name=name)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "America/Springfield", "Europe/paris", "localtime", "posixrules", "Factory"])
def test_a_well_formed_name_the_database_does_not_know_is_refused_as_unknown(name: str) -> None:
    with pytest.raises(TimeZoneError, match="is not a known time zone"):
        time_zone_validate(name=name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("America/New_York", "America/New_York"),
        ("  Europe/Paris ", "Europe/Paris"),
        ("UTC", "UTC"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("Asia/Calcutta", "Asia/Calcutta"),  # the alias Chromium reports for India
    ],
)
def test_known_zones_pass_trimmed(name: str, expected: str) -> None:
    assert time_zone_validate(name=name) == expected


def test_the_choices_are_the_zone_database_and_every_choice_validates() -> None:
    names = time_zone_names()
    assert list(names) == sorted(names) and "America/New_York" in names and "localtime" not in names
    assert all(time_zone_validate(name=name) == name for name in names)
    assert all(zoneinfo.ZoneInfo(name) for name in names[:: max(1, len(names) // 40)])


def test_effective_zone_falls_back_to_the_deployments(settings: pytest.FixtureRequest) -> None:
    settings.TIME_ZONE = "Europe/Lisbon"  # type: ignore[attr-defined]
    assert str(time_zone_effective(name="America/New_York")) == "America/New_York"
    assert str(time_zone_effective(name="")) == "Europe/Lisbon"
    assert str(time_zone_effective(name="Gone/Zone")) == "Europe/Lisbon"  # stored once, no longer in the database


@pytest.mark.django_db
def test_set_stores_a_valid_zone_and_refuses_a_bad_one_without_storing() -> None:
    user = factories.teacher("alice")
    assert profile_time_zone(user=user) == "" and profile_time_zone(user=AnonymousUser()) == ""
    with pytest.raises(TimeZoneError):
        profile_time_zone_set(user=user, time_zone="Nowhere/Land")
    assert profile_time_zone(user=user) == ""
    profile_time_zone_set(user=user, time_zone="America/New_York")
    profile_time_zone_set(user=user, time_zone="Asia/Tokyo")
    assert profile_time_zone(user=user) == "Asia/Tokyo"
    assert Profile.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_detection_saves_the_browsers_zone_once_and_never_overrides_a_chosen_one() -> None:
    user = factories.teacher("alice")
    assert profile_time_zone_detect(user=user, time_zone="Europe/Berlin") is True
    assert profile_time_zone_detect(user=user, time_zone="Asia/Tokyo") is False
    assert profile_time_zone(user=user) == "Europe/Berlin"
    other = factories.teacher("bob")
    profile_time_zone_set(user=other, time_zone="America/New_York")
    assert profile_time_zone_detect(user=other, time_zone="UTC") is False
    assert profile_time_zone(user=other) == "America/New_York"
    with pytest.raises(TimeZoneError):
        profile_time_zone_detect(user=factories.teacher("carol"), time_zone="")
