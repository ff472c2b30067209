"""Reads the eligibility engine needs, and the safety record, each in a fixed number of queries.

The facts about therapists and the case of a session are loaded here and handed to the pure
``registry.eligibility`` functions; no rule lives in this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.db import prepared_cursor
from core.errors import Conflict
from credentials.models import Certification, License, Therapist
from protocols.models import Condition, RequirementGroup
from registry import rls
from registry.choices import ACTIVE_BOOKING_STATUSES, BookingStatus
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
    UnansweredQuestion,
    local_days,
    question_applies,
    scope_of,
)
from registry.models import AdverseEvent, Intake, SessionCertification, SessionOutcome, Spa

__all__ = [
    "SafetyCounts",
    "SafetyRecord",
    "Scope",
    "credential_facts_for_spa",
    "eligibility_case",
    "eligibility_case_at_spa",
    "eligibility_cases_for_intakes",
    "eligibility_check_facts",
    "eligibility_facts_for_spa",
    "eligibility_facts_for_spas",
    "eligibility_facts_for_therapist",
    "eligibility_facts_for_therapists",
    "safety_records",
    "therapist_scope",
]

Window = tuple[datetime, datetime]


# --- therapist facts ---------------------------------------------------------------------------


def eligibility_facts_for_therapist(*, therapist_id: Any, window: Window) -> TherapistFacts:
    """One therapist's facts: every employment, licence and certification, and the
    slot-holding bookings overlapping ``window`` (half-open). One query (one more the first
    time after the catalog changed: the certifications' protocols are named from its copy).

    Raises ``Therapist.DoesNotExist`` for an unknown id.
    """
    facts = _facts_where("t.id = %(id)s::uuid", {"id": str(therapist_id)}, window)
    if not facts:
        raise Therapist.DoesNotExist(f"No therapist {therapist_id}.")
    return facts[0]


def eligibility_facts_for_spa(
    *, spa_id: Any, window: Window, spa_timezone: str | None = None
) -> list[TherapistFacts]:
    """The facts of every therapist with an employment at the spa overlapping ``window``
    (employment days read in the spa's timezone), ordered by name. Two queries (the spa's
    timezone, then the facts) whatever the number of therapists; one when the caller knows the
    timezone (and one more the first time after the catalog changed)."""
    if spa_timezone is None:
        spa_timezone = Spa.objects.only("id", "timezone").get(pk=spa_id).timezone
    first_day, last_day = local_days(window[0], window[1], spa_timezone)
    return _facts_where(
        """t.id IN (SELECT e.therapist_id FROM registry_employment e
                     WHERE e.spa_id = %(spa)s::uuid AND e.started_on <= %(last_day)s
                       AND (e.ended_on IS NULL OR e.ended_on >= %(first_day)s))""",
        {"spa": str(spa_id), "first_day": first_day, "last_day": last_day},
        window,
    )


def eligibility_facts_for_therapists(
    *, therapist_ids: Iterable[Any], window: Window
) -> dict[str, TherapistFacts]:
    """``eligibility_facts_for_therapist`` for many therapists at once, by id (as a string);
    an unknown id is left out. ONE query whatever their number."""
    ids = sorted({str(pk) for pk in therapist_ids})
    if not ids:
        return {}
    return {f.therapist_id: f for f in _facts_where("t.id = ANY(%(ids)s::uuid[])", {"ids": ids}, window)}


def eligibility_facts_for_spas(*, spas: dict[Any, tuple[Window, str]]) -> dict[Any, list[TherapistFacts]]:
    """``eligibility_facts_for_spa`` for many spas at once: ``spas`` maps a spa id to its window
    and timezone; the answer maps it to the facts of every therapist with an employment at
    the spa overlapping its window (days in its timezone), by name. ONE query whatever the
    number of spas: the facts over the union of the windows, each spa's staff picked by the
    same employment test."""
    if not spas:
        return {}
    days = {spa_id: local_days(w[0], w[1], tz) for spa_id, (w, tz) in spas.items()}
    window = (min(w[0] for w, _ in spas.values()), max(w[1] for w, _ in spas.values()))
    facts = _facts_where(
        """t.id IN (SELECT e.therapist_id FROM registry_employment e
                     WHERE e.spa_id = ANY(%(spas)s::uuid[]) AND e.started_on <= %(last_day)s
                       AND (e.ended_on IS NULL OR e.ended_on >= %(first_day)s))""",
        {
            "spas": sorted(str(pk) for pk in spas),
            "first_day": min(first for first, _ in days.values()),
            "last_day": max(last for _, last in days.values()),
        },
        window,
    )
    return {
        spa_id: [
            f
            for f in facts
            if any(
                e.spa_id == str(spa_id)
                and e.started_on <= last
                and (e.ended_on is None or e.ended_on >= first)
                for e in f.employments
            )
        ]
        for spa_id, (first, last) in days.items()
    }


def credential_facts_for_spa(*, spa_id: Any, first_day: date, last_day: date) -> list[TherapistFacts]:
    """The employments, licences and certifications (no bookings) of every therapist with an
    employment at the spa overlapping the days ``first_day`` to ``last_day`` (inclusive), ordered
    by name: what the coverage forecast reads. One query (one more the first time after the
    catalog changed)."""
    never = datetime(2000, 1, 1, tzinfo=UTC)  # an empty booking window: no booking is read
    return _facts_where(
        """t.id IN (SELECT e.therapist_id FROM registry_employment e
                     WHERE e.spa_id = %(spa)s::uuid AND e.started_on <= %(last_day)s
                       AND (e.ended_on IS NULL OR e.ended_on >= %(first_day)s))""",
        {"spa": str(spa_id), "first_day": first_day, "last_day": last_day},
        (never, never),
    )


_FACTS_TEMPLATE = """
SELECT t.id, t.name, (SELECT v.version FROM protocols_catalogversion v),
  COALESCE((SELECT json_agg(item) FROM (
      SELECT json_build_array('e', e.id, e.spa_id, e.started_on, e.ended_on) AS item
        FROM registry_employment e WHERE e.therapist_id = t.id
      UNION ALL
      SELECT json_build_array('l', l.id, l.jurisdiction, l.status, l.valid_from, l.expires_on)
        FROM credentials_license l WHERE l.therapist_id = t.id
      UNION ALL
      SELECT json_build_array('c', c.id, c.protocol_id, c.valid_from, c.expires_at, c.revoked_at,
                              c.scope_full_at, c.supervised_sessions_done)
        FROM credentials_certification c WHERE c.therapist_id = t.id
      UNION ALL
      SELECT json_build_array('b', b.id, b.spa_id, b.start, b."end")
        FROM {slot_view} b
       WHERE b.therapist_id = t.id AND b.status IN {slot_holding}
         AND tstzrange(b.start, b."end", '[)') && tstzrange(%(start)s, %(end)s, '[)')
      UNION ALL
      SELECT json_build_array('s', b.id, b.spa_id, b.start, b."end")
        FROM {slot_view} b
       WHERE b.supervisor_id = t.id AND b.status IN {slot_holding}
         AND b.start < %(end)s AND b."end" > %(start)s
  ) AS items), '[]')
FROM credentials_therapist t
WHERE {{where}}
ORDER BY t.name, t.id
"""
# One sub-select per therapist for all four tables (each part on the table's therapist index),
# tagged rows in one JSON array: fewer plan nodes than a sub-select per table. Certifications
# name their protocol by id, mapped to its slug through the process's copy of the catalog (the
# version is read in the same statement). The bookings are found through the exclusion
# constraint's GiST index (therapist, time range; slot-holding statuses only), through the slot
# view (registry.rls.SLOT_VIEW): a therapist's slots at every spa, whoever asks, and nothing of
# the client. The statuses
# are written out so that the index's predicate is provable in a prepared statement's generic
# plan too.
_FACTS_SQL = _FACTS_TEMPLATE.format(
    slot_view=rls.SLOT_VIEW,
    slot_holding="(" + ", ".join(f"'{s.value}'" for s in ACTIVE_BOOKING_STATUSES) + ")",
)
_FACTS_COLUMNS = 4


def _day(value: str | None):
    return date.fromisoformat(value) if value is not None else None


def _moment(value: str | None):
    return datetime.fromisoformat(value) if value is not None else None


def _facts_where(where: str, params: dict[str, Any], window: Window) -> list[TherapistFacts]:
    """Facts of the therapists matching ``where``, ordered by name: ONE query, each
    therapist's rows of every table aggregated as JSON (each sub-select uses the table's
    therapist index)."""
    start, end = window
    with prepared_cursor() as cursor:
        cursor.execute(
            _FACTS_SQL.format(where=where),
            {**params, "start": start, "end": end},
        )
        rows = cursor.fetchall()
    if not rows:
        return []
    slugs = _protocol_slugs(rows[0][2], rows)
    return [_facts_of(row, slugs) for row in rows]


def _facts_of(row: tuple, protocol_slugs: dict[str, str]) -> TherapistFacts:
    pk, name, _version, items = row
    employments, licences, certifications, bookings = [], [], [], []
    for item in _json(items):
        kind = item[0]
        if kind == "c":
            _, cert_id, protocol_id, valid_from, expires_at, revoked_at, full_at, done = item
            certifications.append(
                CertificationFact(
                    id=cert_id,
                    protocol=protocol_slugs[protocol_id],
                    valid_from=_moment(valid_from),
                    expires_at=_moment(expires_at),
                    revoked_at=_moment(revoked_at),
                    scope_full_at=_moment(full_at),
                    supervised_done=done or 0,
                )
            )
        elif kind in ("b", "s"):
            _, b_id, spa_id, b_start, b_end = item
            bookings.append(
                BookingFact(
                    id=b_id,
                    spa_id=spa_id,
                    start=_moment(b_start),
                    end=_moment(b_end),
                    supervising=kind == "s",
                )
            )
        elif kind == "l":
            _, lic_id, jurisdiction, status, valid_from, expires_on = item
            licences.append(
                LicenseFact(
                    id=lic_id,
                    jurisdiction=jurisdiction,
                    status=status,
                    valid_from=_day(valid_from),
                    expires_on=_day(expires_on),
                )
            )
        else:
            _, e_id, spa_id, started, ended = item
            fact = EmploymentFact(spa_id=spa_id, started_on=_day(started), ended_on=_day(ended))
            employments.append((started, e_id, fact))
    # listed in a fixed order (a reason may name the first of several)
    employments.sort(key=lambda e: e[:2])
    licences.sort(key=lambda lic: (lic.jurisdiction, lic.valid_from, lic.id))
    certifications.sort(key=lambda c: (c.valid_from, c.id))
    bookings.sort(key=lambda b: (b.start, b.id))
    return TherapistFacts(
        therapist_id=str(pk),
        name=name,
        employments=tuple(e[2] for e in employments),
        licenses=tuple(licences),
        certifications=tuple(certifications),
        bookings=tuple(bookings),
    )


def _protocol_slugs(version: int | None, rows: Iterable[tuple]) -> dict[str, str]:
    """Protocol id -> slug for the certifications in ``rows`` (facts rows), from the catalog
    copy at ``version``; read afresh if one is missing (the catalog changed again since)."""
    needed = set().union(*(_certified_protocols(row) for row in rows))
    slugs = _catalog(version).protocols
    if not needed <= slugs.keys():
        slugs = _catalog(None).protocols
        if not needed <= slugs.keys():  # a protocol gone meanwhile
            raise Conflict("The catalog changed during this request; try again.")
    return slugs


def _certified_protocols(row: tuple) -> set[str]:
    return {item[2] for item in _json(row[3]) if item[0] == "c"}


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
                    slug=p.slug,
                    name=p.name,
                    region=p.region,
                    max_focus_minutes=p.max_focus_minutes,
                    supervised_sessions=p.supervised_sessions,
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


# A condition's requirement groups by position, each a list of its protocols by slug.
_GROUPS_OF_C = """COALESCE((
        SELECT json_agg(COALESCE((
            SELECT json_agg(json_build_array(p.slug, p.name, p.region, p.max_focus_minutes,
                                               p.supervised_sessions) ORDER BY p.slug)
              FROM protocols_requirementgroup_protocols gp
              JOIN protocols_protocol p ON p.id = gp.protocol_id
             WHERE gp.requirementgroup_id = g.id), '[]') ORDER BY g.position)
          FROM protocols_requirementgroup g WHERE g.condition_id = c.id), '[]')"""

_CASE_TEMPLATE = """
SELECT s.id, s.jurisdiction, s.timezone, i.valid_until, i.screening, i.clearances, i.focus_regions,
  COALESCE((
    SELECT json_agg(json_build_array(c.code, c.name, c.region, {groups}) ORDER BY c.code)
      FROM registry_intake_conditions ic JOIN protocols_condition c ON c.id = ic.condition_id
     WHERE ic.intake_id = i.id), '[]'),
  COALESCE((
    SELECT json_agg(json_build_array(q.code, q.text, q.action, q.position, q.regions))
      FROM protocols_screeningquestion q), '[]')
