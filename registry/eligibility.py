"""The eligibility engine: may this therapist treat this case, in this session?

A pure function — facts in, decision out. No ORM, no clock: the time comes in the case.
``decide()`` collects every reason that applies from small rule functions and never stops at
the first. Selectors (``registry.selectors``) load the facts in a fixed number of queries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo


class ReasonCode(StrEnum):
    RED_FLAG_REFERRAL = "RED_FLAG_REFERRAL"
    INTAKE_EXPIRED = "INTAKE_EXPIRED"
    INTAKE_INCOMPLETE = "INTAKE_INCOMPLETE"
    NOT_EMPLOYED_AT_SPA = "NOT_EMPLOYED_AT_SPA"
    LICENSE_MISSING = "LICENSE_MISSING"
    LICENSE_INACTIVE = "LICENSE_INACTIVE"
    PROTOCOL_NOT_CERTIFIED = "PROTOCOL_NOT_CERTIFIED"
    CERTIFICATION_REVOKED = "CERTIFICATION_REVOKED"
    CERTIFICATION_EXPIRED = "CERTIFICATION_EXPIRED"
    CERTIFICATION_NOT_YET_VALID = "CERTIFICATION_NOT_YET_VALID"
    FOCUS_EXCEEDS_PROTOCOL_LIMIT = "FOCUS_EXCEEDS_PROTOCOL_LIMIT"
    THERAPIST_UNAVAILABLE = "THERAPIST_UNAVAILABLE"
    # provisional scope (issue 23)
    SUPERVISION_REQUIRED = "SUPERVISION_REQUIRED"
    SUPERVISOR_NOT_QUALIFIED = "SUPERVISOR_NOT_QUALIFIED"
    SUPERVISOR_UNAVAILABLE = "SUPERVISOR_UNAVAILABLE"
    # warnings
    SUPERVISOR_NOT_NEEDED = "SUPERVISOR_NOT_NEEDED"
    CERTIFICATION_EXPIRES_SOON = "CERTIFICATION_EXPIRES_SOON"
    LICENSE_EXPIRES_SOON = "LICENSE_EXPIRES_SOON"


WHOLE_BODY = "whole-body"
REFER_EMERGENCY = "refer-emergency"
REFER_PHYSICIAN = "refer-physician"


# --- facts about the therapist (loaded by registry.selectors) ---------------------------


@dataclass(frozen=True)
class EmploymentFact:
    spa_id: str
    started_on: date
    ended_on: date | None  # inclusive; None: open-ended


@dataclass(frozen=True)
class LicenseFact:
    id: str
    jurisdiction: str
    status: str  # "active", "suspended", "revoked", "expired"
    valid_from: date  # inclusive, read in the spa's timezone
    expires_on: date  # inclusive, read in the spa's timezone


@dataclass(frozen=True)
class CertificationFact:
    id: str
    protocol: str  # slug
    valid_from: datetime
    expires_at: datetime  # exclusive
    revoked_at: datetime | None
    # provisional scope (issue 23): full since (None: provisional, in a protocol with supervised
    # sessions), and the supervised sessions counted so far
    scope_full_at: datetime | None = None
    supervised_done: int = 0


@dataclass(frozen=True)
class BookingFact:
    """One of the therapist's slot-holding bookings (confirmed or needs-reassignment), as the
    therapist of it or (``supervising``) as its supervisor."""

    id: str
    spa_id: str
    start: datetime
    end: datetime
    supervising: bool = False


@dataclass(frozen=True)
class TherapistFacts:
    therapist_id: str
    name: str
    employments: tuple[EmploymentFact, ...] = ()
    licenses: tuple[LicenseFact, ...] = ()
    certifications: tuple[CertificationFact, ...] = ()
    bookings: tuple[BookingFact, ...] = ()

    @cached_property
    def _bookings_by_start(self) -> tuple[tuple[BookingFact, ...], list[datetime], timedelta]:
        """The bookings by start, their starts, and the longest one: a session's collisions are
        found by bisection, not by a scan (a re-check decides thousands of one therapist's
        bookings against the same facts)."""
        ordered = tuple(sorted(self.bookings, key=lambda b: (b.start, b.id)))
        longest = max((b.end - b.start for b in ordered), default=timedelta(0))
        return ordered, [b.start for b in ordered], longest

    def employed_at(self, spa_id: str, day: date) -> bool:
        """An employment at the spa that has not ended before ``day`` (one starting later
        counts): the spa's staff may ask about this therapist. The same rule as the API's
        tenancy scope (``api.tenancy.employed_at``), on facts already loaded."""
        return any(e.spa_id == spa_id and (e.ended_on is None or e.ended_on >= day) for e in self.employments)

    def bookings_overlapping(self, start: datetime, end: datetime) -> list[BookingFact]:
        """The bookings overlapping ``[start, end)`` (half-open: back to back is not), by start."""
        ordered, starts, longest = self._bookings_by_start
        found = []
        index = bisect_left(starts, end) - 1
        while index >= 0 and starts[index] + longest > start:
            booking = ordered[index]
            if booking.end > start:
                found.append(booking)
            index -= 1
        return found[::-1]


# --- the case (spa, intake, session) -----------------------------------------------------


@dataclass(frozen=True)
class ProtocolFact:
    slug: str
    name: str
    region: str
    max_focus_minutes: int
    # a certification in it is provisional until this many supervised sessions (0: never)
    supervised_sessions: int = 0


@dataclass(frozen=True)
class ConditionFact:
    code: str
    name: str
    region: str
    # every group must be met; a group by a valid certification in any one of its slugs
    requirement_groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ScreeningAnswer:
    question: str  # code
    text: str
    action: str  # "refer-emergency" or "refer-physician"
    answer: bool  # True: the red flag is present
    cleared: bool = False  # a recorded physician clearance (counts only for refer-physician)


@dataclass(frozen=True)
class UnansweredQuestion:
    """A red-flag question the intake should have answered (it applies to the intake's
    regions) but never did: it was added to the screening, or asked at more intakes, since."""

    question: str  # code
    text: str


def question_applies(question_regions: Iterable[str], intake_regions: AbstractSet[str]) -> bool:
    """A question is asked at an intake when it has no regions (every intake), when its
    regions meet the intake's, and always for whole-body work."""
    regions = tuple(question_regions)
    return not regions or WHOLE_BODY in intake_regions or bool(intake_regions.intersection(regions))


