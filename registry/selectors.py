"""Reads the eligibility engine needs, each in a fixed number of queries.

The facts about therapists and the case of a session are loaded here and handed to the pure
``registry.eligibility`` functions; no rule lives in this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q

from credentials.models import Certification, License, Therapist
from protocols.models import Condition, RequirementGroup, ScreeningQuestion
from registry.choices import ACTIVE_BOOKING_STATUSES
from registry.eligibility import (
    REFER_EMERGENCY,
    BookingFact,
    Case,
    CertificationFact,
    ConditionFact,
    EmploymentFact,
    LicenseFact,
    ProtocolFact,
    Scope,
    ScreeningAnswer,
    TherapistFacts,
    local_days,
    scope_of,
)
from registry.models import Booking, Employment, Intake, Spa

__all__ = [
    "Scope",
    "eligibility_case",
    "eligibility_facts_for_spa",
    "eligibility_facts_for_therapist",
    "therapist_scope",
]

Window = tuple[datetime, datetime]


# --- therapist facts ---------------------------------------------------------------------------


def eligibility_facts_for_therapist(*, therapist_id: Any, window: Window) -> TherapistFacts:
    """One therapist's facts: every employment, licence and certification, and the
    slot-holding bookings overlapping ``window`` (half-open). Five queries.

    Raises ``Therapist.DoesNotExist`` for an unknown id.
    """
    therapist = Therapist.objects.only("id", "name").get(pk=therapist_id)
    return _facts_for([(therapist.pk, therapist.name)], window)[0]


def eligibility_facts_for_spa(*, spa_id: Any, window: Window) -> list[TherapistFacts]:
    """The facts of every therapist with an employment at the spa overlapping ``window``
    (employment days read in the spa's timezone), ordered by name. Six queries, whatever the
    number of therapists (two when nobody works there)."""
    spa = Spa.objects.only("id", "timezone").get(pk=spa_id)
    first_day, last_day = local_days(window[0], window[1], spa.timezone)
    employed = (
        Employment.objects.filter(spa_id=spa.pk, started_on__lte=last_day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first_day))
        .values("therapist_id")
    )
    therapists = list(
        Therapist.objects.filter(pk__in=employed).order_by("name", "id").values_list("id", "name")
    )
    if not therapists:
        return []
    return _facts_for(therapists, window)


def _facts_for(therapists: list[tuple[Any, str]], window: Window) -> list[TherapistFacts]:
    """Facts for ``therapists`` (id, name) in their order: one query per table."""
    ids = [pk for pk, _ in therapists]
    employments: dict[Any, list[EmploymentFact]] = defaultdict(list)
    for therapist_id, spa_id, started_on, ended_on in (
        Employment.objects.filter(therapist_id__in=ids)
        .order_by("started_on", "id")
        .values_list("therapist_id", "spa_id", "started_on", "ended_on")
    ):
        employments[therapist_id].append(
            EmploymentFact(spa_id=str(spa_id), started_on=started_on, ended_on=ended_on)
        )

    licences: dict[Any, list[LicenseFact]] = defaultdict(list)
    for pk, therapist_id, jurisdiction, status, valid_from, expires_on in (
        License.objects.filter(therapist_id__in=ids)
        .order_by("jurisdiction", "valid_from", "id")
        .values_list("id", "therapist_id", "jurisdiction", "status", "valid_from", "expires_on")
    ):
        licences[therapist_id].append(
            LicenseFact(
                id=str(pk),
                jurisdiction=jurisdiction,
                status=status,
                valid_from=valid_from,
                expires_on=expires_on,
            )
        )

    certifications: dict[Any, list[CertificationFact]] = defaultdict(list)
    for pk, therapist_id, slug, valid_from, expires_at, revoked_at in (
        Certification.objects.filter(therapist_id__in=ids)
        .order_by("valid_from", "id")
        .values_list("id", "therapist_id", "protocol__slug", "valid_from", "expires_at", "revoked_at")
    ):
        certifications[therapist_id].append(
            CertificationFact(
                id=str(pk),
                protocol=slug,
                valid_from=valid_from,
                expires_at=expires_at,
                revoked_at=revoked_at,
            )
        )

    bookings: dict[Any, list[BookingFact]] = defaultdict(list)
    start, end = window
    for pk, therapist_id, spa_id, b_start, b_end in (
        Booking.objects.filter(
            therapist_id__in=ids,
            status__in=[s.value for s in ACTIVE_BOOKING_STATUSES],
            start__lt=end,
            end__gt=start,
        )
        .order_by("start", "id")
        .values_list("id", "therapist_id", "spa_id", "start", "end")
    ):
        bookings[therapist_id].append(BookingFact(id=str(pk), spa_id=str(spa_id), start=b_start, end=b_end))

    return [
        TherapistFacts(
            therapist_id=str(pk),
            name=name,
            employments=tuple(employments[pk]),
            licenses=tuple(licences[pk]),
            certifications=tuple(certifications[pk]),
            bookings=tuple(bookings[pk]),
        )
        for pk, name in therapists
    ]


# --- the case ------------------------------------------------------------------------------------


def _conditions_with_groups(
    conditions: Iterable[Condition],
) -> tuple[list[ConditionFact], dict[str, ProtocolFact]]:
    """ConditionFacts (groups in position order, each group's slugs sorted) and every protocol
    the groups name, from conditions prefetched with ``_GROUPS``."""
    facts = []
    protocols: dict[str, ProtocolFact] = {}
    for condition in conditions:
        groups = []
        for group in condition.requirement_groups.all():
            members = sorted(group.protocols.all(), key=lambda p: p.slug)
            for p in members:
                protocols[p.slug] = ProtocolFact(
                    slug=p.slug, name=p.name, region=p.region, max_focus_minutes=p.max_focus_minutes
                )
            groups.append(tuple(p.slug for p in members))
        facts.append(
            ConditionFact(
                code=condition.code,
                name=condition.name,
                region=condition.region,
                requirement_groups=tuple(groups),
            )
        )
    return facts, protocols


def _groups_prefetch() -> Prefetch:
    return Prefetch(
        "requirement_groups",
        queryset=RequirementGroup.objects.order_by("position").prefetch_related("protocols"),
    )


def eligibility_case(
    *,
    intake: Intake,
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
    booking_id: Any = None,
) -> Case:
    """The case of a session ``[start, end)`` on ``intake``: its spa, its conditions with their
    requirement groups and protocols, and its screening answers with each question's text and
    action (a recorded clearance marks the answer cleared; the engine decides whether that
    counts). At most five queries (four when ``intake.spa`` is already loaded)."""
    spa = intake.spa
    conditions = intake.conditions.order_by("code").prefetch_related(_groups_prefetch())
    condition_facts, protocols = _conditions_with_groups(conditions)

    screening = intake.screening or {}
    clearances = intake.clearances or {}
    questions = {
        q.code: q
        for q in ScreeningQuestion.objects.filter(code__in=list(screening)).only(
            "code", "text", "action", "position"
        )
    }
    ordered = sorted(
        screening.items(),
        key=lambda item: (
            (questions[item[0]].position, item[0]) if item[0] in questions else (1 << 16, item[0])
        ),
    )
    answers = []
    for code, answer in ordered:
        question = questions.get(code)
        answers.append(
            ScreeningAnswer(
                question=code,
                # A question no longer in the catalog: a yes to it still stops the session, and
                # no clearance lifts it.
                text=question.text if question is not None else code,
                action=question.action if question is not None else REFER_EMERGENCY,
                answer=bool(answer),
                cleared=bool(clearances.get(code)),
            )
        )

    return Case(
        spa_id=str(spa.pk),
        spa_jurisdiction=spa.jurisdiction,
        spa_timezone=spa.timezone,
        start=start,
        end=end,
        intake_valid_until=intake.valid_until,
        conditions=tuple(condition_facts),
        screening=tuple(answers),
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        protocols=protocols,
        booking_id=str(booking_id) if booking_id is not None else None,
    )


# --- scope -----------------------------------------------------------------------------------------


def therapist_scope(*, therapist_id: Any, at: datetime, spa_id: Any = None) -> Scope:
    """What the therapist may treat at ``at``: the protocols they hold a valid certification
    in, given an active licence (with ``spa_id``: in the spa's jurisdiction, on that day in its
    timezone; without: any active licence, days read in UTC), and every condition whose every
    requirement group those protocols meet. Fixed query count: spa, licences, certifications,
    conditions, groups, group protocols."""
    jurisdiction: str | None = None
    tz_name = "UTC"
    if spa_id is not None:
        spa = Spa.objects.only("id", "jurisdiction", "timezone").get(pk=spa_id)
        jurisdiction, tz_name = spa.jurisdiction, spa.timezone
    licences = tuple(
        LicenseFact(
            id=str(pk),
            jurisdiction=lic_jurisdiction,
            status=status,
            valid_from=valid_from,
            expires_on=expires_on,
        )
        for pk, lic_jurisdiction, status, valid_from, expires_on in License.objects.filter(
            therapist_id=therapist_id
        ).values_list("id", "jurisdiction", "status", "valid_from", "expires_on")
    )
    certifications = tuple(
        CertificationFact(
            id=str(pk), protocol=slug, valid_from=valid_from, expires_at=expires_at, revoked_at=revoked_at
        )
        for pk, slug, valid_from, expires_at, revoked_at in Certification.objects.filter(
            therapist_id=therapist_id
        ).values_list("id", "protocol__slug", "valid_from", "expires_at", "revoked_at")
    )
    facts = TherapistFacts(
        therapist_id=str(therapist_id), name="", licenses=licences, certifications=certifications
    )
    if not licences:
        return Scope(protocols=[], conditions=[])
    catalog = Condition.objects.order_by("code").prefetch_related(_groups_prefetch())
    condition_facts, _ = _conditions_with_groups(catalog)
    requirements = {c.code: c.requirement_groups for c in condition_facts}
    return scope_of(facts, requirements, at, jurisdiction, tz_name)
