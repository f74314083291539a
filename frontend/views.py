"""Teacher pages: courses, sessions, the live dashboard; plus the static files those pages load.

Views stay thin: forms validate, ``classroom.services`` write, selectors read.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import plotly
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django.views.static import serve

from classroom.alerts import alert_acknowledge, alert_payload, thresholds_for
from classroom.models import EXPRESSIONS, Alert, ClassSession, Course, Participant, Student
from classroom.pairing import pairing_code_create
from classroom.policy import AGGREGATE_MIN_GROUP, course_policy, per_student_allowed, timeline_redact
from classroom.profiles import TimeZoneError, profile_time_zone, profile_time_zone_detect, profile_time_zone_set
from classroom.reports import course_trends, export_attendance_csv, export_csv, export_json, report_filename, session_report
from classroom.roster import RosterError, roster_import, roster_parse, student_add, student_remove, student_rename, student_set_opt_out
from classroom.selectors import (
    course_list_for_user,
    participant_timeline,
    session_get_for_user,
    session_list_for_admin,
    session_list_for_course,
    user_is_admin,
)
from classroom.services import (
    SessionEndedError,
    audit_foreign_view,
    audit_record,
    course_alert_thresholds_update,
    course_create,
    flag_create,
    flag_payload,
    participant_update,
    password_link_send,
    session_end,
    session_rotate_token,
    session_start,
    teacher_create,
)
from frontend.figures import EXPRESSION_COLORS, engagement_figure, expression_figure, trends_figure
from frontend.forms import (
    AlertThresholdsForm,
    CourseCreateForm,
    FlagForm,
    ParticipantRenameForm,
    RosterConfirmForm,
    RosterUploadForm,
    SessionFilterForm,
    SessionStartForm,
    StudentForm,
    StudentUpdateForm,
    TeacherCreateForm,
    TimeZoneForm,
)

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
STALE_AFTER_SECONDS = 15
PLOTLY_JS_PATH = f"vendor/plotly-{plotly.__version__}.min.js"
# The extension's upload logic, which the camera page shares: one file, loaded by the extension from its own folder
# and by the camera page from here (extension_uploads_js), so neither keeps a copy.
EXTENSION_DIR = Path(settings.BASE_DIR) / "frontend" / "extension"
EXTENSION_UPLOADS_JS = "uploads.js"
STATIC_MAX_AGE_SECONDS = 3600
IMMUTABLE_MAX_AGE_SECONDS = 365 * 24 * 3600


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind ``login_required``: its user is signed in."""

    user: User


def _course_or_404(request: AuthenticatedHttpRequest, course_id: int) -> Course:
    return get_object_or_404(course_list_for_user(user=request.user), pk=course_id)


def _session_or_404(request: AuthenticatedHttpRequest, session_id: int) -> ClassSession:
    session = session_get_for_user(session_id=session_id, user=request.user)
    if session is None:
        raise Http404("No such session")
    return session


def _render_home(request: AuthenticatedHttpRequest, *, form: CourseCreateForm, status: int = 200) -> HttpResponse:
    return render(request, "frontend/home.html", {"courses": course_list_for_user(user=request.user), "form": form}, status=status)


def _thresholds_initial(course: Course) -> dict[str, float | None]:
    own = thresholds_for(course=course)
    return {
        "absent_minutes": round(own.absent_seconds / 60, 2),
        "not_engaged_minutes": round(own.not_engaged_seconds / 60, 2),
        "class_drop": own.class_drop,
        "class_floor": own.class_floor,
        "uploads_stopped_seconds": own.uploads_stopped_seconds,
    }