@dataclass(frozen=True)
class Case:
    spa_id: str
    spa_jurisdiction: str
    spa_timezone: str  # IANA name; licence and employment days are read in it
    start: datetime
    end: datetime
    intake_valid_until: datetime
    conditions: tuple[ConditionFact, ...] = ()
    screening: tuple[ScreeningAnswer, ...] = ()
    focus_region: str | None = None
    focus_minutes: int = 0
    # every protocol named in the conditions' requirement groups, by slug
    protocols: Mapping[str, ProtocolFact] = field(default_factory=dict)
    # re-checking an existing booking: it does not collide with itself
    booking_id: str | None = None
    warning_days: int = 30
    # the regions the intake names (its own focus regions and its conditions'): a session's
    # focus region is one of them or whole-body (checked before deciding, not a rule here)
    intake_regions: frozenset[str] = frozenset()
    # questions that apply to the intake and that it never answered
    unanswered: tuple[UnansweredQuestion, ...] = ()
    # the supervisor named for the session, with their facts over it (issue 23)
    supervisor: TherapistFacts | None = None

    def as_dict(self) -> dict[str, Any]:
        """The case as plain JSON values (for the decision log)."""
        return {
            "spa": self.spa_id,
            "jurisdiction": self.spa_jurisdiction,
            "timezone": self.spa_timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "intake_valid_until": self.intake_valid_until.isoformat(),
            "conditions": [
                {
                    "code": c.code,
                    "name": c.name,
                    "region": c.region,
                    "requirement_groups": [list(group) for group in c.requirement_groups],
                }
                for c in self.conditions
            ],
            "screening": [
                {
                    "question": a.question,
                    "action": a.action,
                    "answer": a.answer,
                    "cleared": a.cleared,
                }
                for a in self.screening
            ],
            "unanswered": [a.question for a in self.unanswered],
            "focus_region": self.focus_region,
            "focus_minutes": self.focus_minutes,
            "protocols": {
                slug: {"name": p.name, "region": p.region, "max_focus_minutes": p.max_focus_minutes}
                for slug, p in sorted(self.protocols.items())
            },
            "booking": self.booking_id,
            "warning_days": self.warning_days,
            "supervisor": self.supervisor.therapist_id if self.supervisor is not None else None,
        }


# --- the decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A reason (or a warning: same shape). ``code`` is stable; ``message`` is plain words."""

    code: ReasonCode
    message: str
    condition: str | None = None
    protocols: tuple[str, ...] = ()
    certification: str | None = None
    question: str | None = None
    action: str | None = None
    booking: str | None = None
    # a supervisor's reasons (issue 23): who, and why they cannot supervise
    supervisor: str | None = None
    supervisor_reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.condition is not None:
            out["condition"] = self.condition
        if self.protocols:
            out["protocols"] = list(self.protocols)
        if self.certification is not None:
            out["certification"] = self.certification
        if self.question is not None:
            out["question"] = self.question
        if self.action is not None:
            out["action"] = self.action
        if self.booking is not None:
            out["booking"] = self.booking
        if self.supervisor is not None:
            out["supervisor"] = self.supervisor
        if self.supervisor_reasons:
            out["supervisor_reasons"] = [r.as_dict() for r in self.supervisor_reasons]
        return out


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": [r.as_dict() for r in self.reasons],
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class Scope:
    """What a therapist may treat at one instant: the protocols they hold a valid
    certification in (given a licence), and the conditions whose every group those meet."""

    protocols: list[str]
    conditions: list[str]


