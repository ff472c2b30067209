"""The registry in FHIR R5 (read-only): therapists as ``Practitioner``, employments as
``PractitionerRole``, spas and schools as ``Organization``, searches as ``Bundle``, errors as
``OperationOutcome``, and the server's ``CapabilityStatement``. Every resource is built as a
``fhir.resources`` R5 model, so it is validated when it is made; what is served is that
model's JSON. The mapping is described in docs/interoperability.md.

Callers (``api.views.fhir``) pass querysets already narrowed by tenancy (``api.tenancy``):
the licences and certifications shown in a Practitioner are the ones the caller may read,
not all of them. Each function reads in a fixed number of queries whatever the page size.
Nothing here reads client data (intakes, bookings, decisions): a FHIR reader learns who is
licensed and certified for what, and where they work.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.organization import Organization
from fhir.resources.practitioner import Practitioner
from fhir.resources.practitionerrole import PractitionerRole
from fhir.resources.resource import Resource

from credentials.choices import CertificationStatus, LicenseStatus
from credentials.models import Certification, License, School, Therapist
from registry.models import Employment, Spa

FHIR_VERSION = "5.0.0"
MEDIA_TYPE = "application/fhir+json"
MAX_COUNT = 200
DEFAULT_COUNT = 50

# Code systems and identifier systems from outside the registry.
NUCC_TAXONOMY = "http://nucc.org/provider-taxonomy"
MASSAGE_THERAPIST = {"system": NUCC_TAXONOMY, "code": "225700000X", "display": "Massage Therapist"}
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
ISO_3166_2 = "urn:iso:std:iso:3166:-2"


def canonical(path: str) -> str:
    """The registry's own canonical URLs (identifier systems, code systems, extensions)."""
    return f"{settings.REGISTRY_BASE_URL}/fhir/{path}"


def therapist_system() -> str:
    return canonical("sid/therapist")


def license_system(jurisdiction: str) -> str:
    """Licence numbers are unique in their jurisdiction: one identifier system for each."""
    return canonical(f"sid/license/{jurisdiction}")


def license_system_prefix() -> str:
    return canonical("sid/license/")


def organization_system(kind: str) -> str:
    return canonical(f"sid/{kind}")  # spa, school


def certification_system() -> str:
    return canonical("sid/certification")


def protocol_system() -> str:
    return canonical("CodeSystem/protocol")


def qualification_status_url() -> str:
    return canonical("StructureDefinition/qualification-status")


def qualification_jurisdiction_url() -> str:
    return canonical("StructureDefinition/qualification-jurisdiction")


def qualification_verified_url() -> str:
    return canonical("StructureDefinition/qualification-verified")


def endpoint() -> str:
    """Where the resources are served (``fullUrl``, paging links)."""
    return f"{settings.REGISTRY_BASE_URL}/fhir"


