"""Reads of the clinical catalog, shared by the API, the pages, the admin and the commands.

Every list prefetches what its rows show, so it costs a fixed number of queries however many
rows there are. The ``*_as_dict`` functions give the one canonical plain shape of a catalog
row: the audit trail's before/after, ``load_catalog``'s comparison with the shipped catalog
and the API all read the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from core.errors import NotFound
from protocols.choices import ModuleKind
from protocols.models import Condition, Module, OutcomeSign, Protocol, RequirementGroup, ScreeningQuestion

MODULE_KIND_ORDER: tuple[str, ...] = tuple(ModuleKind.values)


# --- protocols ---------------------------------------------------------------------------


def protocol_list(*, region: str | None = None) -> QuerySet[Protocol]:
    """Protocols by slug with their modules and prerequisites: three queries."""
    qs = Protocol.objects.prefetch_related(
        Prefetch("modules", queryset=Module.objects.order_by("kind")),
        Prefetch("prerequisites", queryset=Protocol.objects.only("id", "slug").order_by("slug")),
    ).order_by("slug")
    if region is not None:
        qs = qs.filter(region=region)
    return qs


def protocol_get(*, slug: str) -> Protocol:
    """One protocol with its modules and prerequisites; ``NotFound`` for an unknown slug."""
    try:
        return protocol_list().get(slug=slug)
    except Protocol.DoesNotExist:
        raise NotFound(f"Unknown protocol '{slug}'.") from None


def protocol_modules(protocol: Protocol) -> list[Module]:
    """The protocol's modules in teaching order: fundamentals, critical details, harm avoidance."""
    return sorted(
        protocol.modules.all(),
        key=lambda m: MODULE_KIND_ORDER.index(m.kind) if m.kind in MODULE_KIND_ORDER else 99,
    )


def protocol_as_dict(protocol: Protocol) -> dict[str, Any]:
    """The protocol as plain data (prerequisites as sorted slugs, modules in teaching order)."""
    return {
        "slug": protocol.slug,
        "name": protocol.name,
        "region": protocol.region,
        "max_focus_minutes": protocol.max_focus_minutes,
        "validity_months": protocol.validity_months,
        "min_instructor_years": protocol.min_instructor_years,
        "min_instructor_cases": protocol.min_instructor_cases,
        "prerequisites": sorted(p.slug for p in protocol.prerequisites.all()),
        "modules": [
            {"kind": m.kind, "title": m.title, "min_hours": m.min_hours} for m in protocol_modules(protocol)
        ],
        "source": protocol.source,
        "version": protocol.version,
        "supervised_sessions": protocol.supervised_sessions,
    }


# --- conditions --------------------------------------------------------------------------


def condition_list(*, region: str | None = None) -> QuerySet[Condition]:
    """Conditions by code with their requirement groups and the groups' protocols: three
    queries."""
    qs = Condition.objects.prefetch_related(
        Prefetch(
            "requirement_groups",
            queryset=RequirementGroup.objects.order_by("position").prefetch_related(
                Prefetch(
                    "protocols", queryset=Protocol.objects.only("id", "slug", "region", "max_focus_minutes")
                )
            ),
        )
    ).order_by("code")
    if region is not None:
        qs = qs.filter(region=region)
    return qs


def condition_get(*, code: str) -> Condition:
    """One condition with its requirement groups; ``NotFound`` for an unknown code."""
    try:
        return condition_list().get(code=code)
    except Condition.DoesNotExist:
        raise NotFound(f"Unknown condition '{code}'.") from None


def condition_requirements(condition: Condition) -> list[list[str]]:
    """The condition's requirement groups as a list of lists of protocol slugs: every group
    must be met, a group by any one of its protocols; ``[]`` means no protocol is needed.
    Groups in position order, slugs sorted. No query when ``condition_list`` loaded it."""
    groups = sorted(condition.requirement_groups.all(), key=lambda g: g.position)
    return [sorted(p.slug for p in group.protocols.all()) for group in groups]


