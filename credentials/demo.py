"""Demo credentials for a fresh install (``load_demo`` calls it after ``load_catalog``).

Idempotent: every object is looked up by a stable name, e-mail or number before it is created,
and whatever is created goes through ``credentials.services`` (validated and audited).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.models import User
from credentials import services
from credentials.choices import LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)
from credentials.selectors import qualifying_experience
from protocols.models import Protocol

RADICULOPATHY = "low-back-radiculopathy"
NO_RADICULOPATHY = "low-back-no-radiculopathy"
DEMO_PROTOCOLS = (RADICULOPATHY, NO_RADICULOPATHY)
# Demo authorisations and verifications date from here, so demo teaching dates are covered.
DEMO_SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
DEMO_VERIFIED_ON = dt.date(2018, 1, 1)

SCHOOLS = (
    ("Pacific School of Medical Massage", "US-CA", "office@pacific-medical-massage.example.org"),
    ("Bay Institute of Clinical Massage", "US-CA", "registrar@bay-clinical-massage.example.org"),
)
THERAPISTS = (  # key, name, e-mail, licence number (US-CA)
    ("ana", "Ana Silva", "ana.silva@example.org", "MT-100001"),
    ("beth", "Beth Jones", "beth.jones@example.org", "MT-100002"),
    ("chris", "Chris Park", "chris.park@example.org", "MT-100003"),
)
# A therapist whose licence ends soon after the demo is loaded: the coverage forecast shows
# what her leaving the register will leave uncovered.
EXPIRING_THERAPIST = ("dana", "Dana Wu", "dana.wu@example.org", "MT-100004")
EXPIRING_LICENCE_DAYS = 45


def _protocol(slug: str) -> Protocol:
    protocol = Protocol.objects.filter(slug=slug).first()
    if protocol is None:
        raise DomainError(f"The catalog has no protocol {slug!r}: run `manage.py load_catalog` first.")
    return protocol


def _school(actor: User | None, name: str, jurisdiction: str, email: str) -> School:
    return School.objects.filter(name=name).first() or services.school_create(
        actor=actor, name=name, jurisdiction=jurisdiction, contact_email=email
    )


def _authorize(actor: User | None, school: School, protocol: Protocol) -> SchoolAuthorization:
    open_authorization = SchoolAuthorization.objects.filter(
        school=school, protocol=protocol, withdrawn_at__isnull=True
    ).first()
    return open_authorization or services.school_authorization_grant(
        actor=actor, school=school, protocol=protocol, at=DEMO_SINCE
    )


def _instructor(actor: User | None, name: str, schools: list[School]) -> Instructor:
    instructor = Instructor.objects.filter(name=name).order_by("id").first()
    if instructor is None:
        return services.instructor_create(actor=actor, name=name, schools=schools)
    for school in schools:
        services.instructor_add_school(actor=actor, instructor=instructor, school=school)
    return instructor


def _qualify(actor: User | None, instructor: Instructor, protocol: Protocol) -> ClinicalExperience:
    """Verified experience meeting the protocol's minimums (and then some)."""
    existing = qualifying_experience(instructor=instructor, protocol=protocol, on=DEMO_VERIFIED_ON).first()
    return existing or services.clinical_experience_verify(
        actor=actor,
        instructor=instructor,
        protocol=protocol,
        years=max(protocol.min_instructor_years, 12),
        cases=max(protocol.min_instructor_cases, 800),
        evidence="Demo: clinic records and case logs reviewed by the registry.",
        verified_on=DEMO_VERIFIED_ON,
    )


