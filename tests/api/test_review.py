"""The review queue over HTTP: withdrawing an authorisation or an instructor's experience flags
the certificates it underpinned; a registry admin keeps or revokes each, and a revocation
re-checks the bookings resting on it."""

from __future__ import annotations

import pytest

from credentials.models import Certification
from credentials.tests.factories import SchoolAuthorizationFactory
from registry.choices import BookingStatus, Role
from tests.api.helpers import assert_problem


def _review(client, certification, decision: str, reason: str = "Reviewed the school's records"):
    return client.post(
        f"/api/v1/certifications/{certification.pk}/review/",
        {"decision": decision, "reason": reason},
        format="json",
    )


@pytest.fixture
def admin(world, as_role):
    return as_role(Role.REGISTRY_ADMIN)


@pytest.fixture
def flagged(world, admin):
    """Certification A, flagged: school A's authorisation was withdrawn over HTTP."""
    response = admin.post(
        f"/api/v1/authorizations/{world.authorization_a.pk}/withdraw/",
        {"reason": "Inspection"},
        format="json",
    )
    assert response.status_code == 200
    return world.certification_a


def test_the_flagged_certificate_shows_in_the_review_filter(admin, flagged):
    results = admin.get("/api/v1/certifications/", {"review": "true"}).json()["results"]
    assert [c["id"] for c in results] == [str(flagged.pk)]


def test_keep_clears_the_flag(admin, flagged):
    response = _review(admin, flagged, "keep")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["id"], body["status"], body["review_required"]) == (str(flagged.pk), "active", False)
    assert admin.get("/api/v1/certifications/", {"review": "true"}).json()["count"] == 0


def test_revoke_revokes(admin, flagged):
    body = _review(admin, flagged, "revoke", "Taught under a withdrawn authorisation").json()
    assert (body["status"], body["review_required"]) == ("revoked", False)
    assert body["revoked_at"] is not None
    assert Certification.objects.get(pk=flagged.pk).revoked_reason == "Taught under a withdrawn authorisation"


def test_a_certificate_not_flagged_is_a_conflict_to_review(admin, world):
    assert_problem(_review(admin, world.certification_b, "keep"), 409, "conflict")
    assert_problem(_review(admin, world.certification_b, "revoke"), 409, "conflict")
    assert Certification.objects.get(pk=world.certification_b.pk).revoked_at is None


def test_a_review_needs_a_decision_and_a_reason(admin, flagged):
    body = assert_problem(_review(admin, flagged, "shrug", reason=""), 400, "validation-error")
    assert {"decision", "reason"} <= set(body["errors"])


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_registry_admins_review(world, as_role, flagged, role):
    assert_problem(_review(as_role(role), flagged, "keep"), 403, "permission-denied")


def test_a_review_revoke_rechecks_the_bookings_resting_on_the_certificate(gate_world, client_for):
    certification = gate_world.certification
    authorization = SchoolAuthorizationFactory(school=certification.school, protocol=gate_world.radiculopathy)
    booking = gate_world.book(gate_world.ana)
    admin = client_for(Role.REGISTRY_ADMIN)

    withdrawn = admin.post(
        f"/api/v1/authorizations/{authorization.pk}/withdraw/", {"reason": "Inspection"}, format="json"
    )
    assert withdrawn.status_code == 200
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED  # a flag alone changes no booking

    assert _review(admin, certification, "revoke").json()["status"] == "revoked"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "CERTIFICATION_REVOKED" in {r["code"] for r in booking.reasons}
