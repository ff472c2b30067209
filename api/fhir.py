"""FHIR over HTTP (``/fhir/``): the JSON renderer (``application/fhir+json``), content
negotiation (JSON only: ``_format`` or ``Accept`` asking for anything else is a 406), the
exception handler that turns every error into an ``OperationOutcome`` (the same statuses the
API's problem handler decides: 400, 401, 403, 404, 405, 406, 413, 429), and the parsing of
search parameters into ``registry.fhir.Search``.

The FHIR views are DRF views (``api.views.fhir``): the API's authentication, role
permissions (``action_roles``), tenancy and anonymous throttling apply unchanged; only the
shape of answers differs. They are left out of the OpenAPI schema: the CapabilityStatement
(``/fhir/metadata``) and docs/interoperability.md describe them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpResponse
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.exceptions import problem_exception_handler
from registry import fhir

logger = logging.getLogger(__name__)

MEDIA_TYPE = fhir.MEDIA_TYPE
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"}
_ANY = {"*/*", "application/*"}

# HTTP status → OperationOutcome issue type (FHIR value set issue-type).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
}


class FhirJsonRenderer(BaseRenderer):
    """A ``fhir.resources`` model as its FHIR JSON; anything else (an ``OPTIONS`` answer) as
    JSON."""

    media_type = MEDIA_TYPE
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, FHIRAbstractModel):
            return data.model_dump_json().encode()
        return json.dumps(data, ensure_ascii=False).encode()


def _media_types(accept: str) -> list[str]:
    return [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]


class FhirContentNegotiation(BaseContentNegotiation):
    """JSON only: ``_format`` (``json``, ``application/fhir+json``, ``application/json``) wins
    over ``Accept``; an ``Accept`` that admits no JSON (``application/fhir+xml``) is a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        wanted = request.query_params.get("_format")
        if wanted is not None:
            if wanted.split(";")[0].strip().lower() not in JSON_FORMATS:
                raise exceptions.NotAcceptable(f"Only JSON is served here (_format={wanted[:40]!r}).")
            return renderer, renderer.media_type
        accepted = _media_types(request.META.get("HTTP_ACCEPT", ""))
        if accepted and not any(
            media in _ANY or media in JSON_FORMATS or "json" in media for media in accepted
        ):
            raise exceptions.NotAcceptable("Only JSON is served here: ask for application/fhir+json.")
        return renderer, renderer.media_type