def _some_experience(actor: User | None, instructor: Instructor, protocol: Protocol) -> ClinicalExperience:
    """Verified experience below the protocol's minimums: verified, yet not qualified."""
    existing = ClinicalExperience.objects.filter(
        instructor=instructor, protocol=protocol, withdrawn_at__isnull=True
    ).first()
    return existing or services.clinical_experience_verify(
        actor=actor,
        instructor=instructor,
        protocol=protocol,
        years=max(protocol.min_instructor_years - 1, 0),
        cases=max(protocol.min_instructor_cases // 4, 0),
        evidence="Demo: two years in a sports clinic; below this protocol's minimums.",
        verified_on=DEMO_VERIFIED_ON,
    )


def _therapist(
    actor: User | None, name: str, email: str, number: str, *, licence_days: int | None = None
) -> Therapist:
    license = License.objects.select_related("therapist").filter(jurisdiction="US-CA", number=number).first()
    if license is not None:
        return license.therapist
    therapist = Therapist.objects.filter(email=email).order_by("id").first() or services.therapist_create(
        actor=actor, name=name, email=email
    )
    today = timezone.localdate()
    expires_on = dt.date(today.year + 3, 12, 31)
    if licence_days is not None:
        expires_on = today + dt.timedelta(days=licence_days)
    services.license_create(
        actor=actor,
        therapist=therapist,
        jurisdiction="US-CA",
        number=number,
        status=LicenseStatus.ACTIVE,
        valid_from=dt.date(2019, 1, 1),
        expires_on=expires_on,
    )
    return therapist


def _certify(
    actor: User | None, therapist: Therapist, protocol: Protocol, school: School, instructor: Instructor
) -> Certification:
    """A valid certification of ``therapist`` in ``protocol`` (and in its prerequisites first)."""
    now = timezone.now()
    held = (
        Certification.objects.filter(
            therapist=therapist, protocol=protocol, revoked_at__isnull=True, expires_at__gt=now
        )
        .order_by("-issued_at")
        .first()
    )
    if held is not None:
        return held
    for prerequisite in protocol.prerequisites.all():
        _authorize(actor, school, prerequisite)
        _qualify(actor, instructor, prerequisite)
        _certify(actor, therapist, prerequisite, school, instructor)
    taught_on = timezone.localdate() - dt.timedelta(days=14)
    outcome = services.certification_issue(
        actor=actor,
        therapist=therapist,
        protocol=protocol,
        school=school,
        instructor=instructor,
        taught_on=taught_on,
        modules=[
            {
                "kind": module.kind,
                "completed_on": taught_on,
                "hours": module.min_hours,
                "assessment_passed": True,
            }
            for module in protocol.modules.all()
        ],
    )
    if outcome.certification is None:
        messages = "; ".join(reason.message for reason in outcome.reasons)
        raise DomainError(f"The demo certification of {therapist.name} was refused: {messages}")
    return outcome.certification


@transaction.atomic
def load_credentials_demo(*, actor: User | None = None) -> dict[str, Any]:
    """Two schools authorised for both low-back protocols; instructors Maria Okafor (qualified
    in both, teaches at both), Daniel Reyes (verified experience below the radiculopathy
    protocol's minimums) and Sofia Lind (no verified experience); therapists Ana Silva
    (certified in low-back-radiculopathy), Beth Jones (licensed, not certified) and Chris Park
    (certified in low-back-no-radiculopathy), all licensed in US-CA; and Dana Wu (certified in
    low-back-radiculopathy, her US-CA licence ending 45 days after the first load).

    Returns ``{"protocols": {slug: Protocol}, "schools": [School, School],
    "instructors": {"qualified", "unqualified", "unverified"}, "therapists": {"ana", "beth",
    "chris", "dana"}, "certifications": {"ana", "chris", "dana"}}``. Needs the catalog (``load_catalog``)."""
    protocols = {slug: _protocol(slug) for slug in DEMO_PROTOCOLS}
    schools = [_school(actor, *school) for school in SCHOOLS]
    for school in schools:
        for protocol in protocols.values():
            _authorize(actor, school, protocol)

    maria = _instructor(actor, "Maria Okafor", schools)
    for protocol in protocols.values():
        _qualify(actor, maria, protocol)
    daniel = _instructor(actor, "Daniel Reyes", schools[:1])
    _some_experience(actor, daniel, protocols[RADICULOPATHY])
    sofia = _instructor(actor, "Sofia Lind", schools[1:])

    therapists = {key: _therapist(actor, name, email, number) for key, name, email, number in THERAPISTS}
    key, name, email, number = EXPIRING_THERAPIST
    therapists[key] = _therapist(actor, name, email, number, licence_days=EXPIRING_LICENCE_DAYS)
    certifications = {
        "ana": _certify(actor, therapists["ana"], protocols[RADICULOPATHY], schools[0], maria),
        "chris": _certify(actor, therapists["chris"], protocols[NO_RADICULOPATHY], schools[1], maria),
        "dana": _certify(actor, therapists["dana"], protocols[RADICULOPATHY], schools[0], maria),
    }
    return {
        "protocols": protocols,
        "schools": schools,
        "instructors": {"qualified": maria, "unqualified": daniel, "unverified": sofia},
        "therapists": therapists,
        "certifications": certifications,
    }
