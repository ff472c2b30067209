"""The booking gate: decide, then book or refuse — and keep the record either way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.db import insert_unless_conflict_then
from core.errors import Conflict, DomainError
from core.models import User
from core.retry import retry_on_conflict
from core.services import audit_record
from credentials.models import Certification, Therapist
from protocols.choices import BodyRegion, SignSeverity
from registry import eligibility, events, rls
from registry.choices import ACTIVE_BOOKING_STATUSES, BookingStatus, DecisionKind
from registry.eligibility import Reason, ReasonCode
from registry.models import Booking, Decision, Intake, SessionCertification, Spa
from registry.selectors import (
    eligibility_case,
    eligibility_case_at_spa,
    eligibility_check_facts,
    eligibility_facts_for_spa,
    eligibility_facts_for_therapist,
    eligibility_facts_for_therapists,
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
    condition_regions = getattr(intake, "condition_regions", None)  # annotated by a caller
    if condition_regions is None and focus_region is not None:
        condition_regions = [c.region for c in intake.conditions.all()]
    errors = _session_errors(
        start=start,
        duration_minutes=duration_minutes,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        intake_regions=set(intake.focus_regions) | set(condition_regions or ()),
    )
    if intake.spa_id != spa.pk:
        errors["intake"] = ["This intake does not exist."]
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


# the engine looks warning_days past a session's end, and reads its days in any timezone
_DAYS_AROUND = dt.timedelta(days=eligibility.Case.warning_days + 2)
_BODY_REGIONS = frozenset(BodyRegion.values)  # looked up per request; .values builds a list
NOT_THE_INTAKES_REGION = "The focus region must be one of the intake's regions or whole-body."


def _names_region(intake_regions: set[str] | frozenset[str], focus_region: str) -> bool:
    return focus_region == BodyRegion.WHOLE_BODY or focus_region in intake_regions


def _session_errors(
    *,
    start: dt.datetime,
    duration_minutes: int,
    focus_region: str | None,
    focus_minutes: int,
    intake_regions: set[str] | frozenset[str] | None,
) -> dict[str, list[str]]:
    """What is wrong with a session's time and focus, by field (``intake_regions`` ``None``: the
    intake is unknown, its regions are not checked)."""
    errors: dict[str, list[str]] = {}
    if timezone.is_naive(start):
        errors["start"] = ["Give the time with an offset (RFC 3339), e.g. 2026-05-01T10:00:00+02:00."]
    else:
        try:  # the session, and its local days in any timezone, must be representable times
            start - _DAYS_AROUND, start + dt.timedelta(minutes=max(duration_minutes, 0)) + _DAYS_AROUND
        except OverflowError:
            errors["start"] = ["The time is out of range."]
    if duration_minutes <= 0 or duration_minutes > 8 * 60:
        errors["duration_minutes"] = ["The session length is 1 to 480 minutes."]
    if focus_region is None:
        if focus_minutes:
            errors["focus_minutes"] = ["Focus minutes need a focus region."]
    elif focus_region not in _BODY_REGIONS:
        errors["focus_region"] = [f"Unknown body region '{focus_region}'."]
    elif intake_regions is not None and not _names_region(intake_regions, focus_region):
        errors["focus_region"] = [NOT_THE_INTAKES_REGION]
    if focus_minutes < 0:
        errors["focus_minutes"] = ["Focus minutes cannot be negative."]
    elif duration_minutes > 0 and focus_minutes > duration_minutes:
        errors["focus_minutes"] = ["Focus minutes cannot exceed the session length."]
    return errors


def _case_record(slot: Slot, therapist_id: Any, supervision: Supervision | None = None) -> dict[str, Any]:
    record = {
        "spa": str(slot.spa.pk),
        "therapist": str(therapist_id),
        "intake": str(slot.intake.pk),
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "focus_region": slot.focus_region,
        "focus_minutes": slot.focus_minutes,
    }
    if supervision is not None:  # issue 23: who supervised, and what was provisional, at decision time
        record["supervisor"] = supervision.supervisor_id
        record["provisional"] = supervision.provisional
    return record


@dataclass(frozen=True)
class Supervision:
    """What a decision's log entry records of supervision (issue 23): the supervisor named (or
    None) and the provisional certifications the session rests on, with their counts."""

    supervisor_id: str | None
    provisional: list[dict[str, Any]]

    @classmethod
    def of(cls, facts: eligibility.TherapistFacts, case: eligibility.Case) -> Supervision | None:
        """None when there is nothing to record (no supervisor named, nothing provisional)."""
        provisional = eligibility.provisional_certifications(facts, case)
        if case.supervisor is None and not provisional:
            return None
        return cls(
            supervisor_id=case.supervisor.therapist_id if case.supervisor is not None else None,
            provisional=[
                {
                    "certification": c.id,
                    "protocol": c.protocol,
                    "supervised_sessions_done": c.supervised_done,
                    "supervised_sessions": case.protocols[c.protocol].supervised_sessions,
                }
                for c in provisional
            ],
        )


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
    supervision: Supervision | None = None,
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
        case=_case_record(slot, therapist_id, supervision),
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
    change that commits first is seen by the decision that waits for it (its own statement,
    after the locks, reads a fresh snapshot).

    One statement (issue 24): the two locking sub-selects of a UNION ALL run in order — the
    therapist row, then the certifications by id — exactly as the two statements did."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [str(therapist_id), str(therapist_id)])
        cursor.fetchall()


_LOCK_SQL = """
SELECT t.id FROM (SELECT id FROM credentials_therapist WHERE id = %s::uuid FOR UPDATE) AS t
UNION ALL
SELECT c.id FROM (
    SELECT id FROM credentials_certification WHERE therapist_id = %s::uuid ORDER BY id FOR UPDATE
) AS c
"""


def _facts_and_case(
    slot: Slot, therapist_id: Any, *, booking_id: Any = None
) -> tuple[eligibility.TherapistFacts, eligibility.Case]:
    """The therapist's facts over the slot and the slot's case, as they stand (two queries)."""
    facts = eligibility_facts_for_therapist(therapist_id=therapist_id, window=(slot.start, slot.end))
    case = eligibility_case(
        intake=slot.intake,
        start=slot.start,
        end=slot.end,
        focus_region=slot.focus_region,
        focus_minutes=slot.focus_minutes,
        booking_id=str(booking_id) if booking_id else None,
    )
    return facts, case


def eligibility_decide(slot: Slot, therapist_id: Any, *, booking_id: Any = None) -> eligibility.Decision:
    """May this therapist take this slot? The engine on the facts and case as they stand;
    records nothing (the eligibility check, and every booking attempt before it books)."""
    return _decided(slot, therapist_id, booking_id=booking_id)[0]


def _decided(
    slot: Slot, therapist_id: Any, *, booking_id: Any = None, supervisor_id: Any = None
) -> tuple[eligibility.Decision, Supervision | None]:
    """``eligibility_decide`` with a supervisor named (their facts: one more query), and what
    the decision log records of supervision."""
    # One statement for the case and the facts, as the eligibility check reads them (issue 24;
    # the same case as ``eligibility_case``'s: tests/api/test_catalog_copy.py). A slot's intake
    # is its spa's (``slot_validate``).
    case, facts = eligibility_check_facts(
        spa_id=slot.spa.pk,
        intake_id=slot.intake.pk,
        therapist_id=therapist_id,
        start=slot.start,
        end=slot.end,
        focus_region=slot.focus_region,
        focus_minutes=slot.focus_minutes,
    )
    if case is None:
        raise Intake.DoesNotExist(f"No intake {slot.intake.pk} at spa {slot.spa.pk}.")
    if facts is None:
        raise Therapist.DoesNotExist(f"No therapist {therapist_id}.")
    if booking_id:
        case = replace(case, booking_id=str(booking_id))
    if supervisor_id is not None:
        case = replace(
            case,
            supervisor=eligibility_facts_for_therapist(
                therapist_id=supervisor_id, window=(slot.start, slot.end)
            ),
        )
    return eligibility.decide(facts, case), Supervision.of(facts, case)


def _supervisor_unavailable(
    result: eligibility.Decision, name: str, supervisor: Therapist
) -> eligibility.Decision:
    reason = Reason(
        code=ReasonCode.SUPERVISOR_UNAVAILABLE,
        message=f"{name} or {supervisor.name} is already treating or supervising a session at this time.",
        supervisor=str(supervisor.pk),
    )
    return replace(result, allowed=False, reasons=(*result.reasons, reason))


def _supervisor_booked(result: eligibility.Decision) -> bool:
    """A named supervisor is booked with the session unless the engine found none needed."""
    return not any(w.code == ReasonCode.SUPERVISOR_NOT_NEEDED for w in result.warnings)


def _unavailable(result: eligibility.Decision, name: str) -> eligibility.Decision:
    reason = Reason(
        code=ReasonCode.THERAPIST_UNAVAILABLE,
        message=f"{name} already has a booking at this time.",
    )
    return replace(result, allowed=False, reasons=(*result.reasons, reason))


def _confirmed_booking(
    *,
    actor: User | None,
    therapist: Therapist,
    slot: Slot,
    result: eligibility.Decision,
    supervisor: Therapist | None = None,
) -> Booking:
    """The (unsaved) confirmed booking of an allowed decision."""
    return Booking(
        spa=slot.spa,
        therapist=therapist,
        supervisor=supervisor,
        intake=slot.intake,
        start=slot.start,
        end=slot.end,
        focus_region=slot.focus_region,
        focus_minutes=slot.focus_minutes,
        status=BookingStatus.CONFIRMED,
        warnings=_reasons(result.warnings),
        created_by=actor if actor is not None and actor.pk else None,
    )


def _accepted_or_refused(
    *,
    actor: User | None,
    slot: Slot,
    therapist: Therapist,
    booking: Booking,
    now: dt.datetime,
    accepted: eligibility.Decision,
    refused: eligibility.Decision,
    supervision: Supervision | None,
) -> list[Decision]:
    """The two decisions of a booking insert: the acceptance (the booking went in) and the
    refusal written instead when an exclusion constraint keeps it out."""
    return [
        decision_row(
            actor=actor,
            kind=DecisionKind.BOOKING,
            slot=slot,
            therapist_id=therapist.pk,
            result=outcome,
            booking=made,
            now=now,
            supervision=supervision,
        )
        for outcome, made in ((accepted, booking), (refused, None))
    ]


@retry_on_conflict()
def booking_create(
    *,
    actor: User | None,
    therapist: Therapist,
    slot: Slot,
    supervisor: Therapist | None = None,
    now: dt.datetime | None = None,
) -> BookingOutcome:
    """Book ``therapist`` for ``slot`` only if the engine allows it (invariant 1). The
    therapist and their certifications are locked first, so a revocation that commits first is
    seen. The exclusion constraint on the therapist's time range is the last guard: its
    violation is ``THERAPIST_UNAVAILABLE``, never an error. A refusal commits its decision
    record like an acceptance (invariant 8).

    A session resting on a provisional certification needs ``supervisor`` (issue 23): both
    therapists are locked, in id order (every path locks a therapist before deciding on them);
    the supervisor's slot is held too, by the slot-hold rows the database keeps for the
    booking, whose exclusion constraint is the last guard there (``SUPERVISOR_UNAVAILABLE``)."""
    now = now or timezone.now()
    if supervisor is not None:
        return _supervised_booking_create(
            actor=actor, therapist=therapist, slot=slot, supervisor=supervisor, now=now
        )
    with transaction.atomic():
        _lock_therapist(therapist.pk)
        result, supervision = _decided(slot, therapist.pk)
        booking = None
        if result.allowed:
            booking = _confirmed_booking(actor=actor, therapist=therapist, slot=slot, result=result)
            # Issue 24: the booking and its decision in ONE statement. The exclusion constraint
            # is the last guard: a row it refuses is not inserted (ON CONFLICT DO NOTHING, no
            # savepoint) and the refusal's decision is written instead of the acceptance's.
            refused = _unavailable(result, therapist.name)
            decisions = _accepted_or_refused(
                actor=actor,
                slot=slot,
                therapist=therapist,
                booking=booking,
                now=now,
                accepted=result,
                refused=refused,
                supervision=supervision,
            )
            if insert_unless_conflict_then(booking, then=tuple(decisions)):
                return BookingOutcome(booking=booking, decision=decisions[0], result=result)
            return BookingOutcome(booking=None, decision=decisions[1], result=refused)
        decision = decision_record(
            actor=actor,
            kind=DecisionKind.BOOKING,
            slot=slot,
            therapist_id=therapist.pk,
            result=result,
            booking=booking,
            now=now,
            supervision=supervision,
        )
    return BookingOutcome(booking=booking, decision=decision, result=result)


def _supervised_booking_create(
    *, actor: User | None, therapist: Therapist, slot: Slot, supervisor: Therapist, now: dt.datetime
) -> BookingOutcome:
    """``booking_create`` naming a supervisor: a few statements more than the unsupervised path
    (the second lock, the supervisor's facts, a savepoint around the insert)."""
    with transaction.atomic():
        for therapist_id in sorted({str(therapist.pk), str(supervisor.pk)}):
            _lock_therapist(therapist_id)
        result, supervision = _decided(slot, therapist.pk, supervisor_id=supervisor.pk)
        booking = None
        if result.allowed:
            booking = _confirmed_booking(
                actor=actor,
                therapist=therapist,
                slot=slot,
                result=result,
                supervisor=supervisor if _supervisor_booked(result) else None,
            )
            decisions = _accepted_or_refused(
                actor=actor,
                slot=slot,
                therapist=therapist,
                booking=booking,
                now=now,
                accepted=result,
                refused=_unavailable(result, therapist.name),
                supervision=supervision,
            )
            try:
                with transaction.atomic():
                    inserted = insert_unless_conflict_then(booking, then=tuple(decisions))
            except IntegrityError:  # a slot hold: the supervisor (or the therapist) is busy
                result = _supervisor_unavailable(result, therapist.name, supervisor)
                booking = None
            else:
                if inserted:
                    return BookingOutcome(booking=booking, decision=decisions[0], result=result)
                return BookingOutcome(
                    booking=None, decision=decisions[1], result=_unavailable(result, therapist.name)
                )
        decision = decision_record(
            actor=actor,
            kind=DecisionKind.BOOKING,
            slot=slot,
            therapist_id=therapist.pk,
            result=result,
            booking=booking,
            now=now,
            supervision=supervision,
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
    """A confirmed booking is completed once its session has started. The certifications the
    session rested on are recorded with it (``session_certifications_record``): the safety
    record counts the session under their protocols."""
    now = now or timezone.now()
    booking, rows = booking_complete_uncounted(booking=booking, now=now)
    if booking.supervisor_id is not None:
        certifications_supervised_count(actor=actor, certifications=[r.certification for r in rows], now=now)
    return booking


def booking_complete_uncounted(
    *, booking: Booking, now: dt.datetime
) -> tuple[Booking, list[SessionCertification]]:
    """``booking_complete`` without counting supervised sessions: for a caller that records
    something the count depends on first (the session's outcome and its adverse event) and
    then counts (``certifications_supervised_count``). Call inside a transaction."""
    booking = _locked_booking(booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(f"A {booking.status} booking cannot be completed.")
    if booking.start > now:
        raise Conflict("A booking cannot be completed before its session starts.")
    booking.status = BookingStatus.COMPLETED
    booking.save(update_fields=["status", "updated_at"])
    return booking, session_certifications_record(booking=booking, now=now)


# the adverse events that keep a supervised session from counting (the outcomes issue)
NOT_COUNTED_SEVERITIES = (SignSeverity.MODERATE, SignSeverity.SERIOUS)


def certifications_supervised_count(
    *,
    actor: User | None,
    certifications: list[Certification],
    now: dt.datetime,
    recount_full: frozenset[Any] = frozenset(),
) -> list[Certification]:
    """Count again, for each provisional certification among ``certifications``, its completed
    supervised sessions with no moderate or serious adverse event; write the count (audited)
    and, once it reaches the protocol's ``supervised_sessions``, make the certification full
    (``scope_full_at``, audited, ``certification.scope_full`` to its school and the spas
    employing the therapist). A certification flagged for registry review is not made full
    until the review keeps it: an adverse event never resets the count silently. Derived here,
    in the transaction of the completion (or of the adverse event), never by a scheduled job.
    Returns the certifications made full.

    ``recount_full``: ids of full certifications among ``certifications`` that were made full by
    this count (not attested, not grandfathered) and whose count a moderate or serious event
    has just lowered: counted again, and below the protocol's number they are provisional again
    (``scope_full_at`` cleared, audited ``certification.scope_provisional``)."""
    ids = [c.pk for c in certifications]
    if not ids:
        return []
    provisional = list(
        Certification.objects.select_for_update(of=("self",))
        .select_related("protocol")
        .filter(pk__in=ids, protocol__supervised_sessions__gt=0)
        .filter(Q(scope_full_at__isnull=True) | Q(pk__in=list(recount_full)))
        .order_by("pk")
    )
    if not provisional:
        return []
    # the therapist's sessions at every spa count, whichever spa's staff completes this one
    with rls.system_scope():
        counted = dict(
            SessionCertification.objects.filter(
                certification__in=provisional,
                booking__status=BookingStatus.COMPLETED,
                booking__supervisor__isnull=False,
            )
            .exclude(booking__adverse_events__severity__in=NOT_COUNTED_SEVERITIES)
            .values("certification")
            .annotate(n=Count("booking", distinct=True))
            .values_list("certification", "n")
        )
    made_full = []
    for cert in provisional:
        done = counted.get(cert.pk, 0)
        needed = cert.protocol.supervised_sessions
        fields: dict[str, Any] = {}
        if done != cert.supervised_sessions_done:
            fields["supervised_sessions_done"] = done
        if cert.scope_full_at is not None:  # a promotion by counting, its count lowered by harm
            if done < needed:
                fields["scope_full_at"] = None
            if fields:
                _promotion_withdrawn(actor=actor, cert=cert, fields=fields, done=done, needed=needed)
            continue
        full = done >= needed and not cert.review_required
        if full:
            fields["scope_full_at"] = now
        if not fields:
            continue
        before = {name: getattr(cert, name) for name in fields}
        for name, value in fields.items():
            setattr(cert, name, value)
        cert.save(update_fields=list(fields))
        audit_record(
            actor=actor,
            action="certification.scope_full" if full else "certification.supervised_count",
            obj=cert,
            before=before,
            after={**fields, "supervised_sessions": needed},
            reason=(
                f"{done} of {needed} supervised sessions completed with no moderate or serious adverse event"
            ),
        )
        if full:
            events.certification_event(
                "certification.scope_full",
                cert,
                reason=f"{done} of {needed} supervised sessions completed; the scope is full.",
            )
            made_full.append(cert)
    return made_full


def _promotion_withdrawn(
    *, actor: User | None, cert: Certification, fields: dict[str, Any], done: int, needed: int
) -> None:
    before = {name: getattr(cert, name) for name in fields}
    for name, value in fields.items():
        setattr(cert, name, value)
    cert.save(update_fields=list(fields))
    provisional_again = "scope_full_at" in fields
    audit_record(
        actor=actor,
        action="certification.scope_provisional" if provisional_again else "certification.supervised_count",
        obj=cert,
        before=before,
        after={**fields, "supervised_sessions": needed},
        reason=(
            f"A moderate or serious adverse event on a supervised session that counted: {done} of "
            f"{needed} supervised sessions now count"
            + ("; the certification is provisional again." if provisional_again else ".")
        ),
    )


def session_certifications_record(*, booking: Booking, now: dt.datetime) -> list[SessionCertification]:
    """The certifications a completed session rested on — ``eligibility.certifications_relied_on``
    on the therapist's facts and the case of the session's slot — written once (a second call
    adds nothing) and returned with their protocols. Call inside the completion's transaction.
    Four queries."""
    facts, case = _facts_and_case(slot_of(booking), booking.therapist_id, booking_id=booking.pk)
    relied = [c.id for c in eligibility.certifications_relied_on(facts, case)]
    protocols = {
        str(pk): protocol_id
        for pk, protocol_id in Certification.objects.filter(pk__in=relied).values_list("pk", "protocol_id")
    }
    SessionCertification.objects.bulk_create(
        [
            SessionCertification(
                booking=booking, certification_id=pk, protocol_id=protocols[pk], recorded_at=now
            )
            for pk in relied
            if pk in protocols
        ],
        ignore_conflicts=True,
    )
    return list(
        SessionCertification.objects.filter(booking=booking)
        .select_related("certification", "protocol")
        .order_by("id")
    )


class _Kept(Enum):
    SUPERVISOR = "the booking's current supervisor"


# ``booking_reassign``'s default: the booking's supervisor when the therapist is unchanged (none
# when the therapist changes); ``None`` says "no supervisor" explicitly.
KEEP_SUPERVISOR: Final = _Kept.SUPERVISOR


@retry_on_conflict()
def booking_reassign(
    *,
    actor: User | None,
    booking: Booking,
    therapist: Therapist,
    supervisor: Therapist | Literal[_Kept.SUPERVISOR] | None = KEEP_SUPERVISOR,
    now: dt.datetime | None = None,
) -> BookingOutcome:
    """Move a booking to another therapist (or keep the therapist with another ``supervisor``),
    decided like a new booking for the same intake and slot. Allowed: the booking is confirmed
    with the new therapist and supervisor (none unless the session needs one). Refused: the
    booking is unchanged, and the decision is recorded either way.

    ``supervisor`` not given (``KEEP_SUPERVISOR``): the therapist unchanged keeps the booking's
    current supervisor (as the locked row has it, not as ``booking`` was read); another
    therapist gets none, and the engine says ``SUPERVISION_REQUIRED`` if the session needs one.
    ``None``: no supervisor. Every therapist the decision rests on (the therapist and the
    supervisor used) is locked before deciding."""
    now = now or timezone.now()
    with transaction.atomic():
        people = {str(booking.therapist_id), str(therapist.pk)}
        if booking.supervisor_id is not None:
            people.add(str(booking.supervisor_id))
        if isinstance(supervisor, Therapist):
            people.add(str(supervisor.pk))
        for therapist_id in sorted(people):
            _lock_therapist(therapist_id)
        booking = _locked_booking(booking)
        if booking.status not in ACTIVE_BOOKING_STATUSES:
            raise Conflict(f"A {booking.status} booking cannot be reassigned.")
        if booking.start <= now:
            raise Conflict("A booking whose session has started cannot be reassigned.")
        if supervisor is KEEP_SUPERVISOR:
            # read from the locked row (the row the caller read may be stale)
            kept = booking.supervisor if booking.therapist_id == therapist.pk else None
            if kept is not None and str(kept.pk) not in people:
                # the supervisor changed since ``booking`` was read: lock the one the row names
                # now (after the booking, out of order: a deadlock this rare race may cause is
                # retried as a whole by ``retry_on_conflict``)
                _lock_therapist(kept.pk)
            supervisor = kept
        slot = slot_of(booking)
        # the booking's own holds do not collide with it, whoever treats or supervises it now
        result, supervision = _decided(
            slot,
            therapist.pk,
            booking_id=booking.pk,
            supervisor_id=supervisor.pk if supervisor is not None else None,
        )
        if result.allowed:
            try:
                with transaction.atomic():
                    booking.therapist = therapist
                    booking.supervisor = (
                        supervisor if supervisor is not None and _supervisor_booked(result) else None
                    )
                    booking.status = BookingStatus.CONFIRMED
                    booking.reasons = []
                    booking.warnings = _reasons(result.warnings)
                    booking.suggested_therapists = []
                    booking.save()
            except IntegrityError:
                booking.refresh_from_db()
                result = (
                    _unavailable(result, therapist.name)
                    if supervisor is None
                    else _supervisor_unavailable(result, therapist.name, supervisor)
                )
        decision = decision_record(
            actor=actor,
            kind=DecisionKind.REASSIGNMENT,
            slot=slot,
            therapist_id=therapist.pk,
            result=result,
            booking=booking,
            now=now,
            supervision=supervision,
        )
    return BookingOutcome(booking=booking if result.allowed else None, decision=decision, result=result)


@dataclass(frozen=True)
class Candidate:
    therapist_id: str
    name: str
    result: eligibility.Decision
    # issue 23: the session would rest on a provisional certification, and who could supervise
    # it (id, name): the spa's therapists qualified and free in the slot
    provisional: bool = False
    supervisors: tuple[tuple[str, str], ...] = ()

    @property
    def needs_only_a_supervisor(self) -> bool:
        """Refused only for want of a supervisor (every reason ``SUPERVISION_REQUIRED``): named
        with one of ``supervisors``, the session would be allowed. The pages offer a picker then."""
        reasons = self.result.reasons
        return (
            self.provisional
            and bool(reasons)
            and all(r.code == ReasonCode.SUPERVISION_REQUIRED for r in reasons)
        )


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
    return _candidates(case)


def _candidates(case: eligibility.Case) -> list[Candidate]:
    """Every therapist employed at the case's spa, decided: allowed first, then by name. One
    query."""
    staff = eligibility_facts_for_spa(
        spa_id=case.spa_id, window=(case.start, case.end), spa_timezone=case.spa_timezone
    )
    candidates = []
    for facts in staff:
        provisional = bool(eligibility.provisional_certifications(facts, case))
        supervisors = eligibility.qualified_supervisors(facts, case, staff) if provisional else []
        candidates.append(
            Candidate(
                therapist_id=facts.therapist_id,
                name=facts.name,
                result=eligibility.decide(facts, case),
                provisional=provisional,
                supervisors=tuple((s.therapist_id, s.name) for s in supervisors),
            )
        )
    candidates.sort(key=lambda c: (not c.result.allowed, c.name, c.therapist_id))
    return candidates


# --- the eligibility check and search, by ids ------------------------------------------------------
#
# The API's check and search name the intake and the therapist by id. Resolving those into
# models first costs more than deciding (a query each, with the tenancy filter); here they are
# resolved by the statements that load the case and the facts anyway (one for a check), and a
# foreign id is answered exactly like a missing one.

# worded like the API's relation fields, so that a client sees one message for an unknown id
UNKNOWN_ID = 'Invalid pk "{}" - object does not exist.'


def _session_start_errors(
    *, start: dt.datetime, duration_minutes: int, focus_region: str | None, focus_minutes: int
) -> dict[str, list[str]]:
    """What is wrong with a session before its intake is read; a DomainError when there is no
    session to read anything for (no time, no length)."""
    errors = _session_errors(
        start=start,
        duration_minutes=duration_minutes,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        intake_regions=None,
    )
    if errors.keys() & {"start", "duration_minutes"}:
        raise DomainError("The request has invalid fields.", errors=errors)
    return errors


def _intake_errors(
    case: eligibility.Case | None, *, intake_id: Any, focus_region: str | None, errors: dict[str, list[str]]
) -> None:
    """The intake is the spa's (a case was found), and names the focus region."""
    if case is None:
        errors["intake"] = [UNKNOWN_ID.format(intake_id)]
    elif (
        focus_region is not None
        and "focus_region" not in errors  # a known region
        and not _names_region(case.intake_regions, focus_region)
    ):
        errors["focus_region"] = [NOT_THE_INTAKES_REGION]


def eligibility_check(
    *,
    spa: Spa,
    therapist_id: Any,
    intake_id: Any,
    start: dt.datetime,
    duration_minutes: int,
    focus_region: str | None,
    focus_minutes: int,
    supervisor_id: Any = None,
) -> eligibility.Decision:
    """May this therapist take this session at the spa? ``eligibility_decide`` by ids: the spa
    asks about its own intakes and the therapists it employs (an employment not ended by its
    today, as the API's tenancy has it); any other id is unknown, as if it did not exist.
    Nothing is recorded. One query, whatever the size of the registry; one more with a
    ``supervisor_id`` (issue 23), who must be employed at the spa in the same sense."""
    errors = _session_start_errors(
        start=start, duration_minutes=duration_minutes, focus_region=focus_region, focus_minutes=focus_minutes
    )
    case, facts = eligibility_check_facts(
        spa_id=spa.pk,
        intake_id=intake_id,
        therapist_id=therapist_id,
        start=start,
        end=start + dt.timedelta(minutes=duration_minutes),
        focus_region=focus_region,
        focus_minutes=focus_minutes,
    )
    _intake_errors(case, intake_id=intake_id, focus_region=focus_region, errors=errors)
    today = timezone.now().astimezone(ZoneInfo(spa.timezone)).date()
    if facts is None or not facts.employed_at(str(spa.pk), today):
        errors["therapist"] = [UNKNOWN_ID.format(therapist_id)]
    supervisor = None
    if supervisor_id is not None:
        supervisor = eligibility_facts_for_therapists(
            therapist_ids=[supervisor_id], window=(start, start + dt.timedelta(minutes=duration_minutes))
        ).get(str(supervisor_id))
        if supervisor is None or not supervisor.employed_at(str(spa.pk), today):
            errors["supervisor"] = [UNKNOWN_ID.format(supervisor_id)]
    if errors or case is None or facts is None:
        raise DomainError("The request has invalid fields.", errors=errors)
    if supervisor is not None:
        case = replace(case, supervisor=supervisor)
    return eligibility.decide(facts, case)


def eligibility_search(
    *,
    spa: Spa,
    intake_id: Any,
    start: dt.datetime,
    duration_minutes: int,
    focus_region: str | None,
    focus_minutes: int,
) -> list[Candidate]:
    """``eligible_therapists`` by intake id: every therapist employed at the spa, decided for
    the session on one of the spa's intakes, allowed first, then by name. Two queries (the case,
    the facts), whatever the number of therapists."""
    errors = _session_start_errors(
        start=start, duration_minutes=duration_minutes, focus_region=focus_region, focus_minutes=focus_minutes
    )
    case = eligibility_case_at_spa(
        intake_id=intake_id,
        spa_id=spa.pk,
        start=start,
        end=start + dt.timedelta(minutes=duration_minutes),
        focus_region=focus_region,
        focus_minutes=focus_minutes,
    )
    _intake_errors(case, intake_id=intake_id, focus_region=focus_region, errors=errors)
    if errors or case is None:
        raise DomainError("The request has invalid fields.", errors=errors)
    return _candidates(case)