def requirements_by_condition(*, codes: Iterable[str]) -> dict[str, list[list[str]]]:
    """Requirement groups (as in ``condition_requirements``) for several conditions at once,
    keyed by code: one query. A code with no groups, or unknown, maps to ``[]``."""
    codes = list(codes)
    result: dict[str, list[list[str]]] = {code: [] for code in codes}
    groups: dict[tuple[str, int], list[str]] = {}
    rows = (
        RequirementGroup.protocols.through.objects.filter(requirementgroup__condition__code__in=codes)
        .values_list("requirementgroup__condition__code", "requirementgroup__position", "protocol__slug")
        .order_by("requirementgroup__condition__code", "requirementgroup__position", "protocol__slug")
    )
    for code, position, slug in rows:
        groups.setdefault((code, position), []).append(slug)
    for (code, _position), slugs in groups.items():
        result[code].append(slugs)
    return result


def focus_limits(protocols: Iterable[Protocol]) -> dict[str, int]:
    """Per body region, the smallest ``max_focus_minutes`` of these protocols on it."""
    limits: dict[str, int] = {}
    for protocol in protocols:
        current = limits.get(protocol.region)
        if current is None or protocol.max_focus_minutes < current:
            limits[protocol.region] = protocol.max_focus_minutes
    return limits


def condition_focus_limits(condition: Condition) -> dict[str, int]:
    """The dose limits the protocols named in the condition's requirement groups put on their
    regions (see ``focus_limits``). No query when ``condition_list`` loaded it."""
    return focus_limits(p for group in condition.requirement_groups.all() for p in group.protocols.all())


def condition_as_dict(condition: Condition) -> dict[str, Any]:
    """The condition as plain data, requirements as in ``condition_requirements``."""
    return {
        "code": condition.code,
        "code_system": condition.code_system,
        "name": condition.name,
        "region": condition.region,
        "requirements": condition_requirements(condition),
        "source": condition.source,
        "version": condition.version,
    }


# --- screening questions -----------------------------------------------------------------


def screening_question_list(*, regions: Iterable[str] | None = None) -> QuerySet[ScreeningQuestion]:
    """Red-flag questions in asking order: one query. With ``regions``, only those asked for
    an intake on those regions: questions with no regions (asked at every intake) and those
    whose regions meet one of them."""
    qs = ScreeningQuestion.objects.order_by("position", "code")
    if regions is not None:
        qs = qs.filter(Q(regions=[]) | Q(regions__overlap=list(regions)))
    return qs


def screening_question_get(*, code: str) -> ScreeningQuestion:
    """One question; ``NotFound`` for an unknown code."""
    try:
        return ScreeningQuestion.objects.get(code=code)
    except ScreeningQuestion.DoesNotExist:
        raise NotFound(f"Unknown screening question '{code}'.") from None


def screening_question_as_dict(question: ScreeningQuestion) -> dict[str, Any]:
    """The question as plain data."""
    return {
        "code": question.code,
        "text": question.text,
        "action": question.action,
        "regions": list(question.regions),
        "source": question.source,
        "position": question.position,
    }


# --- signs asked after a session ---------------------------------------------------------


def outcome_sign_list() -> QuerySet[OutcomeSign]:
    """The signs asked after every session, in asking order: one query."""
    return OutcomeSign.objects.order_by("position", "code")


def outcome_sign_get(*, code: str) -> OutcomeSign:
    """One sign; ``NotFound`` for an unknown code."""
    try:
        return OutcomeSign.objects.get(code=code)
    except OutcomeSign.DoesNotExist:
        raise NotFound(f"Unknown sign '{code}'.") from None


def outcome_sign_as_dict(sign: OutcomeSign) -> dict[str, Any]:
    """The sign as plain data."""
    return {
        "code": sign.code,
        "label": sign.label,
        "severity": sign.severity,
        "instruction": sign.instruction,
        "source": sign.source,
        "position": sign.position,
    }
