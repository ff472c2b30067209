"""Therapists and their licences: who sees whom (the roles table), another tenant's
therapist answers 404, school staff see no email, lists in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from registry.choices import Role
from registry.tests.factories import EmploymentFactory
from tests.api.helpers import assert_problem, count_queries


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["name"] for t in response.json()["results"]]


def test_a_therapist_sees_only_themselves(world, as_role):
    client = as_role(Role.THERAPIST)
    assert _names(client.get("/api/v1/therapists/")) == ["Alice Able"]
    detail = client.get(f"/api/v1/therapists/{world.therapist_a.pk}/")
    assert detail.json() == {
        "id": str(world.therapist_a.pk),
        "name": "Alice Able",
        "email": "alice@example.org",
    }
    assert_problem(client.get(f"/api/v1/therapists/{world.therapist_b.pk}/"), 404, "not-found")


def test_spa_staff_see_the_therapists_their_spa_employs(world, as_role):
    client = as_role(Role.SPA_STAFF)
    assert _names(client.get("/api/v1/therapists/")) == ["Alice Able"]
    assert client.get(f"/api/v1/therapists/{world.therapist_a.pk}/").json()["email"] == "alice@example.org"
    assert_problem(client.get(f"/api/v1/therapists/{world.therapist_b.pk}/"), 404)


def test_spa_staff_stop_seeing_a_therapist_whose_employment_ended(world, as_role):
    today = timezone.now().date()
    left = TherapistFactory(name="Carl Left")
    EmploymentFactory(spa=world.spa_a, therapist=left, ended_on=today - dt.timedelta(days=2))
    leaving = TherapistFactory(name="Dana Leaving")
    EmploymentFactory(spa=world.spa_a, therapist=leaving, ended_on=today + dt.timedelta(days=10))
    hired = TherapistFactory(name="Eve Hired")
    EmploymentFactory(spa=world.spa_a, therapist=hired, started_on=today + dt.timedelta(days=7))
    client = as_role(Role.SPA_STAFF)
    assert _names(client.get("/api/v1/therapists/")) == ["Alice Able", "Dana Leaving", "Eve Hired"]
    assert_problem(client.get(f"/api/v1/therapists/{left.pk}/"), 404)


def test_school_staff_see_the_therapists_their_school_certified_without_email(world, as_role):
    client = as_role(Role.SCHOOL_STAFF)
    response = client.get("/api/v1/therapists/")
    assert response.json()["results"] == [{"id": str(world.therapist_a.pk), "name": "Alice Able"}]
    assert_problem(client.get(f"/api/v1/therapists/{world.therapist_b.pk}/"), 404)


def test_registry_admins_see_every_therapist_and_filter_by_name(world, as_role):
    client = as_role(Role.REGISTRY_ADMIN)
    assert _names(client.get("/api/v1/therapists/")) == ["Alice Able", "Bob Baker"]
    assert _names(client.get("/api/v1/therapists/", {"name": "bak"})) == ["Bob Baker"]


def test_a_malformed_therapist_id_is_a_404(world, as_role):
    assert_problem(as_role(Role.REGISTRY_ADMIN).get("/api/v1/therapists/not-a-uuid/"), 404)


def test_licences_of_a_therapist(world, as_role):
    LicenseFactory(therapist=world.therapist_a, jurisdiction="US-NV", status="suspended")
    client = as_role(Role.THERAPIST)
    response = client.get(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) == {
        "id",
        "jurisdiction",
        "number",
        "status",
        "valid_from",
        "expires_on",
        "verified_at",  # primary-source verification by a roster (docs/interoperability.md)
        "verified_source",
    }
    assert first == {
        "id": str(world.license_a.pk),
        "jurisdiction": "US-CA",
        "number": world.license_a.number,
        "status": "active",
        "valid_from": "2020-01-01",
        "expires_on": "2035-12-31",
        "verified_at": None,  # never checked against a board's roster
        "verified_source": "",
    }
    assert body["results"][1]["status"] == "suspended"


def test_spa_staff_read_licences_of_their_therapists_only(world, as_role):
    client = as_role(Role.SPA_STAFF)
    assert client.get(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/").json()["count"] == 1
    assert_problem(client.get(f"/api/v1/therapists/{world.therapist_b.pk}/licenses/"), 404)


def test_school_staff_may_not_read_licences(world, as_role):
    client = as_role(Role.SCHOOL_STAFF)
    assert_problem(
        client.get(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/"), 403, "permission-denied"
    )


@pytest.mark.parametrize("role", [Role.SPA_STAFF, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN])
def test_listing_therapists_takes_a_fixed_number_of_queries(world, as_role, role, django_assert_num_queries):
    client = as_role(role)

    def listing():
        assert client.get("/api/v1/therapists/").status_code == 200

    few = count_queries(listing)
    for _ in range(5):
        therapist = TherapistFactory()
        EmploymentFactory(spa=world.spa_a, therapist=therapist)
        CertificationFactory(therapist=therapist, school=world.school_a, protocol=world.protocol)
    assert count_queries(listing) == few
    with django_assert_num_queries(3):  # token (with the membership), count, page
        listing()