FROM registry_intake i JOIN registry_spa s ON s.id = i.spa_id
WHERE i.id = %(intake)s::uuid {{and_spa}}
"""
_CASE_SQL = _CASE_TEMPLATE.format(groups=_GROUPS_OF_C)


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
    case = _case_where(
        intake_id=intake.pk,
        spa_id=None,
        start=start,
        end=end,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        booking_id=booking_id,
    )
    if case is None:
        raise Intake.DoesNotExist(f"No intake {intake.pk}.")
    return case


def eligibility_case_at_spa(
    *,
    intake_id: Any,
    spa_id: Any,
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
) -> Case | None:
    """``eligibility_case`` by ids: the case of a session on the intake ``intake_id`` recorded
    by the spa ``spa_id``; ``None`` when that spa recorded no such intake. One query."""
    return _case_where(
        intake_id=intake_id,
        spa_id=spa_id,
        start=start,
        end=end,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        booking_id=None,
    )


def _case_where(
    *,
    intake_id: Any,
    spa_id: Any,
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
    booking_id: Any,
) -> Case | None:
    params = {"intake": str(intake_id)}
    if spa_id is not None:
        params["spa"] = str(spa_id)
    with prepared_cursor() as cursor:
        cursor.execute(_CASE_SQL.format(and_spa=_AND_SPA if spa_id is not None else ""), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _case_of(
        row,
        start=start,
        end=end,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        booking_id=booking_id,
    )


_AND_SPA = "AND i.spa_id = %(spa)s::uuid"


def _case_of(
    row: tuple,
    *,
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
    booking_id: Any,
) -> Case:
    conditions, questions = row[7:]
    return _case_built(
        row[:7],
        conditions=_json(conditions),
        questions=_questions(_json(questions)),
        start=start,
        end=end,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
        booking_id=booking_id,
    )


def _questions(rows: Iterable[list]) -> dict[str, tuple[str, str, int, tuple[str, ...]]]:
    """The catalog's questions by code: ``(text, action, position, regions)``."""
    return {
        code: (text, action, position, tuple(regions or ())) for code, text, action, position, regions in rows
    }


