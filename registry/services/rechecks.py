"""Use cases that reach forward: a change something future bookings rest on, then the
re-check of those bookings, in one transaction (invariant 5)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import replace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.db import prepared_cursor
from core.errors import Conflict, DomainError
from core.models import User
from core.retry import retry_on_conflict
from core.services import audit_record
from credentials import services as credential_services
from credentials.choices import LicenseStatus
from credentials.models import Certification, License, Therapist
from registry import eligibility, rls
from registry.choices import ACTIVE_BOOKING_STATUSES, BookingStatus, DecisionKind
from registry.eligibility import ReasonCode
from registry.models import Booking, Decision, Employment, Spa
from registry.selectors import (
    eligibility_cases_for_intakes,
    eligibility_facts_for_spas,
    eligibility_facts_for_therapists,
)
from registry.services.bookings import (
    Supervision,
    _lock_therapist,
    _reasons,
    decision_row,
    slot_of,
)


def future_active_bookings(now: dt.datetime) -> QuerySet[Booking]:
    """Bookings still to come that hold a slot: the ones a change can make unsafe."""
    return Booking.objects.filter(status__in=ACTIVE_BOOKING_STATUSES, end__gt=now)


def _treats_or_supervises(therapist_id: Any) -> Q:
    """The bookings a change about this therapist can make unsafe: theirs, and those they
    supervise (issue 23)."""
    return Q(therapist_id=therapist_id) | Q(supervisor_id=therapist_id)


def bookings_recheck(*, actor: User | None, bookings: QuerySet[Booking], now: dt.datetime) -> list[Booking]:
    """Re-decide each booking on today's facts (itself aside). A booking no longer allowed
    becomes ``needs-reassignment`` with its reasons and the therapists allowed for the same
    intake and slot; every re-decision goes to the decision log. Returns the bookings that
    changed to needs-reassignment. Call inside the change's transaction.

    Set-wise, in a constant number of statements whatever the number of bookings: the
    bookings (locked), the facts of each therapist and of each spa's staff over a window
    covering every booking, the cases of all the intakes (one statement), then every decision
    in one INSERT, every changed booking in one UPDATE and their events in one outbox INSERT.
    The engine decides each booking as it would one by one (tests/test_recheck_setwise.py
    compares the two on a generated world).

    It reads and writes in the system scope (``registry.rls``): the bookings resting on a
    change are every spa's, whoever made the change (a school revoking, an admin tightening
    the catalog)."""
    with rls.system_scope():
        return _bookings_recheck(actor=actor, bookings=bookings, now=now)


def _bookings_recheck(*, actor: User | None, bookings: QuerySet[Booking], now: dt.datetime) -> list[Booking]:
    rows = list(
        bookings.select_for_update(of=("self",))
        .select_related("spa", "intake")
        .order_by("therapist_id", "start")
    )
    if not rows:
        return []
    # facts per therapist and per spa, and the case per intake, each loaded once (one statement
    # each) over a window covering every booking of this re-check; the engine then reads only
    # what overlaps each booking's own slot.
    windows = _windows(rows, key=lambda b: True)
    # the supervisors' facts in the same statement (issue 23): a supervised booking is decided
    # with its supervisor's facts, as it was booked
    facts_by_therapist = eligibility_facts_for_therapists(
        therapist_ids=[b.therapist_id for b in rows] + [b.supervisor_id for b in rows if b.supervisor_id],
        window=windows[True],
    )
    cases = eligibility_cases_for_intakes(intake_ids=[b.intake_id for b in rows])
    staff_by_spa: dict[Any, list[eligibility.TherapistFacts]] | None = None  # read if needed
    # who could ever be suggested, per spa and requirements (slot aside): computed once
    could_by_key: dict[tuple, list[eligibility.TherapistFacts]] = {}
    refused: list[tuple[Booking, eligibility.Case, eligibility.Decision]] = []
    decisions: list[Decision] = []
    changed: list[Booking] = []
    for booking in rows:
        case = replace(
            cases[str(booking.intake_id)],
            start=booking.start,
            end=booking.end,
            focus_region=booking.focus_region,
            focus_minutes=booking.focus_minutes,
            booking_id=str(booking.pk),
            supervisor=facts_by_therapist[str(booking.supervisor_id)] if booking.supervisor_id else None,
        )
        facts = facts_by_therapist[str(booking.therapist_id)]
        result = eligibility.decide(facts, case)
        decisions.append(
            decision_row(
                actor=actor,
                kind=DecisionKind.RECHECK,
                slot=slot_of(booking),
                therapist_id=booking.therapist_id,
                result=result,
                booking=booking,
                now=now,
                supervision=Supervision.of(facts, case),
            )
        )
        if not result.allowed:
            refused.append((booking, case, result))
    for booking, case, result in refused:
        own_id = str(booking.therapist_id)
        if staff_by_spa is None:  # every spa's staff in one statement, by name
            zones = {b.spa_id: b.spa.timezone for b, _, _ in refused}
            staff_by_spa = eligibility_facts_for_spas(
                spas={
                    spa_id: (window, zones[spa_id])
                    for spa_id, window in _windows([b for b, _, _ in refused], key=lambda b: b.spa_id).items()
                }
            )
        key = (booking.spa_id, case.spa_jurisdiction, tuple(c.requirement_groups for c in case.conditions))
        could = could_by_key.get(key)
        if could is None:
            staff = sorted(staff_by_spa[booking.spa_id], key=lambda f: (f.name, f.therapist_id))
            could = could_by_key[key] = [f for f in staff if eligibility.could_be_allowed(f, case)]
        booking.status = BookingStatus.NEEDS_REASSIGNMENT
        if any(r.code in RELEASES_SUPERVISOR for r in result.reasons):
            booking.supervisor_id = None  # their hold released; the reasons name them
        booking.reasons = _reasons(result.reasons)
        booking.warnings = _reasons(result.warnings)
        booking.suggested_therapists = [
            facts.therapist_id
            for facts in eligibility.allowed_among((f for f in could if f.therapist_id != own_id), case)
        ]
        booking.updated_at = now
        changed.append(booking)
    _decisions_insert(decisions)
    if changed:
        _needs_reassignment_update(changed, now=now)
        _announce_needs_reassignment(changed)
    return changed


_DECISIONS_SQL = """
INSERT INTO registry_decision
       (id, made_at, made_by_id, kind, spa_id, therapist_id, intake_id, booking_id, "case", allowed,
        reasons, warnings)
SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::uuid[], %s::varchar(20)[], %s::uuid[], %s::uuid[],
                     %s::uuid[], %s::uuid[], %s::jsonb[], %s::boolean[], %s::jsonb[], %s::jsonb[])
"""


def _decisions_insert(decisions: list[Decision]) -> None:
    """The re-check's decision rows (``decision_row``) in ONE INSERT whatever their number:
    each column sent as one array (``bulk_create`` sends a parameter per value)."""
    if not decisions:
        return

    def dumps(value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder)

    with prepared_cursor() as cursor:
        cursor.execute(
            _DECISIONS_SQL,
            [
                [str(d.pk) for d in decisions],
                [d.made_at for d in decisions],
                [str(d.made_by_id) if d.made_by_id else None for d in decisions],
                [d.kind for d in decisions],
                [str(d.spa_id) for d in decisions],
                [str(d.therapist_id) for d in decisions],
                [str(d.intake_id) for d in decisions],
                [str(d.booking_id) if d.booking_id else None for d in decisions],
                [dumps(d.case) for d in decisions],
                [d.allowed for d in decisions],
                [dumps(d.reasons) for d in decisions],
                [dumps(d.warnings) for d in decisions],
            ],
        )
    for d in decisions:
        d._state.adding = False


# a booking refused for its supervisor (not qualified, or busy) lets them go: the supervisor's
# slot hold is released (by the slot-hold trigger, in this same UPDATE), while the refusal's
# reasons and the re-check's decision (``case.supervisor``) keep who it was
RELEASES_SUPERVISOR = frozenset({ReasonCode.SUPERVISOR_NOT_QUALIFIED, ReasonCode.SUPERVISOR_UNAVAILABLE})

_NEEDS_REASSIGNMENT_SQL = """
UPDATE registry_booking AS b
   SET status = %s, updated_at = %s, reasons = v.reasons, warnings = v.warnings,
       suggested_therapists = v.suggested, supervisor_id = v.supervisor
  FROM unnest(%s::uuid[], %s::jsonb[], %s::jsonb[], %s::jsonb[], %s::uuid[])
       AS v(id, reasons, warnings, suggested, supervisor)
 WHERE b.id = v.id
