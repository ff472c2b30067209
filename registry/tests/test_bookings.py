"""The booking gate through the services: the founding story and the invariants it rests on."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from core.errors import Conflict, DomainError
from registry.choices import BookingStatus, DecisionKind
from registry.models import Booking, Decision
from registry.services.bookings import (
    booking_cancel,
    booking_complete,
    booking_create,
    booking_reassign,
    eligible_therapists,
    slot_validate,
)
from registry.services.credentials import certification_revoke
from registry.services.intakes import intake_record
from registry.services.rechecks import employment_end, license_change

pytestmark = pytest.mark.django_db


def record_intake(world, *, bladder=False, trauma=False, clearances=None, conditions=("M51.16",)):
    return intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-0042",
        condition_codes=list(conditions),
        screening={"ces-bladder-bowel": bladder, "recent-trauma": trauma},
        pain_score=4,
        clearances=clearances,
    )


def book(world, therapist, intake, *, start=None, minutes=60, region="lumbar", focus=30):
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=start or world.start,
        duration_minutes=minutes,
        focus_region=region,
        focus_minutes=focus,
    )
    return booking_create(actor=world.desk, therapist=therapist, slot=slot)


def codes(outcome):
    return [r.code for r in outcome.result.reasons]


def test_the_story_through_the_services(world):
    intake = record_intake(world)
    assert intake.referral is None

    refused = book(world, world.beth, intake)
    assert refused.booking is None
    assert codes(refused) == ["PROTOCOL_NOT_CERTIFIED"]
    assert "Beth Jones" in refused.result.reasons[0].message

    confirmed = book(world, world.ana, intake, focus=30)
    assert confirmed.booking.status == BookingStatus.CONFIRMED

    too_long = book(world, world.ana, intake, start=world.start + dt.timedelta(hours=2), focus=60)
    assert codes(too_long) == ["FOCUS_EXCEEDS_PROTOCOL_LIMIT"]

    red_flag = record_intake(world, bladder=True)
    assert red_flag.referral == {"action": "refer-emergency", "questions": ["ces-bladder-bowel"]}
    for therapist in (world.ana, world.beth):
        outcome = book(world, therapist, red_flag, start=world.start + dt.timedelta(hours=4))
        assert outcome.booking is None
        flags = [r for r in outcome.result.reasons if r.code == "RED_FLAG_REFERRAL"]
        assert [f.action for f in flags] == ["refer-emergency"]

    # A second certified therapist is the replacement the spa is offered.
    from credentials.tests.factories import CertificationFactory

    CertificationFactory(therapist=world.beth, protocol=world.radiculopathy)
    _, changed = certification_revoke(
        actor=world.desk, certification=world.certification, reason="Assessment fraud"
    )
    booking = Booking.objects.get(pk=confirmed.booking.pk)
    assert changed == [booking]
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [r["code"] for r in booking.reasons] == ["CERTIFICATION_REVOKED"]
    assert booking.suggested_therapists == [str(world.beth.pk)]

    log = list(Decision.objects.order_by("made_at").values_list("kind", "allowed"))
    assert log == [
        (DecisionKind.BOOKING, False),
        (DecisionKind.BOOKING, True),
        (DecisionKind.BOOKING, False),
        (DecisionKind.BOOKING, False),
        (DecisionKind.BOOKING, False),
        (DecisionKind.RECHECK, False),
    ]


def test_refused_booking_leaves_its_decision_record(world):
    intake = record_intake(world)
    outcome = book(world, world.beth, intake)
    assert not Booking.objects.exists()
    decision = Decision.objects.get()
    assert decision.pk == outcome.decision.pk
    assert decision.allowed is False
    assert decision.reasons[0]["code"] == "PROTOCOL_NOT_CERTIFIED"


def test_back_to_back_booking_is_allowed(world):
    intake = record_intake(world)
    first = book(world, world.ana, intake, minutes=60)
    second = book(world, world.ana, intake, start=world.start + dt.timedelta(minutes=60))
    assert first.allowed
    assert second.allowed


def test_overlapping_booking_is_refused_as_unavailable(world):
    intake = record_intake(world)
    book(world, world.ana, intake)
    overlapping = book(world, world.ana, intake, start=world.start + dt.timedelta(minutes=30))
    assert codes(overlapping) == ["THERAPIST_UNAVAILABLE"]


def test_exclusion_constraint_is_the_last_guard_against_overlap(world):
    intake = record_intake(world)
    outcome = book(world, world.ana, intake)
    with pytest.raises(DatabaseError), transaction.atomic():
        Booking.objects.create(
            spa=world.spa,
            therapist=world.ana,
            intake=intake,
            start=outcome.booking.start,
            end=outcome.booking.end,
            status=BookingStatus.NEEDS_REASSIGNMENT,
        )


def test_decision_record_cannot_be_updated_or_deleted_with_raw_sql(world):
    intake = record_intake(world)
    decision = book(world, world.beth, intake).decision
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE registry_decision SET allowed = true WHERE id = %s", [decision.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_decision WHERE id = %s", [decision.pk])
    assert Decision.objects.get(pk=decision.pk).allowed is False


def test_intake_needs_every_applicable_question_answered(world):
    with pytest.raises(DomainError) as error:
        intake_record(
            actor=world.desk,
            spa=world.spa,
            client_ref="C-1",
            condition_codes=["M51.16"],
            screening={"recent-trauma": False},
            pain_score=3,
        )
    assert "screening.ces-bladder-bowel" in error.value.errors


def test_intake_rejects_unknown_condition_codes(world):
    with pytest.raises(DomainError) as error:
        intake_record(
            actor=world.desk,
            spa=world.spa,
            client_ref="C-1",
            condition_codes=["Z99.99"],
            screening={},
            pain_score=3,
        )
    assert "conditions.0" in error.value.errors


def test_emergency_flag_cannot_be_cleared(world):
    with pytest.raises(DomainError) as error:
        record_intake(
            world,
            bladder=True,
            clearances={"ces-bladder-bowel": {"cleared_on": dt.date(2026, 1, 1), "cleared_by": "Dr X"}},
        )
    assert "clearances.ces-bladder-bowel" in error.value.errors


def test_cleared_physician_flag_allows_booking(world):
    intake = record_intake(
        world,
        trauma=True,
        clearances={"recent-trauma": {"cleared_on": dt.date(2026, 1, 1), "cleared_by": "Dr Patel"}},
    )
    assert intake.referral is None
    assert book(world, world.ana, intake).allowed


def test_uncleared_physician_flag_refers_to_a_physician(world):
    intake = record_intake(world, trauma=True)
    assert intake.referral == {"action": "refer-physician", "questions": ["recent-trauma"]}
    outcome = book(world, world.ana, intake)
    assert [(r.code, r.action) for r in outcome.result.reasons] == [("RED_FLAG_REFERRAL", "refer-physician")]


def test_focus_region_must_be_one_of_the_intakes_regions(world):
    intake = record_intake(world)
    with pytest.raises(DomainError) as error:
        slot_validate(
            spa=world.spa,
            intake=intake,
            start=world.start,
            duration_minutes=60,
            focus_region="cervical",
            focus_minutes=10,
        )
    assert "focus_region" in error.value.errors


def test_focus_minutes_need_a_region_and_fit_the_session(world):
    intake = record_intake(world)
    with pytest.raises(DomainError) as error:
        slot_validate(
            spa=world.spa,
            intake=intake,
            start=world.start,
            duration_minutes=60,
            focus_region=None,
            focus_minutes=10,
        )
    assert "focus_minutes" in error.value.errors
    with pytest.raises(DomainError) as error:
        slot_validate(
            spa=world.spa,
            intake=intake,
            start=world.start,
            duration_minutes=30,
            focus_region="lumbar",
            focus_minutes=31,
        )
    assert "focus_minutes" in error.value.errors


def test_naive_start_is_refused(world):
    intake = record_intake(world)
    with pytest.raises(DomainError) as error:
        slot_validate(
            spa=world.spa,
            intake=intake,
            start=dt.datetime(2030, 1, 1, 10, 0),
            duration_minutes=60,
            focus_region=None,
            focus_minutes=0,
        )
    assert "start" in error.value.errors


def test_intake_of_another_spa_cannot_be_booked(world):
    intake = record_intake(world)
    with pytest.raises(DomainError) as error:
        slot_validate(
            spa=world.other_spa,
            intake=intake,
            start=world.start,
            duration_minutes=60,
            focus_region=None,
            focus_minutes=0,
        )
    assert "intake" in error.value.errors


def test_cancel_frees_the_slot(world):
    intake = record_intake(world)
    booking = book(world, world.ana, intake).booking
    booking_cancel(actor=world.desk, booking=booking)
    assert book(world, world.ana, intake).allowed
    with pytest.raises(Conflict):
        booking_cancel(actor=world.desk, booking=booking)


def test_booking_cannot_be_completed_before_it_starts(world):
    intake = record_intake(world)
    booking = book(world, world.ana, intake).booking
    with pytest.raises(Conflict):
        booking_complete(actor=world.desk, booking=booking)
    done = booking_complete(actor=world.desk, booking=booking, now=booking.start + dt.timedelta(hours=1))
    assert done.status == BookingStatus.COMPLETED


def test_reassignment_is_decided_like_a_new_booking(world):
    intake = record_intake(world)
    booking = book(world, world.ana, intake).booking
    refused = booking_reassign(actor=world.desk, booking=booking, therapist=world.beth)
    assert refused.booking is None
    assert [r.code for r in refused.result.reasons] == ["PROTOCOL_NOT_CERTIFIED"]
    booking.refresh_from_db()
    assert booking.therapist_id == world.ana.pk

    from credentials.tests.factories import CertificationFactory

    CertificationFactory(therapist=world.beth, protocol=world.radiculopathy)
    moved = booking_reassign(actor=world.desk, booking=booking, therapist=world.beth)
    assert moved.booking.therapist_id == world.beth.pk
    assert moved.booking.status == BookingStatus.CONFIRMED
    assert moved.decision.kind == DecisionKind.REASSIGNMENT


def test_licence_suspension_rechecks_future_bookings(world):
    intake = record_intake(world)
    booking = book(world, world.ana, intake).booking
    licence = world.ana.licenses.get()
    _, changed = license_change(actor=world.desk, license=licence, status="suspended", reason="Audit")
    booking.refresh_from_db()
    assert changed == [booking]
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [r["code"] for r in booking.reasons] == ["LICENSE_INACTIVE"]


def test_ending_employment_rechecks_future_bookings_at_that_spa(world):
    intake = record_intake(world)
    booking = book(world, world.ana, intake).booking
    employment = world.ana.employments.get(spa=world.spa)
    employment_end(actor=world.desk, employment=employment)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "NOT_EMPLOYED_AT_SPA" in [r["code"] for r in booking.reasons]


def test_eligible_therapists_lists_allowed_first(world):
    intake = record_intake(world)
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    candidates = eligible_therapists(slot=slot)
    assert [(c.name, c.result.allowed) for c in candidates] == [("Ana Silva", True), ("Beth Jones", False)]


def test_revocation_announces_needs_reassignment_without_client_data(world):
    from core.models import OutboxEvent

    intake = record_intake(world)
    book(world, world.ana, intake)
    certification_revoke(actor=world.desk, certification=world.certification, reason="Fraud")
    event = OutboxEvent.objects.get(type="booking.needs_reassignment")
    assert event.audience == [f"spa:{world.spa.pk}"]
    body = str(event.data)
    assert "M51.16" not in body
    assert "C-0042" not in body
    assert "ces-bladder" not in body


def test_revocation_tells_the_school_and_the_employing_spas(world):
    from core.models import OutboxEvent

    certification_revoke(actor=world.desk, certification=world.certification, reason="Fraud")
    event = OutboxEvent.objects.get(type="certification.revoked")
    assert set(event.audience) == {f"school:{world.certification.school_id}", f"spa:{world.spa.pk}"}
    assert event.data["reason"] == "Fraud"
    assert event.data["serial"] == world.certification.serial