def _case_built(
    intake_row: tuple,
    *,
    conditions: Iterable[tuple],
    questions: dict[str, tuple[str, str, int, tuple[str, ...]]],
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
    booking_id: Any,
) -> Case:
    """The case from the intake's row, its conditions ``(code, name, region, groups)`` by code
    (each group a list of ``(slug, name, region, max_focus_minutes)``) and the catalog's
    questions by code ``(text, action, position, regions)``."""
    spa_id, jurisdiction, tz_name, valid_until, screening, clearances, focus_regions = intake_row
    screening = _json(screening) or {}
    clearances = _json(clearances) or {}

    protocols: dict[str, ProtocolFact] = {}
    condition_facts = []
    # by code point (not the database's collation): every path lists them, and so their
    # reasons, in the same order
    for code, name, region, groups in sorted(conditions, key=lambda c: c[0]):
        slugs = []
        for group in groups:
            for slug, p_name, p_region, limit, *supervised in group:
                protocols[slug] = ProtocolFact(
                    slug=slug,
                    name=p_name,
                    region=p_region,
                    max_focus_minutes=limit,
                    supervised_sessions=supervised[0] if supervised else 0,
                )
            slugs.append(tuple(member[0] for member in group))
        condition_facts.append(
            ConditionFact(code=code, name=name, region=region, requirement_groups=tuple(slugs))
        )

    ordered = sorted(
        screening.items(),
        key=lambda item: (questions[item[0]][2], item[0]) if item[0] in questions else (1 << 16, item[0]),
    )
    answers = []
    for code, answer in ordered:
        question = questions.get(code)
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

    intake_regions = frozenset(focus_regions or ()) | {c.region for c in condition_facts}
    unanswered = tuple(
        UnansweredQuestion(question=code, text=text)
        for code, (text, _action, _position, regions) in sorted(
            questions.items(), key=lambda q: (q[1][2], q[0])
        )
        if code not in screening and question_applies(regions, intake_regions)
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
        intake_regions=intake_regions,
        unanswered=unanswered,
    )


