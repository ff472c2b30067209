"""OpenAPI: every operation documents the problems it can answer, automatically.

``RegistryAutoSchema`` (set as ``schema`` on the base views of ``api.views.base``; as
``DEFAULT_SCHEMA_CLASS`` it covers every view) adds to each operation, as
``application/problem+json``:

- 400, 401, 403, 404 and 429, always;
- 409 (``conflict``) to every unsafe method, 413 (``payload-too-large``) and 415
  (``unsupported-media-type``) to every operation with a request body;
- whatever a handler declares with ``@problems(422)`` (e.g. ``issuance-refused``).

Request bodies are documented as JSON only (API.md), unless a view takes no JSON (imports:
multipart); filter and pagination query parameters say that an empty value is no value.

A response an operation already documents (``@extend_schema(responses={409: ...})``) is kept.
Operations anonymous callers may use (``ANONYMOUS`` in the view's ``action_roles``) are marked
as needing no authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import SAFE_METHODS

from api.permissions import ANONYMOUS, AUTHENTICATED, RolePermission, allowed_roles, view_action
from api.serializers.common import ProblemSerializer, ValidationProblemSerializer
from api.serializers.fields import EnumField, OptionalEmailField, TimezoneField
from registry.choices import Role

PROBLEM_MEDIA_TYPE = "application/problem+json"

ALWAYS = (400, 401, 403, 404, 429)

_DESCRIPTIONS = {
    400: "`validation-error`: the input is invalid (`errors` by dotted field path), or a body "
    "could not be parsed.",
    401: "`not-authenticated`: no credentials, or an invalid token.",
    403: "`permission-denied`: the caller's role may not do this.",
    404: "`not-found`: no such object, or it belongs to another tenant.",
    409: "`conflict` (the change clashes with the current state) or `booking-refused` (with `reasons`).",
    413: "`payload-too-large`: the request body is over the size limit.",
    415: "`unsupported-media-type`: the body is not of a media type the operation reads.",
    422: "`issuance-refused` (with `reasons`) or `idempotency-mismatch`.",
    429: "`throttled`: too many requests; retry after `Retry-After` seconds.",
}


def problems(*statuses: int) -> Callable:
    """Declare extra problem statuses a handler can answer (beyond the automatic ones)."""

    def declare(func: Callable) -> Callable:
        func._problem_statuses = (*getattr(func, "_problem_statuses", ()), *statuses)
        return func

    return declare


def _empty_allowed(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filters and pagination read an empty query value (``?school=``, as an HTML form sends
    it) as no value: say so, rather than have clients think it invalid."""
    for parameter in parameters:
        if parameter.get("in") == "query":
            parameter["allowEmptyValue"] = True
    return parameters


def _merge(schema: dict[str, Any], constraints: dict[str, Any]) -> None:
    for key, value in constraints.items():
        if isinstance(value, dict) and isinstance(schema.get(key), dict):
            _merge(schema[key], value)
        else:
            schema[key] = value


