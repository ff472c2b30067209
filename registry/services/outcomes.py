"""After the session: the outcome of a completed booking, adverse events, and what a serious one
sets off.

- ``session_outcome_record``: once per completed booking, within ``OUTCOME_WINDOW`` of the
  session's end, by the spa's staff or the assigned therapist: the pain score after the session
  (the intake's is the before) and every sign of the catalog (``protocols.OutcomeSign``)
  answered yes or no. A higher pain score than before adds ``pain-worse``. A ``moderate`` or
  ``serious`` worst sign raises an adverse event in the same transaction.
- ``booking_complete_with_outcome``: ``booking_complete`` and the outcome in one transaction
  (``POST /bookings/{id}/complete/`` with an ``outcome``): a refused outcome completes nothing.
- ``adverse_event_report``: a sign noticed later (hours or days after), with a narrative, by
  the spa, the therapist or a registry admin.
- ``adverse_event_record``: what both share, reusable by other use cases: the event linked to
  the booking, its therapist, the certifications the session rested on, its protocol, focus
  region and minutes; an audit event; ``adverse_event.reported`` to the registry, the spa and
  the issuing schools; and, for a ``serious`` one, the certifications flagged for registry review
  (``certification.review_required`` to their schools) — all in the caller's transaction.

The lock order is the booking gate's: the therapist, their certifications, then the booking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import User
from core.retry import retry_on_conflict
from core.services import audit_record
from protocols.choices import SEVERITY_RANK, SignSeverity
from protocols.models import OutcomeSign
from protocols.selectors import outcome_sign_list
from registry import events
from registry.choices import AdverseEventKind, BookingStatus, OutcomeSeverity
from registry.models import AdverseEvent, Booking, SessionCertification, SessionOutcome
from registry.services.bookings import (
    NOT_COUNTED_SEVERITIES,
    _lock_therapist,
    _locked_booking,
    booking_complete_uncounted,
    certifications_supervised_count,
    session_certifications_record,
)
from registry.services.credentials import certifications_flag_for_review

# An outcome is recorded within this long after the session ends; later, what was noticed is
# reported as an adverse event.
OUTCOME_WINDOW = dt.timedelta(hours=72)
# The sign a higher pain score after the session adds by itself.
PAIN_WORSE = "pain-worse"
NARRATIVE_MAX_LENGTH = 4000
# Severities that raise an adverse event when an outcome reports them.
RAISES_EVENT = frozenset({SignSeverity.MODERATE.value, SignSeverity.SERIOUS.value})


@dataclass(frozen=True)
class OutcomeResult:
    """A recorded outcome and the adverse event its signs raised (``None``: none did)."""

    outcome: SessionOutcome
    adverse_event: AdverseEvent | None


# --- signs, severities, advice ---------------------------------------------------------------------


def _catalog() -> dict[str, OutcomeSign]:
    return {sign.code: sign for sign in outcome_sign_list()}


def worst_severity(severities: Iterable[str]) -> str | None:
    """The most serious of ``severities`` (``None`` for none)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default=None)


def advice_for(codes: Iterable[str], catalog: Mapping[str, OutcomeSign]) -> list[dict[str, Any]]:
    """What the client is told for each sign present: serious first (the emergency instruction
    comes before anything else), then in asking order."""
    signs = [catalog[code] for code in dict.fromkeys(codes) if code in catalog]
    signs.sort(key=lambda s: (-SEVERITY_RANK.get(s.severity, 0), s.position, s.code))
    return [
        {"sign": s.code, "label": s.label, "severity": s.severity, "instruction": s.instruction}
        for s in signs
    ]


def _answers(signs: Any, catalog: Mapping[str, OutcomeSign], errors: dict[str, list[str]]) -> list[str]:
    """The signs answered yes, in asking order; every sign of the catalog must be answered true
    or false, and no other."""
    if not isinstance(signs, Mapping):
        errors["signs"] = ["Answer every sign: {sign_code: true|false}."]
        return []
    for code, answer in signs.items():
        if code not in catalog:
            errors[f"signs.{code}"] = [f"Unknown sign '{code}'."]
        elif not isinstance(answer, bool):
            errors[f"signs.{code}"] = ["Answer true or false."]
    for code in catalog:
        if code not in signs:
            errors[f"signs.{code}"] = ["Ask about this sign every time: answer true or false."]
    return [code for code in catalog if signs.get(code) is True]