# --- what a search asks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """An ``identifier`` (token) search value: ``system|value``, ``|value`` (no system: not
    used here, so it matches nothing) or ``value`` (any system)."""

    system: str | None
    value: str


@dataclass(frozen=True)
class Search:
    """A search, as ``api.fhir`` parsed it. Each list in ``identifier``, ``name``, ``ids`` and
    the references is one parameter occurrence whose values are alternatives (comma-separated,
    OR); several occurrences must all match (AND)."""

    count: int = DEFAULT_COUNT
    offset: int = 0
    ids: list[list[str]] = field(default_factory=list)
    identifier: list[list[Token]] = field(default_factory=list)
    name: list[tuple[str, list[str]]] = field(default_factory=list)  # (modifier, values)
    practitioner: list[list[str]] = field(default_factory=list)
    organization: list[list[str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)  # what paging links repeat


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError):
        return None


def _any(conditions: Iterable[Q]) -> Q:
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return combined


def _name_matches(modifier: str, value: str, field_name: str = "name") -> Q:
    """FHIR string search: starts-with on the name or on any word of it, case-insensitive
    (``:contains`` anywhere, ``:exact`` the whole name as written)."""
    if modifier == "exact":
        return Q(**{field_name: value})
    if modifier == "contains":
        return Q(**{f"{field_name}__icontains": value})
    return Q(**{f"{field_name}__istartswith": value}) | Q(**{f"{field_name}__icontains": f" {value}"})


def _by_name(queryset: QuerySet, search: Search) -> QuerySet:
    for modifier, values in search.name:
        queryset = queryset.filter(_any(_name_matches(modifier, value) for value in values))
    return queryset


def _by_id(queryset: QuerySet, groups: list[list[str]]) -> QuerySet:
    for values in groups:
        ids = [pk for pk in (_uuid(value) for value in values) if pk is not None]
        queryset = queryset.filter(pk__in=ids)
    return queryset


# --- Practitioner ---------------------------------------------------------------------------------


def _date(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _period(start, end) -> dict[str, str]:
    return {key: value for key, value in (("start", _date(start)), ("end", _date(end))) if value}


def _status_extension(status: str) -> dict[str, Any]:
    return {"url": qualification_status_url(), "valueCode": status}


def license_status_on(license: License, day: dt.date) -> str:
    """What the licence is on ``day``: its recorded status, ``expired`` once past its
    expiry, ``not-yet-valid`` before its first day (only ``active`` is current)."""
    if license.status != LicenseStatus.ACTIVE:
        return license.status
    if day > license.expires_on:
        return LicenseStatus.EXPIRED
    if day < license.valid_from:
        return CertificationStatus.NOT_YET_VALID
    return LicenseStatus.ACTIVE


def _license_identifier(license: License) -> dict[str, Any]:
    return {
        "use": "official",
        "type": {
            "coding": [{"system": V2_IDENTIFIER_TYPE, "code": "LN", "display": "License number"}],
            "text": f"Licence number ({license.jurisdiction})",
        },
        "system": license_system(license.jurisdiction),
        "value": license.number,
        "period": _period(license.valid_from, license.expires_on),
        "assigner": {"display": f"Licensing board of {license.jurisdiction}"},
    }


def _license_qualification(license: License, today: dt.date) -> dict[str, Any]:
    extension = [
        _status_extension(license_status_on(license, today)),
        {
            "url": qualification_jurisdiction_url(),
            "valueCodeableConcept": {"coding": [{"system": ISO_3166_2, "code": license.jurisdiction}]},
        },
    ]
    if license.verified_at is not None:
        extension.append(
            {"url": qualification_verified_url(), "valueDateTime": license.verified_at.isoformat()}
        )
    return {
        "extension": extension,
        "identifier": [{"system": license_system(license.jurisdiction), "value": license.number}],
        "code": {
            "coding": [MASSAGE_THERAPIST],
            "text": f"Massage therapy licence, {license.jurisdiction}",
        },
        "period": _period(license.valid_from, license.expires_on),
        "issuer": {"display": f"Licensing board of {license.jurisdiction}"},
    }


def _certification_qualification(certification: Certification, now: dt.datetime) -> dict[str, Any]:
    """A certification: its status now; a revoked one's period ends when it was revoked (one
    revoked before it became valid: a period of no length, never an end before its start, which
    FHIR's per-1 forbids)."""
    ends = certification.expires_at
    if certification.revoked_at is not None and certification.revoked_at < ends:
        ends = max(certification.revoked_at, certification.valid_from)
    protocol = certification.protocol
    return {
        "extension": [_status_extension(certification.status_at(now))],
        "identifier": [{"system": certification_system(), "value": certification.serial}],
        "code": {
            "coding": [{"system": protocol_system(), "code": protocol.slug, "display": protocol.name}],
            "text": f"Certified in {protocol.name}",
        },
        "period": _period(certification.valid_from, ends),
        "issuer": {
            "reference": f"Organization/{certification.school_id}",
            "display": certification.school.name,
        },
    }


