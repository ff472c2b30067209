"""Expiry reminders: 60, 30 and 7 days ahead, each once per credential and threshold."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import OutboxEvent
from credentials.tests.factories import CertificationFactory, LicenseFactory
from registry.services.reminders import expiry_reminders_send
from registry.tests.factories import EmploymentFactory

pytestmark = pytest.mark.django_db


def events(type_):
    return list(OutboxEvent.objects.filter(type=type_))


def test_running_twice_on_the_same_day_raises_each_reminder_once(world):
    now = timezone.now()
    expiring = CertificationFactory(
        therapist=world.beth,
        protocol=world.radiculopathy,
        valid_from=now - dt.timedelta(days=700),
        expires_at=now + dt.timedelta(days=20),
    )
    counts = expiry_reminders_send(now=now)
    again = expiry_reminders_send(now=now)
    assert counts.certifications == 1
    assert again.certifications == 0
    (event,) = events("certification.expiring")
    assert event.data["certification"] == str(expiring.pk)
    assert set(event.audience) == {f"school:{expiring.school_id}", f"spa:{world.spa.pk}"}


def test_each_threshold_raises_once_as_the_expiry_approaches(world):
    now = timezone.now()
    CertificationFactory(
        therapist=world.beth,
        protocol=world.radiculopathy,
        valid_from=now - dt.timedelta(days=700),
        expires_at=now + dt.timedelta(days=59),
    )
    for day in range(0, 59):
        expiry_reminders_send(now=now + dt.timedelta(days=day))
    reasons = [e.data["reason"] for e in events("certification.expiring")]
    assert reasons == ["Expires within 60 days.", "Expires within 30 days.", "Expires within 7 days."]


def test_a_certification_renewed_before_a_threshold_raises_none(world):
    now = timezone.now()
    CertificationFactory(
        therapist=world.beth,
        protocol=world.radiculopathy,
        valid_from=now - dt.timedelta(days=700),
        expires_at=now + dt.timedelta(days=20),
    )
    CertificationFactory(
        therapist=world.beth,
        protocol=world.radiculopathy,
        valid_from=now,
        expires_at=now + dt.timedelta(days=730),
    )
    assert expiry_reminders_send(now=now).certifications == 0


def test_licence_reminder_goes_to_employing_spas_and_a_renewal_stops_it(world):
    today = timezone.localdate()
    soon = LicenseFactory(therapist=world.beth, jurisdiction="US-NV", expires_on=today + dt.timedelta(days=5))
    renewed = LicenseFactory(
        therapist=world.ana, jurisdiction="US-NV", expires_on=today + dt.timedelta(days=5)
    )
    LicenseFactory(
        therapist=world.ana, jurisdiction="US-NV", valid_from=today, expires_on=today + dt.timedelta(days=900)
    )
    counts = expiry_reminders_send()
    assert counts.licenses == 1
    (event,) = events("license.expiring")
    assert event.data == {
        "license": str(soon.pk),
        "therapist": str(world.beth.pk),
        "jurisdiction": "US-NV",
        "expires_on": soon.expires_on.isoformat(),
    }
    assert event.audience == [f"spa:{world.spa.pk}"]
    assert renewed.pk != soon.pk


def _expiring(world, count, now):
    for _ in range(count):
        therapist = EmploymentFactory(spa=world.spa).therapist
        CertificationFactory(
            therapist=therapist,
            protocol=world.radiculopathy,
            valid_from=now - dt.timedelta(days=700),
            expires_at=now + dt.timedelta(days=40),
        )
        LicenseFactory(therapist=therapist, expires_on=timezone.localdate(now) + dt.timedelta(days=20))


def test_expiry_job_query_count_does_not_grow_with_credentials(world, django_assert_num_queries):
    now = timezone.now()
    _expiring(world, 2, now)
    with CaptureQueriesContext(connection) as small:
        expiry_reminders_send(now=now)
    _expiring(world, 20, now + dt.timedelta(days=1))
    with django_assert_num_queries(len(small.captured_queries)):
        assert expiry_reminders_send(now=now + dt.timedelta(days=1)).certifications == 20
