"""Credential use cases at the registry layer: events in the same transaction, review queue."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import OutboxEvent
from credentials.tests.factories import (
    ClinicalExperienceFactory,
    InstructorFactory,
    SchoolAuthorizationFactory,
)
from registry.choices import BookingStatus
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import (
    certification_issue,
    certification_review,
    clinical_experience_withdraw,
)
from registry.services.intakes import intake_record

pytestmark = pytest.mark.django_db


def issue_to_beth(world):
    school = world.certification.school
    SchoolAuthorizationFactory(school=school, protocol=world.radiculopathy)
    instructor = InstructorFactory(schools=[school])
    ClinicalExperienceFactory(instructor=instructor, protocol=world.radiculopathy)
    taught = timezone.localdate() - dt.timedelta(days=3)
    outcome = certification_issue(
        actor=world.desk,
        therapist=world.beth,
        protocol=world.radiculopathy,
        school=school,
        instructor=instructor,
        taught_on=taught,
        modules=[
            {"kind": kind, "completed_on": taught, "hours": Decimal("10"), "assessment_passed": True}
            for kind in ("fundamentals", "critical-details", "harm-avoidance")
        ],
    )
    assert outcome.certification is not None, outcome.reasons
    return outcome.certification, instructor


def test_issuance_tells_the_school_only(world):
    certification, _ = issue_to_beth(world)
    event = OutboxEvent.objects.get(type="certification.issued")
    assert event.audience == [f"school:{certification.school_id}"]
    assert event.data["certification"] == str(certification.pk)


def test_experience_withdrawal_flags_and_tells_the_school(world):
    certification, instructor = issue_to_beth(world)
    experience = instructor.experience.get()
    result = clinical_experience_withdraw(actor=world.desk, experience=experience, reason="Evidence forged")
    assert result.flagged == [certification]
    event = OutboxEvent.objects.get(type="certification.review_required")
    assert event.data["certification"] == str(certification.pk)
    assert event.audience == [f"school:{certification.school_id}"]


def test_review_revoke_goes_through_the_revocation_use_case(world):
    certification, instructor = issue_to_beth(world)
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-9",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=2,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking = booking_create(actor=world.desk, therapist=world.beth, slot=slot).booking
    clinical_experience_withdraw(actor=world.desk, experience=instructor.experience.get(), reason="x")
    certification.refresh_from_db()
    _, changed = certification_review(
        actor=world.desk, certification=certification, decision="revoke", reason="Not qualified"
    )
    booking.refresh_from_db()
    assert changed == [booking]
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert OutboxEvent.objects.filter(type="certification.revoked").exists()


def test_review_keep_clears_the_flag(world):
    certification, instructor = issue_to_beth(world)
    clinical_experience_withdraw(actor=world.desk, experience=instructor.experience.get(), reason="x")
    certification.refresh_from_db()
    kept, changed = certification_review(
        actor=world.desk, certification=certification, decision="keep", reason="Other evidence"
    )
    assert kept.review_required is False
    assert changed == []
    with pytest.raises(Conflict):
        certification_review(actor=world.desk, certification=kept, decision="keep", reason="again")
    with pytest.raises(DomainError):
        certification_review(actor=world.desk, certification=kept, decision="maybe", reason="?")


def test_issuance_refusal_raises_no_event(world):
    outcome = certification_issue(
        actor=world.desk,
        therapist=world.beth,
        protocol=world.radiculopathy,
        school=world.certification.school,
        instructor=InstructorFactory(),
        taught_on=timezone.localdate(),
        modules=[],
    )
    assert outcome.certification is None
    assert not OutboxEvent.objects.exists()
