"""Events are never lost: real Redis, a real Celery worker, a local HTTP receiver."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

import pytest
from django.utils import timezone

from core.models import OutboxEvent
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion
from protocols.tests.factories import ConditionFactory, ProtocolFactory
from registry.choices import BookingStatus
from registry.delivery import new_webhook_secret
from registry.models import Booking, Delivery, DeliveryAttempt, WebhookSubscription
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from registry.tasks import sweep_outbox
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory
from tests.integration.conftest import client_data_in, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def booked_world(receiver_url: str, *, bookings: int = 1):
    protocol = ProtocolFactory(slug="low-back-radiculopathy", region=BodyRegion.LUMBAR)
    condition = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[protocol]])
    spa = SpaFactory(contact_email="")
    secret = new_webhook_secret()
    WebhookSubscription.objects.create(
        spa=spa, url=receiver_url, events=["booking.needs_reassignment"], secret=secret
    )
    certifications = []
    start = (timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    for index in range(bookings):
        therapist = TherapistFactory()
        LicenseFactory(therapist=therapist, jurisdiction=spa.jurisdiction)
        EmploymentFactory(spa=spa, therapist=therapist)
        certification = CertificationFactory(therapist=therapist, protocol=protocol)
        intake = IntakeFactory(spa=spa, conditions=[condition], client_ref=f"CLIENT-{index}")
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=start,
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        assert booking_create(actor=None, therapist=therapist, slot=slot).allowed
        certifications.append(certification)
    return spa, secret, certifications


def verify_signature(secret: str, request: dict) -> bool:
    header = request["headers"]["X-Registry-Signature"]
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_revocation_delivers_a_signed_needs_reassignment_webhook(worker, receiver):
    from rest_framework.test import APIClient

    from registry.services.accounts import user_create

    spa, secret, (certification,) = booked_world(receiver.url)
    _, token = user_create(
        actor=None, username="school-office", role="school-staff", school=certification.school
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post(
        f"/api/v1/certifications/{certification.pk}/revoke/", {"reason": "Assessment fraud"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"

    booking = Booking.objects.get()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert wait_for(lambda: receiver.requests, timeout=15), worker.log.read_text()[-4000:]
    request = receiver.requests[0]
    assert verify_signature(secret, request)
    body = receiver.bodies()[0]
    assert body["type"] == "booking.needs_reassignment"
    assert body["data"]["booking"] == str(booking.pk)
    assert body["data"]["spa"] == str(spa.pk)
    assert [r["code"] for r in body["data"]["reasons"]] == ["CERTIFICATION_REVOKED"]
    assert request["headers"]["X-Registry-Event-Id"] == body["id"]


def test_events_wait_in_the_outbox_while_the_broker_is_down(broker, workdir, receiver):
    from tests.integration.conftest import Worker

    _, _, certifications = booked_world(receiver.url, bookings=3)
    broker.stop()
    for certification in certifications:
        certification_revoke(actor=None, certification=certification, reason="Broker-down test")
    assert OutboxEvent.objects.filter(type="booking.needs_reassignment").count() == 3
    assert not receiver.requests

    broker.start()
    worker = Worker(broker.url, workdir)
    worker.start()
    try:
        sweep_outbox.delay()  # what beat does every 30 seconds
        assert wait_for(lambda: len(receiver.applied) == 3, timeout=20), worker.log.read_text()[-3000:]
    finally:
        worker.stop()


def test_worker_killed_mid_delivery_delivers_after_restart_and_applies_once(broker, workdir, receiver):
    from tests.integration.conftest import Worker

    _, _, (certification,) = booked_world(receiver.url)
    receiver.stall_seconds = 30.0  # the first request hangs: the worker is killed meanwhile
    first = Worker(broker.url, workdir)
    first.start()
    certification_revoke(actor=None, certification=certification, reason="Kill test")
    assert wait_for(lambda: receiver.requests, timeout=15)
    first.kill()
    delivery = Delivery.objects.get(channel=Delivery.Channel.WEBHOOK)
    assert delivery.delivered_at is None

    second = Worker(broker.url, workdir)
    second.start()
    try:
        sweep_outbox.delay()
        assert wait_for(
            lambda: Delivery.objects.get(channel=Delivery.Channel.WEBHOOK).delivered_at is not None,
            timeout=20,
        )
    finally:
        second.stop()
    assert len(receiver.requests) >= 2
    assert list(receiver.applied.values()) == [1]


def test_receiver_failing_three_times_gets_four_attempts_and_one_delivery(worker, receiver):
    receiver.fail_next = 3
    _, _, (certification,) = booked_world(receiver.url)
    certification_revoke(actor=None, certification=certification, reason="Retry test")
    assert wait_for(
        lambda: Delivery.objects.filter(
            channel=Delivery.Channel.WEBHOOK, delivered_at__isnull=False
        ).exists(),
        timeout=20,
    )
    delivery = Delivery.objects.get(channel=Delivery.Channel.WEBHOOK)
    assert delivery.attempts == 4
    assert list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [
        500,
        500,
        500,
        200,
    ]
    time.sleep(0.5)
    assert list(receiver.applied.values()) == [1]


def test_no_delivered_event_carries_client_data(worker, receiver):
    """The events a spa and a school get about a revocation (the booking to reassign, the
    certificate revoked) name ids, codes and times, never the client, condition or screening."""
    spa, _, certifications = booked_world(receiver.url, bookings=2)
    WebhookSubscription.objects.create(
        spa=spa, url=receiver.url, events=["certification.revoked"], secret=new_webhook_secret()
    )
    for school in {certification.school for certification in certifications}:
        WebhookSubscription.objects.create(
            school=school, url=receiver.url, events=["certification.revoked"], secret=new_webhook_secret()
        )
    for certification in certifications:
        certification_revoke(actor=None, certification=certification, reason="Client-data test")

    # Per certification: the spa's needs-reassignment and revoked events, the school's revoked one.
    expected = 3 * len(certifications)
    # One event may go to both (a revocation): count the requests, not the distinct events.
    assert wait_for(lambda: len(receiver.requests) == expected, timeout=20), worker.log.read_text()[-3000:]
    types = sorted(body["type"] for body in receiver.bodies())
    assert types == ["booking.needs_reassignment"] * 2 + ["certification.revoked"] * 4
    assert client_data_in([request["body"] for request in receiver.requests]) == []
