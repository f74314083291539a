"""The audit log: admin reads of per-student data are recorded; the log itself cannot be edited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from classroom.models import AuditEntry, Course, Observation, Participant
from classroom.services import audit_foreign_view
from tests.factories import live_session, teacher

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "action", "target"),
    [
        ("/admin/classroom/observation/", "admin.list", "observations"),
        ("/admin/classroom/participant/", "admin.list", "participants"),
        ("/admin/classroom/framelog/", "admin.list", "frame logs"),
    ],
)
def test_admin_lists_of_per_student_data_are_audited(client: Client, path: str, action: str, target: str) -> None:
    admin = teacher("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    assert client.get(path).status_code == 200
    assert list(AuditEntry.objects.values_list("user__username", "action", "target")) == [("root", action, target)]


def test_admin_detail_view_is_audited_and_course_lists_are_not(client: Client) -> None:
    session, _ = live_session()
    participant = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    admin = teacher("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    assert client.get(f"/admin/classroom/participant/{participant.pk}/change/").status_code == 200
    assert client.get("/admin/classroom/course/").status_code == 200
    assert list(AuditEntry.objects.values_list("action", "target")) == [("admin.view", f"participant {participant.pk}")]


def test_the_audit_log_is_read_only(client: Client) -> None:
    admin = teacher("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    assert client.get("/admin/classroom/auditentry/").status_code == 200
    assert client.get("/admin/classroom/auditentry/add/").status_code == 403


@pytest.mark.parametrize("title", ["", "Lecture 1"])
def test_session_names_itself_with_or_without_a_title(title: str) -> None:
    session, _ = live_session()
    session.title = title
    assert str(session).startswith("Physics — ")
    assert str(session).endswith(title or f"{session.started_at:%Y-%m-%d %H:%M}")


@pytest.mark.parametrize(
    ("course_policy", "deployment_policy", "listed"), [("", "full", True), ("aggregate", "full", False), ("", "aggregate", False)]
)
def test_the_django_admin_shows_no_observation_of_an_aggregate_course(
    client: Client, settings: Any, course_policy: str, deployment_policy: str, listed: bool
) -> None:
    """Rows kept from before a course moved to ``aggregate`` stay out of the admin too."""
    settings.PRIVACY_POLICY = deployment_policy
    session, _ = live_session()
    ada = Participant.objects.create(session=session, key="Ada", display_name="Ada")
    observation = Observation.objects.create(
        session=session, participant=ada, captured_at=timezone.now(), engagement=0.5, engagement_band="partly", box=[0, 0, 1, 1]
    )
    Course.objects.filter(pk=session.course_id).update(privacy_policy=course_policy)
    admin = teacher("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get("/admin/classroom/observation/").content.decode()
    assert (f"/admin/classroom/observation/{observation.pk}/change/" in page) is listed


def test_the_audit_rule_records_someone_elses_class_only() -> None:
    session, _ = live_session()
    admin = teacher("root", staff=True)
    assert audit_foreign_view(user=session.course.teacher, session=session, action="report.view") is None
    entry = audit_foreign_view(user=admin, session=session, action="report.view")
    assert entry is not None and (entry.user, entry.action, entry.target) == (admin, "report.view", f"session {session.pk}")
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["report.view"]
