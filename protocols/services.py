"""Writes of the clinical catalog: protocols, conditions and screening (red-flag) questions.

Every function here is one transaction that validates its input, changes the catalog and
appends one audit event (``core.services.audit_record``) with the row before and after, in the
same transaction. Input that cannot be saved raises ``core.errors.DomainError`` whose
``errors`` map a field path (``"modules"``, ``"requirements.0"``, ``"modules.2.min_hours"``)
to messages, all problems at once.

Updates report whether they *tightened* a rule a future booking may rest on (a requirement
group added or narrowed, a focus limit lowered or moved, a red flag made more urgent or asked
more widely). This app does not know bookings: the registry layer, which calls these services
inside its own transaction, re-checks the future bookings when ``tightened`` is true.

Slugs and codes are identifiers other records and clients hold; they are set at creation and
never changed by an update.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final, Literal, TypeVar

from django.db import IntegrityError, transaction

from core.errors import DomainError
from core.models import User
from core.services import audit_record
from protocols.choices import BodyRegion, ModuleKind, ScreeningAction, SignSeverity
from protocols.models import Condition, Module, OutcomeSign, Protocol, RequirementGroup, ScreeningQuestion
from protocols.selectors import (
    condition_as_dict,
    condition_focus_limits,
    condition_list,
    focus_limits,
    outcome_sign_as_dict,
    protocol_as_dict,
    protocol_list,
    screening_question_as_dict,
)


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Default of every field of an update: leave it as it is."""

T = TypeVar("T")
Maybe = T | Literal[_Unset.UNSET]

# Bounds of a protocol's numbers (also documented in the API schema).
FOCUS_MINUTES_RANGE = (1, 600)
SUPERVISED_SESSIONS_RANGE = (0, 100)
VALIDITY_MONTHS_RANGE = (1, 240)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
QUESTION_CODE_RE = SLUG_RE
LOCAL_CODE_RE = re.compile(r"^[A-Z][A-Z0-9._-]*$")
ICD10CM_RE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
MODULE_KINDS: tuple[str, ...] = tuple(ModuleKind.values)
URGENCY = {ScreeningAction.REFER_PHYSICIAN.value: 1, ScreeningAction.REFER_EMERGENCY.value: 2}


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolUpdateResult:
    """``tightened``: the protocol's focus limit was lowered or moved to another region, so
    future bookings for the conditions in ``condition_codes`` (those naming the protocol)
    need a re-check. ``changed``: the fields that changed (empty: nothing did, no audit).
    ``supervision_started``: ``supervised_sessions`` went from 0 to N > 0, so the
    certifications already issued in the protocol are to be grandfathered (the registry's
    ``protocol_update`` does it; this app knows nothing of certifications)."""

    protocol: Protocol
    tightened: bool
    changed: tuple[str, ...]
    condition_codes: tuple[str, ...]
    supervision_started: bool = False


@dataclass(frozen=True)
class ConditionUpdateResult:
    """``tightened``: future bookings for this condition need a re-check."""

    condition: Condition
    tightened: bool
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ScreeningQuestionUpdateResult:
    """``tightened``: the question is now more urgent or asked at more intakes."""

    question: ScreeningQuestion
    tightened: bool
    changed: tuple[str, ...]


# --- pure rules: does a change tighten? --------------------------------------------------


def condition_requirements_tightened(before: Sequence[Sequence[str]], after: Sequence[Sequence[str]]) -> bool:
    """True when a therapist who met ``before`` might not meet ``after``.

    Requirements are groups of protocol slugs (every group met, a group by any one of its
    protocols). ``before`` guarantees an ``after`` group exactly when some ``before`` group is
    a subset of it; so the change tightens when any ``after`` group is not a superset of a
    ``before`` group: a group added, a protocol taken out of a group. Adding a protocol to a
    group, or dropping a group, loosens."""
    before_sets = [frozenset(group) for group in before]
    return any(not any(b <= frozenset(group) for b in before_sets) for group in after)


