"""Bookings: confirmed only when the engine allows (409 ``booking-refused`` with every reason
otherwise), listed and filtered, cancelled, completed, reassigned like a new booking."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.utils import timezone

from registry.choices import BookingStatus, Role
from registry.models import Booking, Decision
from tests.api.helpers import assert_problem, count_queries

BOOKING_KEYS = {
    "id",
    "spa",
    "therapist",
    "supervisor",  # issue 23: null unless the session is supervised
    "intake",
    "start",
    "end",
    "focus_region",
    "focus_minutes",
    "status",
    "reasons",
    "warnings",
    "suggested_therapists",
    "created_at",
}


@pytest.fixture
def w(booking_world):
    booking_world.intake_id = booking_world.intake().json()["id"]
    return booking_world


def test_an_allowed_booking_is_confirmed(w):
    response = w.book(w.ana, w.intake_id, duration_minutes=90)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == BOOKING_KEYS
    assert body["status"] == "confirmed"
    assert (body["spa"], body["therapist"], body["intake"]) == (str(w.spa.pk), str(w.ana.pk), w.intake_id)
    start, end = dt.datetime.fromisoformat(body["start"]), dt.datetime.fromisoformat(body["end"])
    assert start == w.start
    assert end - start == dt.timedelta(minutes=90)
    assert (body["focus_region"], body["focus_minutes"]) == ("lumbar", 20)
    assert body["reasons"] == body["suggested_therapists"] == []
    assert w.desk.get(f"/api/v1/bookings/{body['id']}/").json() == body


def test_a_refusal_is_a_409_problem_with_every_reason_and_is_logged(w):
    response = w.book(w.beth, w.intake_id, focus_minutes=40)
    problem = assert_problem(response, 409, "booking-refused")
    assert [r["code"] for r in problem["reasons"]] == [
        "PROTOCOL_NOT_CERTIFIED",
        "FOCUS_EXCEEDS_PROTOCOL_LIMIT",
    ]
    assert Booking.objects.count() == 0
    [decision] = Decision.objects.all()
    assert decision.allowed is False
    assert decision.booking is None


def test_a_naive_start_is_a_400(w):
    from api.serializers.writes_common import NAIVE_TIME

    errors = assert_problem(w.book(w.ana, w.intake_id, start="2030-01-01T10:00:00"), 400)["errors"]
    assert errors["start"] == [NAIVE_TIME]  # the same words as for a scope's `at`


def test_an_expired_intake_is_refused(w, settings):
    late = (w.start + dt.timedelta(days=settings.REGISTRY_INTAKE_VALID_DAYS + 1)).isoformat()
    problem = assert_problem(w.book(w.ana, w.intake_id, start=late), 409, "booking-refused")
    assert [r["code"] for r in problem["reasons"]] == ["INTAKE_EXPIRED"]


def test_lists_filter_by_status_therapist_and_start(w):
    first = w.book(w.ana, w.intake_id).json()
    later = (w.start + dt.timedelta(hours=3)).isoformat()
    second = w.book(w.carla, w.intake().json()["id"], start=later).json()
    w.desk.post(f"/api/v1/bookings/{first['id']}/cancel/")

    def ids(**query):
        response = w.desk.get("/api/v1/bookings/", query)
        assert response.status_code == 200, response.content
        return [b["id"] for b in response.json()["results"]]

    assert ids() == [first["id"], second["id"]]
    assert ids(status="cancelled") == [first["id"]]
    assert ids(status="confirmed") == [second["id"]]
    assert ids(therapist=str(w.carla.pk)) == [second["id"]]
    assert ids(start_after=(w.start + dt.timedelta(hours=1)).isoformat()) == [second["id"]]
    # the offset's "+" URL-encoded, as clients do
    url = "/api/v1/bookings/?start_after=" + quote((w.start + dt.timedelta(hours=1)).isoformat())
    assert [b["id"] for b in w.desk.get(url).json()["results"]] == [second["id"]]
    assert (
        "start_after"
        in assert_problem(w.desk.get("/api/v1/bookings/", {"start_after": "2030-01-01T10:00"}))["errors"]
    )
    assert "status" in assert_problem(w.desk.get("/api/v1/bookings/", {"status": "maybe"}))["errors"]


def test_a_therapist_sees_the_bookings_assigned_to_them(w):
    mine = w.book(w.ana, w.intake_id).json()
    later = (w.start + dt.timedelta(hours=3)).isoformat()
    w.book(w.carla, w.intake().json()["id"], start=later)
    assert [b["id"] for b in w.ana_client.get("/api/v1/bookings/").json()["results"]] == [mine["id"]]
    assert w.ana_client.get(f"/api/v1/bookings/{mine['id']}/").status_code == 200
    assert_problem(w.beth_client.get(f"/api/v1/bookings/{mine['id']}/"), 404)
    assert_problem(w.ana_client.post(f"/api/v1/bookings/{mine['id']}/cancel/"), 403)


def test_another_spas_bookings_are_not_there(w):
    other_intake = w.intake(client=w.other_desk, spa=str(w.other_spa.pk)).json()["id"]
    theirs = w.other_desk.post(
        "/api/v1/bookings/",
        {**w.slot(w.dora, other_intake), "spa": str(w.other_spa.pk)},
        format="json",
    )
    assert theirs.status_code == 201, theirs.content
    booking_id = theirs.json()["id"]
    assert w.desk.get("/api/v1/bookings/").json()["count"] == 0
    for method, path in [
        ("get", f"/api/v1/bookings/{booking_id}/"),
        ("post", f"/api/v1/bookings/{booking_id}/cancel/"),
        ("post", f"/api/v1/bookings/{booking_id}/complete/"),
        ("get", f"/api/v1/bookings/{booking_id}/decisions/"),
    ]:
        assert_problem(getattr(w.desk, method)(path), 404, "not-found")
    reassign = w.desk.post(
        f"/api/v1/bookings/{booking_id}/reassign/", {"therapist": str(w.ana.pk)}, format="json"
    )
    assert_problem(reassign, 404)
    assert Booking.objects.get(pk=booking_id).status == BookingStatus.CONFIRMED


def test_cancel_frees_the_slot_and_cancelling_twice_is_a_conflict(w):
    booking = w.book(w.ana, w.intake_id).json()
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert_problem(w.desk.post(f"/api/v1/bookings/{booking['id']}/cancel/"), 409, "conflict")
    assert w.book(w.ana, w.intake().json()["id"]).status_code == 201  # the slot is free again


def test_a_booking_is_completed_only_once_started(w):
    booking = w.book(w.ana, w.intake_id).json()
    assert_problem(w.desk.post(f"/api/v1/bookings/{booking['id']}/complete/"), 409, "conflict")
    Booking.objects.filter(pk=booking["id"]).update(
        start=timezone.now() - dt.timedelta(minutes=30), end=timezone.now() + dt.timedelta(minutes=30)
    )
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/complete/")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_reassignment_is_decided_like_a_new_booking(w):
    booking = w.book(w.ana, w.intake_id).json()
    refused = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/reassign/", {"therapist": str(w.beth.pk)}, format="json"
    )
    assert [r["code"] for r in assert_problem(refused, 409, "booking-refused")["reasons"]] == [
        "PROTOCOL_NOT_CERTIFIED"
    ]
    assert w.desk.get(f"/api/v1/bookings/{booking['id']}/").json()["therapist"] == str(w.ana.pk)
    moved = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/reassign/", {"therapist": str(w.carla.pk)}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["therapist"] == str(w.carla.pk)
    assert (
        "therapist"
        in assert_problem(
            w.desk.post(
                f"/api/v1/bookings/{booking['id']}/reassign/", {"therapist": str(w.dora.pk)}, format="json"
            ),
            400,
        )["errors"]
    )


@pytest.mark.parametrize("role", [Role.REGISTRY_ADMIN, Role.SCHOOL_STAFF])
def test_admins_and_schools_neither_list_nor_read_bookings(w, client_for, role):
    booking = w.book(w.ana, w.intake_id).json()
    client = client_for(role)
    assert_problem(client.get("/api/v1/bookings/"), 403, "permission-denied")
    assert_problem(client.get(f"/api/v1/bookings/{booking['id']}/"), 403, "permission-denied")
    assert_problem(w.book(w.ana, w.intake_id, client=client), 403, "permission-denied")


def test_the_list_takes_a_fixed_number_of_queries(w):
    w.book(w.ana, w.intake_id)
    one = count_queries(lambda: w.desk.get("/api/v1/bookings/"))
    for hours in (2, 4, 6):
        start = (w.start + dt.timedelta(hours=hours)).isoformat()
        assert w.book(w.carla, w.intake().json()["id"], start=start).status_code == 201
    assert count_queries(lambda: w.desk.get("/api/v1/bookings/")) == one


def test_a_collision_at_another_spa_is_reported_without_its_booking(w):
    from registry.tests.factories import EmploymentFactory

    EmploymentFactory(spa=w.other_spa, therapist=w.ana)
    elsewhere_intake = w.intake(client=w.other_desk, spa=str(w.other_spa.pk)).json()["id"]
    elsewhere = w.other_desk.post(
        "/api/v1/bookings/", {**w.slot(w.ana, elsewhere_intake), "spa": str(w.other_spa.pk)}, format="json"
    )
    assert elsewhere.status_code == 201, elsewhere.content
    problem = assert_problem(w.book(w.ana, w.intake_id), 409, "booking-refused")
    [reason] = problem["reasons"]
    assert reason["code"] == "THERAPIST_UNAVAILABLE"
    assert "booking" not in reason  # another spa's booking is not named
    assert elsewhere.json()["id"] not in str(problem)
