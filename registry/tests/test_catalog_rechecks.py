"""Tightening a catalog rule re-checks the future bookings resting on it."""

import datetime as dt

import pytest

from protocols.tests.factories import ProtocolFactory
from registry.choices import BookingStatus
from registry.services.bookings import booking_create, slot_validate
from registry.services.catalog import condition_update, protocol_update
from registry.services.intakes import intake_record

pytestmark = pytest.mark.django_db


def confirmed_booking(world, focus=30):
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-7",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=5,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=focus,
    )
    outcome = booking_create(actor=world.desk, therapist=world.ana, slot=slot)
    assert outcome.allowed
    return outcome.booking


def test_lowering_a_focus_limit_moves_bookings_past_it_to_reassignment(world):
    booking = confirmed_booking(world, focus=30)
    _, changed = protocol_update(actor=world.desk, protocol=world.radiculopathy, max_focus_minutes=20)
    booking.refresh_from_db()
    assert changed == [booking]
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [r["code"] for r in booking.reasons] == ["FOCUS_EXCEEDS_PROTOCOL_LIMIT"]


def test_adding_a_requirement_group_rechecks_bookings_of_that_condition(world):
    booking = confirmed_booking(world, focus=20)
    extra = ProtocolFactory(slug="disc-safety", name="Disc safety", region="lumbar", max_focus_minutes=60)
    condition_update(
        actor=world.desk,
        condition=world.disc,
        requirements=[["low-back-radiculopathy"], [extra.slug]],
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [r["code"] for r in booking.reasons] == ["PROTOCOL_NOT_CERTIFIED"]
    assert booking.reasons[0]["protocols"] == ["disc-safety"]


def test_loosening_a_rule_rechecks_nothing(world):
    booking = confirmed_booking(world, focus=20)
    _, changed = protocol_update(actor=world.desk, protocol=world.radiculopathy, max_focus_minutes=45)
    booking.refresh_from_db()
    assert changed == []
    assert booking.status == BookingStatus.CONFIRMED


def _new_question(world, code: str, regions: list[str]):
    from registry.services.catalog import screening_question_create

    return screening_question_create(
        actor=world.desk,
        code=code,
        text="Any numbness in the saddle area?",
        action="refer-emergency",
        regions=regions,
        source="NICE CKS, Sciatica: red flags",
    )


def test_a_new_question_for_the_region_sends_bookings_on_older_intakes_back_for_a_new_intake(world):
    """A red-flag question added after the intake was recorded: the client was never asked it,
    so the booking needs a new intake before the session (INTAKE_INCOMPLETE)."""
    booking = confirmed_booking(world)
    _, changed = _new_question(world, "saddle-numbness", ["lumbar"])
    booking.refresh_from_db()
    assert changed == [booking]
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [(r["code"], r.get("question")) for r in booking.reasons] == [
        ("INTAKE_INCOMPLETE", "saddle-numbness")
    ]
    assert booking.suggested_therapists == []  # no other therapist makes the intake complete


def test_a_new_question_for_another_region_leaves_the_booking_confirmed(world):
    booking = confirmed_booking(world)
    _, changed = _new_question(world, "neck-trauma", ["cervical"])
    booking.refresh_from_db()
    assert (changed, booking.status) == ([], BookingStatus.CONFIRMED)


def test_asking_a_question_at_more_intakes_rechecks_those_that_never_answered_it(world):
    from registry.services.catalog import screening_question_update

    question, _ = _new_question(world, "saddle-numbness", ["cervical"])
    booking = confirmed_booking(world)  # its intake (lumbar) was not asked the cervical question
    result, changed = screening_question_update(
        actor=world.desk, question=question, regions=["cervical", "lumbar"]
    )
    assert result.tightened
    booking.refresh_from_db()
    assert changed == [booking]
    assert [r["code"] for r in booking.reasons] == ["INTAKE_INCOMPLETE"]


def test_a_new_booking_on_an_intake_that_missed_a_new_question_is_refused(world):
    booking = confirmed_booking(world)
    _new_question(world, "saddle-numbness", [])  # asked at every intake
    slot = slot_validate(
        spa=world.spa,
        intake=booking.intake,
        start=world.start + dt.timedelta(hours=3),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    outcome = booking_create(actor=world.desk, therapist=world.beth, slot=slot)
    assert not outcome.allowed
    assert "INTAKE_INCOMPLETE" in [r.code for r in outcome.result.reasons]
