"""A licensing board's roster, uploaded through the API, applied by a real Celery worker over a
real Redis broker: a suspension moves the therapist's future bookings to needs-reassignment
(``LICENSE_INACTIVE``), the spa reads it through the API and is told by webhook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from credentials.models import License
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion
from protocols.tests.factories import ConditionFactory, ProtocolFactory
from registry.choices import BookingStatus, Role
from registry.delivery import new_webhook_secret
from registry.models import Booking, ImportJob, WebhookSubscription
from registry.services.accounts import user_create
from registry.services.bookings import booking_create, slot_validate
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_roster_suspension_moves_future_bookings_to_needs_reassignment(worker, receiver):
    protocol = ProtocolFactory(slug="low-back-radiculopathy", region=BodyRegion.LUMBAR)
    condition = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[protocol]])
    spa = SpaFactory(jurisdiction="US-CA", contact_email="")
    WebhookSubscription.objects.create(
        spa=spa, url=receiver.url, events=["booking.needs_reassignment"], secret=new_webhook_secret()
    )
    ana = TherapistFactory(name="Ana Silva")
    licence = LicenseFactory(therapist=ana, jurisdiction="US-CA", number="MT-100001")
    EmploymentFactory(spa=spa, therapist=ana)
    CertificationFactory(therapist=ana, protocol=protocol)
    start = (timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    bookings = []
    for index in range(2):
        intake = IntakeFactory(spa=spa, conditions=[condition], client_ref=f"CLIENT-{index}")
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=start + dt.timedelta(hours=2 * index),
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        bookings.append(booking_create(actor=None, therapist=ana, slot=slot).booking)
    _, admin_token = user_create(actor=None, username="registrar", role=Role.REGISTRY_ADMIN)
    _, desk_token = user_create(actor=None, username="desk", role=Role.SPA_STAFF, spa=spa)

    roster = f"license_number,name,status,expires_on\nMT-100001,Ana Silva,suspended,{licence.expires_on}\n"
    response = _client(admin_token).post(
        "/api/v1/imports/",
        {
            "kind": "license-roster",
            "jurisdiction": "US-CA",
            "file": SimpleUploadedFile("us-ca-board.csv", roster.encode(), content_type="text/csv"),
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job_url = f"/api/v1/imports/{response.json()['id']}/"

    def finished():
        report = _client(admin_token).get(job_url).json()
        return report if report["status"] in ("done", "failed") else None

    report = wait_for(finished, timeout=30)
    assert report, worker.log.read_text()[-4000:]
    assert (report["status"], report["accepted"], report["refused"]) == ("done", 1, 0)
    [changed] = report["findings"]
    assert (changed["code"], changed["bookings_needing_reassignment"]) == ("LICENSE_CHANGED", 2)

    desk = _client(desk_token)
    for booking in bookings:
        body = desk.get(f"/api/v1/bookings/{booking.pk}/").json()
        assert body["status"] == BookingStatus.NEEDS_REASSIGNMENT
        assert [reason["code"] for reason in body["reasons"]] == ["LICENSE_INACTIVE"]
    assert Booking.objects.filter(status=BookingStatus.NEEDS_REASSIGNMENT).count() == 2
    licence = License.objects.get(pk=licence.pk)
    assert licence.status == "suspended"
    assert licence.verified_source.startswith("US-CA licence roster us-ca-board.csv")
    assert ImportJob.objects.get().created_by.username == "registrar"
    assert wait_for(lambda: len(receiver.applied) == 2, timeout=20), worker.log.read_text()[-3000:]
    assert {body["type"] for body in receiver.bodies()} == {"booking.needs_reassignment"}
