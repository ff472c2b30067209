"""Writes of the core layer: the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import models

from core.models import AuditEvent, OutboxEvent, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit event for one changed object. Call inside the change's transaction,
    so the change and its record commit or roll back together."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        before=before,
        after=after,
        reason=reason,
    )


def outbox_add(*, type: str, data: dict[str, Any], audience: list[str]) -> OutboxEvent:
    """Queue an event for delivery, in the caller's transaction. Delivery is scheduled on
    commit; a periodic sweep re-sends whatever is still undelivered."""
    event = OutboxEvent.objects.create(type=type, data=data, audience=sorted(set(audience)))
    return event