# --- time: instants, and days read in the spa's timezone ------------------------------------

_TICK = timedelta(microseconds=1)


def local_days(start: datetime, end: datetime, tz_name: str) -> tuple[date, date]:
    """The local days a session ``[start, end)`` touches, first and last, in ``tz_name``.

    ``end`` is exclusive, so the last day is that of ``end - 1µs``: a session ending at
    midnight does not touch the next day.
    """
    tz = ZoneInfo(tz_name)
    return start.astimezone(tz).date(), (end - _TICK).astimezone(tz).date()


def _at_local(moment: datetime, tz_name: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz_name)):%Y-%m-%d %H:%M %Z}"


# --- the pure rules, shared by decide() and scope_of() --------------------------------------


def certification_valid_for(cert: CertificationFact, start: datetime, end: datetime) -> bool:
    """Valid for the whole of ``[start, end)``: ``valid_from <= start``, ``end <= expires_at``,
    and not revoked before ``end``."""
    return (
        cert.valid_from <= start
        and end <= cert.expires_at
        and (cert.revoked_at is None or cert.revoked_at >= end)
    )


def certification_problem(cert: CertificationFact, start: datetime, end: datetime) -> ReasonCode | None:
    """Why a certification does not cover ``[start, end)``: the first that applies of revoked,
    expired, not yet valid; ``None`` when it covers it."""
    if cert.revoked_at is not None and cert.revoked_at < end:
        return ReasonCode.CERTIFICATION_REVOKED
    if cert.expires_at < end:
        return ReasonCode.CERTIFICATION_EXPIRED
    if cert.valid_from > start:
        return ReasonCode.CERTIFICATION_NOT_YET_VALID
    return None


_CERTIFICATION_PRECEDENCE = (
    ReasonCode.CERTIFICATION_REVOKED,
    ReasonCode.CERTIFICATION_EXPIRED,
    ReasonCode.CERTIFICATION_NOT_YET_VALID,
)


def licence_active_over(licence: LicenseFact, first_day: date, last_day: date) -> bool:
    """Active on every day from ``first_day`` to ``last_day`` (inclusive)."""
    return licence.status == "active" and licence.valid_from <= first_day and last_day <= licence.expires_on


def employment_covers(employment: EmploymentFact, spa_id: str, first_day: date, last_day: date) -> bool:
    return (
        employment.spa_id == spa_id
        and employment.started_on <= first_day
        and (employment.ended_on is None or last_day <= employment.ended_on)
    )


def licence_used(
    licences: Iterable[LicenseFact], jurisdiction: str | None, first_day: date, last_day: date
) -> LicenseFact | None:
    """The licence a session rests on: of those in ``jurisdiction`` (any, when ``None``) active
    over the days, the one lasting longest."""
    usable = [
        lic
        for lic in licences
        if (jurisdiction is None or lic.jurisdiction == jurisdiction)
        and licence_active_over(lic, first_day, last_day)
    ]
    return max(usable, key=lambda lic: (lic.expires_on, lic.id), default=None)


def group_met(
    certifications: Iterable[CertificationFact], group: Sequence[str], start: datetime, end: datetime
) -> bool:
    """A group is met by a certification valid over ``[start, end)`` in any one of its protocols."""
    return any(c.protocol in group and certification_valid_for(c, start, end) for c in certifications)


def group_certification(
    certifications: Iterable[CertificationFact],
    group: Sequence[str],
    start: datetime,
    end: datetime,
    protocols: Mapping[str, ProtocolFact] | None = None,
) -> CertificationFact | None:
    """The certification a session ``[start, end)`` rests on for a group: of those in its
    protocols valid over the whole session, a full one before a provisional one
    (``certification_full`` on ``protocols``: a group a full certification meets needs no
    supervisor, so the session rests on the full one), then the one lasting longest
    (``None``: the group is not met). Without ``protocols`` every certification counts as full:
    the longest-lasting one."""
    valid = [c for c in certifications if c.protocol in group and certification_valid_for(c, start, end)]
    catalog = protocols or {}
    return max(valid, key=lambda c: (certification_full(c, catalog), c.expires_at, c.id), default=None)


