"""One exception handler: every error is RFC 9457 problem+json.

``type`` is ``/problems/<name>``; the names of API.md (``validation-error``,
``not-authenticated``, ``permission-denied``, ``not-found``, ``booking-refused``,
``conflict``, ``issuance-refused``, ``idempotency-mismatch``, ``payload-too-large``,
``throttled``), plus four for HTTP-level errors API.md does not name
(``method-not-allowed`` 405, ``not-acceptable`` 406, ``unsupported-media-type`` 415,
``server-error`` 500). A 400 always carries ``errors``: ``{"dotted.path": ["message"]}``.
Views that answer a refusal (409 ``booking-refused``, 422 ``issuance-refused``) build it with
``problem(..., reasons=[...])``.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# name → title; the names API.md defines, then the HTTP-level ones.
PROBLEM_TITLES = {
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
    "not-acceptable": "Not acceptable",
    "unsupported-media-type": "Unsupported media type",
    "server-error": "Server error",
}
PROBLEM_TYPES = frozenset(f"/problems/{name}" for name in PROBLEM_TITLES)

# Database errors a retry can get past: serialization failure, deadlock, lock not available.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def problem_body(name: str, status_code: int, detail: str, **extra: Any) -> dict[str, Any]:
    if name not in PROBLEM_TITLES:  # a typo must not turn an error answer into a crash
        logger.warning("problem type %r is not in api.exceptions.PROBLEM_TITLES", name)
    body: dict[str, Any] = {
        "type": f"/problems/{name}",
        "title": PROBLEM_TITLES.get(name, name),
        "status": status_code,
        "detail": detail,
    }
    if name == "validation-error":
        body["errors"] = {}
    body.update(extra)
    return body


def problem(name: str, status_code: int, detail: str, **extra: Any) -> Response:
    """A DRF response carrying a problem (``extra``: ``errors``, ``reasons``, ...)."""
    return Response(
        problem_body(name, status_code, detail, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_response(name: str, status_code: int, detail: str, **extra: Any) -> JsonResponse:
    """The same, for plain Django views (404 catch-all, login throttle, handler500)."""
    return JsonResponse(
        problem_body(name, status_code, detail, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure → ``{"modules.0.hours": ["..."]}``."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = non_field if key in (non_field, "__all__") else str(key)
            if prefix and name == non_field:
                name = ""  # a nested object's own errors belong to the object's path
            path = ".".join(part for part in (prefix, name) if part)
            out.update(flatten_errors(value, path or non_field))
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            out.setdefault(prefix or non_field, []).extend(str(item) for item in data)
        else:
            for index, item in enumerate(data):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out.setdefault(prefix or non_field, []).append(str(data))
    return out


@cache
def _constraint_messages() -> dict[str, str]:
    """Constraint name → its ``violation_error_message``, across the project's models."""
    messages = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.violation_error_message:
                messages[constraint.name] = str(constraint.violation_error_message)
    return messages


def _integrity_detail(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return _constraint_messages().get(name or "", "The change conflicts with the current state.")


def _sqlstate(exc: Exception) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def _drf_problem(exc: exceptions.APIException) -> Response:
    detail = str(exc.detail) if not isinstance(exc.detail, list | dict) else "Invalid request."
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            "validation-error", 400, "The request has invalid fields.", errors=flatten_errors(exc.detail)
        )
    if isinstance(exc, exceptions.ParseError):
        return problem("validation-error", 400, detail, errors={api_settings.NON_FIELD_ERRORS_KEY: [detail]})
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        if exc.status_code == 403:  # no authenticator can ask for credentials: DRF says 403
            return problem("permission-denied", 403, detail)
        response = problem("not-authenticated", 401, detail)
        response["WWW-Authenticate"] = getattr(exc, "auth_header", None) or "Token"
        return response
    if isinstance(exc, exceptions.PermissionDenied):
        return problem("permission-denied", 403, detail)
    if isinstance(exc, exceptions.NotFound):
        return problem("not-found", 404, "Not found.")
    if isinstance(exc, exceptions.Throttled):
        response = problem("throttled", 429, detail)
        if exc.wait is not None:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem("method-not-allowed", 405, detail)
    if isinstance(exc, exceptions.NotAcceptable):
        return problem("not-acceptable", 406, detail)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem("unsupported-media-type", 415, detail)
    if exc.status_code == 413:
        return problem("payload-too-large", 413, "The request body is too large.")
    if exc.status_code == 409:
        return problem("conflict", 409, detail)
    if exc.status_code < 500:
        return problem("validation-error", 400 if exc.status_code == 400 else exc.status_code, detail)
    return problem("server-error", exc.status_code, detail)


def _to_problem(exc: Exception) -> Response | None:
    if isinstance(exc, DomainError):
        extra: dict[str, Any] = {}
        if exc.errors or exc.problem == "validation-error":
            extra["errors"] = flatten_errors(exc.errors) if exc.errors else {}
        return problem(exc.problem, exc.status, exc.detail, **extra)
    if isinstance(exc, exceptions.APIException):
        return _drf_problem(exc)
    if isinstance(exc, DjangoValidationError):
        errors = flatten_errors(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return problem("validation-error", 400, "The request has invalid fields.", errors=errors)
    if isinstance(exc, Http404):
        return problem("not-found", 404, "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return problem("permission-denied", 403, "You may not do this.")
    if isinstance(exc, RequestDataTooBig):
        return problem("payload-too-large", 413, "The request body is too large.")
    if isinstance(exc, TooManyFieldsSent):
        return problem("payload-too-large", 413, "The request has too many fields.")
    if isinstance(exc, IntegrityError):
        return problem("conflict", 409, _integrity_detail(exc))
    if isinstance(exc, OperationalError) and _sqlstate(exc) in _RETRYABLE_SQLSTATES:
        response = problem("conflict", 409, "A concurrent change got in the way; retry.")
        response["Retry-After"] = "1"
        return response
    return None


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``. Anything it does not know is left to Django (``None``):
    logged, and answered 500 (problem+json under /api/ once ``handler500`` points at
    ``api.views.errors.server_error``)."""
    response = _to_problem(exc)
    if response is None:
        return None
    set_rollback()
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if getattr(renderer, "format", None) == "api":
        response.content_type = None  # the browsable API renders the problem as HTML
    if response.status_code >= 500:
        logger.error("API error %s: %s", response.status_code, exc, exc_info=exc)
    return response
