"""Sign-in is throttled (django-axes) per username and address: the attempt that makes ``LOGIN_MAX_FAILURES``
failures, and every one after it, gets 429 until the window passes."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def attempt(client: Client, password: str, username: str = "alice") -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_thirty_wrong_passwords_are_not_all_answered_normally(settings: Any) -> None:
    factories.teacher("alice")
    client = Client()
    statuses = [attempt(client, "wrong").status_code for _ in range(30)]
    allowed = settings.LOGIN_MAX_FAILURES - 1
    assert statuses[:allowed] == [200] * allowed
    assert set(statuses[allowed:]) == {429}
    blocked = attempt(client, "pw-alice-123")  # even the right password waits out the window
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.content.decode()
    assert blocked["Retry-After"] == str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
    assert "Try again in 15 minutes." in blocked.content.decode()
    assert attempt(Client(), "pw-alice-123", username="bob").status_code == 200  # another username is not blocked


def test_success_forgets_earlier_failures(settings: Any) -> None:
    factories.teacher("alice")
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        attempt(client, "wrong")
    assert attempt(client, "pw-alice-123").status_code == 302
    allowed = settings.LOGIN_MAX_FAILURES - 1
    assert [attempt(Client(), "wrong").status_code for _ in range(allowed)] == [200] * allowed


def test_the_lock_lifts_when_the_window_has_passed(settings: Any) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    factories.teacher("alice")
    client = Client()
    assert [attempt(client, "wrong").status_code for _ in range(settings.LOGIN_MAX_FAILURES)][-1] == 429
    time.sleep(1.5)
    assert attempt(client, "pw-alice-123").status_code == 302
