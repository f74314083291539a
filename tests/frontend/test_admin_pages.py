"""Admin pages and the teacher's roster pages: accounts with set-password links, the session list, roster edits and import."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classroom.models import AuditEntry, ClassSession, Student
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> User:
    return factories.teacher("root", staff=True)


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_creates_a_teacher_who_sets_a_password_from_the_link(staff: User) -> None:
    response = client_for(staff).post(reverse("teacher-create"), {"username": "bea", "email": "bea@example.edu"})
    assert response.status_code == 200
    bea = User.objects.get(username="bea")
    assert not bea.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["bea@example.edu"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body)
    assert link is not None and link.group(1) in response.content.decode()
    anonymous = Client()
    form_page = anonymous.get(link.group(1), follow=True)
    assert form_page.status_code == 200 and "Set your password" in form_page.content.decode()
    done = anonymous.post(form_page.redirect_chain[-1][0], {"new_password1": "a-long-pass-2024", "new_password2": "a-long-pass-2024"})
    assert done.status_code == 302
    assert Client().login(request=HttpRequest(), username="bea", password="a-long-pass-2024")  # django-axes needs a request


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"username": "root", "email": "x@example.edu"}, "There is already a user called root."),
        ({"username": "bad name!", "email": "x@example.edu"}, "Letters, digits and @ . + - _ only."),
        ({"username": "ok", "email": "not-an-address"}, "Enter a valid email address."),
        ({}, "This field is required."),
    ],
)
def test_teacher_create_refusals(staff: User, data: dict[str, str], error: str) -> None:
    response = client_for(staff).post(reverse("teacher-create"), data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not mail.outbox


def test_session_list_filters(staff: User, alice: User) -> None:
    mine, _ = factories.live_session(owner=alice, course_name="Algebra")
    other, _ = factories.live_session(owner=factories.teacher("bob"), course_name="Biology")
    ClassSession.objects.filter(pk=other.pk).update(started_at=timezone.now() - timedelta(days=10))
    client = client_for(staff)

    def listed(**filters: object) -> str:
        page = client.get(reverse("admin-sessions"), filters).content.decode()
        return page[page.index("<tbody>") :]

    page = listed()
    assert "Algebra" in page and "Biology" in page
    assert "Algebra" in listed(teacher=alice.pk) and "Biology" not in listed(teacher=alice.pk)
    recent = listed(since=(timezone.now() - timedelta(days=2)).date().isoformat())
    assert "Algebra" in recent and "Biology" not in recent
    assert reverse("session-report", kwargs={"session_id": mine.pk}) in page
    assert client.get(reverse("admin-sessions"), {"since": "yesterday"}).status_code == 400


def test_exports_are_audited_for_the_teacher_too(alice: User) -> None:
    session, _ = factories.live_session(owner=alice)
    response = client_for(alice).get(reverse("session-export-csv", kwargs={"session_id": session.pk}))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"participant,student_id")  # type: ignore[attr-defined]
    assert list(AuditEntry.objects.values_list("user__username", "action")) == [("alice", "export.csv")]


def test_roster_pages(alice: User) -> None:
    session, _ = factories.live_session(owner=alice)
    course_id = session.course_id
    client = client_for(alice)
    assert client.post(reverse("roster-add", kwargs={"course_id": course_id}), {"name": "Ada"}).status_code == 302
    assert client.post(reverse("roster-add", kwargs={"course_id": course_id}), {"name": " ada "}).status_code == 400
    ada = Student.objects.get()
    client.post(reverse("roster-update", kwargs={"course_id": course_id, "student_id": ada.pk}), {"name": "Ada King"})
    client.post(reverse("roster-update", kwargs={"course_id": course_id, "student_id": ada.pk}), {"opted_out": "1"})
    ada.refresh_from_db()
    assert (ada.name, ada.opted_out) == ("Ada King", True)
    upload = SimpleUploadedFile("roster.csv", b"name,email\nAlan Turing,alan@example.edu\n,bad\n", content_type="text/csv")
    preview = client.post(reverse("roster-import", kwargs={"course_id": course_id}), {"file": upload})
    page = preview.content.decode()
    assert preview.status_code == 200 and "1 to add, 0 to update, 0 unchanged, 1 refused." in page and "the name is empty" in page
    assert Student.objects.count() == 1  # a preview writes nothing
    content = re.search(r'name="content" value="([^"]+)"', page)
    assert content is not None
    client.post(reverse("roster-import", kwargs={"course_id": course_id}), {"content": content.group(1)})
    assert sorted(Student.objects.values_list("name", flat=True)) == ["Ada King", "Alan Turing"]
    tampered = base64.b64encode(b"name\n=1+1\n").decode()
    client.post(reverse("roster-import", kwargs={"course_id": course_id}), {"content": tampered})
    assert Student.objects.count() == 2  # the sent-back file is checked again
    not_utf8 = SimpleUploadedFile("r.csv", "name\nZo\u00eb\n".encode("latin-1"))
    refused = client.post(reverse("roster-import", kwargs={"course_id": course_id}), {"file": not_utf8})
    assert refused.status_code == 400 and "not UTF-8" in refused.content.decode()
    client.post(reverse("roster-remove", kwargs={"course_id": course_id, "student_id": ada.pk}))
    assert list(Student.objects.values_list("name", flat=True)) == ["Alan Turing"]


@pytest.mark.parametrize("status", [403, 404])
def test_error_pages_are_styled(alice: User, status: int) -> None:
    client = client_for(alice)
    response = client.post(reverse("course-create"), {"name": "x"}) if status == 403 else client.get("/no/such/page/")
    assert response.status_code == status
    assert "Classroom engagement monitor" in response.content.decode() and "app.css" in response.content.decode()
