"""The decision log: append-only, one entry per booking attempt, re-check and reassignment; the
spa reads its own; a registry admin reads one booking's log by id (incident review), audited,
and no list."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from registry.choices import Role
from tests.api.helpers import assert_problem, count_queries

DECISION_KEYS = {"id", "made_at", "made_by", "booking", "therapist", "case", "allowed", "reasons", "warnings"}


@pytest.fixture
def w(booking_world):
    w = booking_world
    w.intake_id = w.intake().json()["id"]
    w.refused = w.book(w.beth, w.intake_id)
    w.booking = w.book(w.ana, w.intake_id).json()
    return w


def test_every_attempt_is_in_the_spas_log(w):
    response = w.desk.get("/api/v1/decisions/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(d["therapist"], d["allowed"]) for d in results] == [
        (str(w.beth.pk), False),
        (str(w.ana.pk), True),
    ]
    assert set(results[0]) == DECISION_KEYS
    assert results[0]["booking"] is None
    assert results[1]["booking"] == w.booking["id"]
    assert results[1]["made_by"] == str(w.desk.user.pk)
    assert results[1]["case"]["intake"] == w.intake_id
    assert results[1]["case"]["therapist"] == str(w.ana.pk)
    assert results[0]["reasons"][0]["code"] == "PROTOCOL_NOT_CERTIFIED"


def test_the_log_filters_by_spa_therapist_and_outcome(w):
    def count(**query):
        return w.desk.get("/api/v1/decisions/", query).json()["count"]

    assert count(allowed="false") == 1
    assert count(allowed="true") == 1
    assert count(therapist=str(w.ana.pk)) == 1
    assert count(spa=str(w.spa.pk)) == 2
    assert count(spa=str(w.other_spa.pk)) == 0


def test_another_spas_decisions_are_not_listed(w):
    assert w.other_desk.get("/api/v1/decisions/").json()["count"] == 0
    assert w.other_desk.get("/api/v1/decisions/", {"spa": str(w.spa.pk)}).json()["count"] == 0
    assert_problem(w.other_desk.get(f"/api/v1/bookings/{w.booking['id']}/decisions/"), 404)


def test_a_bookings_log_holds_its_decisions_only(w):
    log = w.desk.get(f"/api/v1/bookings/{w.booking['id']}/decisions/").json()
    assert log["count"] == 1
    assert log["results"][0]["booking"] == w.booking["id"]
    assert not AuditEvent.objects.filter(action="decision_log.read").exists()  # the spa's own read


def test_an_admin_reads_one_bookings_log_and_the_read_is_audited(w):
    response = w.admin.get(f"/api/v1/bookings/{w.booking['id']}/decisions/")
    assert response.status_code == 200
    assert response.json()["results"][0]["case"]["intake"] == w.intake_id
    [audit] = AuditEvent.objects.filter(action="decision_log.read")
    assert audit.actor_id == w.admin.user.pk
    assert audit.object_id == w.booking["id"]
    assert audit.object_type == "registry.booking"


@pytest.mark.parametrize("role", [Role.REGISTRY_ADMIN, Role.THERAPIST, Role.SCHOOL_STAFF])
def test_nobody_but_spa_staff_lists_decisions(w, client_for, role):
    assert_problem(client_for(role).get("/api/v1/decisions/"), 403, "permission-denied")


def test_the_assigned_therapist_does_not_read_the_log(w):
    assert_problem(w.ana_client.get(f"/api/v1/bookings/{w.booking['id']}/decisions/"), 403)


def test_the_list_takes_a_fixed_number_of_queries(w):
    one = count_queries(lambda: w.desk.get("/api/v1/decisions/"))
    for _ in range(3):
        w.book(w.beth, w.intake_id)
    assert count_queries(lambda: w.desk.get("/api/v1/decisions/")) == one
