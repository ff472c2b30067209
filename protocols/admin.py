"""The clinical catalog in the Django admin: read-only, with search and filters.

Catalog writes have rules (three modules, known protocols, a named source) and are audited;
they go through ``protocols.services`` (the API, or ``manage.py load_catalog``), never through
admin forms, so the admin only shows the catalog.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from protocols.models import Condition, Module, OutcomeSign, Protocol, RequirementGroup, ScreeningQuestion
from protocols.selectors import condition_list, condition_requirements, protocol_list

READ_ONLY_NOTE = (
    "The clinical catalog is read-only here: changes go through the API or "
    "`manage.py load_catalog`, which validate them and write the audit trail."
)


class ReadOnlyMixin:
    """No add, change or delete: staff with the view permission see everything."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyCatalogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        messages.info(request, READ_ONLY_NOTE)
        return super().changelist_view(request, extra_context)


class ModuleInline(ReadOnlyMixin, admin.TabularInline):
    model = Module
    fields = ["kind", "title", "min_hours"]
    readonly_fields = fields
    extra = 0


class RequirementGroupInline(ReadOnlyMixin, admin.TabularInline):
    model = RequirementGroup
    fields = ["position", "any_of"]
    readonly_fields = fields
    extra = 0

    @admin.display(description="met by any one of")
    def any_of(self, obj: RequirementGroup) -> str:
        return ", ".join(sorted(p.slug for p in obj.protocols.all()))

    def get_queryset(self, request: HttpRequest) -> QuerySet[RequirementGroup]:
        return super().get_queryset(request).prefetch_related("protocols")


@admin.register(Protocol)
class ProtocolAdmin(ReadOnlyCatalogAdmin):
    list_display = [
        "slug",
        "name",
        "region",
        "max_focus_minutes",
        "supervised_sessions",
        "validity_months",
        "version",
    ]
    list_filter = ["region", "version"]
    search_fields = ["slug", "name", "source", "modules__title"]
    fields = [
        "slug",
        "name",
        "region",
        "max_focus_minutes",
        "supervised_sessions",
        "validity_months",
        "min_instructor_years",
        "min_instructor_cases",
        "prerequisite_slugs",
        "source",
        "version",
    ]
    readonly_fields = fields
    inlines = [ModuleInline]

    @admin.display(description="prerequisites")
    def prerequisite_slugs(self, obj: Protocol) -> str:
        return ", ".join(sorted(p.slug for p in obj.prerequisites.all())) or "none"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Protocol]:
        return protocol_list()


@admin.register(Condition)
class ConditionAdmin(ReadOnlyCatalogAdmin):
    list_display = ["code", "name", "code_system", "region", "requirements"]
    list_filter = ["region", "code_system", "requirement_groups__protocols"]
    search_fields = ["code", "name", "source", "requirement_groups__protocols__slug"]
    fields = ["code", "code_system", "name", "region", "requirements", "source", "version"]
    readonly_fields = fields
    inlines = [RequirementGroupInline]

    @admin.display(description="requirements (every group; any one protocol of a group)")
    def requirements(self, obj: Condition) -> str:
        groups = condition_requirements(obj)
        return " AND ".join(f"({' or '.join(group)})" for group in groups) or "no protocol needed"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Condition]:
        return condition_list().distinct()


@admin.register(ScreeningQuestion)
class ScreeningQuestionAdmin(ReadOnlyCatalogAdmin):
    list_display = ["code", "text", "action", "asked_for", "position"]
    list_filter = ["action"]
    search_fields = ["code", "text", "source"]
    fields = ["code", "text", "action", "asked_for", "source", "position"]
    readonly_fields = fields

    @admin.display(description="regions")
    def asked_for(self, obj: ScreeningQuestion) -> str:
        return ", ".join(obj.regions) or "every intake"


@admin.register(OutcomeSign)
class OutcomeSignAdmin(ReadOnlyCatalogAdmin):
    list_display = ["code", "label", "severity", "position"]
    list_filter = ["severity"]
    search_fields = ["code", "label", "instruction", "source"]
    fields = ["code", "label", "severity", "instruction", "source", "position"]
    readonly_fields = fields