def practitioner(therapist: Therapist, *, now: dt.datetime) -> Practitioner:
    """One therapist: name; identifiers (registry id, licence numbers by jurisdiction); one
    qualification per licence and per certification with its status, ``active`` only for
    what is current (prefetched as ``fhir_licenses`` and ``fhir_certifications``)."""
    today = timezone.localdate(now)
    licenses = list(therapist.fhir_licenses)
    certifications = list(therapist.fhir_certifications)
    return Practitioner(
        id=str(therapist.pk),
        identifier=[
            {"use": "official", "system": therapist_system(), "value": str(therapist.pk)},
            *(_license_identifier(license) for license in licenses),
        ],
        name=[{"use": "official", "text": therapist.name}],
        qualification=[
            *(_license_qualification(license, today) for license in licenses),
            *(_certification_qualification(certification, now) for certification in certifications),
        ]
        or None,
    )


def _practitioner_rows(
    therapists: QuerySet[Therapist], licenses: QuerySet[License], certifications: QuerySet[Certification]
) -> QuerySet[Therapist]:
    return therapists.order_by("name", "id").prefetch_related(
        Prefetch("licenses", queryset=licenses.order_by("jurisdiction", "number"), to_attr="fhir_licenses"),
        Prefetch(
            "certifications",
            queryset=certifications.select_related("protocol", "school").order_by(
                "protocol__slug", "issued_at"
            ),
            to_attr="fhir_certifications",
        ),
    )


def practitioner_read(
    *,
    therapists: QuerySet[Therapist],
    licenses: QuerySet[License],
    certifications: QuerySet[Certification],
    pk: str,
    now: dt.datetime | None = None,
) -> Practitioner | None:
    """The Practitioner of one therapist the caller may read (``None``: not there). Three
    queries."""
    therapist_id = _uuid(pk)
    if therapist_id is None:
        return None
    row = _practitioner_rows(therapists, licenses, certifications).filter(pk=therapist_id).first()
    return practitioner(row, now=now or timezone.now()) if row is not None else None


def _identifier_matches(token: Token, licenses: QuerySet[License]) -> Q:
    """A therapist whose registry id is the value, or who holds a licence (among those the
    caller may read) of that number — in the jurisdiction the system names, if it names one."""
    conditions = []
    if token.system in (None, therapist_system()) and (pk := _uuid(token.value)) is not None:
        conditions.append(Q(pk=pk))
    if token.system is None:
        conditions.append(Q(pk__in=licenses.filter(number=token.value).values("therapist_id")))
    elif token.system.startswith(license_system_prefix()):
        jurisdiction = token.system.removeprefix(license_system_prefix())
        matching = licenses.filter(number=token.value, jurisdiction=jurisdiction)
        conditions.append(Q(pk__in=matching.values("therapist_id")))
    return _any(conditions)


def practitioner_search(
    *,
    therapists: QuerySet[Therapist],
    licenses: QuerySet[License],
    certifications: QuerySet[Certification],
    search: Search,
    now: dt.datetime | None = None,
) -> Bundle:
    """A page of Practitioners matching ``identifier``, ``name`` and ``_id``, by name. Four
    queries (the count, the page, its licences, its certifications)."""
    now = now or timezone.now()
    matching = _by_id(_by_name(therapists, search), search.ids)
    for tokens in search.identifier:
        matching = matching.filter(_any(_identifier_matches(token, licenses) for token in tokens))
    total = matching.count()
    page = _practitioner_rows(matching, licenses, certifications)[
        search.offset : search.offset + search.count
    ]
    resources = [practitioner(row, now=now) for row in page] if search.count else []
    return search_bundle("Practitioner", resources, total=total, search=search, now=now)


# --- PractitionerRole -----------------------------------------------------------------------------


def _employment_active(employment: Employment, now: dt.datetime) -> bool:
    """Started and not ended, today in the spa's timezone (employment days are inclusive)."""
    try:
        today = now.astimezone(zoneinfo.ZoneInfo(employment.spa.timezone)).date()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        today = now.date()
    started = employment.started_on <= today
    return started and (employment.ended_on is None or employment.ended_on >= today)


