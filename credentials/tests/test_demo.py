"""The demo credentials: the states the walkthrough needs, loaded idempotently."""

import pytest
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEvent
from credentials import selectors
from credentials.choices import CertificationStatus
from credentials.demo import load_credentials_demo
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)
from protocols.tests.factories import ProtocolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    """The two low-back protocols as the shipped catalog has them (radiculopathy requires the
    no-radiculopathy protocol)."""
    basic = ProtocolFactory(
        slug="low-back-no-radiculopathy", min_instructor_years=3, min_instructor_cases=100
    )
    radiculopathy = ProtocolFactory(slug="low-back-radiculopathy", prerequisites=[basic])
    return {"low-back-no-radiculopathy": basic, "low-back-radiculopathy": radiculopathy}


def _active_slugs(therapist):
    return {
        c.protocol.slug
        for c in selectors.certification_list(therapist=therapist, status=CertificationStatus.ACTIVE)
    }


def test_demo_loads_the_walkthrough_states(catalog):
    demo = load_credentials_demo()

    ana, beth, chris = (demo["therapists"][k] for k in ("ana", "beth", "chris"))
    assert (ana.name, beth.name) == ("Ana Silva", "Beth Jones")
    assert "low-back-radiculopathy" in _active_slugs(ana)
    assert _active_slugs(beth) == set()
    assert _active_slugs(chris)
    today = timezone.localdate()
    for therapist in (ana, beth, chris):
        assert any(
            lic.jurisdiction == "US-CA"
            and lic.status == "active"
            and lic.valid_from <= today <= lic.expires_on
            for lic in therapist.licenses.all()
        )
    assert len(demo["schools"]) == 2
    for school in demo["schools"]:
        authorised = set(
            SchoolAuthorization.objects.filter(school=school, withdrawn_at__isnull=True).values_list(
                "protocol__slug", flat=True
            )
        )
        assert {"low-back-radiculopathy", "low-back-no-radiculopathy"} <= authorised


def test_demo_instructors_with_and_without_verified_experience(catalog):
    demo = load_credentials_demo()
    today = timezone.localdate()
    qualified, unqualified, unverified = (
        demo["instructors"][k] for k in ("qualified", "unqualified", "unverified")
    )

    qualified_slugs = [
        p.slug for p in selectors.instructor_qualified_protocols(instructor=qualified, on=today)
    ]
    assert "low-back-radiculopathy" in qualified_slugs
    assert ClinicalExperience.objects.filter(instructor=unqualified).exists()
    assert selectors.instructor_qualified_protocols(instructor=unqualified, on=today) == []
    assert not ClinicalExperience.objects.filter(instructor=unverified).exists()


def test_demo_is_idempotent(catalog):
    first = load_credentials_demo()
    counts = [
        model.objects.count()
        for model in (
            Therapist,
            License,
            School,
            SchoolAuthorization,
            Instructor,
            ClinicalExperience,
            Certification,
            AuditEvent,
        )
    ]

    second = load_credentials_demo()

    assert counts == [
        model.objects.count()
        for model in (
            Therapist,
            License,
            School,
            SchoolAuthorization,
            Instructor,
            ClinicalExperience,
            Certification,
            AuditEvent,
        )
    ]
    assert second["therapists"] == first["therapists"]
    assert second["certifications"] == first["certifications"]


def test_demo_writes_go_through_the_audited_services(catalog):
    demo = load_credentials_demo()

    certification = demo["certifications"]["ana"]
    assert AuditEvent.objects.filter(object_id=str(certification.pk), action="certification.issued").exists()


def test_demo_without_the_catalog_says_to_load_it():
    with pytest.raises(DomainError, match="load_catalog"):
        load_credentials_demo()
