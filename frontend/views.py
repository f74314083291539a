"""Teacher pages: courses, sessions, the live dashboard; plus the static files those pages load.

Views stay thin: forms validate, ``classroom.services`` write, selectors read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import plotly
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe
from django.views.static import serve

from classroom.alerts import alert_acknowledge, alert_payload, thresholds_for
from classroom.models import EXPRESSIONS, Alert, ClassSession, Course, Participant, Student
from classroom.policy import AGGREGATE_MIN_GROUP, ATTENTION, course_policy, per_student_allowed
from classroom.selectors import course_list_for_user, participant_timeline, session_get_for_user, session_list_for_course
from classroom.services import (
    SessionEndedError,
    audit_record,
    course_alert_thresholds_update,
    course_create,
    flag_create,
    flag_payload,
    participant_update,
    session_end,
    session_rotate_token,
    session_start,
)
from frontend.forms import AlertThresholdsForm, CourseCreateForm, FlagForm, ParticipantRenameForm, SessionStartForm

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
STALE_AFTER_SECONDS = 15
PLOTLY_JS_PATH = f"vendor/plotly-{plotly.__version__}.min.js"
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
    status: int = 200,
) -> HttpResponse:
    context = {
        "course": course,
        "sessions": session_list_for_course(course=course),
        "form": form,
        "alerts_form": alerts_form or AlertThresholdsForm(initial=_thresholds_initial(course)),
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
    """Create a course taught by the current user."""
    form = CourseCreateForm(request.POST)
    if not form.is_valid():
        return _render_home(request, form=form, status=400)
    course = course_create(name=form.cleaned_data["name"], teacher=request.user)
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
        "stale_after_seconds": STALE_AFTER_SECONDS,
        "csrf_token": get_token(request),
        "expressions": list(EXPRESSIONS),
        "bands": settings.ENGAGEMENT_BANDS,
        "min_group": AGGREGATE_MIN_GROUP,
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


@json_methods("GET", "HEAD")
@json_login_required
def participant_timeline_view(request: AuthenticatedHttpRequest, session_id: int, participant_id: int) -> HttpResponse:
    """One participant's timeline for the session (the drill-down), within the course's policy."""
    session = _json_session(request, session_id)
    if isinstance(session, JsonResponse):
        return session
    participant = Participant.objects.filter(pk=participant_id, session=session).select_related("session").first()
    if participant is None:
        return json_error(404, "not_found", "No such participant in this session.")
    policy = course_policy(course=session.course)
    if not per_student_allowed(policy=policy):
        return json_error(403, "policy_forbids", "This course's privacy policy shows class-level figures only.")
    if session.course.teacher_id != request.user.pk:
        audit_record(user=request.user, action="timeline.view", target=f"participant {participant.pk} of session {session.pk}")
    timeline = participant_timeline(participant=participant, recent_seconds=settings.DASHBOARD_HISTORY_SECONDS)
    if policy == ATTENTION:
        timeline["points"] = [{**point, "expression": None, "confidence": None} for point in timeline["points"]]
        timeline["minutes"] = [{**minute, "expressions": None} for minute in timeline["minutes"]]
    return JsonResponse({"policy": policy, **timeline})


@require_safe
def plotly_js(request: HttpRequest) -> HttpResponseBase:
    """plotly.js from the installed plotly package (no CDN); its version is in the URL, so it is cached for good."""
    response = serve(request, "plotly.min.js", document_root=str(PLOTLY_JS_DIR))
    response["Cache-Control"] = f"public, max-age={IMMUTABLE_MAX_AGE_SECONDS}, immutable"
    return response


@require_safe
def static_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """Static files found by the staticfiles finders, for servers with no static handler (daphne with DEBUG off)."""
    response = staticfiles_serve(request, path, insecure=True)
    response["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_SECONDS}"
    return response