# --- the eligibility check: one statement, the catalog from this process's copy --------------------


@dataclass(frozen=True)
class _Catalog:
    """The parts of the catalog a case is made of, as of ``version`` (``protocols.CatalogVersion``):
    conditions by id ``(code, name, region, groups)`` and questions by code."""

    version: int | None
    conditions: dict[str, tuple]
    questions: dict[str, tuple[str, str, int, tuple[str, ...]]]
    protocols: dict[str, str]  # id -> slug


_CATALOG_TEMPLATE = """
SELECT (SELECT v.version FROM protocols_catalogversion v),
  COALESCE((SELECT json_agg(json_build_array(c.id, c.code, c.name, c.region, {groups}))
              FROM protocols_condition c), '[]'),
  COALESCE((SELECT json_agg(json_build_array(q.code, q.text, q.action, q.position, q.regions))
              FROM protocols_screeningquestion q), '[]'),
  COALESCE((SELECT json_object_agg(p.id, p.slug) FROM protocols_protocol p), '{{}}')
"""
_CATALOG_SQL = _CATALOG_TEMPLATE.format(groups=_GROUPS_OF_C)

_catalog_copy: _Catalog | None = None


def _catalog(version: int | None) -> _Catalog:
    """The catalog at ``version``: this process's copy when it is that version, else read
    again (one query, version and content from the same snapshot). The version comes from a
    sequence and is never reused, so an equal number means the same catalog."""
    global _catalog_copy
    copy = _catalog_copy
    if copy is not None and version is not None and copy.version == version:
        return copy
    with prepared_cursor() as cursor:
        cursor.execute(_CATALOG_SQL)
        read_version, conditions, questions, protocols = cursor.fetchone()
    copy = _Catalog(
        version=read_version,
        conditions={str(row[0]): tuple(row[1:]) for row in _json(conditions)},
        questions=_questions(_json(questions)),
        protocols=_json(protocols),
    )
    _catalog_copy = copy
    return copy


