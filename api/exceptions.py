"""One exception handler: every error is RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    "validation-error": "Invalid input",
    "not-authenticated": "Not authenticated",
    "permission-denied": "Permission denied",
    "not-found": "Not found",
    "booking-refused": "Booking refused",
    "conflict": "Conflict",
    "issuance-refused": "Issuance refused",
    "idempotency-mismatch": "Idempotency key reused with another request",
    "payload-too-large": "Payload too large",
    "throttled": "Too many requests",
    "method-not-allowed": "Method not allowed",
    "unsupported-media-type": "Unsupported media type",
    "not-acceptable": "Not acceptable",
    "server-error": "Server error",
}


def problem(name: str, status_code: int, detail: str, **extra: Any) -> Response:
    body = {
        "type": f"/problems/{name}",
        "title": _TITLES.get(name, name),
        "status": status_code,
        "detail": detail,
        **extra,
    }
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure → ``{"modules.0.hours": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") else str(key)
            out.update(flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            out[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for index, item in enumerate(data):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        extra: dict[str, Any] = {}
        if exc.errors:
            extra["errors"] = exc.errors
        return problem(exc.problem, exc.status, exc.detail, **extra)
    if isinstance(exc, DjangoValidationError):
        errors = flatten_errors(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return problem("validation-error", 400, "The request has invalid fields.", errors=errors)
    if isinstance(exc, Http404):
        return problem("not-found", 404, "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return problem("permission-denied", 403, "You may not do this.")
    if isinstance(exc, IntegrityError):
        return problem("conflict", 409, "The change conflicts with the current state.")
    if isinstance(exc, DatabaseError):
        return problem("conflict", 409, "The database could not complete the change; retry.")

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            "validation-error", 400, "The request has invalid fields.", errors=flatten_errors(exc.detail)
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        resp = problem("not-authenticated", 401, str(exc.detail))
        resp["WWW-Authenticate"] = 'Token realm="api"'
        return resp
    if isinstance(exc, exceptions.PermissionDenied):
        return problem("permission-denied", 403, str(exc.detail))
    if isinstance(exc, exceptions.NotFound):
        return problem("not-found", 404, "Not found.")
    if isinstance(exc, exceptions.Throttled):
        resp = problem("throttled", 429, str(exc.detail))
        if exc.wait is not None:
            resp["Retry-After"] = str(int(exc.wait) + 1)
        return resp
    if isinstance(exc, exceptions.MethodNotAllowed):
        resp = problem("method-not-allowed", 405, str(exc.detail))
        if "Allow" in response:
            resp["Allow"] = response["Allow"]
        return resp
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem("unsupported-media-type", 415, str(exc.detail))
    if isinstance(exc, exceptions.NotAcceptable):
        return problem("not-acceptable", 406, str(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return problem("validation-error", 400, str(exc.detail), errors={})
    if response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return problem("payload-too-large", 413, "The request body is too large.")
    return problem("server-error", response.status_code, str(getattr(exc, "detail", exc)))