def certifications_relied_on(facts: TherapistFacts, case: Case) -> tuple[CertificationFact, ...]:
    """The certifications the session rests on: one per requirement group of the case's
    conditions (``group_certification`` on the case's protocols: a full one before a
    provisional one, then the longest-lasting), each once, in the order the groups come. A
    group no certification meets is left out; a case needing no protocol rests on none. The
    provisional ones among them are exactly ``provisional_certifications``: those a supervisor
    was checked for."""
    chosen: dict[str, CertificationFact] = {}
    for condition in case.conditions:
        for group in condition.requirement_groups:
            cert = group_certification(facts.certifications, group, case.start, case.end, case.protocols)
            if cert is not None:
                chosen.setdefault(cert.id, cert)
    return tuple(chosen.values())


def scope_of(
    facts: TherapistFacts,
    protocols_by_condition: Mapping[str, Sequence[Sequence[str]]],
    at: datetime,
    jurisdiction: str | None = None,
    tz_name: str = "UTC",
) -> Scope:
    """The therapist's scope at the instant ``at``.

    The instant is read as the shortest session ``[at, at + 1µs)``, so the rules are
    ``decide()``'s: a certification counts when ``valid_from <= at < expires_at`` and it was
    not revoked at or before ``at``. Without an active licence (in ``jurisdiction`` on the day
    of ``at`` in ``tz_name``; any jurisdiction when ``None``) the scope is empty. Conditions:
    those whose every requirement group the held protocols meet (no groups: always).
    """
    end = at + _TICK
    first_day, last_day = local_days(at, end, tz_name)
    if licence_used(facts.licenses, jurisdiction, first_day, last_day) is None:
        return Scope(protocols=[], conditions=[])
    held = {c.protocol for c in facts.certifications if certification_valid_for(c, at, end)}
    conditions = [
        code
        for code, groups in protocols_by_condition.items()
        if all(held.intersection(group) for group in groups)
    ]
    return Scope(protocols=sorted(held), conditions=sorted(conditions))


# --- decide() and its rule functions ----------------------------------------------------------


def decide(facts: TherapistFacts, case: Case) -> Decision:
    """Every reason this therapist may not take this case, and the warnings.

    Each rule function looks at one thing and returns all of its reasons; none stops the
    others. ``allowed`` is true exactly when no rule found a reason.
    """
    for moment in (case.start, case.end, case.intake_valid_until):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("The engine reads aware datetimes only.")
    if case.end <= case.start:
        raise ValueError("A session must end after it starts.")
    reasons = [reason for rule in RULES for reason in rule(facts, case)]
    return Decision(
        allowed=not reasons,
        reasons=tuple(reasons),
        warnings=(*_warnings(facts, case), *_supervision_warnings(facts, case)),
    )


def _red_flags(facts: TherapistFacts, case: Case) -> list[Reason]:
    """A yes to a red-flag question means referral, not massage. A recorded clearance lifts a
    ``refer-physician`` flag; a ``refer-emergency`` flag it never lifts."""
    reasons = []
    for answer in case.screening:
        if not answer.answer or (answer.cleared and answer.action == REFER_PHYSICIAN):
            continue
        if answer.action == REFER_PHYSICIAN:
            advice = "the client must see a physician first; no massage until a clearance is recorded"
        else:
            advice = "refer the client to emergency care now; no massage"
        reasons.append(
            Reason(
                code=ReasonCode.RED_FLAG_REFERRAL,
                message=f"The client answered yes to \u201c{answer.text}\u201d: {advice}.",
                question=answer.question,
                action=answer.action,
            )
        )
    return reasons


def _intake(facts: TherapistFacts, case: Case) -> list[Reason]:
    """An intake serves sessions that start before it expires; later, screen again. It must
    have answered every red-flag question that applies to it: one added since (or asked at
    more intakes since) needs a new intake, one reason per question never asked."""
    reasons = []
    if case.start >= case.intake_valid_until:
        reasons.append(
            Reason(
                code=ReasonCode.INTAKE_EXPIRED,
                message=(
                    f"The intake served sessions starting before "
                    f"{_at_local(case.intake_valid_until, case.spa_timezone)}; "
                    "ask the screening questions again and record a new intake."
                ),
            )
        )
    reasons.extend(
        Reason(
            code=ReasonCode.INTAKE_INCOMPLETE,
            message=(
                f"The intake never asked \u201c{question.text}\u201d (a red-flag question added since): "
                "ask it and record a new intake."
            ),
            question=question.question,
        )
        for question in case.unanswered
    )
    return reasons


