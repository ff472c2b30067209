"""The booking gate: decide, then book or refuse — and keep the record either way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import User
from core.retry import retry_on_conflict
from credentials.models import Certification, Therapist
from protocols.choices import BodyRegion
from registry import eligibility
from registry.choices import ACTIVE_BOOKING_STATUSES, BookingStatus, DecisionKind
from registry.eligibility import Reason, ReasonCode
from registry.models import Booking, Decision, Intake, Spa
from registry.selectors import (
    eligibility_case,
    eligibility_facts_for_spa,
    eligibility_facts_for_therapist,
)


@dataclass(frozen=True)
class Slot:
    """The session asked for: who is treated (intake), when, and how much focused work."""

    spa: Spa
    intake: Intake
    start: dt.datetime
    end: dt.datetime
    focus_region: str | None
    focus_minutes: int


@dataclass(frozen=True)
class BookingOutcome:
    """A booking attempt's result: the booking (None when refused) and the decision record,
    which commits either way (a refusal is a result, not a rollback)."""

    booking: Booking | None
    decision: Decision
    result: eligibility.Decision

    @property
    def allowed(self) -> bool:
        return self.result.allowed


def slot_validate(
    *,
    spa: Spa,
    intake: Intake,
    start: dt.datetime,
    duration_minutes: int,
    focus_region: str | None,
    focus_minutes: int,
) -> Slot:
    """Input a decision cannot be made on at all: a naive time, an intake of another spa, a
    focus region the intake does not name, more focus minutes than the session."""
    errors: dict[str, list[str]] = {}
    if timezone.is_naive(start):
        errors["start"] = ["Give the time with an offset (RFC 3339), e.g. 2026-05-01T10:00:00+02:00."]
    if duration_minutes <= 0 or duration_minutes > 8 * 60:
        errors["duration_minutes"] = ["The session length is 1 to 480 minutes."]
    if intake.spa_id != spa.pk:
        errors["intake"] = ["This intake does not exist."]
    if focus_region is None:
        if focus_minutes:
            errors["focus_minutes"] = ["Focus minutes need a focus region."]
    else:
        condition_regions = getattr(intake, "condition_regions", None)  # annotated by a caller
        if condition_regions is None:
            condition_regions = [c.region for c in intake.conditions.all()]
        regions = set(intake.focus_regions) | set(condition_regions)
        if focus_region not in BodyRegion.values:
            errors["focus_region"] = [f"Unknown body region '{focus_region}'."]
        elif focus_region != BodyRegion.WHOLE_BODY and focus_region not in regions:
            errors["focus_region"] = ["The focus region must be one of the intake's regions or whole-body."]
    if focus_minutes < 0:
        errors["focus_minutes"] = ["Focus minutes cannot be negative."]
    elif duration_minutes > 0 and focus_minutes > duration_minutes:
        errors["focus_minutes"] = ["Focus minutes cannot exceed the session length."]
    if errors:
        raise DomainError("The booking request has invalid fields.", errors=errors)
    return Slot(
        spa=spa,
        intake=intake,
        start=start,
        end=start + dt.timedelta(minutes=duration_minutes),
        focus_region=focus_region,
        focus_minutes=focus_minutes,
    )


def _case_record(slot: Slot, therapist_id: Any) -> dict[str, Any]:
    return {
        "spa": str(slot.spa.pk),
        "therapist": str(therapist_id),
        "intake": str(slot.intake.pk),
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "focus_region": slot.focus_region,
        "focus_minutes": slot.focus_minutes,
    }


def _reasons(reasons: tuple[Reason, ...]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reasons]


def decision_row(
    *,
    actor: User | None,
    kind: str,
    slot: Slot,
    therapist_id: Any,
    result: eligibility.Decision,
    booking: Booking | None,
    now: dt.datetime,
) -> Decision:
    """An unsaved decision record (re-checks insert theirs in bulk)."""
    return Decision(
        made_at=now,
        made_by=actor if actor is not None and actor.pk else None,
        kind=kind,
        spa=slot.spa,
        therapist_id=therapist_id,
        intake=slot.intake,
        booking=booking,
        case=_case_record(slot, therapist_id),
        allowed=result.allowed,
        reasons=_reasons(result.reasons),
        warnings=_reasons(result.warnings),
    )


def decision_record(**kwargs: Any) -> Decision:
    """Append one decision to the log (see ``decision_row``)."""
    decision = decision_row(**kwargs)
    decision.save(force_insert=True)
    return decision


def _lock_therapist(therapist_id: Any) -> None:
    """Every use case that changes what a booking rests on, and every booking, locks the
    therapist row first (then the certifications): one consistent order, no deadlock, and a
    change that commits first is seen by the decision that waits for it."""
    Therapist.objects.select_for_update().filter(pk=therapist_id).values_list("pk", flat=True).first()
    list(
        Certification.objects.select_for_update()
        .filter(therapist_id=therapist_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def eligibility_decide(slot: Slot, therapist_id: Any, *, booking_id: Any = None) -> eligibility.Decision:
    """May this therapist take this slot? The engine on the facts and case as they stand;
    records nothing (the eligibility check, and every booking attempt before it books)."""
    facts = eligibility_facts_for_therapist(therapist_id=therapist_id, window=(slot.start, slot.end))
    case = eligibility_case(
        intake=slot.intake,
        start=slot.start,
        end=slot.end,
        focus_region=slot.focus_region,
        focus_minutes=slot.focus_minutes,
        booking_id=str(booking_id) if booking_id else None,
    )
    return eligibility.decide(facts, case)


def _unavailable(result: eligibility.Decision, name: str) -> eligibility.Decision:
    reason = Reason(
        code=ReasonCode.THERAPIST_UNAVAILABLE,
        message=f"{name} already has a booking at this time.",
    )
    return replace(result, allowed=False, reasons=(*result.reasons, reason))


@retry_on_conflict()
def booking_create(
    *, actor: User | None, therapist: Therapist, slot: Slot, now: dt.datetime | None = None
) -> BookingOutcome:
    """Book ``therapist`` for ``slot`` only if the engine allows it (invariant 1). The
    therapist and their certifications are locked first, so a revocation that commits first is
    seen. The exclusion constraint on the therapist's time range is the last guard: its
    violation is ``THERAPIST_UNAVAILABLE``, never an error. A refusal commits its decision
    record like an acceptance (invariant 8)."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_therapist(therapist.pk)
        result = eligibility_decide(slot, therapist.pk)
        booking = None
        if result.allowed:
            try:
                with transaction.atomic():
                    booking = Booking.objects.create(
                        spa=slot.spa,
                        therapist=therapist,
                        intake=slot.intake,
                        start=slot.start,
                        end=slot.end,
                        focus_region=slot.focus_region,
                        focus_minutes=slot.focus_minutes,
                        status=BookingStatus.CONFIRMED,
                        warnings=_reasons(result.warnings),
                        created_by=actor if actor is not None and actor.pk else None,
                    )
            except IntegrityError:
                result = _unavailable(result, therapist.name)
                booking = None
        decision = decision_record(
            actor=actor,
            kind=DecisionKind.BOOKING,
            slot=slot,
            therapist_id=therapist.pk,
            result=result,
            booking=booking,
            now=now,
        )
    return BookingOutcome(booking=booking, decision=decision, result=result)