def eligibility_check_facts(
    *,
    spa_id: Any,
    intake_id: Any,
    therapist_id: Any,
    start: datetime,
    end: datetime,
    focus_region: str | None,
    focus_minutes: int,
) -> tuple[Case | None, TherapistFacts | None]:
    """Everything one eligibility check reads, in ONE query: the case of the session ``[start,
    end)`` on the intake ``intake_id`` recorded by the spa ``spa_id`` (``None`` when that spa
    recorded no such intake), and the facts of ``therapist_id`` over it (``None`` when there is
    no such therapist). The catalog part of the case (conditions' requirements, questions) and
    the certifications' protocol slugs come from this process's copy of the catalog, checked
    current by the version the query reads with the rest; the case equals
    ``eligibility_case``'s. A second query when the catalog has changed since the copy was
    taken."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _CHECK_SQL,
            {
                "intake": str(intake_id),
                "spa": str(spa_id),
                "id": str(therapist_id),
                "start": start,
                "end": end,
            },
        )
        row = cursor.fetchone()
    case_row, facts_row = row[:_CHECK_CASE_COLUMNS], row[_CHECK_CASE_COLUMNS:]
    has_case, has_facts = case_row[0] is not None, facts_row[0] is not None
    if not (has_case or has_facts):
        return None, None

    def complete(catalog: _Catalog) -> bool:
        return not (
            (has_case and any(str(pk) not in catalog.conditions for pk in case_row[7]))
            or (has_facts and not _certified_protocols(facts_row) <= catalog.protocols.keys())
        )

    catalog = _catalog(case_row[8] if has_case else facts_row[2])
    if not complete(catalog):
        catalog = _catalog(None)  # changed again since the query: read afresh
        if not complete(catalog):  # a condition or protocol gone meanwhile
            raise Conflict("The catalog changed during this request; try again.")
    case = None
    if has_case:
        case = _case_built(
            case_row[:7],
            conditions=[catalog.conditions[str(pk)] for pk in case_row[7]],
            questions=catalog.questions,
            start=start,
            end=end,
            focus_region=focus_region,
            focus_minutes=focus_minutes,
            booking_id=None,
        )
    return case, _facts_of(facts_row, catalog.protocols) if has_facts else None


_CHECK_CASE_SQL = """
SELECT s.id, s.jurisdiction, s.timezone, i.valid_until, i.screening, i.clearances, i.focus_regions,
  ARRAY(SELECT ic.condition_id FROM registry_intake_conditions ic WHERE ic.intake_id = i.id),
  (SELECT v.version FROM protocols_catalogversion v)
