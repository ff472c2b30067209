"""After the session over HTTP: the signs asked (catalog, read by anyone), the safety record per
therapist and protocol, and what the booking actions (``.../outcome/``, ``.../adverse-events/``,
``.../incident/``, ``.../complete/`` with an outcome) answer.

The booking actions live on ``api.views.bookings.BookingViewSet`` (their URLs are the
booking's); the responses they build are here. Client data, minimum necessary: an outcome
(pain scores, signs) and an adverse event (signs, narrative) reach the spa and the assigned
therapist; a registry admin reads them in one booking's incident review, and that read is
audited. The safety record holds counts only.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import ALL_ROLES, EVERYONE
from api.serializers.outcomes import OutcomeSignSerializer, SafetyRecordSerializer
from api.views.base import ReadOnlyViewSet, RegistryViewSet
from protocols.choices import SignSeverity
from protocols.models import OutcomeSign
from registry.models import AdverseEvent, Booking, SessionCertification, SessionOutcome
from registry.selectors import safety_records


class OutcomeSignFilter(django_filters.FilterSet):
    severity = django_filters.ChoiceFilter(choices=SignSeverity.choices)

    class Meta:
        model = OutcomeSign
        fields = ["severity"]


class OutcomeSignViewSet(ReadOnlyViewSet):
    """The signs asked after every session, in asking order, by ``code``: each with its
    severity, the client's instruction and its source. ``?severity=``."""

    queryset = OutcomeSign.objects.order_by("position", "code")
    serializer_class = OutcomeSignSerializer
    filterset_class = OutcomeSignFilter
    tenant_resource = "public"
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    action_roles = {"list": EVERYONE, "retrieve": EVERYONE}


class SafetyRecordFilter(django_filters.FilterSet):
    therapist = django_filters.UUIDFilter(field_name="booking__therapist_id")
    protocol = django_filters.CharFilter(field_name="protocol__slug", help_text="Protocol slug.")

    class Meta:
        model = SessionCertification
        fields = ["therapist", "protocol"]


class SafetyRecordViewSet(mixins.ListModelMixin, RegistryViewSet):
    """The safety record per therapist and protocol: completed sessions, outcomes recorded,
    the share with pain worse than before, and sessions by worst sign (mild, moderate,
    serious), over the last 90 days and all time. The therapist's own; those of therapists
    employed at the caller's spa; those resting on the caller's school's certificates; all
    (registry admin). ``?therapist=&protocol=``. No client identifier."""

    queryset = SessionCertification.objects.all()
    serializer_class = SafetyRecordSerializer
    filterset_class = SafetyRecordFilter
    tenant_resource = "safety-records"
    action_roles = {"list": ALL_ROLES}

    def list(self, request: Request, *args, **kwargs) -> Response:
        """One query for the records, whatever the number of sessions behind them."""
        records = safety_records(rows=self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(records)
        return self.get_paginated_response(SafetyRecordSerializer(page, many=True).data)


# --- what the booking actions read ----------------------------------------------------------------


def outcome_of(booking: Booking) -> SessionOutcome | None:
    """The booking's outcome with the adverse event it raised (two queries), or None."""
    return (
        SessionOutcome.objects.filter(booking=booking)
        .prefetch_related(
            Prefetch("adverse_events", queryset=AdverseEvent.objects.order_by("reported_at", "id"))
        )
        .first()
    )


def adverse_events_of(booking: Booking) -> QuerySet[AdverseEvent]:
    """The booking's adverse events, oldest first, with their protocol and certifications."""
    return (
        AdverseEvent.objects.filter(booking=booking)
        .select_related("protocol")
        .prefetch_related("certifications")
        .order_by("reported_at", "id")
    )