def slot_of(booking: Booking) -> Slot:
    return Slot(
        spa=booking.spa,
        intake=booking.intake,
        start=booking.start,
        end=booking.end,
        focus_region=booking.focus_region,
        focus_minutes=booking.focus_minutes,
    )


def _locked_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("spa", "intake", "therapist").get(pk=booking.pk)


@transaction.atomic
def booking_cancel(*, actor: User | None, booking: Booking) -> Booking:
    """A confirmed or needs-reassignment booking can be cancelled; it frees the slot."""
    booking = _locked_booking(booking)
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        raise Conflict(f"A {booking.status} booking cannot be cancelled.")
    booking.status = BookingStatus.CANCELLED
    booking.save(update_fields=["status", "updated_at"])
    return booking


@transaction.atomic
def booking_complete(*, actor: User | None, booking: Booking, now: dt.datetime | None = None) -> Booking:
    """A confirmed booking is completed once its session has started."""
    now = now or timezone.now()
    booking = _locked_booking(booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(f"A {booking.status} booking cannot be completed.")
    if booking.start > now:
        raise Conflict("A booking cannot be completed before its session starts.")
    booking.status = BookingStatus.COMPLETED
    booking.save(update_fields=["status", "updated_at"])
    return booking


@retry_on_conflict()
def booking_reassign(
    *, actor: User | None, booking: Booking, therapist: Therapist, now: dt.datetime | None = None
) -> BookingOutcome:
    """Move a booking to another therapist, decided like a new booking for the same intake and
    slot. Allowed: the booking is confirmed with the new therapist. Refused: the booking is
    unchanged, and the decision is recorded either way."""
    now = now or timezone.now()
    with transaction.atomic():
        for therapist_id in sorted([str(booking.therapist_id), str(therapist.pk)]):
            _lock_therapist(therapist_id)
        booking = _locked_booking(booking)
        if booking.status not in ACTIVE_BOOKING_STATUSES:
            raise Conflict(f"A {booking.status} booking cannot be reassigned.")
        if booking.start <= now:
            raise Conflict("A booking whose session has started cannot be reassigned.")
        slot = slot_of(booking)
        booking_id = booking.pk if therapist.pk == booking.therapist_id else None
        result = eligibility_decide(slot, therapist.pk, booking_id=booking_id)
        if result.allowed:
            try:
                with transaction.atomic():
                    booking.therapist = therapist
                    booking.status = BookingStatus.CONFIRMED
                    booking.reasons = []
                    booking.warnings = _reasons(result.warnings)
                    booking.suggested_therapists = []
                    booking.save()
            except IntegrityError:
                booking.refresh_from_db()
                result = _unavailable(result, therapist.name)
        decision = decision_record(
            actor=actor,
            kind=DecisionKind.REASSIGNMENT,
            slot=slot,
            therapist_id=therapist.pk,
            result=result,
            booking=booking,
            now=now,
        )
    return BookingOutcome(booking=booking if result.allowed else None, decision=decision, result=result)


@dataclass(frozen=True)
class Candidate:
    therapist_id: str
    name: str
    result: eligibility.Decision


def eligible_therapists(*, slot: Slot, exclude_booking_id: Any = None) -> list[Candidate]:
    """Every therapist employed at the spa, decided for ``slot``: allowed first, then by name.
    Facts for all of them load in a fixed number of queries."""
    case = eligibility_case(
        intake=slot.intake,
        start=slot.start,
        end=slot.end,
        focus_region=slot.focus_region,
        focus_minutes=slot.focus_minutes,
        booking_id=str(exclude_booking_id) if exclude_booking_id else None,
    )
    candidates = [
        Candidate(therapist_id=facts.therapist_id, name=facts.name, result=eligibility.decide(facts, case))
        for facts in eligibility_facts_for_spa(spa_id=slot.spa.pk, window=(slot.start, slot.end))
    ]
    candidates.sort(key=lambda c: (not c.result.allowed, c.name, c.therapist_id))
    return candidates
