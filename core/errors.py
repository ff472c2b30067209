"""The one domain error type. Services raise it for input that cannot be processed at all;
a rule's refusal (a booking, an issuance) is a result, not an exception."""

from __future__ import annotations


class DomainError(Exception):
    """Input a service cannot act on. ``errors`` maps field names to messages."""

    problem = "validation-error"
    status = 400

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(DomainError):
    problem = "not-found"
    status = 404


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state (e.g. already revoked)."""

    problem = "conflict"
    status = 409


def field_error(field: str, message: str) -> DomainError:
    return DomainError(message, errors={field: [message]})