def _pain(value: Any, errors: dict[str, list[str]]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        errors["pain_after"] = ["The pain score is a whole number from 0 to 10."]
        return 0
    return value


def _reported_signs(
    signs: Any, catalog: Mapping[str, OutcomeSign], errors: dict[str, list[str]]
) -> list[str]:
    """A later report's signs: at least one, each a sign of the catalog."""
    if isinstance(signs, str | bytes) or not isinstance(signs, Sequence) or not signs:
        errors["signs"] = ["Name at least one sign noticed."]
        return []
    for index, code in enumerate(signs):
        if not isinstance(code, str) or code not in catalog:
            errors[f"signs.{index}"] = [f"Unknown sign '{code}'."]
    return list(dict.fromkeys(code for code in signs if isinstance(code, str) and code in catalog))


# --- what a session rested on ---------------------------------------------------------------------


def session_certifications(booking: Booking, *, now: dt.datetime) -> list[SessionCertification]:
    """The certifications the completed session rested on, as recorded at completion (computed
    and recorded now for a booking completed before they were recorded)."""
    rows = list(
        SessionCertification.objects.filter(booking=booking)
        .select_related("certification", "protocol")
        .order_by("id")
    )
    return rows or session_certifications_record(booking=booking, now=now)


def _session_protocol(rows: list[SessionCertification], focus_region: str | None):
    """The protocol an event is filed under: the one on the session's focus region, else the
    first by slug (``None``: the session rested on no protocol)."""
    protocols = sorted({row.protocol.slug: row.protocol for row in rows}.values(), key=lambda p: p.slug)
    on_region = [p for p in protocols if p.region == focus_region]
    return (on_region or protocols or [None])[0]


# --- the use cases --------------------------------------------------------------------------------


def adverse_event_record(
    *,
    actor: User | None,
    booking: Booking,
    kind: str,
    signs: list[str],
    catalog: Mapping[str, OutcomeSign],
    narrative: str = "",
    outcome: SessionOutcome | None = None,
    now: dt.datetime,
) -> AdverseEvent:
    """Record an adverse event on a completed session: its severity is its worst sign's; it is
    linked to the booking, the therapist, the certifications the session rested on, the
    session's protocol, focus region and minutes. The registry, the spa and the issuing schools
    are told (``adverse_event.reported``, no client data); a ``serious`` one flags those
    certifications for registry review, their schools told (``certification.review_required``).
    Call inside a transaction holding the therapist's lock (the booking gate's order)."""
    rows = session_certifications(booking, now=now)
    certifications = [row.certification for row in rows]
    protocol = _session_protocol(rows, booking.focus_region)
    severity = worst_severity(catalog[code].severity for code in signs) or SignSeverity.MILD
    event = AdverseEvent.objects.create(
        booking=booking,
        outcome=outcome,
        kind=kind,
        severity=severity,
        signs=signs,
        advice=advice_for(signs, catalog),
        narrative=narrative,
        therapist_id=booking.therapist_id,
        protocol=protocol,
        focus_region=booking.focus_region,
        focus_minutes=booking.focus_minutes,
        reported_at=now,
        reported_by=actor if actor is not None and actor.pk else None,
    )
    event.certifications.set(certifications)
    audit_record(
        actor=actor,
        action="adverse_event.reported",
        obj=event,
        after={
            "booking": str(booking.pk),
            "kind": kind,
            "severity": severity,
            "signs": signs,
            "therapist": str(booking.therapist_id),
            "protocol": protocol.slug if protocol else None,
            "certifications": [str(c.pk) for c in certifications],
        },
    )
    events.adverse_event_reported(
        event, certifications=certifications, protocol_slug=protocol.slug if protocol else None
    )
    if severity == SignSeverity.SERIOUS and certifications:
        where = (
            f"{booking.focus_region}, {booking.focus_minutes} focus minutes"
            if booking.focus_region
            else "no focus"
        )
        certifications_flag_for_review(
            actor=actor,
            certifications=certifications,
            reason=(
                f"Serious adverse event {event.pk} after a session on {booking.end:%Y-%m-%d} "
                f"({protocol.slug if protocol else 'no protocol'}, {where})."
            ),
        )
    if booking.supervisor_id is not None and severity in NOT_COUNTED_SEVERITIES:
        _supervised_session_harmed(actor=actor, booking=booking, event=event, rows=rows, now=now)
    return event


def _counted_towards_promotion(row: SessionCertification) -> bool:
    """The session counted towards its certification's full scope, which the count made (not
    an attestation, not grandfathering: neither reaches the protocol's number by counting): the
    certification is full, its count reached the number, and the session was completed (its
    certifications recorded) by the time it became full."""
    cert = row.certification
    return (
        cert.scope_full_at is not None
        and cert.supervised_sessions_done >= cert.protocol.supervised_sessions
        and row.recorded_at <= cert.scope_full_at
    )


def _supervised_session_harmed(
    *,
    actor: User | None,
    booking: Booking,
    event: AdverseEvent,
    rows: list[SessionCertification],
    now: dt.datetime,
) -> None:
    """Issue 23: a moderate or serious event on a supervised session under a provisional
    certification resets nothing silently — the session stops counting towards full scope (the
    count is derived again, audited) and the certification goes to registry review (a serious
    event has flagged it already), which holds its promotion until the review keeps it. The same
    holds when the event comes after the promotion the session counted towards (reported later):
    counted again, below the protocol's number the certification is provisional again."""
    supervised = [row for row in rows if row.certification.protocol.supervised_sessions > 0]
    provisional = [row.certification for row in supervised if row.certification.scope_full_at is None]
    promoted = [row.certification for row in supervised if _counted_towards_promotion(row)]
    if not provisional and not promoted:
        return
    if event.severity != SignSeverity.SERIOUS:  # a serious one has flagged every certification
        certifications_flag_for_review(
            actor=actor,
            certifications=[*provisional, *promoted],
            reason=(
                f"{event.severity.capitalize()} adverse event {event.pk} on supervised session "
                f"{booking.pk} ({booking.end:%Y-%m-%d}), which counted towards the certification's "
                "full scope."
            ),
        )
    certifications_supervised_count(
        actor=actor,
        certifications=[*provisional, *promoted],
        now=now,
        recount_full=frozenset(c.pk for c in promoted),
    )


def _completed(booking: Booking, what: str) -> None:
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(
            f"{what} is recorded for a completed session; this booking is {booking.status}. "
            "Complete it first (POST .../complete/)."
        )


@retry_on_conflict()
def session_outcome_record(
    *,
    actor: User | None,
    booking: Booking,
    pain_after: Any,
    signs: Any,
    now: dt.datetime | None = None,
) -> OutcomeResult:
    """Record how the client was after a completed session, once, within 72 hours of its end:
    ``pain_after`` (0-10; the intake's score is the before) and ``signs``, every sign of the
    catalog answered true or false. A higher score than before counts as ``pain-worse``. The
    outcome's severity is its worst sign's (``none`` without any); ``moderate`` or ``serious``
    raises an adverse event (``adverse_event_record``). Nothing is written when anything is
    refused: bad input (400), a booking not completed, already with an outcome, or past the
    window (409)."""
    now = now or timezone.now()
    catalog = _catalog()
    errors: dict[str, list[str]] = {}
    pain = _pain(pain_after, errors)
    present = _answers(signs, catalog, errors)
    if errors:
        raise DomainError("The outcome has invalid fields.", errors=errors)
    with transaction.atomic():
        _lock_therapist(booking.therapist_id)
        booking = _locked_booking(booking)
        _completed(booking, "An outcome")
        existing = (
            SessionOutcome.objects.filter(booking=booking).values_list("recorded_at", flat=True).first()
        )
        if existing is not None:
            raise Conflict(
                f"This session's outcome was already recorded ({existing:%Y-%m-%d %H:%M %Z}); report a "
                "sign noticed later as an adverse event (POST .../adverse-events/)."
            )
        deadline = booking.end + OUTCOME_WINDOW
        if now > deadline:
            raise Conflict(
                f"An outcome is recorded within 72 hours of the session's end (until "
                f"{deadline:%Y-%m-%d %H:%M %Z}); report what was noticed as an adverse event "
                "(POST .../adverse-events/)."
            )
        before = booking.intake.pain_score
        if pain > before and PAIN_WORSE in catalog and PAIN_WORSE not in present:
            present = [code for code in catalog if code in {*present, PAIN_WORSE}]
        severity = worst_severity(catalog[code].severity for code in present) or OutcomeSeverity.NONE
        try:
            with transaction.atomic():
                outcome = SessionOutcome.objects.create(
                    booking=booking,
                    pain_before=before,
                    pain_after=pain,
                    pain_worse=pain > before or PAIN_WORSE in present,
                    signs=present,
                    asked=list(catalog),
                    severity=severity,
                    advice=advice_for(present, catalog),
                    recorded_at=now,
                    recorded_by=actor if actor is not None and actor.pk else None,
                )
        except IntegrityError:
            raise Conflict("This session's outcome was already recorded.") from None
        audit_record(
            actor=actor,
            action="session_outcome.recorded",
            obj=outcome,
            after={
                "booking": str(booking.pk),
                "pain_before": before,
                "pain_after": pain,
                "signs": present,
                "severity": severity,
            },
        )
        event = None
        if severity in RAISES_EVENT:
            event = adverse_event_record(
                actor=actor,
                booking=booking,
                kind=AdverseEventKind.OUTCOME,
                signs=[code for code in present if catalog[code].severity in RAISES_EVENT],
                catalog=catalog,
                outcome=outcome,
                now=now,
            )
    return OutcomeResult(outcome=outcome, adverse_event=event)


@retry_on_conflict()
def booking_complete_with_outcome(
    *, actor: User | None, booking: Booking, pain_after: Any, signs: Any, now: dt.datetime | None = None
) -> tuple[Booking, OutcomeResult]:
    """Complete the booking (``booking_complete``) and record its outcome
    (``session_outcome_record``) in one transaction: either refused, neither is written."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_therapist(booking.therapist_id)  # the gate's order: the therapist before the booking
        # Issue 23: the outcome (and the adverse event it raises) is recorded before the
        # supervised sessions are counted, so that a harmed Nth session never promotes.
        booking, rows = booking_complete_uncounted(booking=booking, now=now)
        result = session_outcome_record(
            actor=actor, booking=booking, pain_after=pain_after, signs=signs, now=now
        )
        if booking.supervisor_id is not None:
            certifications_supervised_count(
                actor=actor, certifications=[r.certification for r in rows], now=now
            )
    return booking, result


@retry_on_conflict()
def adverse_event_report(
    *, actor: User | None, booking: Booking, signs: Any, narrative: Any, now: dt.datetime | None = None
) -> AdverseEvent:
    """Report a sign noticed after a completed session (hours or days later), with a narrative
    of what happened: an adverse event of its worst sign's severity (``adverse_event_record``:
    a ``serious`` one puts the session's certifications under review). Open to the spa's staff,
    the assigned therapist and registry admins; any time after the session."""
    now = now or timezone.now()
    catalog = _catalog()
    errors: dict[str, list[str]] = {}
    codes = _reported_signs(signs, catalog, errors)
    text = narrative.strip() if isinstance(narrative, str) else ""
    if not text:
        errors["narrative"] = ["Say what happened, in a few words."]
    elif len(text) > NARRATIVE_MAX_LENGTH:
        errors["narrative"] = [f"At most {NARRATIVE_MAX_LENGTH} characters (this has {len(text)})."]
    elif "\x00" in text:
        errors["narrative"] = ["Null characters are not allowed."]
    if errors:
        raise DomainError("The adverse event has invalid fields.", errors=errors)
    with transaction.atomic():
        _lock_therapist(booking.therapist_id)
        booking = _locked_booking(booking)
        _completed(booking, "An adverse event")
        return adverse_event_record(
            actor=actor,
            booking=booking,
            kind=AdverseEventKind.REPORT,
            signs=[code for code in catalog if code in codes],
            catalog=catalog,
            narrative=text,
            now=now,
        )
