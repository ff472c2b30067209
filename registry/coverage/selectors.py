"""The coverage reads: what a spa could not safely offer (``spa_coverage``) and what the spas
around a school were short of (``school_demand``). Each in a fixed number of queries whatever
the number of intakes, bookings and decisions: the counting is done by PostgreSQL, over the
decision log (``registry.Decision``: one row per booking attempt, with every reason).

Booking attempts are the decisions of kind ``booking`` and ``reassignment`` (the front desk
asking for a therapist); re-checks after a credential change are not attempts and are not
counted. The rules that shape the figures (suppression, the forecast) are in
``registry.coverage.report``.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from core.errors import DomainError
from credentials.models import School
from registry import rls
from registry.choices import DecisionKind
from registry.coverage.report import (
    DEFAULT_WINDOW_DAYS,
    DEMAND_DAYS,
    FORECAST_DAYS,
    MAX_WINDOW_DAYS,
    CatalogCondition,
    ConditionCoverage,
    ProtocolDemand,
    ProtocolNeed,
    SchoolDemand,
    SpaCoverage,
    demand_cell,
    forecast,
    suppressed,
)
from registry.eligibility import ReasonCode
from registry.models import Spa
from registry.selectors import credential_facts_for_spa

__all__ = ["coverage_window", "school_demand", "spa_coverage", "window_instants"]

_ATTEMPTS = (DecisionKind.BOOKING.value, DecisionKind.REASSIGNMENT.value)
_PARAMS = {
    "attempts": list(_ATTEMPTS),
    "scope": ReasonCode.PROTOCOL_NOT_CERTIFIED.value,
    "focus": ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT.value,
}


def window_instants(first_day: dt.date, last_day: dt.date, tz_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The local days ``first_day`` to ``last_day`` (inclusive) in ``tz_name`` as a half-open
    range of instants. Raises ``OverflowError`` past the calendar's end."""
    tz = ZoneInfo(tz_name)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def coverage_window(
    *, spa: Spa, first_day: dt.date | None, last_day: dt.date | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The report's window: ``last_day`` defaults to ``today`` (default: today in the spa's
    timezone, for the API and the page alike), ``first_day`` to ``DEFAULT_WINDOW_DAYS`` days
    ending there; at most ``MAX_WINDOW_DAYS`` days, in order. Raises ``DomainError`` (by
    field: ``from``, ``to``) otherwise."""
    if today is None:
        today = timezone.now().astimezone(zoneinfo.ZoneInfo(spa.timezone)).date()
    last = last_day or today
    try:
        first = first_day or last - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1)
        window_instants(first, last, spa.timezone)
    except (OverflowError, ValueError):
        raise DomainError(
            "The window is out of range.", errors={"to": ["The date is out of range."]}
        ) from None
    if first > last:
        raise DomainError("The window is empty.", errors={"from": ["`from` must not be after `to`."]})
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise DomainError(
            "The window is too long.", errors={"from": [f"The window is at most {MAX_WINDOW_DAYS} days."]}
        )
    return first, last


# --- spa coverage --------------------------------------------------------------------------------

# Per condition seen at intake in the window: the intakes, those with an allowed attempt, those
# with an attempt refused for scope on that condition (the reason names it), those with an
# attempt refused for a focus limit of one of the condition's protocols (the reason names the
# limiting protocols; the condition's are read from the catalog as it stands), and per protocol
# named by a scope refusal's unmet group, its intakes.
_SPA_COUNTS_SQL = """
WITH intake AS (
  SELECT i.id FROM registry_intake i
   WHERE i.spa_id = %(spa)s::uuid AND i.recorded_at >= %(start)s AND i.recorded_at < %(end)s
),
attempt AS MATERIALIZED (
  SELECT d.intake_id, d.allowed, d.reasons
    FROM registry_decision d JOIN intake ON intake.id = d.intake_id
   WHERE d.spa_id = %(spa)s::uuid AND d.kind = ANY(%(attempts)s)
),
reason AS MATERIALIZED (
  SELECT a.intake_id, r->>'code' AS code, r->>'condition' AS condition, r->'protocols' AS protocols
    FROM attempt a CROSS JOIN LATERAL jsonb_array_elements(a.reasons) AS r
   WHERE NOT a.allowed AND r->>'code' IN (%(scope)s, %(focus)s)
),
allowed_intake AS (SELECT DISTINCT intake_id FROM attempt WHERE allowed),
scope_refused AS (SELECT DISTINCT intake_id, condition FROM reason WHERE code = %(scope)s),
focus_refused AS (
  SELECT DISTINCT r.intake_id, g.condition_id
    FROM reason r CROSS JOIN LATERAL jsonb_array_elements_text(r.protocols) AS slug(value)
    JOIN protocols_protocol p ON p.slug = slug.value
    JOIN protocols_requirementgroup_protocols gp ON gp.protocol_id = p.id
    JOIN protocols_requirementgroup g ON g.id = gp.requirementgroup_id
   WHERE r.code = %(focus)s
),
seen AS MATERIALIZED (
  SELECT ic.intake_id, c.id AS condition_id, c.code, c.name,
         ai.intake_id IS NOT NULL AS allowed,
         sr.intake_id IS NOT NULL AS scope,
         fr.intake_id IS NOT NULL AS focus
    FROM intake JOIN registry_intake_conditions ic ON ic.intake_id = intake.id
    JOIN protocols_condition c ON c.id = ic.condition_id
    LEFT JOIN allowed_intake ai ON ai.intake_id = ic.intake_id
    LEFT JOIN scope_refused sr ON sr.intake_id = ic.intake_id AND sr.condition = c.code
    LEFT JOIN focus_refused fr ON fr.intake_id = ic.intake_id AND fr.condition_id = c.id
),
need AS (
  SELECT s.code, slug.value AS slug, COUNT(DISTINCT s.intake_id) AS intakes
    FROM seen s
    JOIN reason r ON r.intake_id = s.intake_id AND r.code = %(scope)s AND r.condition = s.code
    CROSS JOIN LATERAL jsonb_array_elements_text(r.protocols) AS slug(value)
   GROUP BY s.code, slug.value
)
SELECT s.code, s.name, COUNT(*),
       COUNT(*) FILTER (WHERE s.allowed), COUNT(*) FILTER (WHERE s.scope),
       COUNT(*) FILTER (WHERE s.focus),
       COALESCE((SELECT json_agg(json_build_array(n.slug, COALESCE(p.name, n.slug), n.intakes)
                                 ORDER BY n.slug)
                   FROM need n LEFT JOIN protocols_protocol p ON p.slug = n.slug
                  WHERE n.code = s.code), '[]')
  FROM seen s
 GROUP BY s.code, s.name
 ORDER BY s.code