def practitioner_role(employment: Employment, *, now: dt.datetime) -> PractitionerRole:
    """One employment: the therapist at the spa, over the employment's days; ``specialty``:
    the protocols the therapist holds a current certification in (prefetched as
    ``fhir_current`` on the therapist, among the certifications the caller may read)."""
    protocols = {c.protocol.slug: c.protocol for c in employment.therapist.fhir_current}
    return PractitionerRole(
        id=str(employment.pk),
        identifier=[{"system": canonical("sid/employment"), "value": str(employment.pk)}],
        active=_employment_active(employment, now),
        period=_period(employment.started_on, employment.ended_on),
        practitioner={"reference": f"Practitioner/{employment.therapist_id}"},
        organization={"reference": f"Organization/{employment.spa_id}", "display": employment.spa.name},
        code=[{"coding": [MASSAGE_THERAPIST]}],
        specialty=[
            {
                "coding": [{"system": protocol_system(), "code": slug, "display": protocol.name}],
                "text": protocol.name,
            }
            for slug, protocol in sorted(protocols.items())
        ]
        or None,
    )


def current_certifications(
    certifications: QuerySet[Certification], now: dt.datetime
) -> QuerySet[Certification]:
    """Certifications that count now: valid, not expired, not revoked."""
    return certifications.filter(valid_from__lte=now, expires_at__gt=now).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=now)
    )


def _role_rows(
    employments: QuerySet[Employment], certifications: QuerySet[Certification], now: dt.datetime
) -> QuerySet[Employment]:
    current = current_certifications(certifications, now).select_related("protocol")
    return (
        employments.select_related("spa", "therapist")
        .order_by("started_on", "id")
        .prefetch_related(Prefetch("therapist__certifications", queryset=current, to_attr="fhir_current"))
    )


def _reference_ids(values: list[str], resource_type: str) -> list[uuid.UUID]:
    """``id``, ``Type/id`` or ``<endpoint>/Type/id``; others name nothing."""
    ids = []
    for value in values:
        tail = value.removeprefix(f"{endpoint()}/").removeprefix(f"{resource_type}/")
        if (pk := _uuid(tail)) is not None:
            ids.append(pk)
    return ids


def practitioner_role_read(
    *,
    employments: QuerySet[Employment],
    certifications: QuerySet[Certification],
    pk: str,
    now: dt.datetime | None = None,
) -> PractitionerRole | None:
    """One employment the caller may read as a PractitionerRole (``None``: not there)."""
    now = now or timezone.now()
    employment_id = _uuid(pk)
    if employment_id is None:
        return None
    row = _role_rows(employments, certifications, now).filter(pk=employment_id).first()
    return practitioner_role(row, now=now) if row is not None else None


def practitioner_role_search(
    *,
    employments: QuerySet[Employment],
    certifications: QuerySet[Certification],
    search: Search,
    now: dt.datetime | None = None,
) -> Bundle:
    """A page of PractitionerRoles (employments) by ``practitioner``, ``organization`` and
    ``_id``. Four queries (the count, the page with spa and therapist, the certifications)."""
    now = now or timezone.now()
    matching = _by_id(employments, search.ids)
    for values in search.practitioner:
        matching = matching.filter(therapist_id__in=_reference_ids(values, "Practitioner"))
    for values in search.organization:
        matching = matching.filter(spa_id__in=_reference_ids(values, "Organization"))
    total = matching.count()
    page = _role_rows(matching, certifications, now)[search.offset : search.offset + search.count]
    resources = [practitioner_role(row, now=now) for row in page] if search.count else []
    return search_bundle("PractitionerRole", resources, total=total, search=search, now=now)


# --- Organization ---------------------------------------------------------------------------------


def _address(jurisdiction: str) -> list[dict[str, str]]:
    country, _, subdivision = jurisdiction.partition("-")
    if not country or not subdivision:
        return []
    return [{"state": subdivision, "country": country}]


def _contact(email: str) -> list[dict[str, Any]] | None:
    return [{"telecom": [{"system": "email", "value": email, "use": "work"}]}] if email else None