def _employment(facts: TherapistFacts, case: Case) -> list[Reason]:
    """One employment at the spa must cover the session's first and last local day."""
    first_day, last_day = local_days(case.start, case.end, case.spa_timezone)
    if any(employment_covers(e, case.spa_id, first_day, last_day) for e in facts.employments):
        return []
    days = f"on {first_day}" if first_day == last_day else f"from {first_day} to {last_day}"
    return [
        Reason(
            code=ReasonCode.NOT_EMPLOYED_AT_SPA,
            message=f"{facts.name} is not employed at this spa {days}.",
        )
    ]


def _licence(facts: TherapistFacts, case: Case) -> list[Reason]:
    """A licence in the spa's jurisdiction, active on every local day of the session."""
    here = [lic for lic in facts.licenses if lic.jurisdiction == case.spa_jurisdiction]
    if not here:
        return [
            Reason(
                code=ReasonCode.LICENSE_MISSING,
                message=f"{facts.name} has no licence to practise in {case.spa_jurisdiction}.",
            )
        ]
    first_day, last_day = local_days(case.start, case.end, case.spa_timezone)
    if licence_used(here, case.spa_jurisdiction, first_day, last_day) is not None:
        return []
    latest = max(here, key=lambda lic: (lic.expires_on, lic.id))
    if latest.status != "active":
        detail = f"the latest one is {latest.status}"
    elif latest.expires_on < last_day:
        detail = f"the latest one expires on {latest.expires_on}"
    else:
        detail = f"the latest one is valid only from {latest.valid_from}"
    days = f"on {first_day}" if first_day == last_day else f"on {first_day} and {last_day}"
    return [
        Reason(
            code=ReasonCode.LICENSE_INACTIVE,
            message=(
                f"{facts.name} has no licence in {case.spa_jurisdiction} that is active {days} ({detail})."
            ),
        )
    ]


def _protocol_name(case: Case, slug: str) -> str:
    protocol = case.protocols.get(slug)
    return protocol.name if protocol is not None else slug


def _requirements(facts: TherapistFacts, case: Case) -> list[Reason]:
    """Every requirement group of every condition must be met for the whole session. An unmet
    group is ``PROTOCOL_NOT_CERTIFIED`` unless the therapist holds some certification in it;
    then the first that applies of revoked, expired, not yet valid."""
    reasons = []
    for condition in case.conditions:
        for group in condition.requirement_groups:
            if group_met(facts.certifications, group, case.start, case.end):
                continue
            reasons.append(_unmet_group(facts, case, condition, group))
    return reasons


def _unmet_group(
    facts: TherapistFacts, case: Case, condition: ConditionFact, group: tuple[str, ...]
) -> Reason:
    held = [c for c in facts.certifications if c.protocol in group]
    problems = {c.id: certification_problem(c, case.start, case.end) for c in held}
    for code in _CERTIFICATION_PRECEDENCE:
        matching = [c for c in held if problems[c.id] == code]
        if not matching:
            continue
        # the most recently issued one of them: the one the front desk will be asked about
        cert = max(matching, key=lambda c: (c.valid_from, c.expires_at, c.id))
        protocol = _protocol_name(case, cert.protocol)
        what = f"{facts.name}'s certification in {protocol}, which {condition.code} requires,"
        if code is ReasonCode.CERTIFICATION_REVOKED and cert.revoked_at is not None:
            message = f"{what} was revoked on {_at_local(cert.revoked_at, case.spa_timezone)}."
        elif code is ReasonCode.CERTIFICATION_EXPIRED:
            verb = "expired" if cert.expires_at <= case.start else "expires"
            when = _at_local(cert.expires_at, case.spa_timezone)
            message = f"{what} {verb} on {when}, before this session ends."
        else:
            when = _at_local(cert.valid_from, case.spa_timezone)
            message = f"{what} is valid only from {when}, after this session starts."
        return Reason(
            code=code,
            message=message,
            condition=condition.code,
            protocols=group,
            certification=cert.id,
        )
    names = [_protocol_name(case, slug) for slug in group]
    if len(names) == 1:
        message = f"{facts.name} is not certified in {names[0]}, which {condition.code} requires."
    elif names:
        message = (
            f"{facts.name} is not certified in any of {', '.join(names[:-1])} or {names[-1]}; "
            f"{condition.code} requires one of them."
        )
    else:
        message = f"{condition.code} requires a protocol the catalog does not name; no one may treat it."
    return Reason(
        code=ReasonCode.PROTOCOL_NOT_CERTIFIED, message=message, condition=condition.code, protocols=group
    )


