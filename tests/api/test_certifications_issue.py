"""Issuing and revoking certifications over HTTP: 201 with the certification, or 422
``issuance-refused`` with every reason; school staff issue for their own school (any
therapist by id) and revoke only their school's; bookings resting on a revoked certification
are re-checked."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from credentials.models import Certification, ModuleCompletion
from credentials.services import school_authorization_withdraw
from credentials.tests.factories import (
    ClinicalExperienceFactory,
    InstructorFactory,
    LicenseFactory,
    SchoolAuthorizationFactory,
    TherapistFactory,
)
from protocols.tests.factories import ProtocolFactory
from registry.choices import BookingStatus, Role
from tests.api.helpers import assert_problem

KEYS = {
    "id",
    "serial",
    "therapist",
    "protocol",
    "school",
    "instructor",
    "status",
    "taught_on",
    "valid_from",
    "expires_at",
    "issued_at",
    "revoked_at",
    "review_required",
    "provisional",
    "supervised_sessions_done",
    "scope_full_at",
}
URL = "/api/v1/certifications/"


@pytest.fixture
def newcomer(world):
    """A licensed therapist no school has certified yet (school A cannot read them)."""
    therapist = TherapistFactory(name="Nina Newcomer")
    LicenseFactory(therapist=therapist)
    return therapist


def _body(world, therapist, **changes) -> dict:
    taught_on = timezone.localdate() - dt.timedelta(days=14)
    modules = [
        {"kind": kind, "completed_on": taught_on.isoformat(), "hours": "8", "assessment_passed": True}
        for kind in ("fundamentals", "critical-details", "harm-avoidance")
    ]
    return {
        "therapist": str(therapist.pk),
        "protocol": world.protocol.slug,
        "school": str(world.school_a.pk),
        "instructor": str(world.instructor_a.pk),
        "taught_on": taught_on.isoformat(),
        "modules": modules,
        **changes,
    }


def _codes(response) -> list[str]:
    body = assert_problem(response, 422, "issuance-refused")
    assert all(set(reason) >= {"code", "message"} for reason in body["reasons"])
    return sorted(reason["code"] for reason in body["reasons"])


# --- issuing -----------------------------------------------------------------------------------


def test_school_staff_issue_for_their_school_to_any_therapist_by_id(world, as_role, newcomer):
    client = as_role(Role.SCHOOL_STAFF)
    assert_problem(client.get(f"/api/v1/therapists/{newcomer.pk}/"), 404)  # not readable yet
    response = client.post(URL, _body(world, newcomer), format="json")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == KEYS
    assert body["therapist"] == str(newcomer.pk)
    assert (body["protocol"], body["school"], body["instructor"]) == (
        world.protocol.slug,
        str(world.school_a.pk),
        str(world.instructor_a.pk),
    )
    assert (body["status"], body["revoked_at"], body["review_required"]) == ("active", None, False)
    certification = Certification.objects.get(pk=body["id"])
    assert certification.serial == body["serial"]
    assert ModuleCompletion.objects.filter(certification=certification).count() == 3
    assert client.get(f"/api/v1/certifications/{body['id']}/").json() == body
    assert client.get(f"/api/v1/therapists/{newcomer.pk}/").status_code == 200  # now certified by A


def test_valid_from_sets_the_window(world, as_role, newcomer):
    valid_from = (timezone.now() + dt.timedelta(days=10)).replace(microsecond=0)
    offset = valid_from.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    response = as_role(Role.REGISTRY_ADMIN).post(
        URL, _body(world, newcomer, valid_from=offset.isoformat()), format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["status"] == "not-yet-valid"
    assert dt.datetime.fromisoformat(body["valid_from"]) == valid_from
    assert dt.datetime.fromisoformat(body["expires_at"]) == valid_from + relativedelta(months=24)


def test_a_naive_valid_from_is_a_400(world, as_role, newcomer):
    response = as_role(Role.SCHOOL_STAFF).post(
        URL, _body(world, newcomer, valid_from="2027-01-01T09:00:00"), format="json"
    )
    assert "valid_from" in assert_problem(response, 400, "validation-error")["errors"]


def test_naming_another_school_is_a_400_as_if_it_did_not_exist(world, as_role, newcomer):
    response = as_role(Role.SCHOOL_STAFF).post(
        URL, _body(world, newcomer, school=str(world.school_b.pk)), format="json"
    )
    body = assert_problem(response, 400, "validation-error")
    assert "does not exist" in body["errors"]["school"][0]
    assert not Certification.objects.filter(therapist=newcomer).exists()


def test_a_registry_admin_issues_for_any_school(world, as_role, newcomer):
    SchoolAuthorizationFactory(school=world.school_b, protocol=world.protocol)
    ClinicalExperienceFactory(instructor=world.instructor_b, protocol=world.protocol)
    body = _body(world, newcomer, school=str(world.school_b.pk), instructor=str(world.instructor_b.pk))
    response = as_role(Role.REGISTRY_ADMIN).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["school"] == str(world.school_b.pk)


def test_an_unknown_therapist_is_a_400(world, as_role):
    body = {**_body(world, world.therapist_a), "therapist": str(uuid.uuid4())}
    response = as_role(Role.SCHOOL_STAFF).post(URL, body, format="json")
    assert "therapist" in assert_problem(response, 400)["errors"]


def test_malformed_modules_answer_by_dotted_path(world, as_role, newcomer):
    body = _body(world, newcomer)
    body["modules"][0]["hours"] = "eight"
    body["modules"][1]["kind"] = "vibes"
    del body["modules"][2]["assessment_passed"]
    errors = assert_problem(as_role(Role.SCHOOL_STAFF).post(URL, body, format="json"), 400)["errors"]
    assert {"modules.0.hours", "modules.1.kind", "modules.2.assessment_passed"} <= set(errors)


def test_the_services_input_checks_answer_by_dotted_path(world, as_role, newcomer):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    body = _body(world, newcomer, taught_on=tomorrow)
    body["modules"][1]["completed_on"] = tomorrow
    body["modules"][2]["kind"] = "fundamentals"
    errors = assert_problem(as_role(Role.SCHOOL_STAFF).post(URL, body, format="json"), 400)["errors"]
    assert {"taught_on", "modules.1.completed_on", "modules.2.kind"} <= set(errors)


def _not_authorized(world, therapist):
    school_authorization_withdraw(actor=None, authorization=world.authorization_a, reason="Inspection")
    return _body(world, therapist)


def _instructor_elsewhere(world, therapist):
    instructor = InstructorFactory(schools=[world.school_b])
    ClinicalExperienceFactory(instructor=instructor, protocol=world.protocol)
    return _body(world, therapist, instructor=str(instructor.pk))


def _instructor_unqualified(world, therapist):
    instructor = InstructorFactory(schools=[world.school_a])
    return _body(world, therapist, instructor=str(instructor.pk))


def _unlicensed(world, therapist):
    return _body(world, TherapistFactory())


def _suspended(world, therapist):
    suspended = TherapistFactory()
    LicenseFactory(therapist=suspended, status="suspended")
    return _body(world, suspended)


def _prerequisite(world, therapist):
    advanced = ProtocolFactory(slug="advanced-lumbar", prerequisites=[world.protocol])
    SchoolAuthorizationFactory(school=world.school_a, protocol=advanced)
    ClinicalExperienceFactory(instructor=world.instructor_a, protocol=advanced)
    return _body(world, therapist, protocol=advanced.slug)


def _module_short(world, therapist):
    body = _body(world, therapist)
    body["modules"][2]["hours"] = "7.5"  # harm avoidance needs 8
    return body


@pytest.mark.parametrize(
    ("code", "arrange"),
    [
        ("SCHOOL_NOT_AUTHORIZED", _not_authorized),
        ("INSTRUCTOR_NOT_AT_SCHOOL", _instructor_elsewhere),
        ("INSTRUCTOR_NOT_QUALIFIED", _instructor_unqualified),
        ("LICENSE_MISSING", _unlicensed),
        ("LICENSE_INACTIVE", _suspended),
        ("PREREQUISITE_MISSING", _prerequisite),
        ("MODULE_INCOMPLETE", _module_short),
    ],
)
def test_each_issuance_rule_refuses_with_its_reason(world, as_role, newcomer, code, arrange):
    body = arrange(world, newcomer)
    before = Certification.objects.count()
    response = as_role(Role.SCHOOL_STAFF).post(URL, body, format="json")
    assert _codes(response) == [code]
    assert Certification.objects.count() == before


def test_a_refusal_names_the_unmet_protocol_and_module(world, as_role, newcomer):
    body = assert_problem(
        as_role(Role.SCHOOL_STAFF).post(URL, _module_short(world, newcomer), format="json"), 422
    )
    [reason] = body["reasons"]
    assert reason["code"] == "MODULE_INCOMPLETE"
    assert "harm-avoidance" in reason["message"]
    body = assert_problem(
        as_role(Role.SCHOOL_STAFF).post(URL, _prerequisite(world, newcomer), format="json"), 422
    )
    assert body["reasons"][0]["protocols"] == [world.protocol.slug]


def test_a_request_failing_five_rules_gets_all_five_reasons(world, as_role):
    advanced = ProtocolFactory(
        slug="advanced-lumbar", prerequisites=[world.protocol]
    )  # school A not authorised
    drifter = InstructorFactory(name="Drew Drifter")  # on no roster, no verified experience
    unlicensed = TherapistFactory(name="Uma Unlicensed")
    body = _body(world, unlicensed, protocol=advanced.slug, instructor=str(drifter.pk))
    response = as_role(Role.SCHOOL_STAFF).post(URL, body, format="json")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert _codes(response) == sorted(
        [
            "SCHOOL_NOT_AUTHORIZED",
            "INSTRUCTOR_NOT_AT_SCHOOL",
            "INSTRUCTOR_NOT_QUALIFIED",
            "LICENSE_MISSING",
            "PREREQUISITE_MISSING",
        ]
    )
    assert not Certification.objects.filter(therapist=unlicensed).exists()


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF])
def test_therapists_and_spas_do_not_issue(world, as_role, newcomer, role):
    assert_problem(as_role(role).post(URL, _body(world, newcomer), format="json"), 403, "permission-denied")


# --- revoking ----------------------------------------------------------------------------------


def _revoke(client, certification, reason="Assessment was falsified"):
    return client.post(f"{URL}{certification.pk}/revoke/", {"reason": reason}, format="json")


def test_school_staff_revoke_their_schools_certification(world, as_role):
    client = as_role(Role.SCHOOL_STAFF)
    response = _revoke(client, world.certification_a)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == KEYS
    assert body["status"] == "revoked"
    assert body["revoked_at"] is not None
    assert Certification.objects.get(pk=world.certification_a.pk).revoked_reason == "Assessment was falsified"


def test_revoking_twice_is_a_conflict(world, as_role):
    client = as_role(Role.REGISTRY_ADMIN)
    assert _revoke(client, world.certification_a).status_code == 200
    assert_problem(_revoke(client, world.certification_a), 409, "conflict")


def test_another_schools_certification_is_a_404_to_revoke(world, as_role):
    assert_problem(_revoke(as_role(Role.SCHOOL_STAFF), world.certification_b), 404, "not-found")
    assert Certification.objects.get(pk=world.certification_b.pk).revoked_at is None


def test_a_registry_admin_revokes_any_certification(world, as_role):
    assert _revoke(as_role(Role.REGISTRY_ADMIN), world.certification_b).json()["status"] == "revoked"


def test_a_revocation_needs_a_reason(world, as_role):
    body = assert_problem(_revoke(as_role(Role.SCHOOL_STAFF), world.certification_a, reason=""), 400)
    assert "reason" in body["errors"]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF])
def test_therapists_and_spas_do_not_revoke(world, as_role, role):
    assert_problem(_revoke(as_role(role), world.certification_a), 403, "permission-denied")


def test_revoking_rechecks_the_bookings_resting_on_the_certification(gate_world, client_for):
    booking = gate_world.book(gate_world.ana)
    school = client_for(Role.SCHOOL_STAFF, school=gate_world.certification.school)
    assert _revoke(school, gate_world.certification).status_code == 200
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "CERTIFICATION_REVOKED" in {r["code"] for r in booking.reasons}
