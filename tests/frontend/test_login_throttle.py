"""Sign-in is throttled per username and address: wrong passwords in a row get 429 until the window passes."""

from __future__ import annotations

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
    assert statuses[: settings.LOGIN_MAX_FAILURES] == [200] * settings.LOGIN_MAX_FAILURES
    assert set(statuses[settings.LOGIN_MAX_FAILURES :]) == {429}
    blocked = attempt(client, "pw-alice-123")  # even the right password waits out the window
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.content.decode()
    assert 0 < int(blocked["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert attempt(Client(), "pw-alice-123", username="bob").status_code == 200  # another username is not blocked


def test_success_forgets_earlier_failures(settings: Any) -> None:
    factories.teacher("alice")
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        attempt(client, "wrong")
    assert attempt(client, "pw-alice-123").status_code == 302
    assert [attempt(Client(), "wrong").status_code for _ in range(settings.LOGIN_MAX_FAILURES)] == [200] * settings.LOGIN_MAX_FAILURES
