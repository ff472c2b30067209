"""Tightening a catalog rule re-checks the future bookings resting on it."""

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
