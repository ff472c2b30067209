"""Spas: registry admins create them; spa staff read their own, therapists those employing
them, school staff none."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from registry.choices import Role
from registry.models import Spa
from registry.tests.factories import EmploymentFactory, SpaFactory
from tests.api.helpers import assert_problem, count_queries

SPA_KEYS = {"id", "name", "jurisdiction", "timezone", "contact_email"}


def test_an_admin_creates_a_spa(client_for):
    admin = client_for(Role.REGISTRY_ADMIN)
    body = {"name": "Harbour Spa", "jurisdiction": "US-CA", "timezone": "America/Los_Angeles"}
    response = admin.post("/api/v1/spas/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == SPA_KEYS
    assert created["timezone"] == "America/Los_Angeles"
    assert created["contact_email"] is None  # none given: null, never "" (not an e-mail address)
    assert AuditEvent.objects.filter(action="spa.create", object_id=created["id"]).exists()
    assert admin.get(f"/api/v1/spas/{created['id']}/").json() == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "jurisdiction": "US-CA", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "jurisdiction": "US-CA"}, "timezone"),
        ({"name": "X", "jurisdiction": "US-CA", "timezone": "UTC", "contact_email": "nope"}, "contact_email"),
        ({"jurisdiction": "US-CA", "timezone": "UTC"}, "name"),
    ],
)
def test_invalid_spas_are_400(client_for, body, field):
    response = client_for(Role.REGISTRY_ADMIN).post("/api/v1/spas/", body, format="json")
    assert field in assert_problem(response, 400, "validation-error")["errors"]


@pytest.mark.parametrize("role", [Role.SPA_STAFF, Role.SCHOOL_STAFF, Role.THERAPIST])
def test_only_admins_create_spas(client_for, role):
    body = {"name": "X", "jurisdiction": "US-CA", "timezone": "UTC"}
    assert_problem(client_for(role).post("/api/v1/spas/", body, format="json"), 403, "permission-denied")
    assert not Spa.objects.filter(name="X").exists()


def test_each_role_reads_its_spas(world, as_role):
    def names(role):
        return [s["name"] for s in as_role(role).get("/api/v1/spas/").json()["results"]]

    assert names(Role.SPA_STAFF) == ["Spa A"]
    assert names(Role.THERAPIST) == ["Spa A"]
    assert names(Role.REGISTRY_ADMIN) == ["Spa A", "Spa B"]
    assert_problem(as_role(Role.SCHOOL_STAFF).get("/api/v1/spas/"), 403)
    assert_problem(as_role(Role.SPA_STAFF).get(f"/api/v1/spas/{world.spa_b.pk}/"), 404)
    assert_problem(as_role(Role.THERAPIST).get(f"/api/v1/spas/{world.spa_b.pk}/"), 404)


def test_a_therapist_reads_no_spa_that_let_them_go(world, as_role):
    EmploymentFactory(spa=world.spa_b, therapist=world.therapist_a, ended_on="2021-01-01")
    assert as_role(Role.THERAPIST).get("/api/v1/spas/").json()["count"] == 1


def test_the_list_takes_a_fixed_number_of_queries(client_for, db):
    admin = client_for(Role.REGISTRY_ADMIN)
    SpaFactory()
    one = count_queries(lambda: admin.get("/api/v1/spas/"))
    SpaFactory.create_batch(4)
    assert count_queries(lambda: admin.get("/api/v1/spas/")) == one


def test_an_admin_changes_a_spas_jurisdiction_and_its_bookings_are_rechecked(client_for, gate_world):
    """PATCH /spas/{id}/: any field; a new jurisdiction re-checks the spa's future bookings."""
    from registry.choices import BookingStatus

    booking = gate_world.book(gate_world.ana)
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(f"/api/v1/spas/{gate_world.spa.pk}/", {"jurisdiction": "US-OR"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["jurisdiction"] == "US-OR"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [reason["code"] for reason in booking.reasons] == ["LICENSE_MISSING"]


def test_a_bad_spa_change_is_a_400_that_changes_nothing(client_for, gate_world):
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(
        f"/api/v1/spas/{gate_world.spa.pk}/", {"timezone": "Mars/Base", "name": "X"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"timezone"}
    gate_world.spa.refresh_from_db()
    assert gate_world.spa.name == "Harbour Spa"
