"""Reads the eligibility engine needs, each in a fixed number of queries.

The facts about therapists and the case of a session are loaded here and handed to the pure
``registry.eligibility`` functions; no rule lives in this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Prefetch

from credentials.models import Certification, License, Therapist
from protocols.models import Condition, RequirementGroup
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
from registry.models import Intake, Spa

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
    slot-holding bookings overlapping ``window`` (half-open). One query.

    Raises ``Therapist.DoesNotExist`` for an unknown id.
    """
    facts = _facts_where("t.id = %(id)s::uuid", {"id": str(therapist_id)}, window)
    if not facts:
        raise Therapist.DoesNotExist(f"No therapist {therapist_id}.")
    return facts[0]


def eligibility_facts_for_spa(*, spa_id: Any, window: Window) -> list[TherapistFacts]:
    """The facts of every therapist with an employment at the spa overlapping ``window``
    (employment days read in the spa's timezone), ordered by name. Two queries (the spa's
    timezone, then the facts), whatever the number of therapists."""
    spa = Spa.objects.only("id", "timezone").get(pk=spa_id)
    first_day, last_day = local_days(window[0], window[1], spa.timezone)
    return _facts_where(
        """t.id IN (SELECT e.therapist_id FROM registry_employment e
                     WHERE e.spa_id = %(spa)s::uuid AND e.started_on <= %(last_day)s
                       AND (e.ended_on IS NULL OR e.ended_on >= %(first_day)s))""",
        {"spa": str(spa.pk), "first_day": first_day, "last_day": last_day},
        window,
    )


_FACTS_SQL = """
SELECT t.id, t.name,
  COALESCE((SELECT json_agg(json_build_array(e.spa_id, e.started_on, e.ended_on)
                            ORDER BY e.started_on, e.id)
              FROM registry_employment e WHERE e.therapist_id = t.id), '[]'),
  COALESCE((SELECT json_agg(json_build_array(l.id, l.jurisdiction, l.status, l.valid_from, l.expires_on)
                            ORDER BY l.jurisdiction, l.valid_from, l.id)
              FROM credentials_license l WHERE l.therapist_id = t.id), '[]'),
  COALESCE((SELECT json_agg(json_build_array(c.id, p.slug, c.valid_from, c.expires_at, c.revoked_at)
                            ORDER BY c.valid_from, c.id)
              FROM credentials_certification c JOIN protocols_protocol p ON p.id = c.protocol_id
             WHERE c.therapist_id = t.id), '[]'),
  COALESCE((SELECT json_agg(json_build_array(b.id, b.spa_id, b.start, b."end") ORDER BY b.start, b.id)
              FROM registry_booking b
             WHERE b.therapist_id = t.id AND b.status = ANY(%(statuses)s)
               AND b.start < %(end)s AND b."end" > %(start)s), '[]')
FROM credentials_therapist t
WHERE {where}
ORDER BY t.name, t.id
"""


def _day(value: str | None):
    return date.fromisoformat(value) if value is not None else None


def _moment(value: str | None):
    return datetime.fromisoformat(value) if value is not None else None


def _facts_where(where: str, params: dict[str, Any], window: Window) -> list[TherapistFacts]:
    """Facts of the therapists matching ``where``, ordered by name: ONE query, each
    therapist's rows of every table aggregated as JSON (each sub-select uses the table's
    therapist index)."""
    start, end = window
    with connection.cursor() as cursor:
        cursor.execute(
            _FACTS_SQL.format(where=where),
            {
                **params,
                "statuses": [s.value for s in ACTIVE_BOOKING_STATUSES],
                "start": start,
                "end": end,
            },
        )
        rows = cursor.fetchall()
    return [_facts_of(row) for row in rows]


