"""Bad input to every form and JSON endpoint, generated from the URL conf: never a 500, never a partial write.

Each POST endpoint (the permission table's ``POST_ONLY``) gets each malformed payload from the user allowed to
use it. Pages answer with the form's error (200 or a redirect with a message), JSON endpoints with a 4xx and
``{"error", "message"}``; and where the payload is invalid for every field an endpoint reads, nothing in the
database changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from classroom.models import AuditEntry
from tests import factories
from tests.frontend.test_permissions import JSON_ENDPOINTS, POST_ONLY, RULES, url_for
from tests.frontend.test_permissions import world as world  # the fixture, shared

pytestmark = pytest.mark.django_db

TEXT_FIELDS = ("name", "title", "display_name", "note", "username", "email", "external_id", "content")
NUMBER_FIELDS = ("student", "teacher", "absent_minutes", "not_engaged_minutes", "class_drop", "class_floor", "uploads_stopped_seconds")
CHOICE_FIELDS = ("opted_out",)
ALL_FIELDS = TEXT_FIELDS + NUMBER_FIELDS + CHOICE_FIELDS

PAYLOADS: dict[str, dict[str, Any]] = {
    "empty": {},
    "oversized": dict.fromkeys(ALL_FIELDS, "x" * 100_000),
    "nul characters": dict.fromkeys(ALL_FIELDS, "a\x00b"),
    "wrong types": {
        **{field: ["", ""] for field in TEXT_FIELDS},
        **{field: ["one", "two"] for field in NUMBER_FIELDS},
        "opted_out": ["maybe"],
    },
    "out of range": {
        **dict.fromkeys(NUMBER_FIELDS, "1e309"),
        "opted_out": "2",
        "name": "",
        "display_name": "",
        "title": "x" * 201,
        "note": "n" * 121,
    },
    "not a number": {
        **dict.fromkeys(NUMBER_FIELDS, "NaN"),
        "opted_out": "-1",
        "name": " ",
        "display_name": " ",
        "title": "t" * 300,
        "note": "n" * 500,
    },
}
# Payloads that no field accepts: the endpoint must refuse them whole.
REFUSED_WHOLE = ("oversized", "nul characters", "out of range", "not a number")
# Endpoints that read no field act on the URL alone; any body is fine for them.
FIELDLESS = {"session-end", "session-rotate-token", "alert-acknowledge", "roster-remove", "logout", "pairing-code"}
POST_ENDPOINTS = sorted(name for name in POST_ONLY if RULES[name] in ("owner", "staff"))


def database() -> dict[str, list[dict[str, Any]]]:
    """Every row of every model, except the audit log (reads are written there on purpose)."""
    models = [model for model in apps.get_models() if model is not AuditEntry and model._meta.app_label in ("classroom", "auth")]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


def client_for(name: str, world: dict[str, object]) -> Client:
    client = Client()
    client.force_login(world["alice"] if RULES[name] == "owner" else factories.teacher("root", staff=True))  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_bad_form_input_is_refused_without_a_500_or_a_partial_write(name: str, payload: str, world: dict[str, object]) -> None:
    client = client_for(name, world)
    before = database()
    data = dict(PAYLOADS[payload])
    if name == "roster-import" and payload != "empty":
        data["file"] = SimpleUploadedFile("roster.csv", b"\xff\xfe\x00not a csv" * 1000, content_type="text/csv")
    response = client.post(url_for(name, world), data)
    assert response.status_code < 500
    if name in JSON_ENDPOINTS and response.status_code >= 400:
        assert {"error", "message"} <= set(response.json())
    if payload in REFUSED_WHOLE and name not in FIELDLESS:
        assert database() == before
        assert response.status_code in (200, 302, 400, 413), response.status_code


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 200),
        ({"since": "9999-12-31", "until": "0001-01-01"}, 200),  # valid dates, nothing between them
        ({"course": "abc", "teacher": "-1", "since": "not-a-date", "until": "2025-13-45"}, 400),
        ({"course": "1e309", "since": "x" * 10_000}, 400),
    ],
)
def test_bad_filters_on_the_session_list_are_form_errors(query: dict[str, str], status: int) -> None:
    client = Client()
    client.force_login(factories.teacher("root", staff=True))
    response = client.get(reverse("admin-sessions"), query)
    assert response.status_code == status
    assert ('<div class="errors">' in response.content.decode()) is (status == 400)
