"""The clinical catalog: anyone reads it; registry admins write it.

Creating calls ``protocols.services``; changing calls ``registry.services.catalog``, which
re-checks the future bookings resting on a rule the change tightens, in the same transaction.
Slugs and codes are set at creation and never change (an update's body has none); nothing is
deleted. Every problem with the input comes back at once, by dotted path (``modules.2.min_hours``).
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Model, Prefetch, Value, When
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.filters import ConditionFilter, ProtocolFilter, ScreeningQuestionFilter
from api.permissions import ADMIN, EVERYONE
from api.serializers.catalog import ConditionSerializer, ProtocolSerializer, ScreeningQuestionSerializer
from api.serializers.writes_catalog import (
    ConditionCreateSerializer,
    ConditionUpdateSerializer,
    ProtocolCreateSerializer,
    ProtocolUpdateSerializer,
    ScreeningQuestionCreateSerializer,
    ScreeningQuestionUpdateSerializer,
)
from api.views.base import ReadOnlyViewSet
from protocols import services as catalog_services
from protocols.choices import ModuleKind
from protocols.models import Condition, Module, Protocol, RequirementGroup, ScreeningQuestion
from registry.services import catalog as catalog_changes

CATALOG_ROLES = {
    "list": EVERYONE,
    "retrieve": EVERYONE,
    "create": ADMIN,
    "partial_update": ADMIN,
}

# fundamentals, critical details, harm avoidance: the order they are taught in.
_MODULE_ORDER = Case(
    *(When(kind=kind, then=Value(i)) for i, kind in enumerate(ModuleKind.values)),
    output_field=IntegerField(),
)


class CatalogViewSet(ReadOnlyViewSet):
    """A catalog resource: read by anyone, written by registry admins."""

    action_roles = CATALOG_ROLES
    tenant_resource = "public"

    def validated(self, serializer_class: type[serializers.Serializer], *, partial: bool = False) -> dict:
        """The request body checked for shape (``partial``: only the fields given)."""
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def represented(self, row: Model, status_code: int = status.HTTP_200_OK) -> Response:
        """The row as a ``GET`` shows it (read back through the view's queryset)."""
        fresh = self.get_queryset().get(pk=row.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)


class ProtocolViewSet(CatalogViewSet):
    """Treatment protocols, by ``slug``: their three modules, prerequisites (slugs), dose
    limit (``max_focus_minutes`` per session on the region) and validity."""

    queryset = Protocol.objects.prefetch_related(
        Prefetch("modules", queryset=Module.objects.order_by(_MODULE_ORDER)),
        Prefetch("prerequisites", queryset=Protocol.objects.only("id", "slug").order_by("slug")),
    )
    serializer_class = ProtocolSerializer
    filterset_class = ProtocolFilter
    lookup_field = "slug"

    @extend_schema(request=ProtocolCreateSerializer, responses={201: ProtocolSerializer})
    def create(self, request):
        """Add a protocol: three modules (one per kind), its dose limit, validity, the
        instructor minimums, prerequisites already in the catalog, and its source."""
        fields = self.validated(ProtocolCreateSerializer)
        protocol = catalog_services.protocol_create(actor=request.user, **fields)
        return self.represented(protocol, status.HTTP_201_CREATED)

    @extend_schema(request=ProtocolUpdateSerializer, responses=ProtocolSerializer)
    def partial_update(self, request, slug=None):
        """Change a protocol. Lowering its focus limit or moving its region re-checks the
        future bookings of clients with a condition naming it."""
        protocol = self.get_object()
        changes = self.validated(ProtocolUpdateSerializer, partial=True)
        result, _changed = catalog_changes.protocol_update(actor=request.user, protocol=protocol, **changes)
        return self.represented(result.protocol)


class ConditionViewSet(CatalogViewSet):
    """Conditions, by ``code`` (ICD-10-CM codes contain dots: ``M51.16``), and the protocol
    groups a therapist must hold to treat them."""

    queryset = Condition.objects.prefetch_related(
        Prefetch(
            "requirement_groups",
            queryset=RequirementGroup.objects.order_by("position").prefetch_related(
                Prefetch("protocols", queryset=Protocol.objects.only("id", "slug"))
            ),
        )
    )
    serializer_class = ConditionSerializer
    filterset_class = ConditionFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"

    @extend_schema(request=ConditionCreateSerializer, responses={201: ConditionSerializer})
    def create(self, request):
        """Add a condition and the protocol groups a therapist must hold to treat it."""
        fields = self.validated(ConditionCreateSerializer)
        condition = catalog_services.condition_create(actor=request.user, **fields)
        return self.represented(condition, status.HTTP_201_CREATED)

    @extend_schema(request=ConditionUpdateSerializer, responses=ConditionSerializer)
    def partial_update(self, request, code=None):
        """Change a condition (``requirements`` replace every group). A tighter requirement or
        another region re-checks the future bookings of clients with the condition."""
        condition = self.get_object()
        changes = self.validated(ConditionUpdateSerializer, partial=True)
        result, _changed = catalog_changes.condition_update(
            actor=request.user, condition=condition, **changes
        )
        return self.represented(result.condition)


class ScreeningQuestionViewSet(CatalogViewSet):
    """Red-flag questions, by ``code``: a yes means referral, not massage."""

    queryset = ScreeningQuestion.objects.all()
    serializer_class = ScreeningQuestionSerializer
    filterset_class = ScreeningQuestionFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"

    @extend_schema(request=ScreeningQuestionCreateSerializer, responses={201: ScreeningQuestionSerializer})
    def create(self, request):
        """Add a red-flag question (asked last at intake). Future bookings whose intakes never
        asked it, where it applies, need a new intake (`INTAKE_INCOMPLETE`): they become
        needs-reassignment."""
        fields = self.validated(ScreeningQuestionCreateSerializer)
        question, _changed = catalog_changes.screening_question_create(actor=request.user, **fields)
        return self.represented(question, status.HTTP_201_CREATED)

    @extend_schema(request=ScreeningQuestionUpdateSerializer, responses=ScreeningQuestionSerializer)
    def partial_update(self, request, code=None):
        """Change a red-flag question. Making it more urgent, or asking it at more intakes,
        re-checks the future bookings whose intake answered it yes or never answered it."""
        question = self.get_object()
        changes = self.validated(ScreeningQuestionUpdateSerializer, partial=True)
        result, _changed = catalog_changes.screening_question_update(
            actor=request.user, question=question, **changes
        )
        return self.represented(result.question)
