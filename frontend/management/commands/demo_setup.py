"""Create (idempotently) a demo teacher, a demo admin, a demo course and a live session; print them as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import reverse

from classroom.models import ClassSession, Course
from classroom.services import course_create, session_end, session_rotate_token, session_start

DEMO_COURSE = "Demo course"
DEMO_SESSION_TITLE = "Demo session"


class Command(BaseCommand):
    help = (
        "Create the demo teacher, admin, course and a live session (reusing a live demo session, with a fresh token, "
        "unless --fresh). "
        'Prints one JSON line: {"session", "token", "teacher", "password", "admin", "admin_password", "dashboard_url", "ingest_url"}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Usernames and passwords of the demo users."""
        parser.add_argument("--username", default="teacher", help="demo teacher's username")
        parser.add_argument("--password", default="demo-teacher-pass-2024", help="demo teacher's password (set every run)")
        parser.add_argument("--admin-username", default="admin", help="demo admin's username")
        parser.add_argument("--admin-password", default="demo-admin-pass-2024", help="demo admin's password (set every run)")
        parser.add_argument("--fresh", action="store_true", help="end a live demo session and start a new one (tests)")
        parser.add_argument("--course", default=DEMO_COURSE, help="the demo teacher's course to use (made if missing)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        """Set everything up and print the JSON line the run script reads."""
        user_model = get_user_model()
        teacher, _ = user_model.objects.get_or_create(username=options["username"])
        teacher.set_password(options["password"])
        teacher.save()
        admin, _ = user_model.objects.get_or_create(username=options["admin_username"])
        admin.is_staff = admin.is_superuser = True
        admin.set_password(options["admin_password"])
        admin.save()
        name = options["course"]
        course = Course.objects.filter(name=name, teacher=teacher).first() or course_create(name=name, teacher=teacher)
        session = course.sessions.filter(status=ClassSession.Status.LIVE).first()
        if session is not None and options["fresh"]:
            session_end(session=session)
            session = None
        if session is None:
            session, token = session_start(course=course, title=DEMO_SESSION_TITLE)
        else:
            token = session_rotate_token(session=session)
        result = {
            "session": session.pk,
            "token": token,
            "teacher": teacher.get_username(),
            "password": options["password"],
            "admin": admin.get_username(),
            "admin_password": options["admin_password"],
            "dashboard_url": reverse("session-live", kwargs={"session_id": session.pk}),
            "ingest_url": reverse("ingest-frames", kwargs={"session_id": session.pk}),
        }
        self.stdout.write(json.dumps(result))
