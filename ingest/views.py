"""The ingest API v1: ``POST /api/v1/sessions/<id>/frames``. Thin: parse, authorise, hand to services."""

from __future__ import annotations

import contextlib
import json
import math

import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from classroom import admission, live_state
from classroom.models import ClassSession
from classroom.pairing import PairingError, pairing_code_exchange
from classroom.selectors import frame_result, session_by_token
from ingest.services import frame_accept
from ingest.validation import IngestError, validate_upload

BEARER = "bearer "
WANTED_FPS_HEADER = "X-Wanted-FPS"


def error_response(error: IngestError, *, max_fps: float | None = None) -> JsonResponse:
    """The one JSON shape of every refusal: ``{"error": code, "message": text}`` (+ Retry-After), and once the door
    has seen the upload, the rate its session may send now (``max_fps``)."""
    body: dict[str, object] = {"error": error.code, "message": error.message}
    if max_fps is not None:
        body["max_fps"] = max_fps
    response = JsonResponse(body, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def _authorise(request: HttpRequest, session_id: int, *, live_only: bool = True) -> ClassSession:
    header = request.headers.get("Authorization", "")
    if not header:
        raise IngestError(401, "missing_token", "Authorization: Bearer <session ingest token> is required")
    if not header.lower().startswith(BEARER) or not header[len(BEARER) :].strip():
        raise IngestError(401, "invalid_token", "Authorization header must be 'Bearer <session ingest token>'")
    session = session_by_token(token=header[len(BEARER) :].strip())
    if session is None:
        raise IngestError(401, "invalid_token", "ingest token is not valid")
    if session.pk != session_id:
        raise IngestError(403, "wrong_session", "ingest token belongs to another session")
    if live_only and not session.is_live:
        raise IngestError(403, "session_ended", "session has ended; start a new session to upload frames")
    return session


def frame_result_view(request: HttpRequest, session_id: int, frame_id: str) -> JsonResponse:
    """What became of one frame this client uploaded (the camera page's feedback), with the same token."""
    if request.method not in ("GET", "HEAD"):
        return error_response(IngestError(405, "method_not_allowed", "use GET"))
    try:
        session = _authorise(request, session_id, live_only=False)
    except IngestError as error:
        return error_response(error)
    result = frame_result(session=session, frame_id=frame_id)
    if result is None:
        return error_response(IngestError(404, "unknown_frame", "this session has no frame with that frame_id"))
    return JsonResponse(result)


def _wanted_fps(request: HttpRequest) -> float | None:
    """The client's own rate from ``X-Wanted-FPS`` (``None`` when absent); a malformed one is a 400."""
    raw = request.headers.get(WANTED_FPS_HEADER)
    if raw is None:
        return None
    try:
        wanted = float(raw)
    except ValueError:
        wanted = math.nan
    if not math.isfinite(wanted) or wanted <= 0:
        message = f"{WANTED_FPS_HEADER} must be a positive number of frames per second, got {raw[:32]!r}"
        raise IngestError(400, "invalid_wanted_fps", message)
    return wanted


@csrf_exempt
def frames(request: HttpRequest, session_id: int) -> JsonResponse:
    """Accept one frame (202), or say precisely why not; past the auth checks every answer carries ``max_fps``."""
    if request.method != "POST":
        return error_response(IngestError(405, "method_not_allowed", "use POST with multipart/form-data"))
    max_fps: float | None = None
    try:
        session = _authorise(request, session_id)
        declared = int(request.headers.get("Content-Length") or 0)
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise IngestError(
                413, "frame_too_large", f"request is {declared} bytes; the limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"
            )
        door = admission.frame_admit(session_id=session_id, wanted_fps=_wanted_fps(request))
        max_fps = door.max_fps
        if door.workers_behind:
            raise IngestError(
                503, "server_busy", "the server is behind on frames from all sessions; retry later", retry_after=door.retry_after
            )
        if not door.allowed:
            raise IngestError(
                429, "rate_limited", f"too many frames for this session; send at most {max_fps:g} per second", retry_after=door.retry_after
            )
        if not (request.content_type or "").startswith("multipart/form-data"):
            raise IngestError(415, "unsupported_media_type", "request must be multipart/form-data with an 'image' file field")
        image = request.FILES.get("image")
        upload = validate_upload(
            data=image.read() if image is not None else None,
            captured_at=request.POST.get("captured_at"),
            frame_id=request.POST.get("frame_id"),
            tiles=request.POST.get("tiles"),
            session_started_at=session.started_at,
            names_from=request.POST.get("names_from"),
        )
        log, created = frame_accept(session=session, upload=upload)
    except IngestError as error:
        if error.status in (429, 503):
            with contextlib.suppress(redis.RedisError):
                live_state.refusal_count(session_id=session_id, reason=error.code)
        return error_response(error, max_fps=max_fps)
    except redis.ConnectionError:
        # Redis restarting: nothing was accepted, so nothing is lost; the client retries.
        busy = IngestError(503, "server_busy", "the frame buffer is unavailable for a moment; retry later", retry_after=2)
        return error_response(busy, max_fps=max_fps)
    answer = {"frame_id": log.frame_id, "status": log.status, "duplicate": not created, "max_fps": max_fps}
    return JsonResponse(answer, status=202 if created else 200)


PAIRING_MAX_BODY_BYTES = 1024


@csrf_exempt
def pairing(request: HttpRequest) -> JsonResponse:
    """Exchange a one-time pairing code (JSON ``{"code": …}``) for this session's upload credentials (200), or say why not."""
    if request.method != "POST":
        return error_response(IngestError(405, "method_not_allowed", 'use POST with a JSON body {"code": "ABCD-EFGH"}'))
    if int(request.headers.get("Content-Length") or 0) > PAIRING_MAX_BODY_BYTES:
        return error_response(IngestError(413, "body_too_large", f"the body is limited to {PAIRING_MAX_BODY_BYTES} bytes"))
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return error_response(IngestError(400, "invalid_json", 'the body must be JSON: {"code": "ABCD-EFGH"}'))
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str):
        return error_response(IngestError(400, "invalid_code", 'give the pairing code as a string: {"code": "ABCD-EFGH"}'))
    try:
        session, token = pairing_code_exchange(code=code[:64], client=request.META.get("REMOTE_ADDR", ""))
    except PairingError as error:
        return error_response(IngestError(error.status, error.code, error.message, retry_after=error.retry_after))
    except redis.ConnectionError:
        return error_response(IngestError(503, "server_busy", "pairing is unavailable for a moment; retry later", retry_after=2))
    response = JsonResponse(
        {
            "session": session.pk,
            "course": session.course.name,
            "title": session.title or str(session),
            "token": token,
            "frames_url": reverse("ingest-frames", kwargs={"session_id": session.pk}),
            "max_frame_bytes": settings.INGEST_MAX_FRAME_BYTES,
            "max_fps": settings.INGEST_RATE_PER_SECOND,
        }
    )
    response["Cache-Control"] = "no-store"  # a credential: never cached
    return response
