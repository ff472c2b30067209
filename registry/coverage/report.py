"""What the coverage reports say, as plain values, and the rules that shape them: small-cell
suppression and the coverage forecast. Pure: no ORM, no clock (``registry.coverage.selectors``
loads the rows and the facts and hands them here).

Suppression: a count of clients (intakes, refused booking attempts) from 1 to 4 is not shown
(``None``; the pages print "< 5"). Zero is shown: it is an absence, and it names nobody. Counts
of the spa's own therapists (the forecast) are not counts of clients and are shown exactly:
the spa's staff read each of those certifications and licences through the API already, and
the step from one therapist to none is the forecast's point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from registry.eligibility import TherapistFacts, employment_covers, local_days, scope_of

SUPPRESS_BELOW = 5
# A school's demand cell also needs refusals from at least this many spas: one spa's own
# figure never shows, even when it is large.
DEMAND_MIN_SPAS = 2
FORECAST_DAYS = (0, 30, 60, 90)
DEMAND_DAYS = 90
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 366


def suppressed(count: int) -> int | None:
    """A count of clients as a report may show it: ``None`` from 1 to ``SUPPRESS_BELOW - 1``."""
    return None if 0 < count < SUPPRESS_BELOW else count


def shown(count: int | None) -> str:
    """A cell as the pages and CSV files print it."""
    return f"< {SUPPRESS_BELOW}" if count is None else str(count)


# --- spa coverage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolNeed:
    """A protocol named by the unmet requirement group of scope refusals for one condition:
    how many intakes it would have covered (suppressed)."""

    protocol: str
    name: str
    intakes: int | None


@dataclass(frozen=True)
class ConditionCoverage:
    """One condition seen at intake in the window: the intakes naming it, those that got an
    allowed therapist at a booking attempt, those refused at least once because no therapist
    tried held a protocol it requires (``PROTOCOL_NOT_CERTIFIED``) or because the focused
    minutes exceeded the limit of one of its protocols (``FOCUS_EXCEEDS_PROTOCOL_LIMIT``), and
    the protocols that would have covered the scope refusals. Counts suppressed."""

    condition: str
    name: str
    intakes: int | None
    allowed: int | None
    refused_scope: int | None
    refused_focus: int | None
    protocols: tuple[ProtocolNeed, ...] = ()


@dataclass(frozen=True)
class ForecastPoint:
    days: int
    at: datetime
    therapists: int


@dataclass(frozen=True)
class GroupForecast:
    """Conditions sharing the same requirements (so the same therapists may treat them), and
    how many of the spa's therapists may treat them now and 30, 60 and 90 days on, if no
    certification or licence is renewed or added and no employment changes."""

    key: str
    label: str
    requirements: tuple[tuple[str, ...], ...]
    conditions: tuple[str, ...]
    points: tuple[ForecastPoint, ...]


@dataclass(frozen=True)
class SpaCoverage:
    spa_id: str
    first_day: date
    last_day: date
    as_of: datetime
    conditions: tuple[ConditionCoverage, ...]
    forecast: tuple[GroupForecast, ...]


@dataclass(frozen=True)
class CatalogCondition:
    code: str
    name: str
    requirements: tuple[tuple[str, ...], ...]  # groups of slugs, each sorted


def group_label(requirements: Sequence[Sequence[str]], names: Mapping[str, str]) -> str:
    """ "Low back with radiculopathy", "A or B", "A and B"; no requirement: none needed."""
    if not requirements:
        return "No protocol needed (licence only)"
    parts = [
        " or ".join(names.get(slug, slug) for slug in group) or "(no protocol)" for group in requirements
    ]
    return " and ".join(f"({p})" if " or " in p and len(parts) > 1 else p for p in parts)


def condition_groups(conditions: Iterable[CatalogCondition]) -> list[tuple[tuple, list[str]]]:
    """The catalog's conditions grouped by their requirements: ``[(requirements, [code])]``,
    groups ordered by their first code."""
    groups: dict[tuple, list[str]] = {}
    for condition in sorted(conditions, key=lambda c: c.code):
        groups.setdefault(condition.requirements, []).append(condition.code)
    return sorted(groups.items(), key=lambda item: item[1][0])


def forecast(
    *,
    facts: Iterable[TherapistFacts],
    conditions: Iterable[CatalogCondition],
    protocol_names: Mapping[str, str],
    spa_id: str,
    jurisdiction: str,
    tz_name: str,
    now: datetime,
    days: Sequence[int] = FORECAST_DAYS,
) -> tuple[GroupForecast, ...]:
    """Per condition group, how many of ``facts``' therapists may treat it at ``now`` and at
    ``now`` plus each of ``days``: employed at the spa on that day, with a licence in its
    jurisdiction active that day and a certification valid at that instant in one protocol of
    every requirement group — the engine's own rules (``scope_of``), read at each instant."""
    facts = list(facts)
    grouped = condition_groups(conditions)
    requirements = {str(i): groups for i, (groups, _codes) in enumerate(grouped)}
    covering = {key: [] for key in requirements}
    moments = [(d, now + timedelta(days=d)) for d in days]
    for d, at in moments:
        day, _ = local_days(at, at + timedelta(microseconds=1), tz_name)
        counts = dict.fromkeys(requirements, 0)
        for therapist in facts:
            if not any(employment_covers(e, spa_id, day, day) for e in therapist.employments):
                continue
            for key in scope_of(therapist, requirements, at, jurisdiction, tz_name).conditions:
                counts[key] += 1
        for key, count in counts.items():
            covering[key].append(ForecastPoint(days=d, at=at, therapists=count))
    return tuple(
        GroupForecast(
            key="+".join("|".join(group) for group in groups) or "none",
            label=group_label(groups, protocol_names),
            requirements=groups,
            conditions=tuple(codes),
            points=tuple(covering[str(i)]),
        )
        for i, (groups, codes) in enumerate(grouped)
    )


# --- school demand -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolDemand:
    """A protocol the school is authorised to teach: the booking attempts refused for scope in
    the spas of its jurisdiction whose unmet requirement group names it, and the intakes
    (clients) those were for. ``None``: suppressed (fewer than ``SUPPRESS_BELOW``, or from
    fewer than ``DEMAND_MIN_SPAS`` spas)."""

    protocol: str
    name: str
    refusals: int | None
    intakes: int | None


@dataclass(frozen=True)
class SchoolDemand:
    school_id: str
    jurisdiction: str
    since: datetime
    until: datetime
    protocols: tuple[ProtocolDemand, ...]


def demand_cell(count: int, spas: int) -> int | None:
    """A demand count as a school may see it: zero, or at least ``SUPPRESS_BELOW`` from at
    least ``DEMAND_MIN_SPAS`` spas; otherwise ``None``."""
    if count == 0:
        return 0
    if count < SUPPRESS_BELOW or spas < DEMAND_MIN_SPAS:
        return None
    return count
