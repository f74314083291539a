"""Writes to the classroom domain: every state change goes through one function here."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from classroom.alerts import THRESHOLD_LIMITS, alerts_clear_all
from classroom.events import participant_event, publish_on_commit
from classroom.models import AuditEntry, ClassSession, Course, Flag, Participant, Student

TOKEN_BYTES = 24


def token_hash(token: str) -> str:
    """sha256 hex of an ingest token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def audit_record(*, user: User, action: str, target: str) -> AuditEntry:
    """Write one audit-log entry: ``user`` read per-student data (``action``) of ``target``."""
    return AuditEntry.objects.create(user=user, action=action, target=target[:200])


def audit_foreign_view(*, user: User, session: ClassSession, action: str, target: str | None = None) -> AuditEntry | None:
    """The audit rule for reading a class's per-student data: someone other than the course's teacher (an admin)
    is recorded; the teacher reading their own class is not. ``target`` defaults to the session."""
    if session.course.teacher_id == user.pk:
        return None
    return audit_record(user=user, action=action, target=target or f"session {session.pk}")


def course_create(*, name: str, teacher: User) -> Course:
    """Create a course taught by ``teacher``."""
    return Course.objects.create(name=name.strip(), teacher=teacher)


@transaction.atomic
def session_start(*, course: Course, title: str = "") -> tuple[ClassSession, str]:
    """Start a live session; returns it with its ingest token (shown once, stored only hashed)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session = ClassSession.objects.create(
        course=course, title=title.strip(), started_at=timezone.now(), ingest_token_hash=token_hash(token), ingest_token_hint=token[:6]
    )
    return session, token


@transaction.atomic
def session_rotate_token(*, session: ClassSession) -> str:
    """Replace the session's ingest token (the old one and every paired client's credential stop working at once)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.credentials.all().delete()
    session.ingest_token_hash = token_hash(token)
    session.ingest_token_hint = token[:6]
    session.save(update_fields=["ingest_token_hash", "ingest_token_hint"])
    return token


@transaction.atomic
def session_end(*, session: ClassSession) -> ClassSession:
    """End a live session: uploads are refused from now on and dashboards are told."""
    locked = ClassSession.objects.select_for_update().get(pk=session.pk)
    if locked.status == ClassSession.Status.ENDED:
        return locked
    locked.status = ClassSession.Status.ENDED
    locked.ended_at = timezone.now()
    locked.save(update_fields=["status", "ended_at"])
    alerts_clear_all(session=locked, at=locked.ended_at)
    session_id = locked.pk
    transaction.on_commit(lambda: _enqueue_final_rollups(session_id))
    publish_on_commit(
        session_id=locked.pk, event={"type": "session_status", "status": locked.status, "ended_at": locked.ended_at.isoformat()}
    )
    return locked


def _enqueue_final_rollups(session_id: int) -> None:
    from classroom.tasks import finish_session_rollups  # the task module imports this one

    finish_session_rollups.delay(session_id)


class SessionEndedError(ValueError):
    """The session has ended: it takes no more flags."""


def flag_payload(flag: Flag) -> dict[str, object]:
    """A flag as timelines and reports show it."""
    return {"id": flag.pk, "at": flag.at.isoformat(), "note": flag.note}


@transaction.atomic
def flag_create(*, session: ClassSession, user: User, note: str = "") -> Flag:
    """Mark this moment of a live session ("quiz starts"); every open dashboard draws it."""
    if not session.is_live:
        raise SessionEndedError("This session has ended; moments can only be marked while it is live.")
    flag = Flag.objects.create(session=session, created_by=user, at=timezone.now(), note=note.strip())
    publish_on_commit(session_id=session.pk, event={"type": "flag", "flag": flag_payload(flag)})
    return flag


@transaction.atomic
def course_alert_thresholds_update(*, course: Course, thresholds: dict[str, float | None]) -> Course:
    """Set the course's alert thresholds (``None``: back to the deployment default); values are checked against their limits."""
    fields = []
    for name, value in thresholds.items():
        if name not in THRESHOLD_LIMITS:
            raise ValueError(f"unknown threshold {name!r}")
        low, high = THRESHOLD_LIMITS[name]
        if value is not None and not low <= value <= high:
            raise ValueError(f"{name} must be between {low:g} and {high:g}")
        setattr(course, f"alert_{name}", value)
        fields.append(f"alert_{name}")
    course.save(update_fields=fields)
    return course


@transaction.atomic
def participant_update(*, participant: Participant, display_name: str | None = None, student: Student | None = None) -> Participant:
    """Rename a participant and/or link it to a roster student; the mapping holds for the session."""
    fields = []
    if display_name is not None:
        cleaned = display_name.strip()
        if not cleaned:
            raise ValueError("display name must not be empty")
        participant.display_name = cleaned
        fields.append("display_name")
    if student is not None:
        if student.course_id != participant.session.course_id:
            raise ValueError("student is not on this session's course")
        participant.student = student
        fields.append("student")
        if display_name is None:
            participant.display_name = student.name
            fields.append("display_name")
    if fields:
        participant.name_source = Participant.NameSource.TEACHER  # the teacher's word: no label read later overrides it
        participant.save(update_fields=[*fields, "name_source"])
        publish_on_commit(session_id=participant.session_id, event=participant_event(participant=participant))
    return participant


@transaction.atomic
def teacher_create(*, username: str, email: str) -> User:
    """A teacher account without a password: they set one from the link :func:`password_link` makes."""
    if User.objects.filter(username__iexact=username.strip()).exists():
        raise ValueError(f"There is already a user called {username.strip()}.")
    user = User.objects.create_user(username=username.strip(), email=email.strip())
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def password_link(*, user: User, base_url: str) -> str:
    """A single-use link (Django's password-reset token) for ``user`` to set their password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def password_link_send(*, user: User, base_url: str) -> str:
    """Email ``user`` their set-password link (console backend unless SMTP is configured); returns the link."""
    link = password_link(user=user, base_url=base_url)
    send_mail(
        "Set your password: classroom engagement monitor",
        f"Hello {user.get_username()},\n\nAn account was made for you. Set your password here (the link works once):\n\n{link}\n",
        None,
        [user.email],
    )
    return link
