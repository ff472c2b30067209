"""Changing a spa: a new jurisdiction or timezone re-checks its future bookings (invariant 5);
anything else is a plain, audited change; bad fields change nothing."""

import pytest

from core.errors import DomainError
from core.models import AuditEvent
from registry.choices import BookingStatus
from registry.services.rechecks import spa_create, spa_update
from registry.tests.test_bookings import book, record_intake

pytestmark = pytest.mark.django_db


def test_a_new_jurisdiction_moves_future_bookings_to_needs_reassignment(world):
    booking = book(world, world.ana, record_intake(world)).booking
    spa, changed = spa_update(actor=world.desk, spa=world.spa, jurisdiction="US-OR")
    assert spa.jurisdiction == "US-OR"
    assert changed == [booking]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    # Ana's licence is a California one: it does not count in Oregon.
    assert [reason["code"] for reason in booking.reasons] == ["LICENSE_MISSING"]
    event = AuditEvent.objects.get(action="spa.update")
    assert (event.before, event.after) == ({"jurisdiction": "US-CA"}, {"jurisdiction": "US-OR"})


def test_a_new_timezone_rechecks_and_a_still_allowed_booking_stays_confirmed(world):
    booking = book(world, world.ana, record_intake(world)).booking
    _, changed = spa_update(actor=world.desk, spa=world.spa, timezone_name="America/Denver")
    assert changed == []
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.decisions.count() == 2  # the booking, then the re-check


def test_a_new_name_or_address_rechecks_nothing(world):
    booking = book(world, world.ana, record_intake(world)).booking
    spa, changed = spa_update(
        actor=world.desk,
        spa=world.spa,
        name="  Harbour Spa & Clinic ",
        contact_email="desk@harbour.example.org",
    )
    assert (spa.name, spa.contact_email, changed) == ("Harbour Spa & Clinic", "desk@harbour.example.org", [])
    assert booking.decisions.count() == 1


def test_an_unchanged_value_is_no_change(world):
    spa_update(actor=world.desk, spa=world.spa, jurisdiction="us-ca", name=world.spa.name)
    assert not AuditEvent.objects.filter(action="spa.update").exists()


def test_bad_fields_change_nothing(world):
    with pytest.raises(DomainError) as refused:
        spa_update(
            actor=world.desk, spa=world.spa, name=" ", jurisdiction="California", timezone_name="Mars/Base"
        )
    assert set(refused.value.errors) == {"name", "jurisdiction", "timezone"}
    world.spa.refresh_from_db()
    assert (world.spa.name, world.spa.jurisdiction, world.spa.timezone) == (
        "Harbour Spa",
        "US-CA",
        "America/Los_Angeles",
    )


def test_a_spa_is_created_with_its_jurisdiction_in_capitals(db):
    """Licences are matched to the spa's jurisdiction as written in capitals: `us-ca` was
    stored as typed, and no licence would have counted there."""
    spa = spa_create(actor=None, name="Inland Spa", jurisdiction="us-ca", timezone_name="UTC")
    assert spa.jurisdiction == "US-CA"


def test_the_database_refuses_a_spa_jurisdiction_not_in_capitals(db):
    from django.db import IntegrityError, transaction

    from registry.models import Spa

    for bad in ("us-ca", "California", "US-CA\n"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Spa.objects.create(name="X", jurisdiction=bad, timezone="UTC")


def test_migration_puts_earlier_spa_jurisdictions_in_capitals(db):
    """Spas saved before the check (``us-ca``) are put in capitals before the constraint."""
    import importlib

    from django.apps import apps as current_apps
    from django.db import connection

    from registry.models import Spa

    migration = importlib.import_module("registry.migrations.0010_spa_jurisdictions_in_capitals")
    spa = Spa.objects.create(name="Old Spa", jurisdiction="US-CA", timezone="UTC")
    from registry import rls

    # as it was stored before: the constraint aside (DDL, the owner's: registry.rls)
    with rls.as_owner(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE registry_spa DROP CONSTRAINT spa_jurisdiction_iso_3166_2")
        cursor.execute("UPDATE registry_spa SET jurisdiction = ' us-ca' WHERE id = %s", [spa.pk])
    migration.jurisdictions_in_capitals(current_apps, None)
    spa.refresh_from_db()
    assert spa.jurisdiction == "US-CA"