def _dose(facts: TherapistFacts, case: Case) -> list[Reason]:
    """Focused minutes on a region stay within the smallest limit of the case's protocols on
    that region. Whole-body work is not focused on one region; no protocol there, no limit."""
    region = case.focus_region
    if region is None or region == WHOLE_BODY or case.focus_minutes <= 0:
        return []
    named = {
        slug for condition in case.conditions for group in condition.requirement_groups for slug in group
    }
    on_region = [case.protocols[slug] for slug in sorted(named) if slug in case.protocols]
    on_region = [p for p in on_region if p.region == region]
    if not on_region:
        return []
    limit = min(p.max_focus_minutes for p in on_region)
    if case.focus_minutes <= limit:
        return []
    limiting = tuple(p.slug for p in on_region if p.max_focus_minutes == limit)
    names = " and ".join(p.name for p in on_region if p.max_focus_minutes == limit)
    return [
        Reason(
            code=ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT,
            message=(
                f"{case.focus_minutes} minutes of focused work on the {region.replace('-', ' ')} region "
                f"exceed the {limit}-minute limit of {names}; more than that is overstimulation."
            ),
            protocols=limiting,
        )
    ]


def _availability(facts: TherapistFacts, case: Case) -> list[Reason]:
    """No other slot-holding booking overlaps ``[start, end)`` (back to back is fine). The id
    of a colliding booking is given only when it belongs to this spa."""
    reasons = []
    elsewhere = False
    for booking in facts.bookings_overlapping(case.start, case.end):
        if booking.id == case.booking_id:
            continue
        if booking.spa_id != case.spa_id:
            elsewhere = True
            continue
        reasons.append(
            Reason(
                code=ReasonCode.THERAPIST_UNAVAILABLE,
                message=(
                    f"{facts.name} already has a booking here from "
                    f"{_at_local(booking.start, case.spa_timezone)} to "
                    f"{_at_local(booking.end, case.spa_timezone)}."
                ),
                booking=booking.id,
            )
        )
    if elsewhere:
        reasons.append(
            Reason(
                code=ReasonCode.THERAPIST_UNAVAILABLE,
                message=f"{facts.name} is booked elsewhere at this time.",
            )
        )
    return reasons


def _warnings(facts: TherapistFacts, case: Case) -> list[Reason]:
    """What still holds for this session but ends soon after it: a group's certification
    (the one the session rests on, ``group_certification``: a full one before a provisional
    one, then the longest-lasting) and the licence the session rests on, each expiring within
    ``warning_days`` after the session ends."""
    warnings = []
    horizon = case.end + timedelta(days=case.warning_days)
    warned: set[str] = set()
    for condition in case.conditions:
        for group in condition.requirement_groups:
            cert = group_certification(facts.certifications, group, case.start, case.end, case.protocols)
            if cert is None or cert.expires_at > horizon or cert.id in warned:
                continue
            warned.add(cert.id)
            warnings.append(
                Reason(
                    code=ReasonCode.CERTIFICATION_EXPIRES_SOON,
                    message=(
                        f"{facts.name}'s certification in {_protocol_name(case, cert.protocol)} "
                        f"expires on {_at_local(cert.expires_at, case.spa_timezone)}, within "
                        f"{case.warning_days} days after this session."
                    ),
                    condition=condition.code,
                    protocols=(cert.protocol,),
                    certification=cert.id,
                )
            )
    first_day, last_day = local_days(case.start, case.end, case.spa_timezone)
    licence = licence_used(facts.licenses, case.spa_jurisdiction, first_day, last_day)
    if licence is not None and licence.expires_on <= last_day + timedelta(days=case.warning_days):
        warnings.append(
            Reason(
                code=ReasonCode.LICENSE_EXPIRES_SOON,
                message=(
                    f"{facts.name}'s licence in {licence.jurisdiction} expires on {licence.expires_on}, "
                    f"within {case.warning_days} days after this session."
                ),
            )
        )
    return warnings


# --- provisional scope: supervised sessions (issue 23) ----------------------------------------


def certification_full(cert: CertificationFact, protocols: Mapping[str, ProtocolFact]) -> bool:
    """A certification is full unless its protocol asks for supervised sessions and it has not
    yet been promoted (``scope_full_at``). A protocol the case does not name: full."""
    protocol = protocols.get(cert.protocol)
    return protocol is None or protocol.supervised_sessions <= 0 or cert.scope_full_at is not None


def provisional_certifications(facts: TherapistFacts, case: Case) -> tuple[CertificationFact, ...]:
    """The provisional certifications the session rests on: for each requirement group met over
    the whole session only by provisional certifications, the one lasting longest (each once, in
    the order of the groups) — the group's ``group_certification`` when it is provisional, so
    that the certification a supervisor is checked for is the one the session is recorded as
    resting on (``certifications_relied_on``). A group a full certification meets needs no
    supervisor; an unmet group is ``_requirements``' business."""
    chosen: dict[str, CertificationFact] = {}
    for condition in case.conditions:
        for group in condition.requirement_groups:
            cert = group_certification(facts.certifications, group, case.start, case.end, case.protocols)
            if cert is None or certification_full(cert, case.protocols):
                continue
            chosen.setdefault(cert.id, cert)
    return tuple(chosen.values())


