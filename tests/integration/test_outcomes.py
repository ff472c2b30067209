"""The seed's case end to end (issue 22): real Redis, a real Celery worker, a local HTTP receiver.

Through the API: an M51.16 intake with pain 4; a certified therapist booked for 30 focus minutes
on the lumbar region; completed with the outcome pain 5 and dizziness (mild: no event); two
hours later, bladder-control loss reported (serious). The school that issued the certification
and the spa get ``adverse_event.reported``, the school ``certification.review_required`` —
delivered, signed, and carrying no client data."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols import catalog_data
from protocols.choices import BodyRegion, ScreeningAction
from protocols.services import outcome_sign_create
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry.choices import Role
from registry.delivery import new_webhook_secret
from registry.models import WebhookSubscription
from registry.services.accounts import user_create
from registry.tests.factories import EmploymentFactory, SpaFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def signed_by(secret: str, request: dict) -> bool:
    """``X-Registry-Signature`` is ``t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>")>``."""
    parts = dict(part.split("=", 1) for part in request["headers"]["X-Registry-Signature"].split(","))
    mac = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


def client_of(role: str, **tenant) -> APIClient:
    _, token = user_create(actor=None, username=f"{role}-outcomes", role=role, **tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_seed_case_delivers_both_events_to_the_school_and_the_spa(worker, receiver, monkeypatch):
    for spec in catalog_data.OUTCOME_SIGNS:
        outcome_sign_create(actor=None, **spec)
    protocol = ProtocolFactory(slug="low-back-radiculopathy", region=BodyRegion.LUMBAR, max_focus_minutes=30)
    ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[protocol]])
    ScreeningQuestionFactory(
        code="ces-bladder-bowel", action=ScreeningAction.REFER_EMERGENCY, regions=[BodyRegion.LUMBAR]
    )
    spa = SpaFactory(contact_email="")
    ana = TherapistFactory(name="Ana Silva")
    LicenseFactory(therapist=ana, jurisdiction=spa.jurisdiction)
    EmploymentFactory(spa=spa, therapist=ana)
    certification = CertificationFactory(therapist=ana, protocol=protocol)
    certification.school.contact_email = ""
    certification.school.save()
    secrets = {"school": new_webhook_secret(), "spa": new_webhook_secret()}
    WebhookSubscription.objects.create(
        school=certification.school,
        url=receiver.url,
        events=["adverse_event.reported", "certification.review_required"],
        secret=secrets["school"],
    )
    WebhookSubscription.objects.create(
        spa=spa, url=receiver.url, events=["adverse_event.reported"], secret=secrets["spa"]
    )
    desk = client_of(Role.SPA_STAFF, spa=spa)

    intake = desk.post(
        "/api/v1/intakes/",
        {
            "spa": str(spa.pk),
            "client_ref": "CLIENT-SEED",
            "conditions": ["M51.16"],
            "screening": {"ces-bladder-bowel": False},
            "pain_score": 4,
        },
        format="json",
    )
    assert intake.status_code == 201, intake.content
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=90)
    booking = desk.post(
        "/api/v1/bookings/",
        {
            "spa": str(spa.pk),
            "intake": intake.json()["id"],
            "therapist": str(ana.pk),
            "start": start.isoformat(),
            "duration_minutes": 60,
            "focus_region": "lumbar",
            "focus_minutes": 30,
        },
        format="json",
    )
    assert booking.status_code == 201, booking.content
    url = f"/api/v1/bookings/{booking.json()['id']}"

    signs = {spec["code"]: spec["code"] == "dizziness" for spec in catalog_data.OUTCOME_SIGNS}
    completed = desk.post(f"{url}/complete/", {"outcome": {"pain_after": 5, "signs": signs}}, format="json")
    assert completed.status_code == 200, completed.content
    assert completed.json()["outcome"]["severity"] == "mild"
    assert completed.json()["outcome"]["adverse_event"] is None

    moment = timezone.now() + dt.timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)  # two hours later
    reported = desk.post(
        f"{url}/adverse-events/",
        {"signs": ["bladder-bowel-change"], "narrative": "CLIENT-SEED lost bladder control on the stairs."},
        format="json",
    )
    assert reported.status_code == 201, reported.content
    event = reported.json()
    assert event["severity"] == "serious"
    assert event["advice"][0]["instruction"] == catalog_data.EMERGENCY_INSTRUCTION
    certification.refresh_from_db()
    assert certification.review_required

    # three deliveries: the school's two events and the spa's adverse event (the same event as
    # the school's: one event, one delivery per subscribed receiver)
    assert wait_for(lambda: len(receiver.requests) == 3, timeout=20), worker.log.read_text()[-3000:]
    assert sorted(receiver.applied.values()) == [1, 2]
    delivered = sorted(
        ((body["type"], request) for body, request in zip(receiver.bodies(), receiver.requests, strict=True)),
        key=lambda pair: pair[0],
    )
    types = [type_ for type_, _ in delivered]
    assert types == ["adverse_event.reported", "adverse_event.reported", "certification.review_required"]
    bodies = receiver.bodies()
    reported_data = next(b["data"] for b in bodies if b["type"] == "adverse_event.reported")
    assert reported_data == {
        "adverse_event": event["id"],
        "booking": booking.json()["id"],
        "therapist": str(ana.pk),
        "certifications": [str(certification.pk)],
        "protocol": "low-back-radiculopathy",
        "focus_region": "lumbar",
        "focus_minutes": 30,
        "severity": "serious",
        "kind": "report",
        "reported_at": reported_data["reported_at"],
    }
    review = next(b["data"] for b in bodies if b["type"] == "certification.review_required")
    assert review["certification"] == str(certification.pk)
    assert event["id"] in review["reason"]
    # signed with the receiving subscription's secret
    for request in receiver.requests:
        assert any(signed_by(secret, request) for secret in secrets.values())
    # no client data: no client reference, condition, sign, narrative or pain score
    text = json.dumps(bodies)
    for client_data in ("CLIENT-", "M51.16", "bladder", "stairs", "pain", "dizziness", "screening"):
        assert client_data not in text, client_data
