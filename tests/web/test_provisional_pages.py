"""Provisional scope on the pages (issue 23): the front desk sees who needs a supervisor and
picks one; the therapist sees how many supervised sessions are done."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.models import User
from credentials.models import Certification
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from registry.choices import BookingStatus, Role
from registry.models import Booking
from registry.services.accounts import user_create
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from registry.tests.factories import EmploymentFactory
from tests.web.conftest import record_intake
from tests.web.test_frontdesk import check_page, content, slot, text_of, tomorrow


@pytest.fixture
def nora(world):
    """New at Harbour: certified in the radiculopathy protocol today, provisional (the shipped
    catalog asks for 5 supervised sessions)."""
    nora = TherapistFactory(name="Nora New")
    LicenseFactory(therapist=nora, jurisdiction="US-CA")
    EmploymentFactory(spa=world.spa, therapist=nora)
    nora.certification = CertificationFactory(therapist=nora, protocol=world.radiculopathy)
    return nora


def test_the_front_desk_sees_provisional_needs_a_supervisor_with_a_picker(client, world, nora):
    client.force_login(world.desk)
    intake = record_intake(world)
    page = content(client.get(f"/front-desk/intakes/{intake.pk}/", slot(world, focus_minutes=20)))
    words = text_of(page)
    assert "Provisional — needs a supervisor" in words
    assert "0 of 5 supervised sessions done" in words
    assert 'name="supervisor"' in page
    picker = page[page.index('name="supervisor"') : page.index("</select>", page.index('name="supervisor"'))]
    assert "Ana Silva" in picker
    assert "Cara Diaz" in picker
    assert "Dan Other" not in picker  # another spa's therapist is never offered

    response = client.post(
        f"/front-desk/intakes/{intake.pk}/book/",
        {"therapist": str(nora.pk), "supervisor": str(world.ana.pk), **slot(world, focus_minutes=20)},
    )
    assert response.status_code == 302
    booking = Booking.objects.get(therapist=nora)
    assert booking.supervisor_id == world.ana.pk


def test_the_front_desk_cannot_name_another_spas_supervisor(client, world, nora):
    client.force_login(world.desk)
    intake = record_intake(world)
    response = client.post(
        f"/front-desk/intakes/{intake.pk}/book/",
        {"therapist": str(nora.pk), "supervisor": str(world.dan.pk), **slot(world, focus_minutes=20)},
    )
    assert response.status_code == 400
    assert "Dan Other" not in content(response)
    assert not Booking.objects.filter(therapist=nora).exists()


def test_the_therapist_page_shows_supervised_sessions_done(client, world, nora):
    Certification.objects.filter(pk=nora.certification.pk).update(supervised_sessions_done=3)
    user, _ = user_create(
        actor=None, username="nora", password="x-Long-Passw0rd!", role=Role.THERAPIST, therapist=nora
    )
    client.force_login(User.objects.get(pk=user.pk))
    words = text_of(content(client.get("/therapist/")))
    assert "3 of 5 supervised sessions done" in words


# --- reassignment with a supervisor --------------------------------------------------------------


@pytest.fixture
def supervised(world, nora):
    """Nora booked tomorrow at 10:00 with Ana supervising; then Ana's certification is revoked:
    the booking needs reassignment (SUPERVISOR_NOT_QUALIFIED)."""
    intake = record_intake(world)
    the_slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=dt.datetime.combine(tomorrow(world), dt.time(10), tzinfo=ZoneInfo(world.spa.timezone)),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking = booking_create(actor=world.desk, therapist=nora, slot=the_slot, supervisor=world.ana).booking
    assert booking is not None
    certification_revoke(actor=world.admin, certification=world.ana_certification, reason="Fraudulent course")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert booking.reasons[0]["code"] == "SUPERVISOR_NOT_QUALIFIED"
    return booking


def _picker(page: str, therapist_id) -> str:
    start = page.index(f'id="supervisor-{therapist_id}"')
    return page[start : page.index("</select>", start)]


def test_a_booking_needing_another_supervisor_is_kept_with_one_picked_on_its_page(
    client, world, nora, supervised
):
    client.force_login(world.desk)
    response = client.get(f"/front-desk/bookings/{supervised.pk}/")
    check_page(response)  # the picker is labelled, its form has the CSRF token
    page = content(response)
    words = text_of(page)
    assert "With a supervisor" in words
    assert "Nora New (keeps the session)" in words
    picker = _picker(page, nora.pk)
    assert "Cara Diaz" in picker
    assert "Ana Silva" not in picker  # revoked: no longer qualified
    assert "Beth Jones" not in picker  # not certified
    assert "Dan Other" not in picker  # another spa's therapist is never offered
    assert "Reassign to Nora New with this supervisor" in words

    response = client.post(
        f"/front-desk/bookings/{supervised.pk}/reassign/",
        {"therapist": str(nora.pk), "supervisor": str(world.cara.pk)},
        follow=True,
    )
    words = text_of(content(response))
    assert "Reassigned to Nora New, supervised by Cara Diaz" in words
    supervised.refresh_from_db()
    assert (supervised.therapist_id, supervised.supervisor_id, supervised.status) == (
        nora.pk,
        world.cara.pk,
        BookingStatus.CONFIRMED,
    )
    assert "Supervisor Cara Diaz" in words


def test_a_refused_reassignment_with_a_supervisor_shows_the_engines_reasons(client, world, nora, supervised):
    # the booking as the re-check left it (its revoked supervisor let go: docs/provisional-scope.md)
    unchanged = (supervised.supervisor_id, supervised.status)
    client.force_login(world.desk)
    response = client.post(
        f"/front-desk/bookings/{supervised.pk}/reassign/",
        {"therapist": str(nora.pk), "supervisor": str(world.beth.pk)},
    )
    assert response.status_code == 409
    check_page(response)
    page = content(response)
    words = text_of(page)
    assert "Not reassigned: Nora New may not take this session" in words
    refusal = words[words.index("Not reassigned") : words.index("Needs reassignment")]
    assert "Beth Jones" in refusal  # the engine's SUPERVISOR_NOT_QUALIFIED, in its own words
    supervised.refresh_from_db()
    assert (supervised.supervisor_id, supervised.status) == unchanged
    assert unchanged == (None, BookingStatus.NEEDS_REASSIGNMENT)
    assert 'id="supervisor-' in page  # the picker is offered again


def test_reassigning_without_picking_keeps_the_supervisor_and_says_so(client, world, nora):
    """A booking with a supervisor who still qualifies, moved to the same therapist from the
    page (no supervisor picked): the service keeps the supervisor."""
    intake = record_intake(world)
    the_slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=dt.datetime.combine(tomorrow(world), dt.time(10), tzinfo=ZoneInfo(world.spa.timezone)),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking = booking_create(actor=world.desk, therapist=nora, slot=the_slot, supervisor=world.ana).booking
    client.force_login(world.desk)
    response = client.post(
        f"/front-desk/bookings/{booking.pk}/reassign/", {"therapist": str(nora.pk)}, follow=True
    )
    assert "Reassigned to Nora New, supervised by Ana Silva" in text_of(content(response))
    booking.refresh_from_db()
    assert booking.supervisor_id == world.ana.pk


def test_the_day_page_points_to_the_booking_for_a_supervisor(client, world, supervised):
    client.force_login(world.desk)
    page = content(client.get("/front-desk/"))
    words = text_of(page)
    assert "Needs reassignment (1)" in words
    assert "to see who may take it with a supervisor" in words
    assert f'href="/front-desk/bookings/{supervised.pk}/"' in page
