"""Employments: a spa hires any therapist by id, at its own spa only; ending one (DELETE or
``end/``) re-checks the therapist's future bookings there."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tenancy import spa_today
from core.models import AuditEvent
from registry.choices import BookingStatus, Role
from registry.models import Booking, Employment
from tests.api.helpers import assert_problem, count_queries

EMPLOYMENT_KEYS = {"id", "spa", "therapist", "started_on", "ended_on"}


def test_a_spa_hires_a_therapist_it_cannot_read_yet(world, as_role):
    spa = as_role(Role.SPA_STAFF)
    body = {"spa": str(world.spa_a.pk), "therapist": str(world.therapist_b.pk)}
    response = spa.post("/api/v1/employments/", body, format="json")
    assert response.status_code == 201, response.content
    hired = response.json()
    assert set(hired) == EMPLOYMENT_KEYS
    assert hired["started_on"] == spa_today(world.spa_a).isoformat()
    assert hired["ended_on"] is None
    assert AuditEvent.objects.filter(action="employment.start", object_id=hired["id"]).exists()
    # ... and now reads them
    assert spa.get(f"/api/v1/therapists/{world.therapist_b.pk}/").status_code == 200


def test_a_start_date_may_be_given(world, as_role):
    body = {"spa": str(world.spa_a.pk), "therapist": str(world.therapist_b.pk), "started_on": "2030-02-01"}
    response = as_role(Role.SPA_STAFF).post("/api/v1/employments/", body, format="json")
    assert response.json()["started_on"] == "2030-02-01"


def test_hiring_at_another_spa_is_a_400_as_if_it_did_not_exist(world, as_role):
    body = {"spa": str(world.spa_b.pk), "therapist": str(world.therapist_a.pk)}
    errors = assert_problem(as_role(Role.SPA_STAFF).post("/api/v1/employments/", body, format="json"), 400)[
        "errors"
    ]
    assert "does not exist" in errors["spa"][0]
    assert not Employment.objects.filter(spa=world.spa_b, therapist=world.therapist_a).exists()


def test_hiring_twice_is_a_400(world, as_role):
    body = {"spa": str(world.spa_a.pk), "therapist": str(world.therapist_a.pk)}
    errors = assert_problem(as_role(Role.SPA_STAFF).post("/api/v1/employments/", body, format="json"), 400)[
        "errors"
    ]
    assert "therapist" in errors


def test_who_reads_which_employments(world, as_role):
    def spas(role):
        return sorted(e["spa"] for e in as_role(role).get("/api/v1/employments/").json()["results"])

    assert spas(Role.SPA_STAFF) == [str(world.spa_a.pk)]
    assert spas(Role.THERAPIST) == [str(world.spa_a.pk)]
    assert spas(Role.REGISTRY_ADMIN) == sorted([str(world.spa_a.pk), str(world.spa_b.pk)])
    assert_problem(as_role(Role.SCHOOL_STAFF).get("/api/v1/employments/"), 403)
    body = {"spa": str(world.spa_a.pk), "therapist": str(world.therapist_b.pk)}
    assert_problem(as_role(Role.THERAPIST).post("/api/v1/employments/", body, format="json"), 403)


@pytest.fixture
def employed(booking_world):
    """Ana's employment at Harbour Spa and a confirmed booking of hers tomorrow."""
    w = booking_world
    w.booking = w.book(w.ana, w.intake().json()["id"]).json()
    w.employment = Employment.objects.get(spa=w.spa, therapist=w.ana)
    return w


@pytest.mark.parametrize("how", ["delete", "end"])
def test_ending_an_employment_today_rechecks_future_bookings(employed, how):
    w = employed
    if how == "delete":
        response = w.desk.delete(f"/api/v1/employments/{w.employment.pk}/")
        assert response.status_code == 204
    else:
        response = w.desk.post(f"/api/v1/employments/{w.employment.pk}/end/")
        assert response.status_code == 200
        assert response.json()["ended_on"] == spa_today(w.spa).isoformat()
    w.employment.refresh_from_db()
    assert w.employment.ended_on == spa_today(w.spa)
    booking = w.desk.get(f"/api/v1/bookings/{w.booking['id']}/").json()
    assert booking["status"] == "needs-reassignment"
    assert [r["code"] for r in booking["reasons"]] == ["NOT_EMPLOYED_AT_SPA"]
    assert booking["suggested_therapists"] == [str(w.carla.pk)]
    log = w.desk.get(f"/api/v1/bookings/{w.booking['id']}/decisions/").json()["results"]
    assert [d["allowed"] for d in log] == [True, False]


def test_ending_twice_is_a_conflict(employed):
    w = employed
    assert w.desk.post(f"/api/v1/employments/{w.employment.pk}/end/").status_code == 200
    assert_problem(w.desk.post(f"/api/v1/employments/{w.employment.pk}/end/"), 409, "conflict")
    assert_problem(w.desk.delete(f"/api/v1/employments/{w.employment.pk}/"), 409, "conflict")


def test_another_spa_cannot_end_an_employment(employed):
    w = employed
    assert_problem(w.other_desk.delete(f"/api/v1/employments/{w.employment.pk}/"), 404)
    assert_problem(w.other_desk.post(f"/api/v1/employments/{w.employment.pk}/end/"), 404)
    assert_problem(w.ana_client.delete(f"/api/v1/employments/{w.employment.pk}/"), 403)
    w.employment.refresh_from_db()
    assert w.employment.ended_on is None
    assert Booking.objects.get(pk=w.booking["id"]).status == BookingStatus.CONFIRMED


def test_the_list_takes_a_fixed_number_of_queries(world, as_role):
    from credentials.tests.factories import TherapistFactory
    from registry.tests.factories import EmploymentFactory

    admin = as_role(Role.REGISTRY_ADMIN)
    one = count_queries(lambda: admin.get("/api/v1/employments/"))
    for _ in range(3):
        EmploymentFactory(spa=world.spa_a, therapist=TherapistFactory(), started_on=dt.date(2024, 1, 1))
    assert count_queries(lambda: admin.get("/api/v1/employments/")) == one
