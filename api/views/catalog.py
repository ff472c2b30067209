"""The clinical catalog: anyone reads it; registry admins write it (writes come with the
catalog services: add ``create``/``partial_update`` calling them)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Prefetch, Value, When

from api.filters import ConditionFilter, ProtocolFilter, ScreeningQuestionFilter
from api.permissions import ADMIN, EVERYONE
from api.serializers.catalog import ConditionSerializer, ProtocolSerializer, ScreeningQuestionSerializer
from api.views.base import ReadOnlyViewSet
from protocols.choices import ModuleKind
from protocols.models import Condition, Module, Protocol, RequirementGroup, ScreeningQuestion

CATALOG_ROLES = {
    "list": EVERYONE,
    "retrieve": EVERYONE,
    "create": ADMIN,
    "update": ADMIN,
    "partial_update": ADMIN,
    "destroy": ADMIN,
}

# fundamentals, critical details, harm avoidance: the order they are taught in.
_MODULE_ORDER = Case(
    *(When(kind=kind, then=Value(i)) for i, kind in enumerate(ModuleKind.values)),
    output_field=IntegerField(),
)


class ProtocolViewSet(ReadOnlyViewSet):
    """Treatment protocols, by ``slug``: their three modules, prerequisites (slugs), dose
    limit (``max_focus_minutes`` per session on the region) and validity."""

    queryset = Protocol.objects.prefetch_related(
        Prefetch("modules", queryset=Module.objects.order_by(_MODULE_ORDER)),
        Prefetch("prerequisites", queryset=Protocol.objects.only("id", "slug").order_by("slug")),
    )
    serializer_class = ProtocolSerializer
    filterset_class = ProtocolFilter
    lookup_field = "slug"
    tenant_resource = "public"
    action_roles = CATALOG_ROLES


class ConditionViewSet(ReadOnlyViewSet):
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
    tenant_resource = "public"
    action_roles = CATALOG_ROLES


class ScreeningQuestionViewSet(ReadOnlyViewSet):
    """Red-flag questions, by ``code``: a yes means referral, not massage."""

    queryset = ScreeningQuestion.objects.all()
    serializer_class = ScreeningQuestionSerializer
    filterset_class = ScreeningQuestionFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    tenant_resource = "public"
    action_roles = CATALOG_ROLES