def _supervised_count(cert: CertificationFact, case: Case) -> str:
    protocol = case.protocols.get(cert.protocol)
    needed = protocol.supervised_sessions if protocol is not None else 0
    return f"{min(cert.supervised_done, needed)} of {needed} supervised sessions done"


def supervisor_reasons(
    supervisor: TherapistFacts, facts: TherapistFacts, case: Case, provisional: Sequence[CertificationFact]
) -> list[Reason]:
    """Why ``supervisor`` may not supervise this session (empty: qualified): someone other than
    the therapist, employed at the spa and licensed in its jurisdiction over the session (the
    therapist's own rules, on the supervisor's facts), with a full certification valid over the
    whole session in the protocol of each provisional certification."""
    if supervisor.therapist_id == facts.therapist_id:
        return [
            Reason(
                code=ReasonCode.SUPERVISOR_NOT_QUALIFIED,
                message=f"{facts.name} cannot supervise their own session.",
            )
        ]
    reasons = [*_employment(supervisor, case), *_licence(supervisor, case)]
    for cert in provisional:
        protocol = _protocol_name(case, cert.protocol)
        held = [c for c in supervisor.certifications if c.protocol == cert.protocol]
        valid = [c for c in held if certification_valid_for(c, case.start, case.end)]
        if any(certification_full(c, case.protocols) for c in valid):
            continue
        if valid:
            own = max(valid, key=lambda c: (c.expires_at, c.id))
            reasons.append(
                Reason(
                    code=ReasonCode.SUPERVISOR_NOT_QUALIFIED,
                    message=(
                        f"{supervisor.name}'s own certification in {protocol} is provisional "
                        f"({_supervised_count(own, case)})."
                    ),
                    protocols=(cert.protocol,),
                    certification=own.id,
                )
            )
            continue
        condition = ConditionFact(
            code=protocol, name=protocol, region="", requirement_groups=((cert.protocol,),)
        )
        unmet = _unmet_group(supervisor, case, condition, (cert.protocol,))
        message = unmet.message.replace(f", which {protocol} requires,", "").replace(
            f", which {protocol} requires", ""
        )
        reasons.append(replace(unmet, message=message, condition=None))
    return reasons


def supervisor_free(supervisor: TherapistFacts, case: Case) -> bool:
    """The supervisor has no other slot-holding booking (treating or supervising) overlapping
    the session (the session's own booking aside, when re-checking it)."""
    return not any(b.id != case.booking_id for b in supervisor.bookings_overlapping(case.start, case.end))


def supervision_problems(facts: TherapistFacts, case: Case) -> bool:
    """``_supervision(facts, case)`` would give a reason (without building its messages)."""
    provisional = provisional_certifications(facts, case)
    if not provisional:
        return False
    supervisor = case.supervisor
    if supervisor is None or not supervisor_free(supervisor, case):
        return True
    return bool(supervisor_reasons(supervisor, facts, case, provisional))


def _supervision(facts: TherapistFacts, case: Case) -> list[Reason]:
    """A session resting on a provisional certification needs a supervisor (the case's): none
    named is ``SUPERVISION_REQUIRED`` (one per provisional certification); one named who may not
    supervise is ``SUPERVISOR_NOT_QUALIFIED`` with the supervisor's own reasons; one busy in the
    slot (treating or supervising) is ``SUPERVISOR_UNAVAILABLE``. Both of the last two when
    both apply."""
    provisional = provisional_certifications(facts, case)
    if not provisional:
        return []
    supervisor = case.supervisor
    if supervisor is None:
        return [
            Reason(
                code=ReasonCode.SUPERVISION_REQUIRED,
                message=(
                    f"{facts.name}'s certification in {_protocol_name(case, cert.protocol)} is provisional "
                    f"({_supervised_count(cert, case)}): name a supervisor fully certified in it."
                ),
                protocols=(cert.protocol,),
                certification=cert.id,
            )
            for cert in provisional
        ]
    reasons = []
    own = supervisor_reasons(supervisor, facts, case, provisional)
    if own:
        reasons.append(
            Reason(
                code=ReasonCode.SUPERVISOR_NOT_QUALIFIED,
                message=f"{supervisor.name} may not supervise this session: "
                + " ".join(r.message for r in own),
                supervisor=supervisor.therapist_id,
                supervisor_reasons=tuple(own),
            )
        )
    if not supervisor_free(supervisor, case):
        here = [
            b
            for b in supervisor.bookings_overlapping(case.start, case.end)
            if b.id != case.booking_id and b.spa_id == case.spa_id
        ]
        reasons.append(
            Reason(
                code=ReasonCode.SUPERVISOR_UNAVAILABLE,
                message=(
                    f"{supervisor.name} is already treating or supervising a session at this time"
                    + ("." if here else " elsewhere.")
                ),
                supervisor=supervisor.therapist_id,
                booking=here[0].id if here else None,
            )
        )
    return reasons


