"""``python manage.py load_catalog``: add the shipped example catalog where it is missing.

Idempotent. A protocol, condition, screening question or sign asked after a session that is
not in the database is created through the catalog services (actor: the system, audited like
any other write). One that exists is left alone, whatever it says: the clinical lead's version
wins. Those that differ from the shipped version are listed, field by field, so the lead can
review what changed upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from protocols import catalog_data
from protocols.selectors import (
    MODULE_KIND_ORDER,
    condition_as_dict,
    condition_list,
    outcome_sign_as_dict,
    outcome_sign_list,
    protocol_as_dict,
    protocol_list,
    screening_question_as_dict,
    screening_question_list,
)
from protocols.services import (
    condition_create,
    outcome_sign_create,
    protocol_create,
    screening_question_create,
)


@dataclass
class CatalogLoadReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    details: dict[str, list[str]] = field(default_factory=dict)


def _shipped_protocol(spec: dict[str, Any]) -> dict[str, Any]:
    shipped = dict(spec)
    shipped["prerequisites"] = sorted(spec.get("prerequisites", []))
    shipped["modules"] = sorted(
        ({"kind": m["kind"], "title": m["title"], "min_hours": m["min_hours"]} for m in spec["modules"]),
        key=lambda m: MODULE_KIND_ORDER.index(m["kind"]),
    )
    return shipped


def _shipped_condition(spec: dict[str, Any]) -> dict[str, Any]:
    shipped = dict(spec)
    shipped["code"] = spec["code"].upper()
    shipped["requirements"] = [sorted(group) for group in spec["requirements"]]
    return shipped


def _shown(value: Any) -> str | None:
    """A value short enough to print in the list of differences, else None."""
    if isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value):
        return None
    text = str(value)
    return text if len(text) <= 80 else None


def _differences(current: dict[str, Any], shipped: dict[str, Any]) -> list[str]:
    """The shipped fields whose value in the database is different (with both values, when
    short enough to read)."""
    out = []
    for name, value in shipped.items():
        if current.get(name) == value:
            continue
        here, there = _shown(current.get(name)), _shown(value)
        out.append(f"{name} (here {here}, shipped {there})" if here and there else name)
    return out


def load_catalog(*, actor: Any = None) -> CatalogLoadReport:
    """Create what is missing of the shipped catalog, in one transaction; report the rest."""
    report = CatalogLoadReport()

    def sync(
        kind: str,
        specs: Iterable[dict[str, Any]],
        key: str,
        normalise: Callable[[dict[str, Any]], dict[str, Any]],
        existing: dict[str, dict[str, Any]],
        create: Callable[..., Any],
    ) -> None:
        for spec in specs:
            shipped = normalise(spec)
            label = f"{kind} {shipped[key]}"
            current = existing.get(shipped[key])
            if current is None:
                create(actor=actor, **spec, reason="load_catalog: shipped example catalog")
                report.created.append(label)
                continue
            diffs = _differences(current, shipped)
            if diffs:
                report.differs.append(label)
                report.details[label] = diffs
            else:
                report.unchanged.append(label)

    with transaction.atomic():
        sync(
            "protocol",
            catalog_data.PROTOCOLS,
            "slug",
            _shipped_protocol,
            {p.slug: protocol_as_dict(p) for p in protocol_list()},
            protocol_create,
        )
        sync(
            "condition",
            catalog_data.CONDITIONS,
            "code",
            _shipped_condition,
            {c.code: condition_as_dict(c) for c in condition_list()},
            condition_create,
        )
        sync(
            "question",
            catalog_data.SCREENING_QUESTIONS,
            "code",
            dict,
            {q.code: screening_question_as_dict(q) for q in screening_question_list()},
            screening_question_create,
        )
        sync(
            "sign",
            catalog_data.OUTCOME_SIGNS,
            "code",
            dict,
            {s.code: outcome_sign_as_dict(s) for s in outcome_sign_list()},
            outcome_sign_create,
        )
    return report


class Command(BaseCommand):
    help = (
        "Load the shipped EXAMPLE clinical catalog (for the organisation's clinical lead to review). "
        "Idempotent: creates what is missing, leaves existing rows alone, lists those that differ."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = load_catalog()
        self.stdout.write(
            f"Example catalog {catalog_data.CATALOG_VERSION} ({catalog_data.CODE_SYSTEM}): "
            "for the organisation's clinical lead to review."
        )
        for label in report.created:
            self.stdout.write(f"  created: {label}")
        for label in report.differs:
            detail = ", ".join(report.details[label])
            self.stdout.write(self.style.WARNING(f"  differs (kept as it is here): {label}: {detail}"))
        differs = ", ".join(report.differs) if report.differs else "none"
        self.stdout.write(
            f"created {len(report.created)}, unchanged {len(report.unchanged)}, "
            f"differs {len(report.differs)}: {differs}"
        )
