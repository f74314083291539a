"""The OpenAPI 3.1 description of the ingest API v1, served at ``/api/v1/schema`` (and checked by the fuzz test)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

TILES_DESCRIPTION = (
    'JSON list of {{"name", "x", "y", "w", "h", "self"?}} participant rectangles in image pixels, at most {max_tiles}; '
    '"self": true marks the uploader\'s own view, which is dropped; a null or empty "name" means the page gave the '
    "rectangle but not the name, which the server then reads from the label painted on the picture"
)
REFUSALS: dict[str, tuple[str, list[str]]] = {
    "400": (
        "A field or the X-Wanted-FPS header is missing or malformed, or the image does not decode",
        ["invalid_field", "undecodable_image", "invalid_tiles", "invalid_wanted_fps"],
    ),
    "401": ("No, malformed or unknown bearer token", ["missing_token", "invalid_token"]),
    "403": ("The token is another session's, or the session has ended", ["wrong_session", "session_ended"]),
    "405": ("Not a POST", ["method_not_allowed"]),
    "411": ("No Content-Length (bodies are never spooled to disk)", ["length_required"]),
    "413": ("Over the byte limit, or over the pixel limit", ["frame_too_large", "image_too_large"]),
    "415": ("Not multipart, or the image is not JPEG, PNG or WebP", ["unsupported_media_type"]),
    "429": ("Over the session's share of what the server can process now (see max_fps and Retry-After)", ["rate_limited"]),
    "503": (
        "Too many frames waiting, for this session or all of them, the workers behind on frames from all sessions, "
        "or the frame buffer is full or restarting (see Retry-After)",
        ["backlog_full", "server_busy"],
    ),
}


MAX_FPS = {
    "type": "number",
    "description": "the frames per second this session may send now: its fair share of what the server can process "
    "(at most the per-session limit). A client waits 1/max_fps between frames on average, each wait drawn at random "
    "around it so that clients slowed together do not send in step. On an upload's answers only, once past "
    "the token checks",
}
PAIRING_REFUSALS: dict[str, tuple[str, list[str]]] = {
    "400": ("Not JSON, or no code, or not a code's shape", ["invalid_json", "invalid_code"]),
    "403": ("The code's session has ended", ["session_ended"]),
    "404": ("No such code", ["unknown_code"]),
    "405": ("Not a POST", ["method_not_allowed"]),
    "410": ("The code was used already, or has expired", ["code_used", "code_expired"]),
    "413": ("The body is over 1 KiB", ["body_too_large"]),
    "429": ("Too many wrong codes from this address (see Retry-After)", ["pairing_throttled"]),
    "503": ("Pairing is unavailable for a moment (see Retry-After)", ["server_busy"]),
}
RESULT_REFUSALS: dict[str, tuple[str, list[str]]] = {
    "401": ("No, malformed or unknown bearer token", ["missing_token", "invalid_token"]),
    "403": ("The token is another session's", ["wrong_session"]),
    "404": ("The session has no frame with that id", ["unknown_frame"]),
    "405": ("Not a GET", ["method_not_allowed"]),
}


def ingest_schema() -> dict[str, Any]:
    """The OpenAPI document: uploading frames, reading what became of one, and pairing."""
    error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    accepted = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}
    responses: dict[str, Any] = {
        "202": {"description": "Queued for processing", **accepted},
        "200": {"description": "A repeated frame_id: accepted once already", **accepted},
    }
    for status, (description, codes) in REFUSALS.items():
        responses[status] = {"description": f"{description}: error is one of {', '.join(codes)}", **error_ref}
    pairing_responses: dict[str, Any] = {
        "200": {
            "description": "Paired: this client's upload credential",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Paired"}}},
        },
        **{
            status: {"description": f"{text}: error is one of {', '.join(codes)}", **error_ref}
            for status, (text, codes) in PAIRING_REFUSALS.items()
        },
    }
    result_responses: dict[str, Any] = {
        "200": {
            "description": "What became of the frame",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FrameResult"}}},
        },
        **{
            status: {"description": f"{text}: error is one of {', '.join(codes)}", **error_ref}
            for status, (text, codes) in RESULT_REFUSALS.items()
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Classroom engagement monitor: ingest API", "version": "1"},
        "paths": {
            "/api/v1/sessions/{session_id}/frames": {
                "post": {
                    "summary": "Upload one frame of the meeting",
                    "operationId": "framesUpload",
                    "security": [{"sessionToken": []}],
                    "parameters": [
                        {"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                        {
                            "name": "X-Wanted-FPS",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "number", "exclusiveMinimum": 0},
                            "description": "the frames per second this client would send (its setting; 1 when unsaid): the server "
                            "shares what it can process between classes by it, and tells the teacher when a class gets less",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image", "captured_at"],
                                    "properties": {
                                        "image": {
                                            "type": "string",
                                            "format": "binary",
                                            "description": f"JPEG, PNG or WebP, at most {settings.INGEST_MAX_FRAME_BYTES} bytes "
                                            f"and {settings.INGEST_MAX_PIXELS} pixels",
                                        },
                                        "captured_at": {
                                            "type": "string",
                                            "description": "ISO 8601 with a time zone, or Unix epoch milliseconds; within a day of now, "
                                            "not before the session started (5 minutes of clock skew allowed)",
                                        },
                                        "frame_id": {
                                            "type": "string",
                                            "pattern": "^[A-Za-z0-9._:-]{1,64}$",
                                            "description": "idempotency key",
                                        },
                                        "tiles": {
                                            "type": "string",
                                            "description": TILES_DESCRIPTION.format(max_tiles=settings.INGEST_MAX_TILES),
                                        },
                                        "names_from": {
                                            "type": "string",
                                            "enum": ["page", "picture"],
                                            "description": "where the client found the participants' names: 'page' (read from the "
                                            "meeting page) or 'picture' (it could not; the server reads the labels painted on the tiles). "
                                            "Unsaid: 'page' when every tile is named, else 'picture'",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses,
                }
            },
            "/api/v1/sessions/{session_id}/frames/{frame_id}": {
                "get": {
                    "summary": "What became of one uploaded frame: its status and the faces read in it, within the course's policy",
                    "operationId": "frameResult",
                    "security": [{"sessionToken": []}],
                    "parameters": [
                        {"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                        {"name": "frame_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": result_responses,
                }
            },
            "/api/v1/pairing": {
                "post": {
                    "summary": "Exchange a one-time pairing code from the live page for an upload credential",
                    "operationId": "pairingExchange",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["code"],
                                    "properties": {"code": {"type": "string", "example": "ABCD-EFGH"}},
                                }
                            }
                        },
                    },
                    "responses": pairing_responses,
                }
            },
        },
        "components": {
            "securitySchemes": {"sessionToken": {"type": "http", "scheme": "bearer", "description": "the session's ingest token"}},
            "schemas": {
                "Accepted": {
                    "type": "object",
                    "required": ["frame_id", "status", "duplicate", "max_fps"],
                    "properties": {
                        "frame_id": {"type": "string"},
                        "status": {"type": "string"},
                        "duplicate": {"type": "boolean"},
                        "max_fps": MAX_FPS,
                    },
                },
                "Paired": {
                    "type": "object",
                    "required": ["session", "course", "title", "token", "frames_url", "max_frame_bytes", "max_fps"],
                    "properties": {
                        "session": {"type": "integer"},
                        "course": {"type": "string"},
                        "title": {"type": "string"},
                        "token": {"type": "string", "description": "bearer token for this client's uploads (shown once)"},
                        "frames_url": {"type": "string"},
                        "max_frame_bytes": {"type": "integer"},
                        "max_fps": {"type": "number"},
                    },
                },
                "FrameResult": {
                    "type": "object",
                    "required": ["frame_id", "status", "faces_found", "faces"],
                    "properties": {
                        "frame_id": {"type": "string"},
                        "status": {"type": "string", "enum": ["queued", "processed", "dropped", "expired", "error"]},
                        "faces_found": {"type": "integer"},
                        "faces": {"type": "array", "items": {"type": "object"}},
                        "reason": {"type": ["string", "null"]},
                        "latency_ms": {"type": ["number", "null"]},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "max_fps": MAX_FPS},
                },
            },
        },
    }


@require_safe
def schema_view(request: HttpRequest) -> JsonResponse:
    """``GET /api/v1/schema``: the OpenAPI description (public, like any API documentation)."""
    return JsonResponse(ingest_schema())
