"""Verification by serial: anyone, no sign-in; what it tells and what it does not."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from credentials.tests.factories import CertificationFactory
from registry.choices import Role
from tests.api.helpers import assert_problem

KEYS = {
    "valid",
    "status",
    "therapist",
    "protocol",
    "protocol_name",
    "school",
    "instructor",
    "valid_from",
    "expires_at",
    "revoked_at",
}


def test_anyone_verifies_a_certificate_by_serial(world, api_client):
    response = api_client.get(f"/api/v1/verify/{world.certification_a.serial}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == KEYS
    assert body["valid"] is True
    assert body["status"] == "active"
    assert body["therapist"] == "Alice Able"
    assert body["protocol"] == "low-back-radiculopathy"
    assert body["protocol_name"] == "Low back with radiculopathy"
    assert body["school"] == "School A"
    assert body["instructor"] == "Ines Instructor"
    assert body["revoked_at"] is None


def test_a_revoked_certificate_is_not_valid(world, api_client):
    revoked = CertificationFactory(
        therapist=world.therapist_a,
        protocol=world.protocol,
        revoked_at=timezone.now() - dt.timedelta(minutes=5),
        revoked_reason="Assessment was not done",
    )
    body = api_client.get(f"/api/v1/verify/{revoked.serial}/").json()
    assert body["valid"] is False
    assert body["status"] == "revoked"
    assert body["revoked_at"] is not None


def test_an_expired_certificate_is_not_valid(world, api_client):
    now = timezone.now()
    expired = CertificationFactory(
        protocol=world.protocol,
        valid_from=now - dt.timedelta(days=900),
        expires_at=now - dt.timedelta(days=1),
    )
    body = api_client.get(f"/api/v1/verify/{expired.serial}/").json()
    assert (body["valid"], body["status"]) == (False, "expired")


def test_an_unknown_serial_is_a_404_problem(api_client, db):
    assert_problem(api_client.get("/api/v1/verify/no-such-serial/"), 404, "not-found")


def test_signed_in_callers_verify_any_serial_too(world, as_role):
    response = as_role(Role.THERAPIST).get(f"/api/v1/verify/{world.certification_b.serial}/")
    assert response.status_code == 200
    assert response.json()["therapist"] == "Bob Baker"


def test_verification_takes_a_fixed_number_of_queries(world, api_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        api_client.get(f"/api/v1/verify/{world.certification_a.serial}/")