"""


def _needs_reassignment_update(bookings: list[Booking], *, now: dt.datetime) -> None:
    """The bookings' new status, reasons, warnings and suggestions in ONE UPDATE (Django's
    ``bulk_update`` writes a CASE per column, quadratic in the number of rows), and their
    supervisor as ``bookings_recheck`` left it (the rows are locked: cleared when refused for
    the supervisor, else unchanged) — a cleared one's slot hold goes with it, by the slot-hold
    trigger, in this same statement."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _NEEDS_REASSIGNMENT_SQL,
            [
                BookingStatus.NEEDS_REASSIGNMENT.value,
                now,
                [str(b.pk) for b in bookings],
                [json.dumps(b.reasons, cls=DjangoJSONEncoder) for b in bookings],
                [json.dumps(b.warnings, cls=DjangoJSONEncoder) for b in bookings],
                [json.dumps([str(t) for t in b.suggested_therapists]) for b in bookings],
                [str(b.supervisor_id) if b.supervisor_id else None for b in bookings],
            ],
        )


def _windows(rows: list[Booking], *, key) -> dict[Any, tuple[dt.datetime, dt.datetime]]:
    windows: dict[Any, tuple[dt.datetime, dt.datetime]] = {}
    for booking in rows:
        k = key(booking)
        start, end = windows.get(k, (booking.start, booking.end))
        windows[k] = (min(start, booking.start), max(end, booking.end))
    return windows


def _announce_needs_reassignment(bookings: list[Booking]) -> None:
    """Each spa is told (outbox events) — see ``registry.events``."""
    from registry import events

    events.bookings_need_reassignment(bookings)


def certification_revoke(
    *, actor: User | None, certification: Certification, reason: str, now: dt.datetime | None = None
) -> tuple[Certification, list[Booking]]:
    """Revoke a certification (it stops counting from now) and re-check every future booking
    of its therapist whose intake needs its protocol, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_therapist(certification.therapist_id)
        certification = credential_services.certification_revoke(
            actor=actor, certification=certification, reason=reason, at=now
        )
        # the therapist's own bookings, and those they supervise (issue 23), that need it
        affected = (
            future_active_bookings(now)
            .filter(
                Q(therapist_id=certification.therapist_id) | Q(supervisor_id=certification.therapist_id),
                intake__conditions__requirement_groups__protocols=certification.protocol_id,
            )
            .distinct()
        )
        changed = bookings_recheck(
            actor=actor, bookings=Booking.objects.filter(pk__in=affected.values("pk")), now=now
        )
    return certification, changed


@retry_on_conflict()
def license_change(
    *,
    actor: User | None,
    license: License,
    reason: str,
    status: str | None = None,
    expires_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> tuple[License, list[Booking]]:
    """Change a licence's status or expiry (a renewal moves ``expires_on``). When it becomes
    less permissive — away from active, or ending earlier — every future booking of the
    therapist at a spa in the licence's jurisdiction is re-checked in the same transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_therapist(license.therapist_id)
        before = License.objects.select_for_update().get(pk=license.pk)
        result = credential_services.license_change(
            actor=actor, license=before, status=status, expires_on=expires_on, reason=reason
        )
        license = result[0] if isinstance(result, tuple) else result
        license.refresh_from_db()
        narrowed = (
            before.status == LicenseStatus.ACTIVE and license.status != LicenseStatus.ACTIVE
        ) or license.expires_on < before.expires_on
        changed: list[Booking] = []
        if narrowed:
            affected = future_active_bookings(now).filter(
                _treats_or_supervises(license.therapist_id), spa__jurisdiction=license.jurisdiction
            )
            changed = bookings_recheck(actor=actor, bookings=affected, now=now)
    return license, changed


def _local_today(spa: Spa, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(spa.timezone)).date()


