"""Spas and who works where.

Spas: registry admins create them; spa staff read their own, a therapist those employing
them. Employments: spa staff hire (any therapist, by id) and end employments at their own spa;
ending one re-checks the therapist's future bookings there (invariant 5).
"""

from __future__ import annotations

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.filters import BooleanFilter
from api.permissions import ADMIN, SPA_AND_ADMIN, THERAPIST_SPA_ADMIN
from api.serializers.coverage import CoverageQuerySerializer, SpaCoverageSerializer
from api.serializers.registry import EmploymentSerializer, SpaSerializer
from api.tenancy import spa_today
from api.views.base import ReadOnlyViewSet, WriteMixin
from registry.coverage.selectors import coverage_window, spa_coverage
from registry.models import Employment, Spa
from registry.services.rechecks import employment_end, employment_start, spa_create, spa_update


class SpaViewSet(WriteMixin, ReadOnlyViewSet):
    """Spas: where employed (therapist), own (spa staff), all (registry admin)."""

    queryset = Spa.objects.order_by("name", "id")
    serializer_class = SpaSerializer
    tenant_resource = "spas"
    action_roles = {
        "list": THERAPIST_SPA_ADMIN,
        "retrieve": THERAPIST_SPA_ADMIN,
        "create": ADMIN,
        "partial_update": ADMIN,
        "coverage": SPA_AND_ADMIN,
    }

    @extend_schema(request=SpaSerializer, responses={201: SpaSerializer})
    def create(self, request):
        """Create a spa (registry admin): licences count in its jurisdiction, days are read in
        its timezone (an IANA name)."""
        serializer = SpaSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        spa = spa_create(
            actor=request.user,
            name=data["name"],
            jurisdiction=data["jurisdiction"],
            timezone_name=data["timezone"],
            contact_email=data.get("contact_email", ""),
        )
        return Response(SpaSerializer(spa).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SpaSerializer, responses=SpaSerializer)
    def partial_update(self, request, pk=None):
        """Change a spa (registry admin): any of its fields. A new jurisdiction or timezone
        re-checks the spa's future bookings (which licences count, which days are covered):
        those no longer allowed need reassignment, as after any change they rest on."""
        data = self.validated(SpaSerializer, partial=True)
        spa, _changed = spa_update(
            actor=request.user,
            spa=self.get_object(),
            name=data.get("name"),
            jurisdiction=data.get("jurisdiction"),
            timezone_name=data.get("timezone"),
            contact_email=data.get("contact_email"),
        )
        return self.represented(SpaSerializer, spa)

    @extend_schema(parameters=[CoverageQuerySerializer], responses=SpaCoverageSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def coverage(self, request, pk=None):
        """What the spa could not safely offer (spa staff of the spa, registry admins): per
        condition seen at intake from ``from`` to ``to`` (the spa's local days, inclusive;
        default the last 90 days), the intakes, those that got an allowed therapist at a
        booking attempt, those refused for scope (``PROTOCOL_NOT_CERTIFIED``) or a focus limit
        (``FOCUS_EXCEEDS_PROTOCOL_LIMIT``), and the protocols that would have covered them;
        and how many of its therapists may treat each condition group now and in 30, 60 and
        90 days as certifications and licences expire. Counts of clients only, never a client
        reference; a count from 1 to 4 is `null` (suppressed). See docs/coverage.md."""
        spa = self.get_object()
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first_day, last_day = coverage_window(
            spa=spa,
            first_day=query.validated_data.get("from"),
            last_day=query.validated_data.get("to"),
            today=spa_today(spa),
        )
        report = spa_coverage(spa=spa, first_day=first_day, last_day=last_day, now=timezone.now())
        return Response(SpaCoverageSerializer(report).data)


class EmploymentFilter(django_filters.FilterSet):
    spa = django_filters.UUIDFilter(field_name="spa_id")
    therapist = django_filters.UUIDFilter(field_name="therapist_id")
    active = BooleanFilter(
        field_name="ended_on", lookup_expr="isnull", help_text="Not ended (true) or ended (false)."
    )

    class Meta:
        model = Employment
        fields = ["spa", "therapist", "active"]


class EmploymentViewSet(ReadOnlyViewSet):
    """Employments: own (therapist), own spa's (spa staff), all (registry admin)."""

    queryset = Employment.objects.order_by("spa_id", "started_on", "id")
    serializer_class = EmploymentSerializer
    filterset_class = EmploymentFilter
    tenant_resource = "employments"
    action_roles = {
        "list": THERAPIST_SPA_ADMIN,
        "retrieve": THERAPIST_SPA_ADMIN,
        "create": SPA_AND_ADMIN,
        "destroy": SPA_AND_ADMIN,
        "end": SPA_AND_ADMIN,
    }

    @extend_schema(request=EmploymentSerializer, responses={201: EmploymentSerializer})
    def create(self, request):
        """Hire a therapist (any therapist, by registry id) at the caller's spa, from
        ``started_on`` (default today in the spa's timezone)."""
        serializer = EmploymentSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        employment = employment_start(
            actor=request.user,
            spa=data["spa"],
            therapist=data["therapist"],
            started_on=data.get("started_on"),
        )
        return Response(EmploymentSerializer(employment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """End the employment today (in the spa's timezone); its future bookings are re-checked.
        The record stays, with ``ended_on``."""
        employment_end(actor=request.user, employment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=EmploymentSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    def end(self, request, pk=None):
        """End the employment today (in the spa's timezone); its future bookings are
        re-checked: those no longer allowed become ``needs-reassignment``."""
        employment, _ = employment_end(actor=request.user, employment=self.get_object())
        return Response(EmploymentSerializer(employment).data)
