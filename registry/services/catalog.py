"""Catalog changes that reach forward: a tightened rule re-checks the future bookings that
rest on it, in the same transaction (invariant 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.models import User
from protocols import services as catalog_services
from protocols.models import Condition, Protocol, ScreeningQuestion
from registry.models import Booking
from registry.services.rechecks import bookings_recheck, future_active_bookings


def condition_update(
    *, actor: User | None, condition: Condition, now: dt.datetime | None = None, **changes: Any
) -> tuple[catalog_services.ConditionUpdateResult, list[Booking]]:
    """Change a condition; when its requirements tighten, every future booking of a client with
    that condition is re-checked."""
    now = now or timezone.now()
    with transaction.atomic():
        result = catalog_services.condition_update(actor=actor, condition=condition, **changes)
        changed: list[Booking] = []
        if result.tightened:
            affected = future_active_bookings(now).filter(intake__conditions=result.condition)
            changed = bookings_recheck(
                actor=actor, bookings=Booking.objects.filter(pk__in=affected.values("pk")), now=now
            )
    return result, changed


def protocol_update(
    *, actor: User | None, protocol: Protocol, now: dt.datetime | None = None, **changes: Any
) -> tuple[catalog_services.ProtocolUpdateResult, list[Booking]]:
    """Change a protocol; when a rule tightens (a lower focus limit, another region), every
    future booking of a client with a condition naming the protocol is re-checked."""
    now = now or timezone.now()
    with transaction.atomic():
        result = catalog_services.protocol_update(actor=actor, protocol=protocol, **changes)
        changed: list[Booking] = []
        if result.tightened:
            affected = future_active_bookings(now).filter(
                intake__conditions__code__in=list(result.condition_codes)
            )
            changed = bookings_recheck(
                actor=actor, bookings=Booking.objects.filter(pk__in=affected.values("pk")), now=now
            )
    return result, changed


def screening_question_update(
    *, actor: User | None, question: ScreeningQuestion, now: dt.datetime | None = None, **changes: Any
) -> tuple[catalog_services.ScreeningQuestionUpdateResult, list[Booking]]:
    """Change a screening question; when it becomes more urgent, every future booking whose
    intake answered it yes is re-checked (a physician clearance does not clear an emergency)."""
    now = now or timezone.now()
    with transaction.atomic():
        result = catalog_services.screening_question_update(actor=actor, question=question, **changes)
        changed: list[Booking] = []
        if result.tightened:
            affected = future_active_bookings(now).filter(
                intake__screening__contains={result.question.code: True}
            )
            changed = bookings_recheck(actor=actor, bookings=affected, now=now)
    return result, changed
