"""Input shapes and fields shared by the write endpoints: an RFC 3339 time that must carry its
offset, a relation among the rows the caller may *change*, and the ``{"reason"}`` body of a
state change. Shape only: the rules live in the services."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import serializers

from api.serializers.fields import CharField
from api.tenancy import scoped

NAIVE_TIME = "Give the time with an offset (RFC 3339), e.g. 2026-05-01T10:00:00+02:00."


class AwareDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time **with an offset**; a naive time is a 400 (API.md, Conventions),
    never silently read in the server's timezone. The one such field of every body and query."""

    default_error_messages = {"naive": NAIVE_TIME}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class WritableTenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id, among those the caller may *change* (the write scope of
    ``resource`` in ``api.tenancy``): naming another tenant's answers 400 "does not exist",
    exactly as if it did not. E.g. school staff act for their own school only."""

    def __init__(self, *, resource: str, **kwargs) -> None:
        self.resource = resource
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None) or AnonymousUser()
        return scoped(self.resource, queryset, user, for_write=True)


class ReasonInputSerializer(serializers.Serializer):
    """Why: every audited state change (revoke, withdraw) carries a reason."""

    reason = CharField(help_text="Why; kept in the audit trail.")