def _issues(status: int, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    code = ISSUE_TYPES.get(status, "exception" if status >= 500 else "processing")
    errors = body.get("errors") or {}
    if errors:
        return [
            ("error", code, f"{field}: {message}")
            for field, messages in errors.items()
            for message in (messages if isinstance(messages, list) else [messages])
        ]
    return [("error", code, str(body.get("detail") or code))]


def outcome_response(status: int, body: dict[str, Any]) -> Response:
    return Response(fhir.operation_outcome(_issues(status, body)), status=status)


def fhir_exception_handler(exc: Exception, context: dict) -> Response:
    """Every error of a FHIR view as an OperationOutcome, with the status (and the
    ``WWW-Authenticate`` / ``Retry-After`` headers) the API's problem handler decides. An
    error nothing expects is logged and answered 500 — an OperationOutcome still."""
    problem = problem_exception_handler(exc, context)
    if problem is None:
        set_rollback()
        logger.error("FHIR error: %s", exc, exc_info=exc)
        return outcome_response(500, {"detail": "The server failed to answer; it has been logged."})
    response = outcome_response(problem.status_code, problem.data)
    for header in ("WWW-Authenticate", "Retry-After"):
        if header in problem:
            response[header] = problem[header]
    return response


def outcome_http_response(status: int, detail: str) -> HttpResponse:
    """The same, for plain Django views (unknown /fhir/ paths, the 404 and 500 handlers)."""
    outcome = fhir.operation_outcome(_issues(status, {"detail": detail}))
    return HttpResponse(outcome.model_dump_json(), status=status, content_type=MEDIA_TYPE)


# --- search parameters ---------------------------------------------------------------------------

# Result parameters every search takes; `_format` and `_pretty` are read by the negotiation / ignored.
_PAGING = {"_count", "_offset"}
_HARMLESS = {"_format", "_pretty"}
# Search parameter → the modifiers it takes ("" is none).
SEARCH_MODIFIERS: dict[str, dict[str, set[str]]] = {
    "Practitioner": {"_id": {""}, "identifier": {""}, "name": {"", "exact", "contains"}},
    "PractitionerRole": {"_id": {""}, "practitioner": {""}, "organization": {""}},
    "Organization": {"_id": {""}, "identifier": {""}, "name": {"", "exact", "contains"}},
}


MAX_OFFSET = 10**9


def _whole_number(name: str, value: str, *, maximum: int | None = None) -> int:
    """A whole number; above ``maximum`` (when given) a 400, otherwise read as given."""
    if not (value.isascii() and value.isdigit()):
        raise exceptions.ValidationError({name: ["A whole number (0 or more) is required."]})
    number = int(value[:12]) if len(value) <= 12 else 10**12  # no 4,300-digit conversions
    if maximum is not None and number > maximum:
        raise exceptions.ValidationError({name: [f"At most {maximum}."]})
    return number


def _token(value: str) -> fhir.Token:
    if "|" in value:
        system, _, code = value.partition("|")
        return fhir.Token(system=system, value=code)
    return fhir.Token(system=None, value=value)


def parse_search(request, resource_type: str) -> fhir.Search:
    """The search of a request: ``_count`` (0 to 200; larger reads as 200), ``_offset`` (at
    most a billion), and
    the resource's parameters. A value that is not a whole number, a modifier the parameter
    does not take, or a NUL character is a 400. Unknown parameters are ignored and reported
    in the Bundle, unless the client sent ``Prefer: handling=strict`` (then a 400)."""
    allowed = SEARCH_MODIFIERS[resource_type]
    strict = "handling=strict" in request.META.get("HTTP_PREFER", "").replace(" ", "").lower()
    count, offset = fhir.DEFAULT_COUNT, 0
    values: dict[str, Any] = {"ids": [], "identifier": [], "name": [], "practitioner": [], "organization": []}
    ignored: list[str] = []
    query: list[tuple[str, str]] = []
    for key, raw_values in request.query_params.lists():
        name, _, modifier = key.partition(":")
        for raw in raw_values:
            if "\x00" in key or "\x00" in raw:
                raise exceptions.ValidationError(
                    {key.replace("\x00", ""): ["Null characters are not allowed."]}
                )
            if name == "_count":
                count = min(_whole_number(key, raw), fhir.MAX_COUNT)
                continue
            if name == "_offset":
                offset = _whole_number(key, raw, maximum=MAX_OFFSET)
                continue
            if name in _HARMLESS:
                continue
            if name not in allowed:
                if strict:
                    supported = ", ".join([*allowed, *sorted(_PAGING)])
                    raise exceptions.ValidationError(
                        {key: [f"Not a search parameter here; use {supported}."]}
                    )
                ignored.append(key)
                continue
            if modifier not in allowed[name]:
                raise exceptions.ValidationError({key: [f"The modifier ':{modifier}' is not supported."]})
            alternatives = [part.strip() for part in raw.split(",") if part.strip()]
            if not alternatives:
                continue  # an empty value is no value
            query.append((key, raw))
            if name == "_id":
                values["ids"].append(alternatives)
            elif name == "identifier":
                values["identifier"].append([_token(part) for part in alternatives])
            elif name == "name":
                values["name"].append((modifier, alternatives))
            else:
                values[name].append(alternatives)
    return fhir.Search(count=count, offset=offset, ignored=ignored, query=query, **values)
