"""A certification as an Open Badges 3.0 ``OpenBadgeCredential`` (W3C VC 2.0 data model).

What it says: the registry (issuer) attests that the therapist (subject, by registry id) holds
the protocol's achievement, created by the school, taught by the instructor (``source``), over
the certification's window; ``credentialStatus`` names its bit in a revocation status list.
Nothing else: no email, no licence number, never client data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from credentials.models import Certification, ModuleCompletion
from credentials.vc.jsonld import CREDENTIAL_CONTEXT
from credentials.vc.status_list import credential_status
from protocols.choices import BodyRegion, ModuleKind
from protocols.models import Module

DEFAULT_REGISTRY_NAME = "Therapist credential and protocol-scope registry"
_RELATED = ("therapist", "protocol", "school", "instructor")


def credential_queryset() -> QuerySet[Certification]:
    """Certifications with everything a credential reads: one query plus two prefetches."""
    return Certification.objects.select_related(*_RELATED).prefetch_related(
        Prefetch("modules", queryset=ModuleCompletion.objects.order_by("kind")),
        Prefetch("protocol__modules", queryset=Module.objects.order_by("kind")),
    )


def _loaded(certification: Certification) -> bool:
    state = certification._state
    prefetched = getattr(certification, "_prefetched_objects_cache", {})
    return (
        all(name in state.fields_cache for name in _RELATED)
        and "modules" in prefetched
        and "modules" in getattr(certification.protocol, "_prefetched_objects_cache", {})
    )


def urn(uuid_value: Any) -> str:
    return f"urn:uuid:{uuid_value}"


def rfc3339(value: dt.datetime) -> str:
    """UTC, ``Z`` suffix (an XSD ``dateTime`` with an offset, as VC 2.0 wants)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _hours(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text} hour" if text == "1" else f"{text} hours"


def _kind_order(kind: str) -> int:
    values = list(ModuleKind.values)
    return values.index(kind) if kind in values else len(values)


def _narrative(certification: Certification) -> str:
    protocol = certification.protocol
    completions = {c.kind: c for c in certification.modules.all()}
    modules = sorted(protocol.modules.all(), key=lambda m: _kind_order(m.kind))
    lines = [
        f"Completed the three modules of the {protocol.name} protocol (version {protocol.version}), "
        f"each with its assessment passed:",
        "",
    ]
    for number, module in enumerate(modules, start=1):
        done = completions.get(module.kind)
        if done is None:
            completed = "completion not recorded"
        else:
            completed = f"{_hours(done.hours)} completed on {done.completed_on.isoformat()}"
        lines.append(
            f"{number}. {ModuleKind(module.kind).label}: {module.title} "
            f"({completed}; minimum {_hours(module.min_hours)})"
        )
    return "\n".join(lines)


def validity_window(certification: Certification) -> tuple[dt.datetime, dt.datetime]:
    """``[validFrom, validUntil)``: the certification's window. Revocation is the status list's
    business (the credential's ``credentialStatus`` bit), so a credential fetched before or
    after revocation says the same thing. A certification issued before status lists existed
    has no bit: its window ends at its revocation instead (the only way it can say so)."""
    until = certification.expires_at
    if certification.revoked_at is not None and certification.status_list_id is None:
        until = max(certification.valid_from, min(until, certification.revoked_at))
    return certification.valid_from, until


def credential_document(certification: Certification) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential`` of ``certification``.

    Pass one from ``credential_queryset()`` to read nothing more; any other instance is
    reloaded through it (three queries, whatever the certification).
    """
    if not _loaded(certification):
        certification = credential_queryset().get(pk=certification.pk)
    protocol = certification.protocol
    school = certification.school
    instructor = certification.instructor
    therapist = certification.therapist
    valid_from, valid_until = validity_window(certification)
    base_url = settings.REGISTRY_BASE_URL
    region = BodyRegion(protocol.region).label if protocol.region in BodyRegion.values else protocol.region

    document: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": urn(certification.id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{protocol.name} certification",
        "issuer": {
            "id": base_url,
            "type": "Profile",
            "name": getattr(settings, "REGISTRY_NAME", DEFAULT_REGISTRY_NAME),
        },
        "validFrom": rfc3339(valid_from),
        "validUntil": rfc3339(valid_until),
        "awardedDate": rfc3339(certification.issued_at),
        "credentialSubject": {
            "id": urn(therapist.id),
            "type": "AchievementSubject",
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": therapist.name,
                }
            ],
            "achievement": {
                "id": urn(protocol.id),
                "type": "Achievement",
                "achievementType": "Certification",
                "name": protocol.name,
                "humanCode": protocol.slug,
                "version": protocol.version,
                "description": (
                    f"Certified training in the {protocol.name} protocol ({region}): its fundamentals, "
                    f"the critical details that produce results, and how not to cause harm. Focused "
                    f"work on the region is limited to {protocol.max_focus_minutes} minutes a session."
                ),
                "criteria": {"narrative": _narrative(certification)},
                "creator": {"id": urn(school.id), "type": "Profile", "name": school.name},
            },
            "source": {"id": urn(instructor.id), "type": "Profile", "name": instructor.name},
        },
    }
    status = credential_status(certification)
    if status is not None:
        document["credentialStatus"] = status
    return document
