"""Catalog writes (registry admins): protocols, conditions and screening questions created and
changed through the catalog services — the representation back, every problem at once by
dotted path, slugs and codes fixed, and a tightened rule re-checking future bookings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from protocols.models import Condition, Protocol, ScreeningQuestion
from protocols.tests.factories import ProtocolFactory
from registry.choices import BookingStatus, Role
from tests.api.helpers import assert_problem

PROTOCOL = {
    "slug": "neck-whiplash",
    "name": "Neck after whiplash",
    "region": "cervical",
    "max_focus_minutes": 20,
    "validity_months": 24,
    "min_instructor_years": 5,
    "min_instructor_cases": 200,
    "prerequisites": ["low-back-radiculopathy"],
    # out of teaching order on purpose: the answer lists them in teaching order
    "modules": [
        {"kind": "harm-avoidance", "title": "How not to cause harm", "min_hours": 6},
        {"kind": "fundamentals", "title": "Fundamentals", "min_hours": 8},
        {"kind": "critical-details", "title": "Critical details", "min_hours": "10.5"},
    ],
    "source": "Registry clinical board, 2026",
    "version": "2",
}


@pytest.fixture
def admin(world, as_role):
    return as_role(Role.REGISTRY_ADMIN)


def _json(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


# --- protocols ---------------------------------------------------------------------------------


def test_an_admin_creates_a_protocol_and_gets_its_representation(admin, api_client):
    body = _json(admin.post("/api/v1/protocols/", PROTOCOL, format="json"), 201)
    assert body == {
        **PROTOCOL,
        "modules": [
            {"kind": "fundamentals", "title": "Fundamentals", "min_hours": 8.0},
            {"kind": "critical-details", "title": "Critical details", "min_hours": 10.5},
            {"kind": "harm-avoidance", "title": "How not to cause harm", "min_hours": 6.0},
        ],
        "supervised_sessions": 0,  # issue 23: none unless given
    }
    assert api_client.get("/api/v1/protocols/neck-whiplash/").json() == body


def test_version_and_prerequisites_are_optional(admin):
    fields = {k: v for k, v in PROTOCOL.items() if k not in ("version", "prerequisites")}
    body = _json(admin.post("/api/v1/protocols/", fields, format="json"), 201)
    assert (body["version"], body["prerequisites"]) == ("1", [])


def test_a_malformed_protocol_answers_every_field_by_dotted_path(admin):
    bad = {
        **PROTOCOL,
        "region": "elbow",
        "max_focus_minutes": "a lot",
        "modules": [{"kind": "fundamentals", "title": "Fundamentals", "min_hours": "many"}, {"kind": "x"}],
    }
    del bad["source"]
    body = assert_problem(admin.post("/api/v1/protocols/", bad, format="json"), 400, "validation-error")
    assert {
        "region",
        "max_focus_minutes",
        "source",
        "modules.0.min_hours",
        "modules.1.kind",
        "modules.1.title",
        "modules.1.min_hours",
    } <= set(body["errors"])
    assert not Protocol.objects.filter(slug="neck-whiplash").exists()


def test_the_services_rules_come_back_by_dotted_path_too(admin):
    bad = {
        **PROTOCOL,
        "slug": "Not A Slug",
        "prerequisites": ["no-such-protocol"],
        "modules": PROTOCOL["modules"][:2],
        "max_focus_minutes": 0,
    }
    body = assert_problem(admin.post("/api/v1/protocols/", bad, format="json"), 400, "validation-error")
    assert {"slug", "prerequisites.0", "modules", "max_focus_minutes"} <= set(body["errors"])
    assert "harm-avoidance" in " ".join(body["errors"]["modules"])


def test_a_second_protocol_with_a_slug_in_use_is_a_400(admin):
    body = assert_problem(
        admin.post("/api/v1/protocols/", {**PROTOCOL, "slug": "low-back-radiculopathy"}, format="json"), 400
    )
    assert "already exists" in body["errors"]["slug"][0]


def test_an_admin_changes_a_protocol_but_never_its_slug(admin, world):
    response = admin.patch(
        f"/api/v1/protocols/{world.protocol.slug}/",
        {"name": "Lumbar radiculopathy", "slug": "renamed", "validity_months": 36},
        format="json",
    )
    body = _json(response, 200)
    assert body["slug"] == "low-back-radiculopathy"
    assert (body["name"], body["validity_months"]) == ("Lumbar radiculopathy", 36)
    assert not Protocol.objects.filter(slug="renamed").exists()


def test_changing_modules_gives_all_three_again(admin, world):
    url = f"/api/v1/protocols/{world.protocol.slug}/"
    modules = [{**m, "min_hours": 12} for m in PROTOCOL["modules"]]
    body = _json(admin.patch(url, {"modules": modules}, format="json"), 200)
    assert [m["min_hours"] for m in body["modules"]] == [12.0, 12.0, 12.0]
    problem = assert_problem(admin.patch(url, {"modules": modules[:1]}, format="json"), 400)
    assert "modules" in problem["errors"]


def test_a_prerequisite_cycle_is_refused(admin, world):
    ProtocolFactory(slug="advanced-lumbar", prerequisites=[world.protocol])
    body = assert_problem(
        admin.patch(
            f"/api/v1/protocols/{world.protocol.slug}/", {"prerequisites": ["advanced-lumbar"]}, format="json"
        ),
        400,
    )
    assert "prerequisites" in body["errors"]


def test_changing_an_unknown_protocol_is_a_404(admin):
    assert_problem(admin.patch("/api/v1/protocols/nope/", {"name": "x"}, format="json"), 404, "not-found")


def test_lowering_a_focus_limit_rechecks_future_bookings(gate_world, client_for):
    booking = gate_world.book(gate_world.ana)  # 20 focus minutes on the low back
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(
        "/api/v1/protocols/low-back-radiculopathy/", {"max_focus_minutes": 15}, format="json"
    )
    assert _json(response, 200)["max_focus_minutes"] == 15
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "FOCUS_EXCEEDS_PROTOCOL_LIMIT" in {r["code"] for r in booking.reasons}


def test_renaming_a_protocol_leaves_bookings_alone(gate_world, client_for):
    booking = gate_world.book(gate_world.ana)
    admin = client_for(Role.REGISTRY_ADMIN)
    _json(admin.patch("/api/v1/protocols/low-back-radiculopathy/", {"name": "LBR"}, format="json"), 200)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


# --- conditions --------------------------------------------------------------------------------


def test_an_admin_creates_a_condition_with_a_dotted_code(admin, api_client):
    ProtocolFactory(slug="sciatica-care")
    condition = {
        "code": "M54.16",
        "code_system": "ICD-10-CM FY2026",
        "name": "Radiculopathy, lumbar region",
        "region": "lumbar",
        "requirements": [["low-back-radiculopathy", "sciatica-care"]],
        "source": "Registry clinical board, 2026",
    }
    body = _json(admin.post("/api/v1/conditions/", condition, format="json"), 201)
    assert body == condition
    assert api_client.get("/api/v1/conditions/M54.16/").json() == body


def test_a_local_code_needs_no_code_system_and_no_requirements(admin):
    body = _json(
        admin.post(
            "/api/v1/conditions/",
            {
                "code": "RELAX",
                "name": "Relaxation",
                "region": "whole-body",
                "requirements": [],
                "source": "x",
            },
            format="json",
        ),
        201,
    )
    assert (body["code_system"], body["requirements"]) == ("", [])


def test_a_malformed_condition_answers_by_dotted_path(admin):
    shape = assert_problem(
        admin.post(
            "/api/v1/conditions/",
            {"code": "M54.17", "name": "x", "region": "lumbar", "requirements": [["a"], "b"], "source": "x"},
            format="json",
        ),
        400,
    )
    assert "requirements.1" in shape["errors"]
    rules = assert_problem(
        admin.post(
            "/api/v1/conditions/",
            {
                "code": "not icd",
                "code_system": "ICD-10-CM FY2026",
                "name": "x",
                "region": "lumbar",
                "requirements": [["no-such-protocol"], []],
                "source": "x",
            },
            format="json",
        ),
        400,
    )
    assert {"code", "requirements.0", "requirements.1"} <= set(rules["errors"])
    assert not Condition.objects.filter(name="x").exists()


def test_an_admin_changes_a_conditions_requirements_by_code(admin, world):
    ProtocolFactory(slug="sciatica-care")
    body = _json(
        admin.patch(
            "/api/v1/conditions/M51.16/",
            {"requirements": [["sciatica-care"], ["low-back-radiculopathy"]], "code": "M99.99"},
            format="json",
        ),
        200,
    )
    assert body["code"] == "M51.16"
    assert body["requirements"] == [["sciatica-care"], ["low-back-radiculopathy"]]


def test_a_tightened_requirement_rechecks_future_bookings(gate_world, client_for):
    ProtocolFactory(slug="sciatica-care")
    booking = gate_world.book(gate_world.ana)
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(
        "/api/v1/conditions/M51.16/",
        {"requirements": [["low-back-radiculopathy"], ["sciatica-care"]]},
        format="json",
    )
    _json(response, 200)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "PROTOCOL_NOT_CERTIFIED" in {r["code"] for r in booking.reasons}


# --- screening questions -----------------------------------------------------------------------


def test_an_admin_creates_and_changes_a_screening_question(admin, api_client):
    question = {
        "code": "progressive-leg-weakness",
        "text": "Is weakness in a leg getting worse?",
        "action": "refer-emergency",
        "regions": ["lumbar", "lower-limb"],
        "source": "Registry clinical board, 2026",
    }
    assert _json(admin.post("/api/v1/screening-questions/", question, format="json"), 201) == question
    body = _json(
        admin.patch(
            "/api/v1/screening-questions/progressive-leg-weakness/",
            {"regions": [], "text": "Any leg getting weaker?"},
            format="json",
        ),
        200,
    )
    assert body == {**question, "regions": [], "text": "Any leg getting weaker?"}
    assert api_client.get("/api/v1/screening-questions/progressive-leg-weakness/").json() == body


def test_regions_default_to_every_intake(admin):
    body = _json(
        admin.post(
            "/api/v1/screening-questions/",
            {"code": "fever", "text": "Fever?", "action": "refer-physician", "source": "x"},
            format="json",
        ),
        201,
    )
    assert body["regions"] == []


def test_a_malformed_screening_question_answers_by_dotted_path(admin, world):
    body = assert_problem(
        admin.post(
            "/api/v1/screening-questions/",
            {
                "code": "x",
                "text": "",
                "action": "massage-anyway",
                "regions": ["lumbar", "tail"],
                "source": "x",
            },
            format="json",
        ),
        400,
    )
    assert {"text", "action", "regions.1"} <= set(body["errors"])
    duplicate = assert_problem(
        admin.post(
            "/api/v1/screening-questions/",
            {"code": world.question.code, "text": "Again?", "action": "refer-physician", "source": "x"},
            format="json",
        ),
        400,
    )
    assert "code" in duplicate["errors"]
    assert ScreeningQuestion.objects.count() == 1


def test_a_red_flag_made_more_urgent_rechecks_bookings_that_answered_it_yes(gate_world, client_for):
    cleared = gate_world.book(
        gate_world.ana,
        screening={"recent-trauma": True},
        clearances={
            "recent-trauma": {
                "cleared_on": timezone.localdate() - dt.timedelta(days=1),
                "cleared_by": "Dr Okafor",
            }
        },
    )
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(
        "/api/v1/screening-questions/recent-trauma/", {"action": "refer-emergency"}, format="json"
    )
    assert _json(response, 200)["action"] == "refer-emergency"
    cleared.refresh_from_db()
    assert cleared.status == BookingStatus.NEEDS_REASSIGNMENT  # a clearance never lifts an emergency
    assert "RED_FLAG_REFERRAL" in {r["code"] for r in cleared.reasons}


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_registry_admins_write_the_catalog(world, as_role, role):
    client = as_role(role)
    assert_problem(client.post("/api/v1/protocols/", PROTOCOL, format="json"), 403, "permission-denied")
    assert_problem(
        client.patch("/api/v1/conditions/M51.16/", {"name": "x"}, format="json"), 403, "permission-denied"
    )
    assert_problem(
        client.patch(f"/api/v1/screening-questions/{world.question.code}/", {"text": "x"}, format="json"),
        403,
        "permission-denied",
    )


def test_put_and_delete_are_not_offered(admin, world):
    url = f"/api/v1/protocols/{world.protocol.slug}/"
    assert_problem(admin.put(url, PROTOCOL, format="json"), 405, "method-not-allowed")
    assert_problem(admin.delete(url), 405, "method-not-allowed")
