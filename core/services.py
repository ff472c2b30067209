"""Writes of the core layer: the audit trail."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from core.db import insert_many, prepared_cursor
from core.models import AuditEvent, OutboxEvent, User

logger = logging.getLogger(__name__)


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


def audit_record_many(
    *,
    actor: User | None,
    events: list[tuple[str, models.Model, dict[str, Any] | None, dict[str, Any] | None]],
    reason: str = "",
) -> list[AuditEvent]:
    """``audit_record`` for many changed objects ``(action, obj, before, after)`` in one INSERT
    (an import's chunk). Call inside the change's transaction."""
    actor = actor if actor is not None and actor.pk else None
    rows = [
        AuditEvent(
            actor=actor,
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            before=before,
            after=after,
            reason=reason,
        )
        for action, obj, before, after in events
    ]
    insert_many(rows)
    return rows


# Called with an event id once the transaction that wrote it commits. A higher layer (the
# registry's delivery) registers here, so core needs to know nothing about receivers.
outbox_listeners: list[Callable[[str], None]] = []


def _notify_listeners(event_id: str) -> None:
    for listener in outbox_listeners:
        try:
            listener(event_id)
        except Exception:  # the broker may be down: the periodic sweep sends it later
            logger.warning("could not schedule delivery of event %s; the sweep will", event_id, exc_info=True)


def outbox_add(*, type: str, data: dict[str, Any], audience: list[str]) -> OutboxEvent:
    """Queue an event for delivery, in the caller's transaction (invariant 7). Delivery is
    scheduled on commit; a periodic sweep sends whatever is still undelivered, so nothing is
    lost when the broker or a receiver is down."""
    event = OutboxEvent.objects.create(type=type, data=data, audience=sorted(set(audience)))
    transaction.on_commit(partial(_notify_listeners, str(event.pk)))
    return event


_OUTBOX_MANY_SQL = """
INSERT INTO core_outboxevent (id, type, created_at, data, audience)
SELECT v.id, v.type, v.created_at, v.data,
       ARRAY(SELECT jsonb_array_elements_text(v.audience))::varchar(80)[]
  FROM unnest(%s::uuid[], %s::varchar(60)[], %s::timestamptz[], %s::jsonb[], %s::jsonb[])
       AS v(id, type, created_at, data, audience)
"""


def outbox_add_many(events: list[tuple[str, dict[str, Any], list[str]]]) -> list[OutboxEvent]:
    """``outbox_add`` for a batch ``(type, data, audience)`` in ONE INSERT whatever their number
    (each column sent as one array: a re-check can announce ten thousand bookings)."""
    rows = [
        OutboxEvent(type=type_, data=data, audience=sorted(set(audience)), created_at=timezone.now())
        for type_, data, audience in events
    ]
    if not rows:
        return rows
    with prepared_cursor() as cursor:
        cursor.execute(
            _OUTBOX_MANY_SQL,
            [
                [str(row.pk) for row in rows],
                [row.type for row in rows],
                [row.created_at for row in rows],
                [json.dumps(row.data, cls=DjangoJSONEncoder) for row in rows],
                [json.dumps(row.audience) for row in rows],
            ],
        )
    for row in rows:
        row._state.adding = False
        transaction.on_commit(partial(_notify_listeners, str(row.pk)))
    return rows