def _facts_of(row: tuple) -> TherapistFacts:
    pk, name = row[0], row[1]
    employments, licences, certifications, bookings = (_json(v) for v in row[2:])
    return TherapistFacts(
        therapist_id=str(pk),
        name=name,
        employments=tuple(
            EmploymentFact(spa_id=str(spa_id), started_on=_day(started), ended_on=_day(ended))
            for spa_id, started, ended in employments
        ),
        licenses=tuple(
            LicenseFact(
                id=str(lic_id),
                jurisdiction=jurisdiction,
                status=status,
                valid_from=_day(valid_from),
                expires_on=_day(expires_on),
            )
            for lic_id, jurisdiction, status, valid_from, expires_on in licences
        ),
        certifications=tuple(
            CertificationFact(
                id=str(cert_id),
                protocol=slug,
                valid_from=_moment(valid_from),
                expires_at=_moment(expires_at),
                revoked_at=_moment(revoked_at),
            )
            for cert_id, slug, valid_from, expires_at, revoked_at in certifications
        ),
        bookings=tuple(
            BookingFact(id=str(b_id), spa_id=str(spa_id), start=_moment(b_start), end=_moment(b_end))
            for b_id, spa_id, b_start, b_end in bookings
        ),
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


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


_CASE_SQL = """
SELECT s.id, s.jurisdiction, s.timezone, i.valid_until, i.screening, i.clearances,
  COALESCE((
    SELECT json_agg(json_build_array(c.code, c.name, c.region, COALESCE((
        SELECT json_agg(COALESCE((
            SELECT json_agg(json_build_array(p.slug, p.name, p.region, p.max_focus_minutes) ORDER BY p.slug)
              FROM protocols_requirementgroup_protocols gp
              JOIN protocols_protocol p ON p.id = gp.protocol_id
             WHERE gp.requirementgroup_id = g.id), '[]') ORDER BY g.position)
          FROM protocols_requirementgroup g WHERE g.condition_id = c.id), '[]')) ORDER BY c.code)
      FROM registry_intake_conditions ic JOIN protocols_condition c ON c.id = ic.condition_id
     WHERE ic.intake_id = i.id), '[]'),
  COALESCE((
    SELECT json_agg(json_build_array(q.code, q.text, q.action, q.position))
      FROM protocols_screeningquestion q WHERE i.screening ? q.code), '[]')
FROM registry_intake i JOIN registry_spa s ON s.id = i.spa_id
WHERE i.id = %(intake)s::uuid
"""


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
    counts). One query."""
    with connection.cursor() as cursor:
        cursor.execute(_CASE_SQL, {"intake": str(intake.pk)})
        row = cursor.fetchone()
    if row is None:
        raise Intake.DoesNotExist(f"No intake {intake.pk}.")
    spa_id, jurisdiction, tz_name, valid_until, screening, clearances, conditions, questions = row
    screening = _json(screening) or {}
    clearances = _json(clearances) or {}

    protocols: dict[str, ProtocolFact] = {}
    condition_facts = []
    for code, name, region, groups in _json(conditions):
        slugs = []
        for group in groups:
            for slug, p_name, p_region, limit in group:
                protocols[slug] = ProtocolFact(
                    slug=slug, name=p_name, region=p_region, max_focus_minutes=limit
                )
            slugs.append(tuple(member[0] for member in group))
        condition_facts.append(
            ConditionFact(code=code, name=name, region=region, requirement_groups=tuple(slugs))
        )

    by_code = {code: (text, action, position) for code, text, action, position in _json(questions)}
    ordered = sorted(
        screening.items(),
        key=lambda item: (by_code[item[0]][2], item[0]) if item[0] in by_code else (1 << 16, item[0]),
    )
    answers = []
    for code, answer in ordered:
        question = by_code.get(code)
        answers.append(
            ScreeningAnswer(
                question=code,
                # A question no longer in the catalog: a yes to it still stops the session, and
                # no clearance lifts it.
                text=question[0] if question is not None else code,
                action=question[1] if question is not None else REFER_EMERGENCY,
                answer=bool(answer),
                cleared=bool(clearances.get(code)),
            )
        )

    return Case(
        spa_id=str(spa_id),
        spa_jurisdiction=jurisdiction,
        spa_timezone=tz_name,
        start=start,
        end=end,
        intake_valid_until=valid_until,
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