def _render_course(
    request: AuthenticatedHttpRequest,
    *,
    course: Course,
    form: SessionStartForm,
    alerts_form: AlertThresholdsForm | None = None,
    student_form: StudentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    sessions = session_list_for_course(course=course)
    trends = course_trends(course=course, sessions=sessions)
    figure = trends_figure(trends, zone=timezone.get_current_timezone())
    context = {
        "course": course,
        "sessions": sessions,
        "trends": trends,
        "trends_figure": figure,
        "form": form,
        "alerts_form": alerts_form or AlertThresholdsForm(initial=_thresholds_initial(course)),
        "student_form": student_form or StudentForm(),
        "upload_form": RosterUploadForm(),
        "students": course.students.all(),
        "policy": course_policy(course=course),
    }
    return render(request, "frontend/course_detail.html", context, status=status)


def json_error(status: int, error: str, message: str, **extra: Any) -> JsonResponse:
    """A refusal as every JSON endpoint answers it: ``{"error": code, "message": text, ...}``."""
    return JsonResponse({"error": error, "message": message, **extra}, status=status)


def _form_error(form: forms.Form) -> JsonResponse:
    fields = {name: [error["message"] for error in errors] for name, errors in form.errors.get_json_data().items()}
    first = next(iter(fields.items()))
    return json_error(400, "invalid_field", f"{first[0]}: {first[1][0]}", fields=fields)


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but a JSON endpoint answers 401 instead of redirecting to the login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return json_error(401, "not_authenticated", "Log in first.")
        return view(request, *args, **kwargs)

    return wrapper


def json_methods(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like ``require_http_methods``, with the JSON refusal every JSON endpoint gives."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = json_error(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _wants_json(request: HttpRequest) -> bool:
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def _render_token(request: AuthenticatedHttpRequest, *, session: ClassSession, token: str, started: bool) -> HttpResponse:
    """The one page that ever shows the token; ``never_cache`` on its views keeps it out of every cache."""
    context = {
        "session": session,
        "token": token,
        "started": started,
        "ingest_url": request.build_absolute_uri(reverse("ingest-frames", kwargs={"session_id": session.pk})),
    }
    return render(request, "frontend/token.html", context)


@login_required
@require_GET
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's courses (all of them for an admin) and a form to create one."""
    return _render_home(request, form=CourseCreateForm())


@login_required
@require_POST
def course_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create a course (admins only) taught by the chosen teacher, or by the admin."""
    if not user_is_admin(user=request.user):
        raise PermissionDenied("Only admins create courses; ask yours to create one for you.")
    form = CourseCreateForm(request.POST)
    if not form.is_valid():
        return _render_home(request, form=form, status=400)
    course = course_create(name=form.cleaned_data["name"], teacher=form.cleaned_data["teacher"] or request.user)
    return redirect("course-detail", course_id=course.pk)


@login_required
@require_GET
def course_detail(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    """One course's sessions and the form to start a new one."""
    return _render_course(request, course=_course_or_404(request, course_id), form=SessionStartForm())


@never_cache
@login_required
@require_POST
def session_start_view(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    """Start a live session and show its ingest token, this once."""
    course = _course_or_404(request, course_id)
    form = SessionStartForm(request.POST)
    if not form.is_valid():
        return _render_course(request, course=course, form=form, status=400)
    session, token = session_start(course=course, title=form.cleaned_data["title"])
    return _render_token(request, session=session, token=token, started=True)


@never_cache
@require_GET
def session_camera(request: HttpRequest, session_id: int) -> HttpResponse:
    """This device's camera as a client of a live session: a teacher's room camera, or a student on their own laptop.

    It uploads through the ingest API with a credential from a pairing code: the course's teacher gets one
    without typing; anyone else enters the code the teacher shows. The page itself reveals nothing of the session.
    """
    session = session_get_for_user(session_id=session_id, user=request.user)
    config = {
        "session": session_id,
        "frames_url": reverse("ingest-frames", kwargs={"session_id": session_id}),
        "result_url": reverse("ingest-frame-result", kwargs={"session_id": session_id, "frame_id": "FRAME"}),
        "exchange_url": reverse("ingest-pairing"),
        "code_url": reverse("pairing-code", kwargs={"session_id": session_id}) if session is not None else None,
        "csrf_token": get_token(request),
        "fps": 1,
    }
    return render(request, "frontend/session_camera.html", {"session": session, "config": config})


@login_required
@require_GET
def session_live(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """The live dashboard; everything on it arrives over the WebSocket (history first, then events)."""
    session = _session_or_404(request, session_id)
    policy = course_policy(course=session.course)
    config: dict[str, Any] = {
        "session": session.pk,
        "status": session.status,
        "policy": policy,
        "ws_path": f"/ws/sessions/{session.pk}/",
        "rename_url": reverse("participant-rename", kwargs={"session_id": session.pk, "participant_id": 0}),
        "timeline_url": reverse("participant-timeline", kwargs={"session_id": session.pk, "participant_id": 0}),
        "acknowledge_url": reverse("alert-acknowledge", kwargs={"session_id": session.pk, "alert_id": 0}),
        "flag_url": reverse("flag-create", kwargs={"session_id": session.pk}),
        "pairing_url": reverse("pairing-code", kwargs={"session_id": session.pk}),
        "stale_after_seconds": STALE_AFTER_SECONDS,
        "csrf_token": get_token(request),
        "expressions": list(EXPRESSIONS),
        "bands": settings.ENGAGEMENT_BANDS,
        "min_group": AGGREGATE_MIN_GROUP,
        "expression_colors": EXPRESSION_COLORS,  # one colour per expression, as in the report
        # The user's zone: the page shows every time in it, never in the browser's own (frontend/middleware.py).
        "time_zone": timezone.get_current_timezone_name(),
    }
    students = Student.objects.filter(course_id=session.course_id, opted_out=False)
    return render(request, "frontend/session_live.html", {"session": session, "policy": policy, "config": config, "students": students})


@login_required
@require_POST
def session_end_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """End a live session (ending an ended one changes nothing)."""
    session = session_end(session=_session_or_404(request, session_id))
    messages.success(request, "Session ended: uploads are refused from now on.")
    return redirect("session-live", session_id=session.pk)


@never_cache
@login_required
@require_POST
def session_rotate_token_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """Replace a live session's ingest token and show the new one, this once."""
    session = _session_or_404(request, session_id)
    if not session.is_live:
        messages.error(request, "This session has ended; its token cannot be rotated.")
        return redirect("session-live", session_id=session.pk)
    return _render_token(request, session=session, token=session_rotate_token(session=session), started=False)


@login_required
@require_POST
def participant_rename(request: AuthenticatedHttpRequest, session_id: int, participant_id: int) -> HttpResponse:
    """Rename a participant and/or link it to a roster student; JSON when asked for it, else back to the dashboard."""
    session = _session_or_404(request, session_id)
    participant = get_object_or_404(Participant.objects.select_related("session"), pk=participant_id, session=session)
    form = ParticipantRenameForm(request.POST)
    wants_json = _wants_json(request)
    if not form.is_valid():
        if wants_json:
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        messages.error(request, "Give a participant a name (200 characters at most) or choose a student.")
        return redirect("session-live", session_id=session.pk)
    student = None
    if form.cleaned_data["student"]:
        student = Student.objects.filter(pk=form.cleaned_data["student"], course_id=session.course_id, opted_out=False).first()
        if student is None:
            if wants_json:
                return JsonResponse(
                    {"errors": {"student": [{"message": "No such student on this course.", "code": "invalid"}]}}, status=400
                )
            messages.error(request, "No such student on this course.")
            return redirect("session-live", session_id=session.pk)
    participant = participant_update(participant=participant, display_name=form.cleaned_data["display_name"] or None, student=student)
    if wants_json:
        return JsonResponse({"participant": participant.pk, "name": participant.display_name})
    return redirect("session-live", session_id=session.pk)


@login_required
@require_POST
def course_alerts_view(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    """Change the course's alert thresholds (JSON when asked for it, else back to the course page)."""
    course = _course_or_404(request, course_id)
    form = AlertThresholdsForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return _form_error(form)
        return _render_course(request, course=course, form=SessionStartForm(), alerts_form=form, status=400)
    course_alert_thresholds_update(course=course, thresholds=form.thresholds())
    if _wants_json(request):
        return JsonResponse({"course": course.pk, "thresholds": asdict(thresholds_for(course=course))})
    messages.success(request, "Alert thresholds saved; they apply to this course's live sessions from the next frame.")
    return redirect("course-detail", course_id=course.pk)


@login_required
@require_POST
def roster_add_view(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    """Add one student to the course's roster."""
    course = _course_or_404(request, course_id)
    form = StudentForm(request.POST)
    if form.is_valid():
        try:
            student_add(course=course, **form.cleaned_data)
        except ValueError as error:
            form.add_error("name", str(error))
    if not form.is_valid():
        return _render_course(request, course=course, form=SessionStartForm(), student_form=form, status=400)
    messages.success(request, f"{form.cleaned_data['name']} added to the roster.")
    return redirect("course-detail", course_id=course.pk)


@login_required
@require_POST
def roster_update_view(request: AuthenticatedHttpRequest, course_id: int, student_id: int) -> HttpResponse:
    """Rename a roster student, or opt them out or back in."""
    course = _course_or_404(request, course_id)
    student = get_object_or_404(Student, pk=student_id, course=course)
    form = StudentUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing to change: give a name (200 characters at most) or choose opt-out or opt-in.")
        return redirect("course-detail", course_id=course.pk)
    try:
        if form.cleaned_data["name"]:
            student_rename(student=student, name=form.cleaned_data["name"])
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("course-detail", course_id=course.pk)
    if form.cleaned_data["opted_out"] in ("0", "1"):
        student_set_opt_out(student=student, opted_out=form.cleaned_data["opted_out"] == "1")
    messages.success(request, f"{student.name} updated.")
    return redirect("course-detail", course_id=course.pk)


@login_required
@require_POST
def roster_remove_view(request: AuthenticatedHttpRequest, course_id: int, student_id: int) -> HttpResponse:
    """Take a student off the roster."""
    course = _course_or_404(request, course_id)
    student = get_object_or_404(Student, pk=student_id, course=course)
    student_remove(student=student)
    messages.success(request, f"{student.name} removed from the roster.")
    return redirect("course-detail", course_id=course.pk)


@login_required
@require_POST
def roster_import_view(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    """Step 1: preview a roster CSV (every row's action or error). Step 2 (``content`` sent back): import the good rows."""
    course = _course_or_404(request, course_id)
    confirm = RosterConfirmForm(request.POST)
    if "content" in request.POST:
        if not confirm.is_valid():
            messages.error(request, "The previewed file did not come back intact; upload it again.")
            return redirect("course-detail", course_id=course.pk)
        try:
            counts = roster_import(course=course, data=base64.b64decode(confirm.cleaned_data["content"], validate=True))
        except (RosterError, ValueError) as error:
            messages.error(request, str(error))
            return redirect("course-detail", course_id=course.pk)
        messages.success(
            request,
            f"Roster imported: {counts['add']} added, {counts['update']} updated, {counts['same']} unchanged, {counts['error']} refused.",
        )
        return redirect("course-detail", course_id=course.pk)
    form = RosterUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("course-detail", course_id=course.pk)
    data = form.cleaned_data["file"].read()
    try:
        preview = roster_parse(course=course, data=data)
    except RosterError as error:
        return render(request, "frontend/roster_preview.html", {"course": course, "error": str(error)}, status=400)
    context = {"course": course, "preview": preview, "counts": preview.counts(), "content": base64.b64encode(data).decode()}
    return render(request, "frontend/roster_preview.html", context)


def _json_session(request: AuthenticatedHttpRequest, session_id: int) -> ClassSession | JsonResponse:
    session = session_get_for_user(session_id=session_id, user=request.user)
    return session if session is not None else json_error(404, "not_found", "No such session.")


@json_methods("POST")
@json_login_required
def alert_acknowledge_view(request: AuthenticatedHttpRequest, session_id: int, alert_id: int) -> HttpResponse:
    """The teacher acknowledges one alert of their session."""
    session = _json_session(request, session_id)
    if isinstance(session, JsonResponse):
        return session
    alert = Alert.objects.filter(pk=alert_id, session=session).first()
    if alert is None:
        return json_error(404, "not_found", "No such alert in this session.")
    return JsonResponse({"alert": alert_payload(alert_acknowledge(alert=alert, user=request.user))})


@json_methods("POST")
@json_login_required
def flag_create_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """Mark this moment of a live session, with an optional short note."""
    session = _json_session(request, session_id)
    if isinstance(session, JsonResponse):
        return session
    form = FlagForm(request.POST)
    if not form.is_valid():
        return _form_error(form)
    try:
        flag = flag_create(session=session, user=request.user, note=form.cleaned_data["note"])
    except SessionEndedError as error:
        return json_error(409, "session_ended", str(error))
    return JsonResponse({"flag": flag_payload(flag)}, status=201)


@never_cache
@json_methods("POST")
@json_login_required
def pairing_code_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """A one-time code to connect the extension to this live session (shown on the live page, never in a URL)."""
    session = _json_session(request, session_id)
    if isinstance(session, JsonResponse):
        return session
    try:
        row, code = pairing_code_create(session=session, user=request.user)
    except SessionEndedError as error:
        return json_error(409, "session_ended", str(error))
    seconds = round((row.expires_at - row.created_at).total_seconds())
    return JsonResponse({"code": code, "expires_at": row.expires_at.isoformat(), "expires_in_seconds": seconds}, status=201)


@json_methods("GET", "HEAD")
@json_login_required
def participant_timeline_view(request: AuthenticatedHttpRequest, session_id: int, participant_id: int) -> HttpResponse:
    """One participant's timeline for the session (the drill-down), within the course's policy."""
    session = _json_session(request, session_id)
    if isinstance(session, JsonResponse):
        return session
    participant = (
        Participant.objects.filter(pk=participant_id, session=session).exclude(student__opted_out=True).select_related("session").first()
    )
    if participant is None:
        return json_error(404, "not_found", "No such participant in this session.")
    policy = course_policy(course=session.course)
    if not per_student_allowed(policy=policy):
        return json_error(403, "policy_forbids", "This course's privacy policy shows class-level figures only.")
    audit_foreign_view(
        user=request.user, session=session, action="timeline.view", target=f"participant {participant.pk} of session {session.pk}"
    )
    timeline = participant_timeline(participant=participant, recent_seconds=settings.DASHBOARD_HISTORY_SECONDS)
    return JsonResponse({"policy": policy, **timeline_redact(timeline=timeline, policy=policy)})


@login_required
@require_GET
def session_report_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """The session's report: summary, one row per participant, class timelines; prints on A4."""
    session = _session_or_404(request, session_id)
    audit_foreign_view(user=request.user, session=session, action="report.view")
    report = session_report(session=session)
    zone = timezone.get_current_timezone()
    figures = {
        "engagement": engagement_figure(report, bands=settings.ENGAGEMENT_BANDS, zone=zone),
        "expressions": expression_figure(report, zone=zone),
    }
    context = {"session": session, "report": report, "figures": {name: figure for name, figure in figures.items() if figure is not None}}
    return render(request, "frontend/session_report.html", context)


# kind → what builds it, its content type, the end of its file name.
EXPORTS: dict[str, tuple[Callable[..., Iterator[str]], str, str]] = {
    "csv": (export_csv, "text/csv; charset=utf-8", "csv"),
    "json": (export_json, "application/json", "json"),
    "attendance": (export_attendance_csv, "text/csv; charset=utf-8", "attendance.csv"),
}


def _export(request: AuthenticatedHttpRequest, session_id: int, *, kind: str) -> StreamingHttpResponse:
    session = _session_or_404(request, session_id)
    # Every export is audited, the teacher's own included: exports leave the system.
    audit_record(user=request.user, action=f"export.{kind}", target=f"session {session.pk}")
    # Times in the user's zone with the UTC offset written (ISO 8601); the zone is read now, before streaming starts.
    zone = timezone.get_current_timezone()
    build, content_type, extension = EXPORTS[kind]
    response = StreamingHttpResponse(build(session=session, zone=zone), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{report_filename(session, extension, zone=zone)}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def session_export_csv(request: AuthenticatedHttpRequest, session_id: int) -> StreamingHttpResponse:
    """One row per participant per minute, streamed (policy applied, formula cells neutralised)."""
    return _export(request, session_id, kind="csv")


@login_required
@require_GET
def session_export_json(request: AuthenticatedHttpRequest, session_id: int) -> StreamingHttpResponse:
    """Session metadata, per-participant summary and per-minute series as one JSON document, streamed."""
    return _export(request, session_id, kind="json")


@login_required
@require_GET
def session_export_attendance(request: AuthenticatedHttpRequest, session_id: int) -> StreamingHttpResponse:
    """The attendance against the roster as CSV: one row per student, never joined included (policy applied)."""
    return _export(request, session_id, kind="attendance")


def _staff_only(request: AuthenticatedHttpRequest) -> None:
    if not user_is_admin(user=request.user):
        raise PermissionDenied("This page is for admins.")


@login_required
@require_http_methods(["GET", "POST"])
def teacher_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """An admin creates a teacher account; the teacher gets a link to set their own password."""
    _staff_only(request)
    form = TeacherCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            teacher = teacher_create(username=form.cleaned_data["username"], email=form.cleaned_data["email"])
        except ValueError as error:
            form.add_error("username", str(error))
        else:
            link = password_link_send(user=teacher, base_url=request.build_absolute_uri("/"))
            messages.success(request, f"{teacher.username} created; a link to set their password was sent to {teacher.email}.")
            return render(request, "frontend/teacher_created.html", {"teacher": teacher, "link": link})
    return render(request, "frontend/teacher_create.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def admin_sessions_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every session, for admins: filter by course, teacher and dates; each links to its report."""
    _staff_only(request)
    form = SessionFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        filters = {
            "course_id": data["course"].pk if data["course"] else None,
            "teacher_id": data["teacher"].pk if data["teacher"] else None,
            "since": datetime.combine(data["since"], time.min, tzinfo=tz) if data["since"] else None,
            "until": datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=tz) if data["until"] else None,
        }
    sessions = session_list_for_admin(**filters)[:500]
    return render(request, "frontend/admin_sessions.html", {"form": form, "sessions": sessions}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's profile: the time zone every page, chart and export shows their times in."""
    form = TimeZoneForm(request.POST if request.method == "POST" else None, initial={"time_zone": profile_time_zone(user=request.user)})
    if request.method == "POST" and form.is_valid():
        profile_time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, f"Time zone saved: times now show in {form.cleaned_data['time_zone']}.")
        return redirect("profile")
    now = timezone.localtime()
    context = {"form": form, "now": now, "offset": now.strftime("%z")}
    return render(request, "frontend/profile.html", context, status=400 if form.errors else 200)


@json_methods("POST")
@json_login_required
def profile_time_zone_detect_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The browser's zone (``time_zone``), saved for a user who has none yet (base.html's timezone.js sends it once)."""
    try:
        saved = profile_time_zone_detect(user=request.user, time_zone=request.POST.get("time_zone", ""))
    except TimeZoneError as error:
        return json_error(400, "invalid_time_zone", str(error), fields={"time_zone": [str(error)]})
    return JsonResponse({"time_zone": profile_time_zone(user=request.user), "saved": saved})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form: JSON for the live page's JSON endpoints (they ask for it), the styled 403 page otherwise."""
    message = "The page's security token is missing or old; reload the page and try again."
    if _wants_json(request):
        return json_error(403, "csrf_failed", message)
    return render(request, "403.html", {"exception": message}, status=403)


class LoginView(auth_views.LoginView):
    """The sign-in page; a signed-in visitor goes straight on. django-axes counts failures (see ``login_locked_out``)."""

    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: the login form with the wait in words, 429 and Retry-After."""
    wait = settings.LOGIN_FAILURE_WINDOW_SECONDS
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")[:150]})  # unbound: nothing re-checked
    message = f"Too many failed attempts. Try again in {max(1, round(wait / 60))} minute{'s' if wait > 60 else ''}."
    response = render(request, "registration/login.html", {"form": form, "locked_out": message}, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_safe
def plotly_js(request: HttpRequest) -> HttpResponseBase:
    """plotly.js from the installed plotly package (no CDN); its version is in the URL, so it is cached for good."""
    response = serve(request, "plotly.min.js", document_root=str(PLOTLY_JS_DIR))
    response["Cache-Control"] = f"public, max-age={IMMUTABLE_MAX_AGE_SECONDS}, immutable"
    return response


@require_safe
def extension_uploads_js(request: HttpRequest) -> HttpResponseBase:
    """``frontend/extension/uploads.js``, the extension's upload and back-off logic, for the camera page."""
    response = serve(request, EXTENSION_UPLOADS_JS, document_root=str(EXTENSION_DIR))
    response["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_SECONDS}"
    return response


@require_safe
def static_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """Static files found by the staticfiles finders, for servers with no static handler (daphne with DEBUG off)."""
    response = staticfiles_serve(request, path, insecure=True)
    response["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_SECONDS}"
    return response