def focus_limits_tightened(before: Mapping[str, int], after: Mapping[str, int]) -> bool:
    """True when a dose limit (minutes of focused work per body region) is lower after, or a
    region has a limit it did not have before."""
    return any(region not in before or limit < before[region] for region, limit in after.items())


def protocol_rule_tightened(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """A protocol change tightens a booking rule when its focus limit is lowered or moved to
    another region (``before``/``after`` as ``protocol_as_dict``). Modules, validity and
    instructor minimums rule issuance, not bookings: certificates already issued stand. More
    ``supervised_sessions`` tighten too: a certification not yet full may need a supervisor
    again (issue 23)."""
    return focus_limits_tightened(
        {before["region"]: before["max_focus_minutes"]}, {after["region"]: after["max_focus_minutes"]}
    ) or after.get("supervised_sessions", 0) > before.get("supervised_sessions", 0)


def screening_question_tightened(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """A red flag tightens when its action becomes more urgent (a physician referral becomes
    emergency care, which no clearance lifts) or it is asked at more intakes (regions widened,
    or emptied: asked at every intake)."""
    if URGENCY.get(after["action"], 0) > URGENCY.get(before["action"], 0):
        return True
    old, new = set(before["regions"]), set(after["regions"])
    if not old:
        return False  # already asked at every intake
    return not new or not new <= old


# --- input checking ----------------------------------------------------------------------


class _Errors:
    """Collects every problem with an input, so one refusal names them all."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            summary = " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
            raise DomainError(f"The {self.what} cannot be saved. {summary}", errors=self.errors)

    def text(self, field: str, value: Any, *, max_length: int | None = None, blank: bool = False) -> str:
        if not isinstance(value, str):
            self.add(field, "Must be text.")
            return ""
        value = value.strip()
        if not value and not blank:
            self.add(field, "This field is required and may not be blank.")
        if max_length is not None and len(value) > max_length:
            self.add(field, f"At most {max_length} characters (this has {len(value)}).")
        return value

    def integer(self, field: str, value: Any, *, minimum: int, maximum: int = 32767) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, "Must be a whole number.")
            return minimum
        if value < minimum or value > maximum:
            self.add(field, f"Must be between {minimum} and {maximum}.")
        return value

    def choice(self, field: str, value: Any, choices: Sequence[str], label: str) -> str:
        if value not in choices:
            self.add(field, f"Unknown {label} '{value}': use one of {', '.join(choices)}.")
            return ""
        return str(value)

    def hours(self, field: str, value: Any) -> Decimal:
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
                raise TypeError
            hours = Decimal(str(value).strip())
        except (InvalidOperation, TypeError, ValueError):
            self.add(field, "Must be a number of hours.")
            return Decimal(0)
        if not hours.is_finite() or hours <= 0:
            self.add(field, "A module's minimum hours must be positive.")
        elif hours >= 10000 or hours != hours.quantize(Decimal("0.01")):
            self.add(field, "At most 9999.99 hours, with at most two decimal places.")
        return hours


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _clean_modules(errors: _Errors, modules: Any) -> list[dict[str, Any]]:
    """Exactly three modules, one per kind. Returned in teaching order."""
    three = (
        "A protocol needs exactly three modules, one of each kind: "
        "fundamentals, critical-details and harm-avoidance"
    )
    if not _is_list(modules):
        errors.add("modules", f"{three}; give them as a list.")
        return []
    cleaned: dict[str, dict[str, Any]] = {}
    for i, module in enumerate(modules):
        if not isinstance(module, Mapping):
            errors.add(f"modules.{i}", "A module has a kind, a title and min_hours.")
            continue
        kind = errors.choice(f"modules.{i}.kind", module.get("kind"), MODULE_KINDS, "module kind")
        title = errors.text(
            f"modules.{i}.title", module.get("title"), max_length=Module._meta.get_field("title").max_length
        )
        hours = errors.hours(f"modules.{i}.min_hours", module.get("min_hours"))
        if kind and kind in cleaned:
            errors.add(
                f"modules.{i}.kind", f"A second '{kind}' module: a protocol has one module of each kind."
            )
        elif kind:
            cleaned[kind] = {"kind": kind, "title": title, "min_hours": hours}
    missing = [kind for kind in MODULE_KINDS if kind not in cleaned]
    if missing:
        errors.add("modules", f"{three} (missing: {', '.join(missing)}).")
    elif len(modules) != len(MODULE_KINDS):
        errors.add("modules", f"{three} (given {len(modules)}).")
    return [cleaned[kind] for kind in MODULE_KINDS if kind in cleaned]


def _clean_slug_list(errors: _Errors, field: str, value: Any) -> list[str]:
    if not _is_list(value):
        errors.add(field, "Give a list of protocol slugs.")
        return []
    slugs: list[str] = []
    for i, slug in enumerate(value):
        if not isinstance(slug, str) or not slug.strip():
            errors.add(f"{field}.{i}", "A protocol slug is non-empty text.")
        elif slug.strip() not in slugs:
            slugs.append(slug.strip())
    return slugs


def _protocols_by_slug(slugs: Iterable[str]) -> dict[str, Protocol]:
    return {p.slug: p for p in Protocol.objects.filter(slug__in=set(slugs))}


def _clean_prerequisites(errors: _Errors, value: Any, *, own_slug: str) -> list[Protocol]:
    """Known protocols, not the protocol itself."""
    slugs = _clean_slug_list(errors, "prerequisites", value)
    known = _protocols_by_slug(slugs)
    found: list[Protocol] = []
    for i, slug in enumerate(slugs):
        if slug == own_slug:
            errors.add(f"prerequisites.{i}", "A protocol cannot be its own prerequisite.")
        elif slug not in known:
            errors.add(f"prerequisites.{i}", f"Unknown protocol '{slug}'.")
        else:
            found.append(known[slug])
    return found


def _check_no_prerequisite_cycle(errors: _Errors, protocol: Protocol, prerequisites: list[Protocol]) -> None:
    """A protocol may not (indirectly) be a prerequisite of its own prerequisites: nobody could
    ever be certified in either."""
    through = Protocol.prerequisites.through
    edges: dict[Any, set[Any]] = {}
    for from_id, to_id in through.objects.exclude(from_protocol_id=protocol.pk).values_list(
        "from_protocol_id", "to_protocol_id"
    ):
        edges.setdefault(from_id, set()).add(to_id)
    for prerequisite in prerequisites:
        seen: set[Any] = set()
        stack = [prerequisite.pk]
        while stack:
            current = stack.pop()
            if current == protocol.pk:
                errors.add(
                    "prerequisites",
                    f"'{prerequisite.slug}' already requires '{protocol.slug}': prerequisites may not go "
                    "round in a circle.",
                )
                break
            if current not in seen:
                seen.add(current)
                stack.extend(edges.get(current, ()))


def _clean_requirements(errors: _Errors, value: Any) -> list[list[Protocol]]:
    """A list of groups, each a non-empty list of known protocol slugs, no group repeated."""
    if not _is_list(value):
        errors.add(
            "requirements", "Give the requirements as a list of groups, each a list of protocol slugs."
        )
        return []
    groups: list[list[str]] = []
    for gi, group in enumerate(value):
        if not _is_list(group):
            errors.add(f"requirements.{gi}", "A requirement group is a list of protocol slugs.")
            groups.append([])
            continue
        slugs = _clean_slug_list(errors, f"requirements.{gi}", group)
        if not slugs and not errors.errors.get(f"requirements.{gi}"):
            errors.add(
                f"requirements.{gi}",
                "A requirement group names at least one protocol (an empty group can never be met).",
            )
        groups.append(slugs)
    known = _protocols_by_slug(slug for group in groups for slug in group)
    result: list[list[Protocol]] = []
    seen: dict[frozenset[str], int] = {}
    for gi, slugs in enumerate(groups):
        for slug in slugs:
            if slug not in known:
                errors.add(f"requirements.{gi}", f"Unknown protocol '{slug}'.")
        key = frozenset(slugs)
        if slugs and key in seen:
            errors.add(f"requirements.{gi}", f"This group repeats group {seen[key]}.")
        seen.setdefault(key, gi)
        result.append([known[s] for s in slugs if s in known])
    return result


def _clean_regions(errors: _Errors, value: Any) -> list[str]:
    if not _is_list(value):
        errors.add("regions", "Give a list of body regions (an empty list: asked at every intake).")
        return []
    regions: list[str] = []
    for i, region in enumerate(value):
        region = errors.choice(f"regions.{i}", region, BodyRegion.values, "body region")
        if region and region not in regions:
            regions.append(region)
    return regions


def _clean_condition_code(errors: _Errors, code: Any, code_system: str) -> str:
    code = errors.text("code", code, max_length=Condition._meta.get_field("code").max_length)
    code = code.upper()
    if not code:
        return code
    if code_system.upper().startswith("ICD-10-CM"):
        if not ICD10CM_RE.match(code):
            errors.add(
                "code", f"'{code}' is not an ICD-10-CM code: write it like M51.16 (a dot after three)."
            )
    elif not LOCAL_CODE_RE.match(code):
        errors.add("code", f"'{code}' is not a usable local code: capital letters and digits, like WELLNESS.")
    return code


def _create_groups(condition: Condition, groups: list[list[Protocol]]) -> None:
    for position, protocols in enumerate(groups):
        group = RequirementGroup.objects.create(condition=condition, position=position)
        group.protocols.set(protocols)


# --- protocols ---------------------------------------------------------------------------


@transaction.atomic
def protocol_create(
    *,
    actor: User | None,
    slug: str,
    name: str,
    region: str,
    max_focus_minutes: int,
    validity_months: int,
    min_instructor_years: int,
    min_instructor_cases: int,
    modules: Sequence[Mapping[str, Any]],
    prerequisites: Sequence[str] = (),
    source: str,
    version: str = "1",
    supervised_sessions: int = 0,
    reason: str = "",
) -> Protocol:
    """A protocol is trained in exactly three modules (fundamentals, critical details, harm
    avoidance), limits focused work on its region to ``max_focus_minutes`` per session, and
    names the source of its rule. Its prerequisites must already be in the catalog."""
    errors = _Errors("protocol")
    slug = errors.text("slug", slug, max_length=Protocol._meta.get_field("slug").max_length)
    if slug and not SLUG_RE.match(slug):
        errors.add("slug", f"'{slug}' is not a slug: lowercase letters and digits joined by hyphens.")
    elif slug and Protocol.objects.filter(slug=slug).exists():
        errors.add("slug", f"A protocol with slug '{slug}' already exists.")
    fields = {
        "slug": slug,
        "name": errors.text("name", name, max_length=200),
        "region": errors.choice("region", region, BodyRegion.values, "body region"),
        "max_focus_minutes": errors.integer(
            "max_focus_minutes",
            max_focus_minutes,
            minimum=FOCUS_MINUTES_RANGE[0],
            maximum=FOCUS_MINUTES_RANGE[1],
        ),
        "validity_months": errors.integer(
            "validity_months",
            validity_months,
            minimum=VALIDITY_MONTHS_RANGE[0],
            maximum=VALIDITY_MONTHS_RANGE[1],
        ),
        "min_instructor_years": errors.integer("min_instructor_years", min_instructor_years, minimum=0),
        "min_instructor_cases": errors.integer(
            "min_instructor_cases", min_instructor_cases, minimum=0, maximum=2_147_483_647
        ),
        "source": errors.text("source", source),
        "version": errors.text("version", version, max_length=40),
        "supervised_sessions": errors.integer(
            "supervised_sessions",
            supervised_sessions,
            minimum=SUPERVISED_SESSIONS_RANGE[0],
            maximum=SUPERVISED_SESSIONS_RANGE[1],
        ),
    }
    cleaned_modules = _clean_modules(errors, modules)
    prereqs = _clean_prerequisites(errors, prerequisites, own_slug=slug)
    errors.raise_if_any()

    try:
        with transaction.atomic():
            protocol = Protocol.objects.create(**fields)
    except IntegrityError as exc:  # a concurrent create of the same slug
        raise DomainError(
            f"A protocol with slug '{slug}' already exists.",
            errors={"slug": [f"A protocol with slug '{slug}' already exists."]},
        ) from exc
    Module.objects.bulk_create([Module(protocol=protocol, **m) for m in cleaned_modules])
    protocol.prerequisites.set(prereqs)

    protocol = protocol_list().get(pk=protocol.pk)
    audit_record(
        actor=actor, action="protocol.create", obj=protocol, after=protocol_as_dict(protocol), reason=reason
    )
    return protocol


@transaction.atomic
def protocol_update(
    *,
    protocol: Protocol,
    actor: User | None,
    name: Maybe[str] = UNSET,
    region: Maybe[str] = UNSET,
    max_focus_minutes: Maybe[int] = UNSET,
    validity_months: Maybe[int] = UNSET,
    min_instructor_years: Maybe[int] = UNSET,
    min_instructor_cases: Maybe[int] = UNSET,
    modules: Maybe[Sequence[Mapping[str, Any]]] = UNSET,
    prerequisites: Maybe[Sequence[str]] = UNSET,
    source: Maybe[str] = UNSET,
    version: Maybe[str] = UNSET,
    supervised_sessions: Maybe[int] = UNSET,
    reason: str = "",
) -> ProtocolUpdateResult:
    """Change a protocol (its slug stays). ``modules``, when given, are all three again and
    replace the titles and hours kind by kind. The same rules as at creation hold, and
    prerequisites may not go round in a circle. Lowering the focus limit or moving the
    region tightens the rule for future bookings (``tightened``). Nothing changed: nothing
    written, no audit event."""
    locked = protocol_list().select_for_update().get(pk=protocol.pk)
    before = protocol_as_dict(locked)

    errors = _Errors("protocol")
    wanted: dict[str, Any] = {}
    if name is not UNSET:
        wanted["name"] = errors.text("name", name, max_length=200)
    if region is not UNSET:
        wanted["region"] = errors.choice("region", region, BodyRegion.values, "body region")
    if max_focus_minutes is not UNSET:
        wanted["max_focus_minutes"] = errors.integer(
            "max_focus_minutes",
            max_focus_minutes,
            minimum=FOCUS_MINUTES_RANGE[0],
            maximum=FOCUS_MINUTES_RANGE[1],
        )
    if validity_months is not UNSET:
        wanted["validity_months"] = errors.integer(
            "validity_months",
            validity_months,
            minimum=VALIDITY_MONTHS_RANGE[0],
            maximum=VALIDITY_MONTHS_RANGE[1],
        )
    if min_instructor_years is not UNSET:
        wanted["min_instructor_years"] = errors.integer(
            "min_instructor_years", min_instructor_years, minimum=0
        )
    if min_instructor_cases is not UNSET:
        wanted["min_instructor_cases"] = errors.integer(
            "min_instructor_cases", min_instructor_cases, minimum=0, maximum=2_147_483_647
        )
    if source is not UNSET:
        wanted["source"] = errors.text("source", source)
    if version is not UNSET:
        wanted["version"] = errors.text("version", version, max_length=40)
    if supervised_sessions is not UNSET:
        wanted["supervised_sessions"] = errors.integer(
            "supervised_sessions",
            supervised_sessions,
            minimum=SUPERVISED_SESSIONS_RANGE[0],
            maximum=SUPERVISED_SESSIONS_RANGE[1],
        )
    if modules is not UNSET:
        wanted["modules"] = _clean_modules(errors, modules)
    prereqs: list[Protocol] = []
    if prerequisites is not UNSET:
        prereqs = _clean_prerequisites(errors, prerequisites, own_slug=locked.slug)
        if not errors.errors:
            _check_no_prerequisite_cycle(errors, locked, prereqs)
        wanted["prerequisites"] = sorted(p.slug for p in prereqs)
    errors.raise_if_any()

    changed = tuple(field for field, value in wanted.items() if before[field] != value)
    if not changed:
        return ProtocolUpdateResult(protocol=locked, tightened=False, changed=(), condition_codes=())

    plain = [f for f in changed if f not in ("modules", "prerequisites")]
    for field in plain:
        setattr(locked, field, wanted[field])
    if plain:
        locked.save(update_fields=plain)
    if "modules" in changed:
        current = {m.kind: m for m in locked.modules.all()}
        for spec in wanted["modules"]:
            module = current[spec["kind"]]
            if (module.title, module.min_hours) != (spec["title"], spec["min_hours"]):
                module.title, module.min_hours = spec["title"], spec["min_hours"]
                module.save(update_fields=["title", "min_hours"])
    if "prerequisites" in changed:
        locked.prerequisites.set(prereqs)

    fresh = protocol_list().get(pk=locked.pk)
    after = protocol_as_dict(fresh)
    audit_record(actor=actor, action="protocol.update", obj=fresh, before=before, after=after, reason=reason)
    codes = tuple(
        Condition.objects.filter(requirement_groups__protocols=fresh)
        .order_by("code")
        .values_list("code", flat=True)
        .distinct()
    )
    return ProtocolUpdateResult(
        protocol=fresh,
        tightened=protocol_rule_tightened(before, after),
        changed=changed,
        condition_codes=codes,
        supervision_started=before["supervised_sessions"] == 0 and after["supervised_sessions"] > 0,
    )


# --- conditions --------------------------------------------------------------------------


@transaction.atomic
def condition_create(
    *,
    actor: User | None,
    code: str,
    code_system: str,
    name: str,
    region: str,
    requirements: Sequence[Sequence[str]],
    source: str,
    version: str = "1",
    reason: str = "",
) -> Condition:
    """A condition (ICD-10-CM code where one exists, else a local code with an empty
    ``code_system``) names the protocols a therapist must hold to treat it: a list of groups,
    every group must be met, a group by any one of its protocols (``[]``: none needed). Every
    protocol named must be in the catalog, and the condition names the source of its rule."""
    errors = _Errors("condition")
    code_system = errors.text("code_system", code_system, max_length=40, blank=True)
    code = _clean_condition_code(errors, code, code_system)
    if code and Condition.objects.filter(code=code).exists():
        errors.add("code", f"A condition with code '{code}' already exists.")
    fields = {
        "code": code,
        "code_system": code_system,
        "name": errors.text("name", name, max_length=200),
        "region": errors.choice("region", region, BodyRegion.values, "body region"),
        "source": errors.text("source", source),
        "version": errors.text("version", version, max_length=40),
    }
    groups = _clean_requirements(errors, requirements)
    errors.raise_if_any()

    try:
        with transaction.atomic():
            condition = Condition.objects.create(**fields)
    except IntegrityError as exc:
        raise DomainError(
            f"A condition with code '{code}' already exists.",
            errors={"code": [f"A condition with code '{code}' already exists."]},
        ) from exc
    _create_groups(condition, groups)

    condition = condition_list().get(pk=condition.pk)
    audit_record(
        actor=actor,
        action="condition.create",
        obj=condition,
        after=condition_as_dict(condition),
        reason=reason,
    )
    return condition


@transaction.atomic
def condition_update(
    *,
    condition: Condition,
    actor: User | None,
    code_system: Maybe[str] = UNSET,
    name: Maybe[str] = UNSET,
    region: Maybe[str] = UNSET,
    requirements: Maybe[Sequence[Sequence[str]]] = UNSET,
    source: Maybe[str] = UNSET,
    version: Maybe[str] = UNSET,
    reason: str = "",
) -> ConditionUpdateResult:
    """Change a condition (its code stays). ``requirements``, when given, replace all the
    groups. The change tightens the rule for future bookings (``tightened``) when a group is
    added or narrowed (``condition_requirements_tightened``), when a protocol with a lower
    focus limit joins its requirements (``focus_limits_tightened``), or when its region moves
    (the intake's regions, its questions and the focus region follow the condition's).
    Nothing changed: nothing written, no audit event."""
    locked = condition_list().select_for_update().get(pk=condition.pk)
    before = condition_as_dict(locked)
    before_limits = condition_focus_limits(locked)

    errors = _Errors("condition")
    wanted: dict[str, Any] = {}
    if code_system is not UNSET:
        wanted["code_system"] = errors.text("code_system", code_system, max_length=40, blank=True)
        if wanted["code_system"].upper().startswith("ICD-10-CM") and not ICD10CM_RE.match(locked.code):
            errors.add("code_system", f"'{locked.code}' is not an ICD-10-CM code.")
    if name is not UNSET:
        wanted["name"] = errors.text("name", name, max_length=200)
    if region is not UNSET:
        wanted["region"] = errors.choice("region", region, BodyRegion.values, "body region")
    if source is not UNSET:
        wanted["source"] = errors.text("source", source)
    if version is not UNSET:
        wanted["version"] = errors.text("version", version, max_length=40)
    groups: list[list[Protocol]] = []
    if requirements is not UNSET:
        groups = _clean_requirements(errors, requirements)
        wanted["requirements"] = [sorted(p.slug for p in group) for group in groups]
    errors.raise_if_any()

    changed = tuple(field for field, value in wanted.items() if before[field] != value)
    if not changed:
        return ConditionUpdateResult(condition=locked, tightened=False, changed=())

    plain = [f for f in changed if f != "requirements"]
    for field in plain:
        setattr(locked, field, wanted[field])
    if plain:
        locked.save(update_fields=plain)
    after_limits = before_limits
    if "requirements" in changed:
        locked.requirement_groups.all().delete()
        _create_groups(locked, groups)
        after_limits = focus_limits(p for group in groups for p in group)

    fresh = condition_list().get(pk=locked.pk)
    after = condition_as_dict(fresh)
    audit_record(actor=actor, action="condition.update", obj=fresh, before=before, after=after, reason=reason)
    tightened = (
        condition_requirements_tightened(before["requirements"], after["requirements"])
        or focus_limits_tightened(before_limits, after_limits)
        or before["region"] != after["region"]
    )
    return ConditionUpdateResult(condition=fresh, tightened=tightened, changed=changed)


def _new_stable_code(
    errors: _Errors, code: Any, model: type[ScreeningQuestion | OutcomeSign], what: str
) -> str:
    """A new row's code: a stable lowercase slug no row of ``model`` has yet."""
    code = errors.text("code", code, max_length=model._meta.get_field("code").max_length)
    if code and not QUESTION_CODE_RE.match(code):
        errors.add("code", f"'{code}' is not a stable code: lowercase letters and digits joined by hyphens.")
    elif code and model.objects.filter(code=code).exists():
        errors.add("code", f"A {what} with code '{code}' already exists.")
    return code


def _position_of_new(errors: _Errors, model: type[ScreeningQuestion | OutcomeSign], position: Any) -> int:
    """The asking position of a new row: as given, or after the last one."""
    if position is None:
        last = model.objects.order_by("-position").values_list("position", flat=True).first()
        return 0 if last is None else last + 1
    return errors.integer("position", position, minimum=0)


# --- screening questions -----------------------------------------------------------------


@transaction.atomic
def screening_question_create(
    *,
    actor: User | None,
    code: str,
    text: str,
    action: str,
    regions: Sequence[str],
    source: str,
    position: int | None = None,
    reason: str = "",
) -> ScreeningQuestion:
    """A red-flag question asked at intake: a yes means no massage, only referral (emergency
    care, or a physician first). Asked at intakes whose regions meet ``regions``; empty
    ``regions``: asked at every intake. Its code is a stable lowercase slug, and it names the
    source of the rule. Without ``position`` it is asked last."""
    errors = _Errors("screening question")
    code = _new_stable_code(errors, code, ScreeningQuestion, "screening question")
    fields: dict[str, Any] = {
        "code": code,
        "text": errors.text("text", text),
        "action": errors.choice("action", action, ScreeningAction.values, "screening action"),
        "regions": _clean_regions(errors, regions),
        "source": errors.text("source", source),
    }
    fields["position"] = _position_of_new(errors, ScreeningQuestion, position)
    errors.raise_if_any()

    try:
        with transaction.atomic():
            question = ScreeningQuestion.objects.create(**fields)
    except IntegrityError as exc:
        raise DomainError(
            f"A screening question with code '{code}' already exists.",
            errors={"code": [f"A screening question with code '{code}' already exists."]},
        ) from exc
    audit_record(
        actor=actor,
        action="screening_question.create",
        obj=question,
        after=screening_question_as_dict(question),
        reason=reason,
    )
    return question


@transaction.atomic
def screening_question_update(
    *,
    question: ScreeningQuestion,
    actor: User | None,
    text: Maybe[str] = UNSET,
    action: Maybe[str] = UNSET,
    regions: Maybe[Sequence[str]] = UNSET,
    source: Maybe[str] = UNSET,
    position: Maybe[int] = UNSET,
    reason: str = "",
) -> ScreeningQuestionUpdateResult:
    """Change a red-flag question (its code stays). Making it more urgent or asking it at more
    intakes tightens (``tightened``): intakes already recorded did not answer it that way.
    Nothing changed: nothing written, no audit event."""
    locked = ScreeningQuestion.objects.select_for_update().get(pk=question.pk)
    before = screening_question_as_dict(locked)

    errors = _Errors("screening question")
    wanted: dict[str, Any] = {}
    if text is not UNSET:
        wanted["text"] = errors.text("text", text)
    if action is not UNSET:
        wanted["action"] = errors.choice("action", action, ScreeningAction.values, "screening action")
    if regions is not UNSET:
        wanted["regions"] = _clean_regions(errors, regions)
    if source is not UNSET:
        wanted["source"] = errors.text("source", source)
    if position is not UNSET:
        wanted["position"] = errors.integer("position", position, minimum=0)
    errors.raise_if_any()

    changed = tuple(field for field, value in wanted.items() if before[field] != value)
    if not changed:
        return ScreeningQuestionUpdateResult(question=locked, tightened=False, changed=())
    for field in changed:
        setattr(locked, field, wanted[field])
    locked.save(update_fields=list(changed))
    after = screening_question_as_dict(locked)
    audit_record(
        actor=actor, action="screening_question.update", obj=locked, before=before, after=after, reason=reason
    )
    return ScreeningQuestionUpdateResult(
        question=locked, tightened=screening_question_tightened(before, after), changed=changed
    )


# --- signs asked after a session -----------------------------------------------------------


@transaction.atomic
def outcome_sign_create(
    *,
    actor: User | None,
    code: str,
    label: str,
    severity: str,
    instruction: str,
    source: str,
    position: int | None = None,
    reason: str = "",
) -> OutcomeSign:
    """A sign asked after every session: how much it matters (``mild``, ``moderate``,
    ``serious``), the client's instruction in plain words, and the source of the rule. Its code
    is a stable lowercase slug. Without ``position`` it is asked last."""
    errors = _Errors("sign")
    code = _new_stable_code(errors, code, OutcomeSign, "sign")
    fields: dict[str, Any] = {
        "code": code,
        "label": errors.text("label", label, max_length=OutcomeSign._meta.get_field("label").max_length),
        "severity": errors.choice("severity", severity, SignSeverity.values, "severity"),
        "instruction": errors.text("instruction", instruction),
        "source": errors.text("source", source),
    }
    fields["position"] = _position_of_new(errors, OutcomeSign, position)
    errors.raise_if_any()
    try:
        with transaction.atomic():
            sign = OutcomeSign.objects.create(**fields)
    except IntegrityError as exc:
        raise DomainError(
            f"A sign with code '{code}' already exists.",
            errors={"code": [f"A sign with code '{code}' already exists."]},
        ) from exc
    audit_record(
        actor=actor, action="outcome_sign.create", obj=sign, after=outcome_sign_as_dict(sign), reason=reason
    )
    return sign
