"""Catalog changes that reach forward: a tightened rule re-checks the future bookings that
rest on it, in the same transaction (invariant 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import User
from credentials import services as credential_services
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
    """Change a protocol; when a rule tightens (a lower focus limit, another region, more
    supervised sessions), every future booking of a client with a condition naming the
    protocol is re-checked.

    Supervision starting (``supervised_sessions`` from 0 to N > 0) grandfathers the holders:
    every certification in the protocol issued before ``now`` (not revoked) is full from
    ``now`` (``credentials.services.certifications_scope_grandfather``), so the re-check finds
    none of their bookings newly refused; certifications issued from ``now`` on are
    provisional. Raising a positive N grandfathers nothing: full certifications stay full,
    provisional ones keep their count towards the new N. One transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        result = catalog_services.protocol_update(actor=actor, protocol=protocol, **changes)
        if result.supervision_started:
            credential_services.certifications_scope_grandfather(
                actor=actor,
                protocol=result.protocol,
                at=now,
                reason=(
                    f"{result.protocol.slug} now asks for {result.protocol.supervised_sessions} "
                    "supervised sessions; certifications issued before keep their full scope."
                ),
            )
        changed: list[Booking] = []
        if result.tightened:
            affected = future_active_bookings(now).filter(
                intake__conditions__code__in=list(result.condition_codes)
            )
            changed = bookings_recheck(
                actor=actor, bookings=Booking.objects.filter(pk__in=affected.values("pk")), now=now
            )
    return result, changed


def _not_answered_or_yes(code: str) -> Q:
    """Intakes that never answered the question, or answered it yes."""
    return ~Q(intake__screening__has_key=code) | Q(intake__screening__contains={code: True})


def screening_question_create(
    *, actor: User | None, now: dt.datetime | None = None, **fields: Any
) -> tuple[ScreeningQuestion, list[Booking]]:
    """Add a red-flag question. The future bookings whose intakes never asked it are re-checked:
    where it applies to the intake, the booking needs a new intake (``INTAKE_INCOMPLETE``)."""
    now = now or timezone.now()
    with transaction.atomic():
        question = catalog_services.screening_question_create(actor=actor, **fields)
        affected = future_active_bookings(now).filter(~Q(intake__screening__has_key=question.code))
        changed = bookings_recheck(actor=actor, bookings=affected, now=now)
    return question, changed


def screening_question_update(
    *, actor: User | None, question: ScreeningQuestion, now: dt.datetime | None = None, **changes: Any
) -> tuple[catalog_services.ScreeningQuestionUpdateResult, list[Booking]]:
    """Change a screening question; when it tightens — more urgent, or asked at more intakes —
    every future booking whose intake answered it yes (a physician clearance does not clear an
    emergency) or never answered it (a new intake is needed where it now applies) is re-checked."""
    now = now or timezone.now()
    with transaction.atomic():
        result = catalog_services.screening_question_update(actor=actor, question=question, **changes)
        changed: list[Booking] = []
        if result.tightened:
            affected = future_active_bookings(now).filter(_not_answered_or_yes(result.question.code))
            changed = bookings_recheck(actor=actor, bookings=affected, now=now)
    return result, changed
