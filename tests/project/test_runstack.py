"""What ``manage.py runstack --demo`` tells a new teacher and a new admin once the demo is up."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from project.management.commands.runstack import demo_banner

pytestmark = pytest.mark.django_db

BASE_URL = "http://127.0.0.1:8000"
# The banner's lines as a reader (and tests/integration/test_demo.py) finds them.
START = re.compile(r"^(?P<who>Live demo class|Admin pages): (?P<url>\S+)$")
LOGIN = re.compile(r"^  log in as (?P<user>\S+) / (?P<password>\S+)$")


def demo() -> dict[str, Any]:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return dict(json.loads(out.getvalue()))


def starts(banner: str) -> dict[str, tuple[str, str, str]]:
    """Each start line's URL with the credentials on the line after it, by who starts there."""
    lines = banner.splitlines()
    found = {}
    for index, line in enumerate(lines):
        start = START.match(line)
        if start:
            login = LOGIN.match(lines[index + 1])
            assert login, f"no 'log in as' line after {line!r}"
            found[start["who"]] = (start["url"], login["user"], login["password"])
    return found


def test_the_banner_gives_the_teacher_and_the_admin_each_a_page_and_credentials_that_open_it() -> None:
    setup = demo()
    banner = demo_banner(base_url=BASE_URL, demo=setup)
    found = starts(banner)
    assert set(found) == {"Live demo class", "Admin pages"}
    assert found["Live demo class"] == (f"{BASE_URL}{setup['dashboard_url']}", setup["teacher"], setup["password"])
    assert found["Admin pages"] == (f"{BASE_URL}{reverse('admin-sessions')}", setup["admin"], setup["admin_password"])
    assert f"ingest token: {setup['token']}" in banner
    # The advertised admin link is the product's page; Django's database admin is not advertised.
    assert "/admin/" not in banner
    pages = {}
    for who, (url, user, password) in found.items():
        client = Client()
        assert client.login(request=HttpRequest(), username=user, password=password), who  # django-axes needs a request
        response = client.get(url.removeprefix(BASE_URL))
        assert response.status_code == 200, who
        pages[who] = response.content.decode()
    assert "<h1>All sessions</h1>" in pages["Admin pages"]
    assert 'id="participant-cards"' in pages["Live demo class"]