class RegistryAutoSchema(AutoSchema):
    def _handler(self) -> Callable | None:
        name = getattr(self.view, "action", None) or self.method.lower()
        return getattr(self.view, name, None)

    def problem_statuses(self) -> list[int]:
        statuses = set(ALWAYS)
        if self.method not in SAFE_METHODS:
            statuses.add(409)
        if self.method in {"POST", "PUT", "PATCH"} and self.get_request_serializer() is not None:
            statuses.update({413, 415})
        statuses.update(getattr(self._handler(), "_problem_statuses", ()))
        return sorted(statuses)

    def _problem_response(self, status: int) -> dict[str, Any]:
        serializer = ValidationProblemSerializer if status == 400 else ProblemSerializer
        component = self.resolve_serializer(serializer, "response")
        response: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, "A problem."),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": component.ref}},
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
            }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`."}
            }
        return response

    def get_tags(self) -> list[str]:
        """Group operations by resource: ``/api/v1/therapists/{id}/licenses/`` → therapists."""
        parts = [part for part in self.path.split("/") if part]
        if parts[:2] == ["api", "v1"] and len(parts) > 2:
            return [parts[2]]
        return super().get_tags()

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        return operation_id.removeprefix("v1_")

    def map_parsers(self) -> list[str]:
        """Bodies are JSON (API.md): the form parsers DRF also installs serve the browsable
        API and are not documented, where a view takes JSON at all."""
        media_types = super().map_parsers()
        return [media for media in media_types if media == "application/json"] or media_types

    def _insert_field_validators(self, field, schema):
        """Also the rules a serializer documents in ``schema_constraints`` (by field name) and
        leaves to its service, which reports every broken rule of a write at once."""
        super()._insert_field_validators(field, schema)
        constraints = getattr(getattr(field, "parent", None), "schema_constraints", {})
        _merge(schema, constraints.get(getattr(field, "field_name", None), {}))

    def _get_filter_parameters(self):
        return _empty_allowed(super()._get_filter_parameters())

    def _get_pagination_parameters(self):
        return _empty_allowed(super()._get_pagination_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self.problem_statuses():
            responses.setdefault(str(status), self._problem_response(status))
        return responses

    def _roles(self) -> frozenset[str] | None:
        """The roles ``action_roles`` lets call this operation (None: not role-checked)."""
        if not any(isinstance(p, RolePermission) for p in self.view.get_permissions()):
            return None
        action = view_action(self.view, self.view.request) or self.method.lower()
        try:
            return allowed_roles(self.view, action)
        except ImproperlyConfigured:  # an undeclared action is reported by the permission tests
            return None

    def _allows_anonymous(self) -> bool:
        return ANONYMOUS in (self._roles() or ())

    def get_operation(self, *args, **kwargs):
        """Each operation says who may call it (API.md's roles table): in its description, and
        as ``x-roles`` for tools; any other role gets 403 (401 when not signed in)."""
        operation = super().get_operation(*args, **kwargs)
        allowed = self._roles()
        if operation is None or allowed is None:
            return operation
        names = (
            sorted(Role.values) if AUTHENTICATED in allowed else sorted(r for r in allowed if r != ANONYMOUS)
        )
        if ANONYMOUS in allowed:
            names = [ANONYMOUS, *names]
        operation["x-roles"] = names
        who = ", ".join(f"`{name}`" for name in names)
        line = f"Who may call it: {who}; any other role gets 403."
        operation["description"] = (
            f"{operation['description']}\n\n{line}" if operation.get("description") else line
        )
        return operation

    def get_auth(self):
        auths = super().get_auth()
        if self._allows_anonymous() and {} not in auths:
            auths.append({})
        return auths


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    """``EnumField(BodyRegion)`` → ``$ref: #/components/schemas/BodyRegion``."""

    target_class = EnumField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.choices_class.__name__

    def map_serializer_field(self, auto_schema, direction):
        choices = self.target.choices_class
        return {
            "type": "string",
            "enum": list(choices.values),
            "description": "\n".join(f"* `{value}` - {label}" for value, label in choices.choices),
        }


class OptionalEmailFieldExtension(OpenApiSerializerFieldExtension):
    """``OptionalEmailField``: answered as an address or ``null``; written as an address,
    ``null`` or ``""`` (none)."""

    target_class = OptionalEmailField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema: dict[str, Any] = {"type": "string", "nullable": True}
        if direction == "response":
            return {**schema, "format": "email"}
        return {
            **schema,
            "anyOf": [{"format": "email", "maxLength": 254}, {"maxLength": 0}],
            "description": "An e-mail address; `null` or an empty string for none.",
        }


class TimezoneFieldExtension(OpenApiSerializerFieldExtension):
    """``TimezoneField`` → ``$ref: #/components/schemas/Timezone`` (the IANA names, listed once)."""

    target_class = TimezoneField
    match_subclasses = True

    def get_name(self) -> str:
        return "Timezone"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "enum": list(self.target.choices),
            "description": "An IANA time zone name, e.g. `America/Los_Angeles`.",
        }


class ReasonCodeFieldExtension(OpenApiSerializerFieldExtension):
    """``ReasonCodeField`` → ``$ref: #/components/schemas/ReasonCode``: every stable code of the
    booking gate (the supervision codes of issue 23 included) and of issuance, listed once."""

    target_class = "api.serializers.common.ReasonCodeField"
    match_subclasses = True

    def get_name(self) -> str:
        return "ReasonCode"

    def map_serializer_field(self, auto_schema, direction):
        from api.serializers.common import REASON_CODES

        return {
            "type": "string",
            "enum": list(REASON_CODES),
            "description": "A stable reason code (API.md, Reason codes; docs/provisional-scope.md for "
            "SUPERVISION_REQUIRED, SUPERVISOR_NOT_QUALIFIED, SUPERVISOR_UNAVAILABLE, SUPERVISOR_NOT_NEEDED).",
        }