def organization(row: Spa | School) -> Organization:
    """A spa (a healthcare provider: ``prov``) or a school (an educational institute: ``edu``)."""
    kind = "spa" if isinstance(row, Spa) else "school"
    org_type = {"code": "prov", "display": "Healthcare Provider"}
    if kind == "school":
        org_type = {"code": "edu", "display": "Educational Institute"}
    return Organization(
        id=str(row.pk),
        identifier=[{"system": organization_system(kind), "value": str(row.pk)}],
        active=True,
        type=[{"coding": [{"system": ORGANIZATION_TYPE, **org_type}]}],
        name=row.name,
        contact=_contact(row.contact_email),
        extension=[
            {
                "url": canonical("StructureDefinition/jurisdiction"),
                "valueCodeableConcept": {"coding": [{"system": ISO_3166_2, "code": row.jurisdiction}]},
            }
        ],
    )


def organization_read(*, spas: QuerySet[Spa], schools: QuerySet[School], pk: str) -> Organization | None:
    """The spa or school of that id the caller may read (``None``: not there). Two queries
    at most."""
    org_id = _uuid(pk)
    if org_id is None:
        return None
    row = spas.filter(pk=org_id).first() or schools.filter(pk=org_id).first()
    return organization(row) if row is not None else None


def _organization_identifier(token: Token, kind: str) -> Q:
    if token.system not in (None, organization_system(kind)):
        return Q(pk__in=[])
    pk = _uuid(token.value)
    return Q(pk=pk) if pk is not None else Q(pk__in=[])


def organization_search(
    *, spas: QuerySet[Spa], schools: QuerySet[School], search: Search, now: dt.datetime | None = None
) -> Bundle:
    """A page of Organizations — the spas, then the schools, each by name — matching
    ``identifier``, ``name`` and ``_id``. Four queries at most (two counts, two pages)."""
    now = now or timezone.now()
    found: list[QuerySet] = []
    for kind, queryset in (("spa", spas), ("school", schools)):
        queryset = _by_id(_by_name(queryset, search), search.ids)
        for tokens in search.identifier:
            queryset = queryset.filter(_any(_organization_identifier(token, kind) for token in tokens))
        found.append(queryset.order_by("name", "id"))
    spa_rows, school_rows = found
    spa_total, school_total = spa_rows.count(), school_rows.count()
    start, stop = search.offset, search.offset + search.count
    rows: list[Spa | School] = []
    if search.count and start < spa_total:
        rows.extend(spa_rows[start:stop])
    if search.count and stop > spa_total:
        rows.extend(school_rows[max(0, start - spa_total) : stop - spa_total])
    resources = [organization(row) for row in rows]
    return search_bundle("Organization", resources, total=spa_total + school_total, search=search, now=now)


# --- Bundle, OperationOutcome, CapabilityStatement ------------------------------------------------


def _link(resource_type: str, search: Search, offset: int) -> str:
    query = [*search.query, ("_count", str(search.count)), ("_offset", str(offset))]
    return f"{endpoint()}/{resource_type}?{urlencode(query)}"


