"""Intakes: the red-flag screening before a session, with its referral; client data read only by
the recording spa and the therapist assigned to a booking on it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from protocols.tests.factories import ConditionFactory
from registry.choices import Role
from tests.api.helpers import assert_problem, count_queries

INTAKE_KEYS = {
    "id",
    "spa",
    "client_ref",
    "conditions",
    "focus_regions",
    "screening",
    "clearances",
    "pain_score",
    "recorded_at",
    "valid_until",
    "referral",
}


def test_an_intake_is_recorded_with_its_fields_and_validity(booking_world, settings):
    w = booking_world
    response = w.intake(focus_regions=["shoulder"], pain_score=6)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == INTAKE_KEYS
    assert body["spa"] == str(w.spa.pk)
    assert body["client_ref"] == "C-0001"
    assert body["conditions"] == ["M51.16"]
    assert body["focus_regions"] == ["shoulder"]
    assert body["screening"] == {"ces-bladder-bowel": False, "recent-trauma": False}
    assert body["clearances"] == {}
    assert body["pain_score"] == 6
    assert body["referral"] is None
    recorded = dt.datetime.fromisoformat(body["recorded_at"])
    valid_until = dt.datetime.fromisoformat(body["valid_until"])
    assert valid_until - recorded == dt.timedelta(days=settings.REGISTRY_INTAKE_VALID_DAYS)
    assert abs(recorded - timezone.now()) < dt.timedelta(minutes=1)
    assert w.desk.get(f"/api/v1/intakes/{body['id']}/").json() == body


def test_every_question_of_the_intakes_regions_must_be_answered(booking_world):
    response = booking_world.intake(screening={"recent-trauma": False})
    errors = assert_problem(response, 400, "validation-error")["errors"]
    assert list(errors) == ["screening.ces-bladder-bowel"]


def test_a_shoulder_intake_asks_no_lumbar_question_but_whole_body_asks_all(booking_world):
    ConditionFactory(code="M75.1", region="shoulder")
    response = booking_world.intake(conditions=["M75.1"], screening={})
    assert response.status_code == 201, response.content
    response = booking_world.intake(conditions=["WELLNESS"], screening={})
    assert set(assert_problem(response, 400)["errors"]) == {
        "screening.ces-bladder-bowel",
        "screening.recent-trauma",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"conditions": ["M51.16", "NOPE"]}, "conditions.1"),
        ({"conditions": []}, "conditions"),
        ({"screening": {"ces-bladder-bowel": "no", "recent-trauma": False}}, "screening.ces-bladder-bowel"),
        ({"pain_score": 11}, "pain_score"),
        ({"focus_regions": ["tail"]}, "focus_regions.0"),
        ({"client_ref": ""}, "client_ref"),
    ],
)
def test_invalid_fields_are_400_with_dotted_paths(booking_world, overrides, field):
    errors = assert_problem(booking_world.intake(**overrides), 400, "validation-error")["errors"]
    assert field in errors, errors


def test_a_yes_to_an_emergency_flag_refers_to_emergency_care(booking_world):
    body = booking_world.intake(screening={"ces-bladder-bowel": True, "recent-trauma": True}).json()
    assert body["referral"] == {"action": "refer-emergency", "questions": ["ces-bladder-bowel"]}


def test_a_physician_flag_is_lifted_by_a_recorded_clearance(booking_world):
    w = booking_world
    flagged = w.intake(screening={"ces-bladder-bowel": False, "recent-trauma": True}).json()
    assert flagged["referral"] == {"action": "refer-physician", "questions": ["recent-trauma"]}
    cleared_on = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
    cleared = w.intake(
        screening={"ces-bladder-bowel": False, "recent-trauma": True},
        clearances={"recent-trauma": {"cleared_on": cleared_on, "cleared_by": "Dr. Ada Osei"}},
    ).json()
    assert cleared["referral"] is None
    assert cleared["clearances"] == {
        "recent-trauma": {"cleared_on": cleared_on, "cleared_by": "Dr. Ada Osei"}
    }


def test_an_emergency_flag_cannot_be_cleared(booking_world):
    response = booking_world.intake(
        screening={"ces-bladder-bowel": True, "recent-trauma": False},
        clearances={"ces-bladder-bowel": {"cleared_on": "2026-01-01", "cleared_by": "Dr. No"}},
    )
    assert "clearances.ces-bladder-bowel" in assert_problem(response, 400)["errors"]


def test_a_clearance_needs_its_date_and_physician(booking_world):
    response = booking_world.intake(
        screening={"ces-bladder-bowel": False, "recent-trauma": True},
        clearances={"recent-trauma": {"cleared_on": "yesterday"}},
    )
    errors = assert_problem(response, 400)["errors"]
    assert {"clearances.recent-trauma.cleared_on", "clearances.recent-trauma.cleared_by"} <= set(errors)


def test_another_spa_cannot_be_named(booking_world):
    w = booking_world
    errors = assert_problem(w.intake(spa=str(w.other_spa.pk)), 400)["errors"]
    assert "does not exist" in errors["spa"][0]


def test_spa_staff_read_their_spas_intakes_only(booking_world):
    w = booking_world
    mine = w.intake().json()
    theirs = w.intake(client=w.other_desk, spa=str(w.other_spa.pk), client_ref="OTHER-1").json()
    listed = w.desk.get("/api/v1/intakes/").json()
    assert [i["id"] for i in listed["results"]] == [mine["id"]]
    assert_problem(w.desk.get(f"/api/v1/intakes/{theirs['id']}/"), 404, "not-found")
    assert w.desk.get("/api/v1/intakes/", {"client_ref": "C-0001"}).json()["count"] == 1
    assert w.desk.get("/api/v1/intakes/", {"client_ref": "nobody"}).json()["count"] == 0


def test_a_therapist_reads_the_intake_of_a_booking_assigned_to_them_only(booking_world):
    w = booking_world
    booked = w.intake(client_ref="C-1").json()
    unbooked = w.intake(client_ref="C-2").json()
    assert w.book(w.ana, booked["id"]).status_code == 201
    assert [i["id"] for i in w.ana_client.get("/api/v1/intakes/").json()["results"]] == [booked["id"]]
    assert w.ana_client.get(f"/api/v1/intakes/{booked['id']}/").json()["client_ref"] == "C-1"
    assert_problem(w.ana_client.get(f"/api/v1/intakes/{unbooked['id']}/"), 404)
    assert_problem(w.beth_client.get(f"/api/v1/intakes/{booked['id']}/"), 404)
    assert w.beth_client.get("/api/v1/intakes/").json()["count"] == 0


@pytest.mark.parametrize("role", [Role.REGISTRY_ADMIN, Role.SCHOOL_STAFF])
def test_admins_and_schools_read_no_intakes(booking_world, client_for, role):
    intake = booking_world.intake().json()
    client = client_for(role)
    assert_problem(client.get("/api/v1/intakes/"), 403, "permission-denied")
    assert_problem(client.get(f"/api/v1/intakes/{intake['id']}/"), 403, "permission-denied")


def test_only_spa_staff_record_intakes(booking_world):
    w = booking_world
    for client in (w.ana_client, w.admin, w.school_staff):
        assert_problem(w.intake(client=client), 403, "permission-denied")


def test_the_list_takes_a_fixed_number_of_queries(booking_world):
    w = booking_world
    w.intake()
    one = count_queries(lambda: w.desk.get("/api/v1/intakes/"))
    for n in range(4):
        w.intake(client_ref=f"C-{n}", conditions=["M51.16", "WELLNESS"])
    assert count_queries(lambda: w.desk.get("/api/v1/intakes/")) == one