def _spa_fields(
    *, name: str | None, jurisdiction: str | None, timezone_name: str | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The given fields, cleaned, and what is wrong with them (None: not given)."""
    fields: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if name is not None:
        fields["name"] = name.strip()
        if not fields["name"]:
            errors["name"] = ["A name is required."]
    if jurisdiction is not None:
        fields["jurisdiction"] = jurisdiction.strip().upper()
        if not credential_services.JURISDICTION_RE.match(fields["jurisdiction"]):
            errors["jurisdiction"] = ["Give an ISO 3166-2 subdivision code such as US-CA."]
    if timezone_name is not None:
        fields["timezone"] = timezone_name
        try:
            zoneinfo.ZoneInfo(timezone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = [f"Unknown timezone '{timezone_name}' (use an IANA name)."]
    return fields, errors


@transaction.atomic
def spa_create(
    *, actor: User | None, name: str, jurisdiction: str, timezone_name: str, contact_email: str = ""
) -> Spa:
    """A spa: licences count in its jurisdiction (ISO 3166-2), days are read in its timezone."""
    fields, errors = _spa_fields(name=name, jurisdiction=jurisdiction, timezone_name=timezone_name)
    if errors:
        raise DomainError("The spa has invalid fields.", errors=errors)
    spa = Spa.objects.create(**fields, contact_email=contact_email)
    audit_record(
        actor=actor,
        action="spa.create",
        obj=spa,
        after={**fields, "contact_email": contact_email},
    )
    return spa


@retry_on_conflict()
def spa_update(
    *,
    actor: User | None,
    spa: Spa,
    name: str | None = None,
    jurisdiction: str | None = None,
    timezone_name: str | None = None,
    contact_email: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Spa, list[Booking]]:
    """Change a spa (``None``: unchanged; ``contact_email=""`` removes the address). A new
    jurisdiction changes which licences count there, a new timezone which days an employment
    or a licence covers: either re-checks every future booking at the spa in the same
    transaction, with the therapists employed there locked first (the booking path's order),
    so no booking decided on the old values can commit after the re-check."""
    now = now or timezone.now()
    fields, errors = _spa_fields(name=name, jurisdiction=jurisdiction, timezone_name=timezone_name)
    if contact_email is not None:
        fields["contact_email"] = contact_email
    if errors:
        raise DomainError("The spa has invalid fields.", errors=errors)
    with transaction.atomic():
        # The spa first: a hire (employment_start shares this lock) waits for the change, so
        # every therapist who could book here is among those locked next, and a booking
        # already deciding on the old values commits before the re-check reads the bookings.
        spa = Spa.objects.select_for_update().get(pk=spa.pk)
        therapist_ids = sorted(
            set(Employment.objects.filter(spa_id=spa.pk).values_list("therapist_id", flat=True)), key=str
        )
        for therapist_id in therapist_ids:
            _lock_therapist(therapist_id)
        before = {field: getattr(spa, field) for field in fields}
        changed_fields = {field: value for field, value in fields.items() if before[field] != value}
        if not changed_fields:
            return spa, []
        for field, value in changed_fields.items():
            setattr(spa, field, value)
        spa.save(update_fields=list(changed_fields))
        audit_record(
            actor=actor,
            action="spa.update",
            obj=spa,
            before={field: before[field] for field in changed_fields},
            after=changed_fields,
        )
        changed: list[Booking] = []
        if {"jurisdiction", "timezone"} & set(changed_fields):
            changed = bookings_recheck(
                actor=actor, bookings=future_active_bookings(now).filter(spa_id=spa.pk), now=now
            )
    return spa, changed


@transaction.atomic
def employment_start(
    *,
    actor: User | None,
    spa: Spa,
    therapist: Therapist,
    started_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Employment:
    """A spa hires a therapist from ``started_on`` (default: today in the spa's timezone)."""
    now = now or timezone.now()
    # Shared with other hires, exclusive with spa_update: a spa being changed hires after.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM registry_spa WHERE id = %s FOR SHARE", [spa.pk])
    spa.refresh_from_db(fields=["jurisdiction", "timezone"])
    started_on = started_on or _local_today(spa, now)
    if Employment.objects.filter(spa=spa, therapist=therapist, ended_on__isnull=True).exists():
        raise DomainError(
            "The therapist is already employed at this spa.",
            errors={"therapist": ["The therapist is already employed at this spa."]},
        )
    employment = Employment.objects.create(spa=spa, therapist=therapist, started_on=started_on)
    audit_record(
        actor=actor,
        action="employment.start",
        obj=employment,
        after={"spa": str(spa.pk), "therapist": str(therapist.pk), "started_on": started_on},
    )
    return employment


@retry_on_conflict()
def employment_end(
    *,
    actor: User | None,
    employment: Employment,
    ended_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> tuple[Employment, list[Booking]]:
    """End an employment (default: today in the spa's timezone, inclusive). Every future
    booking of the therapist at that spa is re-checked in the same transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_therapist(employment.therapist_id)
        employment = Employment.objects.select_for_update().select_related("spa").get(pk=employment.pk)
        if employment.ended_on is not None:
            raise Conflict("This employment has already ended.")
        ended_on = ended_on or _local_today(employment.spa, now)
        if ended_on < employment.started_on:
            raise DomainError(
                "An employment cannot end before it starts.",
                errors={"ended_on": ["An employment cannot end before it starts."]},
            )
        employment.ended_on = ended_on
        employment.save(update_fields=["ended_on"])
        audit_record(
            actor=actor,
            action="employment.end",
            obj=employment,
            before={"ended_on": None},
            after={"ended_on": ended_on},
        )
        affected = future_active_bookings(now).filter(
            _treats_or_supervises(employment.therapist_id), spa_id=employment.spa_id
        )
        changed = bookings_recheck(actor=actor, bookings=affected, now=now)
    return employment, changed
