"""Teacher pages: courses, sessions, the live dashboard; plus the static files those pages load.

Views stay thin: forms validate, ``classroom.services`` write, selectors read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
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

from classroom.models import EXPRESSIONS, ClassSession, Course, Participant, Student
from classroom.selectors import course_list_for_user, session_get_for_user, session_list_for_course
from classroom.services import course_create, participant_update, session_end, session_rotate_token, session_start
from frontend.forms import CourseCreateForm, ParticipantRenameForm, SessionStartForm
from frontend.policy import AGGREGATE_MIN_GROUP, current_policy

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
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


def _render_course(request: AuthenticatedHttpRequest, *, course: Course, form: SessionStartForm, status: int = 200) -> HttpResponse:
    context = {"course": course, "sessions": session_list_for_course(course=course), "form": form}
    return render(request, "frontend/course_detail.html", context, status=status)


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
    policy = current_policy()
    config: dict[str, Any] = {
        "session": session.pk,
        "status": session.status,
        "policy": policy,
        "ws_path": f"/ws/sessions/{session.pk}/",
        "rename_url": reverse("participant-rename", kwargs={"session_id": session.pk, "participant_id": 0}),
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
    wants_json = request.get_preferred_type(["text/html", "application/json"]) == "application/json"
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