def search_bundle(
    resource_type: str, resources: Sequence[Resource], *, total: int, search: Search, now: dt.datetime
) -> Bundle:
    """A ``searchset`` Bundle: ``total`` matches, this page's resources, paging links
    (``self``, ``first``, ``previous``, ``next``, ``last``), and a warning for search
    parameters the server ignored."""
    links = [{"relation": "self", "url": _link(resource_type, search, search.offset)}]
    if search.count:
        last = max(0, (total - 1) // search.count * search.count)
        links.append({"relation": "first", "url": _link(resource_type, search, 0)})
        if search.offset > 0:
            previous = max(0, min(search.offset - search.count, last))
            links.append({"relation": "previous", "url": _link(resource_type, search, previous)})
        if search.offset + search.count < total:
            links.append(
                {"relation": "next", "url": _link(resource_type, search, search.offset + search.count)}
            )
        links.append({"relation": "last", "url": _link(resource_type, search, last)})
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{endpoint()}/{resource.get_resource_type()}/{resource.id}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    if search.ignored:
        outcome = operation_outcome(
            [
                (
                    "warning",
                    "not-supported",
                    f"Search parameter '{name[:60]}' is not supported here and was ignored.",
                )
                for name in search.ignored
            ]
        )
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return Bundle(
        id=str(uuid.uuid4()),
        type="searchset",
        timestamp=now.isoformat(),
        total=total,
        link=links,
        entry=entries or None,
    )


def operation_outcome(issues: Sequence[tuple[str, str, str]]) -> OperationOutcome:
    """``issues``: ``(severity, code, diagnostics)`` each (codes from the FHIR issue-type
    value set: ``invalid``, ``login``, ``forbidden``, ``not-found``, ``throttled``, ...)."""
    return OperationOutcome(
        issue=[
            {"severity": severity, "code": code, "diagnostics": diagnostics or code}
            for severity, code, diagnostics in issues
        ]
    )


SEARCH_PARAMETERS: dict[str, list[tuple[str, str, str]]] = {
    # resource → (name, type, documentation)
    "Practitioner": [
        ("_id", "token", "The registry id of the therapist."),
        (
            "identifier",
            "token",
            "`system|value` or `value`: the registry id (system `…/fhir/sid/therapist`) or a licence "
            "number (system `…/fhir/sid/license/{jurisdiction}`; licences the caller may read).",
        ),
        (
            "name",
            "string",
            "Starts-with on the name or any word of it, case-insensitive; `:exact`, `:contains`.",
        ),
    ],
    "PractitionerRole": [
        ("_id", "token", "The registry id of the employment."),
        ("practitioner", "reference", "`Practitioner/{id}` or `{id}`: the therapist's employments."),
        ("organization", "reference", "`Organization/{id}` or `{id}`: the spa's employments."),
    ],
    "Organization": [
        ("_id", "token", "The registry id of the spa or school."),
        ("identifier", "token", "`system|value` or `value` (systems `…/fhir/sid/spa`, `…/fhir/sid/school`)."),
        (
            "name",
            "string",
            "Starts-with on the name or any word of it, case-insensitive; `:exact`, `:contains`.",
        ),
    ],
}

RESOURCE_DOCUMENTATION = {
    "Practitioner": "A therapist: registry id, licence numbers by jurisdiction, and one qualification per "
    "licence and per certification, each with its status (extension `qualification-status`; only "
    "`active` is current). Licences shown to those who may read them (API.md roles table).",
    "PractitionerRole": "An employment at a spa: organization = the spa, specialty = the protocols the "
    "therapist holds a current certification in. Therapists, spa staff, registry admins.",
    "Organization": "A spa (type `prov`) or a school (type `edu`).",
}


def capability_statement(*, version: str, now: dt.datetime | None = None) -> CapabilityStatement:
    """What the FHIR endpoint serves: R5, JSON, read and search of three resource types."""
    now = now or timezone.now()
    return CapabilityStatement(
        url=canonical("CapabilityStatement/registry"),
        name="TherapistRegistry",
        title="Therapist credential and protocol-scope registry (FHIR R5)",
        status="active",
        experimental=False,
        date=now.date().isoformat(),
        publisher="Therapist credential and protocol-scope registry",
        description=(
            "Read-only FHIR R5 view of the registry: practitioners with their licences and protocol "
            "certifications, their roles at spas, spas and schools. No client data."
        ),
        kind="instance",
        software={"name": "therapist-registry", "version": version},
        implementation={"description": "Therapist credential and protocol-scope registry", "url": endpoint()},
        fhirVersion=FHIR_VERSION,
        format=[MEDIA_TYPE, "json"],
        rest=[
            {
                "mode": "server",
                "documentation": (
                    "The same tokens and roles as the REST API (/api/v1/, API.md). Searches page with "
                    f"`_count` (default {DEFAULT_COUNT}, at most {MAX_COUNT}) and `_offset`; unknown "
                    "parameters are ignored (reported in the Bundle) unless `Prefer: handling=strict`."
                ),
                "security": {
                    "cors": False,
                    "description": "`Authorization: Token <key>` (the API's tokens). Anonymous callers "
                    "read this CapabilityStatement only; every other read answers 401.",
                },
                "resource": [
                    {
                        "type": resource_type,
                        "documentation": RESOURCE_DOCUMENTATION[resource_type],
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": name, "type": param_type, "documentation": documentation}
                            for name, param_type, documentation in params
                        ],
                    }
                    for resource_type, params in SEARCH_PARAMETERS.items()
                ],
            }
        ],
    )
