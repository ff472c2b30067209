"""Provisional scope on the pages (issue 23): the front desk sees who needs a supervisor and
picks one; the therapist sees how many supervised sessions are done."""

from __future__ import annotations

import pytest

from core.models import User
from credentials.models import Certification
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from registry.choices import Role
from registry.models import Booking
from registry.services.accounts import user_create
from registry.tests.factories import EmploymentFactory
from tests.web.conftest import record_intake
from tests.web.test_frontdesk import content, slot, text_of


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