FROM registry_intake i JOIN registry_spa s ON s.id = i.spa_id
WHERE i.id = %(intake)s::uuid AND i.spa_id = %(spa)s::uuid
"""
_CHECK_CASE_COLUMNS = 9

# The intake's row and the therapist's facts as lateral sub-selects of one row: either side is
# NULLs when it finds nothing.
_CHECK_TEMPLATE = """
SELECT c.*, f.* FROM (SELECT 1) AS one
LEFT JOIN LATERAL ({case}) AS c ON true
LEFT JOIN LATERAL ({facts}) AS f ON true
"""
_CHECK_SQL = _CHECK_TEMPLATE.format(
    case=_CHECK_CASE_SQL, facts=_FACTS_SQL.format(where="t.id = %(id)s::uuid")
)


# --- the cases of many intakes at once (a re-check) ------------------------------------------------

_INTAKES_CASE_SQL = """
SELECT i.id, s.id, s.jurisdiction, s.timezone, i.valid_until, i.screening, i.clearances, i.focus_regions,
  ARRAY(SELECT ic.condition_id FROM registry_intake_conditions ic WHERE ic.intake_id = i.id),
  (SELECT v.version FROM protocols_catalogversion v)
FROM registry_intake i JOIN registry_spa s ON s.id = i.spa_id
WHERE i.id = ANY(%(intakes)s::uuid[])
"""


def eligibility_cases_for_intakes(*, intake_ids: Iterable[Any]) -> dict[str, Case]:
    """The case of each intake (by id, as a string), as ``eligibility_case`` builds it, with an
    empty session (``start`` and ``end`` at the intake's ``valid_until``, no focus): the caller
    puts each session in with ``dataclasses.replace``. ONE query whatever the number of
    intakes (the catalog part from this process's copy, as the eligibility check takes it; one
    more the first time after the catalog changed)."""
    ids = sorted({str(pk) for pk in intake_ids})
    if not ids:
        return {}
    with prepared_cursor() as cursor:
        cursor.execute(_INTAKES_CASE_SQL, {"intakes": ids})
        rows = cursor.fetchall()
    if not rows:
        return {}

    def complete(catalog: _Catalog) -> bool:
        return all(str(pk) in catalog.conditions for row in rows for pk in row[8])

    catalog = _catalog(rows[0][9])
    if not complete(catalog):
        catalog = _catalog(None)
        if not complete(catalog):  # a condition gone meanwhile
            raise Conflict("The catalog changed during this request; try again.")
    cases = {}
    for row in rows:
        valid_until = row[4]
        cases[str(row[0])] = _case_built(
            row[1:8],
            conditions=[catalog.conditions[str(pk)] for pk in row[8]],
            questions=catalog.questions,
            start=valid_until,
            end=valid_until,
            focus_region=None,
            focus_minutes=0,
            booking_id=None,
        )
    return cases


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


# --- the safety record: what happened after the sessions, per therapist and protocol -------------

SAFETY_RECENT_DAYS = 90


@dataclass(frozen=True)
class SafetyCounts:
    """Completed sessions and what followed them, over one period. A session counts once, at
    its worst recorded sign (its outcome's and any adverse event's): ``mild``, ``moderate`` or
    ``serious``; ``pain_worse`` counts outcomes whose pain was worse than before, and
    ``pain_worse_share`` is their share of the outcomes recorded (``None`` without any)."""

    sessions_completed: int
    outcomes_recorded: int
    pain_worse: int
    mild: int
    moderate: int
    serious: int

    @property
    def pain_worse_share(self) -> float | None:
        if not self.outcomes_recorded:
            return None
        return round(self.pain_worse / self.outcomes_recorded, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions_completed": self.sessions_completed,
            "outcomes_recorded": self.outcomes_recorded,
            "pain_worse": self.pain_worse,
            "pain_worse_share": self.pain_worse_share,
            "mild": self.mild,
            "moderate": self.moderate,
            "serious": self.serious,
        }


@dataclass(frozen=True)
class SafetyRecord:
    """One therapist's record in one protocol: the completed sessions that rested on a
    certification in it, over the last ``SAFETY_RECENT_DAYS`` days (by session start) and all
    time. No client identifier."""

    therapist_id: str
    therapist_name: str
    protocol: str  # slug
    protocol_name: str
    last_90_days: SafetyCounts
    all_time: SafetyCounts


def _severity_rank(field: str) -> models.Case:
    return models.Case(
        When(**{field: "mild"}, then=Value(1)),
        When(**{field: "moderate"}, then=Value(2)),
        When(**{field: "serious"}, then=Value(3)),
        default=Value(0),
        output_field=IntegerField(),
    )


def safety_records(
    *, rows: QuerySet[SessionCertification] | None = None, now: datetime | None = None
) -> list[SafetyRecord]:
    """The safety record per therapist and protocol, from the certifications completed sessions
    rested on (``rows``: already narrowed by tenancy or filters; default all), by therapist name
    then protocol. One query, however many sessions."""
    now = now or timezone.now()
    since = now - timedelta(days=SAFETY_RECENT_DAYS)
    outcome = SessionOutcome.objects.filter(booking_id=OuterRef("booking_id"))
    worst_event = (
        AdverseEvent.objects.filter(booking_id=OuterRef("booking_id"))
        .annotate(rank=_severity_rank("severity"))
        .order_by("-rank")
        .values("rank")[:1]
    )
    worst_outcome = outcome.annotate(rank=_severity_rank("severity")).values("rank")[:1]
    base = SessionCertification.objects.all() if rows is None else rows
    periods = {"recent": Q(booking__start__gte=since), "all": Q()}
    counts: dict[str, Count] = {}
    for period, where in periods.items():
        for name, condition in (
            ("sessions", Q()),
            ("outcomes", Q(recorded=True)),
            ("worse", Q(worse=True)),
            ("mild", Q(worst=1)),
            ("moderate", Q(worst=2)),
            ("serious", Q(worst=3)),
        ):
            counts[f"{period}_{name}"] = Count("booking_id", distinct=True, filter=where & condition or None)
    grouped = (
        base.filter(booking__status=BookingStatus.COMPLETED)
        .annotate(
            worst=Greatest(Coalesce(Subquery(worst_outcome), 0), Coalesce(Subquery(worst_event), 0)),
            recorded=Exists(outcome),
            worse=Exists(outcome.filter(pain_worse=True)),
        )
        .values("booking__therapist_id", "booking__therapist__name", "protocol__slug", "protocol__name")
        .annotate(**counts)
        .order_by("booking__therapist__name", "booking__therapist_id", "protocol__slug")
    )

    def period(row: dict[str, Any], name: str) -> SafetyCounts:
        return SafetyCounts(
            sessions_completed=row[f"{name}_sessions"],
            outcomes_recorded=row[f"{name}_outcomes"],
            pain_worse=row[f"{name}_worse"],
            mild=row[f"{name}_mild"],
            moderate=row[f"{name}_moderate"],
            serious=row[f"{name}_serious"],
        )

    # Counts over every spa's sessions of these certifications (``rows`` is already narrowed by
    # tenancy): no client data leaves this function, so it reads in the system scope.
    with rls.system_scope():
        grouped = list(grouped)
    return [
        SafetyRecord(
            therapist_id=str(row["booking__therapist_id"]),
            therapist_name=row["booking__therapist__name"],
            protocol=row["protocol__slug"],
            protocol_name=row["protocol__name"],
            last_90_days=period(row, "recent"),
            all_time=period(row, "all"),
        )
        for row in grouped
    ]
