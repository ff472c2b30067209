"""Admin for core records: users, and the audit trail (read-only: it is history)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from core.models import AuditEvent, User

# Audit events of these object types may hold client data (conditions, screening answers):
# the admin's pages never show their before/after (see API.md, "Client data").
CLIENT_DATA_OBJECT_TYPES = frozenset({"registry.intake", "registry.booking", "registry.decision"})


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin for ``core.User``; roles live in ``registry.Membership``."""


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, searchable; nobody adds, changes or deletes an event here (the
    database refuses UPDATE and DELETE anyway)."""

    list_display = ["at", "action", "object_type", "object_id", "actor"]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["action", "object_type", "object_id", "actor__username", "reason"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    fields = ["at", "actor", "action", "object_type", "object_id", "reason", "before_shown", "after_shown"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _shown(self, obj: AuditEvent, value: Any) -> Any:
        if obj.object_type in CLIENT_DATA_OBJECT_TYPES:
            return "(withheld: may hold client data)"
        return value

    @admin.display(description="before")
    def before_shown(self, obj: AuditEvent) -> Any:
        return self._shown(obj, obj.before)

    @admin.display(description="after")
    def after_shown(self, obj: AuditEvent) -> Any:
        return self._shown(obj, obj.after)