def _supervision_warnings(facts: TherapistFacts, case: Case) -> list[Reason]:
    """A supervisor named for a session that rests on no provisional certification: not
    needed, and not booked (the session is unsupervised)."""
    if case.supervisor is None or provisional_certifications(facts, case):
        return []
    return [
        Reason(
            code=ReasonCode.SUPERVISOR_NOT_NEEDED,
            message=(
                f"{facts.name} needs no supervisor for this session; "
                f"{case.supervisor.name} is not booked for it."
            ),
            supervisor=case.supervisor.therapist_id,
        )
    ]


def qualified_supervisors(
    facts: TherapistFacts, case: Case, staff: Iterable[TherapistFacts]
) -> list[TherapistFacts]:
    """Of ``staff`` (in their order), those who could supervise this therapist's session: free
    in the slot and qualified (``supervisor_reasons`` empty). Empty when the session needs no
    supervisor."""
    provisional = provisional_certifications(facts, case)
    if not provisional:
        return []
    return [
        s
        for s in staff
        if s.therapist_id != facts.therapist_id
        and supervisor_free(s, case)
        and not supervisor_reasons(s, facts, case, provisional)
    ]


Rule = Callable[[TherapistFacts, Case], list[Reason]]

# Rules that read the case only (the same answer for every therapist), and those that read the
# therapist's facts: ``allowed_among`` asks the first once per case.
CASE_RULES: tuple[Rule, ...] = (_red_flags, _intake, _dose)
# The rules whose predicates ``allowed_among`` applies itself: with CASE_RULES, every rule. A
# rule added to RULES must be added to ``allowed_among`` too (a test compares the sets).
FACT_RULES: tuple[Rule, ...] = (_employment, _licence, _requirements, _availability, _supervision)

# The order reasons are reported in: the client's safety first, then the therapist, the slot.
RULES: tuple[Rule, ...] = (
    _red_flags,
    _intake,
    _employment,
    _licence,
    _requirements,
    _dose,
    _availability,
    _supervision,
)

# --- allowed or not, for many therapists at once (a re-check's suggested replacements) --------


def could_be_allowed(facts: TherapistFacts, case: Case) -> bool:
    """False when no session on this case's spa and conditions could be allowed for the
    therapist, at any time: no employment at the spa, no licence in its jurisdiction, or a
    requirement group in none of whose protocols they hold any certification. A necessary
    condition of ``decide(facts, case).allowed`` that reads neither the session's time nor its
    bookings, so a re-check computes it once per spa and conditions, not once per session."""
    if not any(e.spa_id == case.spa_id for e in facts.employments):
        return False
    if not any(lic.jurisdiction == case.spa_jurisdiction for lic in facts.licenses):
        return False
    held = {c.protocol for c in facts.certifications}
    return all(held.intersection(group) for c in case.conditions for group in c.requirement_groups)


def allowed_among(candidates: Iterable[TherapistFacts], case: Case) -> list[TherapistFacts]:
    """The candidates ``decide(facts, case)`` allows, in their order — the same answer, without
    building the reasons' messages or the warnings: the case's own rules (red flags, intake,
    dose) are asked once, then per therapist the employment, the licence, the requirements,
    the bookings and the supervision, each by the predicate its rule applies
    (``employment_covers``, ``licence_used``, ``group_met``, ``bookings_overlapping``,
    ``supervision_problems``), stopping at the first that fails."""
    for moment in (case.start, case.end, case.intake_valid_until):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("The engine reads aware datetimes only.")
    if case.end <= case.start:
        raise ValueError("A session must end after it starts.")
    if any(rule(_NO_FACTS, case) for rule in CASE_RULES):
        return []
    first_day, last_day = local_days(case.start, case.end, case.spa_timezone)
    groups = [group for condition in case.conditions for group in condition.requirement_groups]
    allowed = []
    for facts in candidates:
        if not any(employment_covers(e, case.spa_id, first_day, last_day) for e in facts.employments):
            continue
        if licence_used(facts.licenses, case.spa_jurisdiction, first_day, last_day) is None:
            continue
        if not all(group_met(facts.certifications, group, case.start, case.end) for group in groups):
            continue
        if any(b.id != case.booking_id for b in facts.bookings_overlapping(case.start, case.end)):
            continue
        if supervision_problems(facts, case):
            continue
        allowed.append(facts)
    return allowed


_NO_FACTS = TherapistFacts(therapist_id="", name="")  # the case rules never read the facts