"""

# Every condition with its requirement groups (slugs), and every protocol's name.
_CATALOG_SQL = """
SELECT
  COALESCE((SELECT json_agg(json_build_array(c.code, c.name, COALESCE((
      SELECT json_agg(COALESCE((
          SELECT json_agg(p.slug ORDER BY p.slug)
            FROM protocols_requirementgroup_protocols gp
            JOIN protocols_protocol p ON p.id = gp.protocol_id
           WHERE gp.requirementgroup_id = g.id), '[]') ORDER BY g.position)
        FROM protocols_requirementgroup g WHERE g.condition_id = c.id), '[]')) ORDER BY c.code)
    FROM protocols_condition c), '[]'),
  COALESCE((SELECT json_object_agg(p.slug, p.name) FROM protocols_protocol p), '{}')
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _rows(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _catalog() -> tuple[list[CatalogCondition], dict[str, str]]:
    (conditions, names), *_ = _rows(_CATALOG_SQL, {})
    return (
        [
            CatalogCondition(code=code, name=name, requirements=tuple(tuple(group) for group in groups))
            for code, name, groups in _json(conditions)
        ],
        _json(names),
    )


def spa_coverage(*, spa: Spa, first_day: dt.date, last_day: dt.date, now: dt.datetime) -> SpaCoverage:
    """The spa's coverage report: per condition seen at intake from ``first_day`` to
    ``last_day`` (local days of the spa, inclusive; by the intake's ``recorded_at``), the
    intakes, how many got an allowed therapist at a booking attempt, how many were refused
    for scope or for a focus limit, and the protocols that would have covered the scope
    refusals — counts of clients, suppressed below 5; and the forecast of its therapists'
    coverage per condition group now and 30, 60, 90 days after ``now``. Three queries."""
    start, end = window_instants(first_day, last_day, spa.timezone)
    rows = _rows(_SPA_COUNTS_SQL, {**_PARAMS, "spa": str(spa.pk), "start": start, "end": end})
    conditions = tuple(
        ConditionCoverage(
            condition=code,
            name=name,
            intakes=suppressed(intakes),
            allowed=suppressed(allowed),
            refused_scope=suppressed(scope),
            refused_focus=suppressed(focus),
            protocols=tuple(
                ProtocolNeed(protocol=slug, name=p_name, intakes=suppressed(count))
                for slug, p_name, count in _json(needs)
            ),
        )
        for code, name, intakes, allowed, scope, focus, needs in rows
    )
    catalog, names = _catalog()
    tz = ZoneInfo(spa.timezone)
    today = now.astimezone(tz).date()
    facts = credential_facts_for_spa(
        spa_id=spa.pk, first_day=today, last_day=today + dt.timedelta(days=max(FORECAST_DAYS) + 1)
    )
    return SpaCoverage(
        spa_id=str(spa.pk),
        first_day=first_day,
        last_day=last_day,
        as_of=now,
        conditions=conditions,
        forecast=forecast(
            facts=facts,
            conditions=catalog,
            protocol_names=names,
            spa_id=str(spa.pk),
            jurisdiction=spa.jurisdiction,
            tz_name=spa.timezone,
            now=now,
        ),
    )


# --- school demand -------------------------------------------------------------------------------

# Per protocol the school is authorised to teach at ``now``: the booking attempts refused for
# scope over (since, now] at the spas of the school's jurisdiction whose unmet group names it,
# their intakes, and how many spas they came from (for suppression only; never shown). Through
# the partial index of refused decisions (spa, made_at).
_DEMAND_SQL = """
WITH taught AS (
  SELECT DISTINCT p.slug, p.name
    FROM credentials_schoolauthorization a JOIN protocols_protocol p ON p.id = a.protocol_id
   WHERE a.school_id = %(school)s::uuid AND a.granted_at <= %(now)s
     AND (a.withdrawn_at IS NULL OR a.withdrawn_at > %(now)s)
),
refusal AS (
  SELECT DISTINCT d.id, d.intake_id, d.spa_id, slug.value AS slug
    FROM registry_spa s
    JOIN registry_decision d ON d.spa_id = s.id
    CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS r
    CROSS JOIN LATERAL jsonb_array_elements_text(r->'protocols') AS slug(value)
   WHERE s.jurisdiction = %(jurisdiction)s
     AND NOT d.allowed AND d.made_at > %(since)s AND d.made_at <= %(now)s
     AND d.kind = ANY(%(attempts)s) AND r->>'code' = %(scope)s
     AND slug.value IN (SELECT slug FROM taught)
)
SELECT t.slug, t.name, COUNT(DISTINCT r.id), COUNT(DISTINCT r.intake_id), COUNT(DISTINCT r.spa_id)
  FROM taught t LEFT JOIN refusal r ON r.slug = t.slug
 GROUP BY t.slug, t.name
 ORDER BY t.name, t.slug
"""


def school_demand(*, school: School, now: dt.datetime) -> SchoolDemand:
    """What the spas of the school's jurisdiction were short of over the ``DEMAND_DAYS`` before
    ``now``: per protocol the school is authorised to teach, the booking attempts refused
    because no therapist tried held it (a ``PROTOCOL_NOT_CERTIFIED`` reason whose unmet group
    names it) and their intakes, aggregated over every spa — no spa, therapist or client is
    named, and a count under 5, or from a single spa, is suppressed. One query."""
    since = now - dt.timedelta(days=DEMAND_DAYS)
    params = {
        **_PARAMS,
        "school": str(school.pk),
        "jurisdiction": school.jurisdiction,
        "since": since,
        "now": now,
    }
    # Counts over every spa of the jurisdiction, none named: read in the system scope.
    with rls.system_scope():
        rows = _rows(_DEMAND_SQL, params)
    return SchoolDemand(
        school_id=str(school.pk),
        jurisdiction=school.jurisdiction,
        since=since,
        until=now,
        protocols=tuple(
            ProtocolDemand(
                protocol=slug,
                name=name,
                refusals=demand_cell(refusals, spas),
                intakes=demand_cell(intakes, spas),
            )
            for slug, name, refusals, intakes, spas in rows
        ),
    )
