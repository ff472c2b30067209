"""Credential writes other than issuing: therapists and their scope, licences (a suspension
re-checks bookings), schools and their authorisations, instructors and their verified
experience — and the withdrawals that flag certificates for review instead of revoking them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from credentials.models import ClinicalExperience, Instructor, License, School, Therapist
from credentials.tests.factories import LicenseFactory
from protocols.tests.factories import ProtocolFactory
from registry.choices import BookingStatus, Role
from tests.api.helpers import assert_problem


def _json(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture
def admin(world, as_role):
    return as_role(Role.REGISTRY_ADMIN)


# --- therapists --------------------------------------------------------------------------------


def test_an_admin_registers_and_corrects_a_therapist(admin):
    body = _json(admin.post("/api/v1/therapists/", {"name": "Cara Cole", "email": "cara@example.org"}), 201)
    assert set(body) == {"id", "name", "email"}
    assert (body["name"], body["email"]) == ("Cara Cole", "cara@example.org")
    changed = _json(
        admin.patch(f"/api/v1/therapists/{body['id']}/", {"name": "Cara Cole-Diaz"}, format="json"), 200
    )
    assert changed == {**body, "name": "Cara Cole-Diaz"}


def test_a_therapist_needs_a_name_and_a_valid_email(admin):
    body = assert_problem(admin.post("/api/v1/therapists/", {"name": "", "email": "not-an-email"}), 400)
    assert {"name", "email"} <= set(body["errors"])
    assert Therapist.objects.count() == 2


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_admins_write_therapists(world, as_role, role):
    client = as_role(role)
    assert_problem(client.post("/api/v1/therapists/", {"name": "X"}), 403, "permission-denied")
    assert_problem(
        client.patch(f"/api/v1/therapists/{world.therapist_a.pk}/", {"name": "X"}, format="json"), 403
    )


# --- scope -------------------------------------------------------------------------------------


def _scope(world, therapist=None) -> str:
    return f"/api/v1/therapists/{(therapist or world.therapist_a).pk}/scope/"


def test_a_therapists_scope_now(world, as_role):
    body = _json(as_role(Role.THERAPIST).get(_scope(world)), 200)
    assert body == {"protocols": ["low-back-radiculopathy"], "conditions": ["M51.16"]}


def test_scope_at_a_time_before_the_certification_is_empty(world, as_role):
    before = (world.certification_a.valid_from - dt.timedelta(days=1)).isoformat()
    body = _json(as_role(Role.REGISTRY_ADMIN).get(_scope(world), {"at": before}), 200)
    assert body == {"protocols": [], "conditions": []}


def test_scope_at_an_offset_time(world, as_role):
    at = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    assert "+02:00" in at  # the client URL-encodes the '+'
    assert _json(as_role(Role.SPA_STAFF).get(_scope(world), {"at": at}), 200)["protocols"] == [
        "low-back-radiculopathy"
    ]


def test_a_naive_scope_time_is_a_400(world, as_role):
    from api.serializers.writes_common import NAIVE_TIME

    body = assert_problem(as_role(Role.THERAPIST).get(_scope(world), {"at": "2026-05-01T10:00:00"}), 400)
    assert body["errors"]["at"] == [NAIVE_TIME]  # the same words as for a booking's start


def test_scope_at_a_spa_needs_a_licence_in_its_jurisdiction(world, as_role):
    client = as_role(Role.SPA_STAFF)
    assert _json(client.get(_scope(world), {"spa": str(world.spa_a.pk)}), 200)["protocols"] == [
        "low-back-radiculopathy"
    ]
    world.spa_a.jurisdiction = "US-NV"
    world.spa_a.save()
    assert _json(client.get(_scope(world), {"spa": str(world.spa_a.pk)}), 200) == {
        "protocols": [],
        "conditions": [],
    }


def test_scope_at_a_spa_the_caller_cannot_read_is_a_400(world, as_role):
    body = assert_problem(as_role(Role.SPA_STAFF).get(_scope(world), {"spa": str(world.spa_b.pk)}), 400)
    assert "spa" in body["errors"]
    assert _json(as_role(Role.REGISTRY_ADMIN).get(_scope(world), {"spa": str(world.spa_b.pk)}), 200)


def test_scope_of_a_therapist_the_caller_cannot_read_is_a_404(world, as_role):
    assert_problem(as_role(Role.SCHOOL_STAFF).get(_scope(world, world.therapist_b)), 404, "not-found")


# --- licences ----------------------------------------------------------------------------------

LICENCE = {
    "jurisdiction": "US-NV",
    "number": "NV-0042",
    "valid_from": "2024-01-01",
    "expires_on": "2028-12-31",
}


def test_an_admin_records_a_licence(world, admin):
    body = _json(
        admin.post(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/", LICENCE, format="json"), 201
    )
    assert body == {**LICENCE, "id": body["id"], "status": "active"}
    listed = admin.get(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/").json()
    assert body["id"] in {row["id"] for row in listed["results"]}


def test_a_licence_number_is_unique_in_its_jurisdiction_and_dates_are_in_order(world, admin):
    url = f"/api/v1/therapists/{world.therapist_b.pk}/licenses/"
    duplicate = {**LICENCE, "jurisdiction": "US-CA", "number": world.license_a.number}
    assert "number" in assert_problem(admin.post(url, duplicate, format="json"), 400)["errors"]
    backwards = {**LICENCE, "expires_on": "2023-01-01"}
    assert "expires_on" in assert_problem(admin.post(url, backwards, format="json"), 400)["errors"]
    bad = {**LICENCE, "jurisdiction": "Nevada", "status": "pending", "valid_from": "soon"}
    assert {"status", "valid_from"} <= set(assert_problem(admin.post(url, bad, format="json"), 400)["errors"])


def test_school_staff_may_not_record_licences(world, as_role):
    client = as_role(Role.SCHOOL_STAFF)
    response = client.post(f"/api/v1/therapists/{world.therapist_a.pk}/licenses/", LICENCE, format="json")
    assert_problem(response, 403, "permission-denied")


def test_a_licence_is_read_by_its_own_url(world, as_role):
    body = _json(as_role(Role.THERAPIST).get(f"/api/v1/licenses/{world.license_a.pk}/"), 200)
    assert body["id"] == str(world.license_a.pk)
    assert_problem(as_role(Role.THERAPIST).get(f"/api/v1/licenses/{world.license_b.pk}/"), 404)


def test_an_admin_changes_a_licence_with_a_reason(world, admin):
    url = f"/api/v1/licenses/{world.license_a.pk}/"
    body = _json(admin.patch(url, {"expires_on": "2036-06-30", "reason": "Renewed"}, format="json"), 200)
    assert (body["status"], body["expires_on"]) == ("active", "2036-06-30")
    body = _json(admin.patch(url, {"status": "suspended", "reason": "Board order 12"}, format="json"), 200)
    assert body["status"] == "suspended"


def test_a_licence_change_needs_a_reason_and_something_to_change(world, admin):
    url = f"/api/v1/licenses/{world.license_a.pk}/"
    assert "reason" in assert_problem(admin.patch(url, {"status": "revoked"}, format="json"), 400)["errors"]
    assert "status" in assert_problem(admin.patch(url, {"reason": "Because"}, format="json"), 400)["errors"]
    assert (
        "status"
        in assert_problem(admin.patch(url, {"status": "gone", "reason": "x"}, format="json"), 400)["errors"]
    )
    assert License.objects.get(pk=world.license_a.pk).status == "active"


def test_suspending_a_licence_turns_a_future_booking_needs_reassignment(gate_world, client_for):
    booking = gate_world.book(gate_world.ana)
    licence = gate_world.ana.licenses.get()
    admin = client_for(Role.REGISTRY_ADMIN)
    response = admin.patch(
        f"/api/v1/licenses/{licence.pk}/", {"status": "suspended", "reason": "Board order 12"}, format="json"
    )
    assert _json(response, 200)["status"] == "suspended"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert {r["code"] for r in booking.reasons} & {"LICENSE_INACTIVE", "LICENSE_MISSING"}


def test_a_licence_in_another_jurisdiction_leaves_the_booking_alone(gate_world, client_for):
    booking = gate_world.book(gate_world.ana)
    elsewhere = LicenseFactory(therapist=gate_world.ana, jurisdiction="US-NV")
    admin = client_for(Role.REGISTRY_ADMIN)
    _json(
        admin.patch(f"/api/v1/licenses/{elsewhere.pk}/", {"status": "revoked", "reason": "x"}, format="json"),
        200,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_admins_change_licences(world, as_role, role):
    response = as_role(role).patch(
        f"/api/v1/licenses/{world.license_a.pk}/", {"status": "suspended", "reason": "x"}, format="json"
    )
    assert_problem(response, 403, "permission-denied")


# --- schools and authorisations -----------------------------------------------------------------


def test_an_admin_adds_a_school(admin):
    school = {
        "name": "Coastal School",
        "jurisdiction": "us-or",
        "contact_email": "office@coastal.example.org",
    }
    body = _json(admin.post("/api/v1/schools/", school, format="json"), 201)
    assert body == {**school, "id": body["id"], "jurisdiction": "US-OR"}
    duplicate = assert_problem(admin.post("/api/v1/schools/", school, format="json"), 400)
    assert "name" in duplicate["errors"]
    bad = assert_problem(
        admin.post("/api/v1/schools/", {"name": "X", "jurisdiction": "Oregon"}, format="json"), 400
    )
    assert "jurisdiction" in bad["errors"]
    assert School.objects.filter(name="X").count() == 0


def test_an_admin_authorises_a_school_once(world, admin):
    url = f"/api/v1/schools/{world.school_b.pk}/authorizations/"
    body = _json(admin.post(url, {"protocol": world.protocol.slug}, format="json"), 201)
    assert set(body) == {"id", "protocol", "granted_at", "withdrawn_at"}
    assert (body["protocol"], body["withdrawn_at"]) == (world.protocol.slug, None)
    assert_problem(admin.post(url, {"protocol": world.protocol.slug}, format="json"), 409, "conflict")
    unknown = assert_problem(admin.post(url, {"protocol": "no-such-protocol"}, format="json"), 400)
    assert "protocol" in unknown["errors"]


def test_withdrawing_an_authorisation_flags_its_certificates_for_review(world, admin):
    url = f"/api/v1/authorizations/{world.authorization_a.pk}/withdraw/"
    body = _json(admin.post(url, {"reason": "Inspection failed"}, format="json"), 200)
    assert body["id"] == str(world.authorization_a.pk)
    assert body["withdrawn_at"] is not None
    certification = admin.get(f"/api/v1/certifications/{world.certification_a.pk}/").json()
    assert (certification["status"], certification["review_required"]) == ("active", True)
    assert_problem(admin.post(url, {"reason": "Again"}, format="json"), 409, "conflict")
    assert "reason" in assert_problem(admin.post(url, {}, format="json"), 400)["errors"]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_admins_add_schools_and_authorise_them(world, as_role, role):
    client = as_role(role)
    assert_problem(client.post("/api/v1/schools/", {"name": "X", "jurisdiction": "US-CA"}), 403)
    assert_problem(
        client.post(f"/api/v1/schools/{world.school_a.pk}/authorizations/", {"protocol": "x"}), 403
    )
    assert_problem(
        client.post(f"/api/v1/authorizations/{world.authorization_a.pk}/withdraw/", {"reason": "x"}), 403
    )


# --- instructors and experience ------------------------------------------------------------------


def test_an_admin_adds_an_instructor_to_any_schools(world, admin):
    schools = sorted([str(world.school_a.pk), str(world.school_b.pk)])
    body = _json(
        admin.post("/api/v1/instructors/", {"name": "Iris Ito", "schools": schools}, format="json"), 201
    )
    assert set(body) == {"id", "name", "schools"}
    assert sorted(body["schools"]) == schools


def test_school_staff_add_instructors_to_their_own_roster_only(world, as_role):
    client = as_role(Role.SCHOOL_STAFF)
    own = _json(
        client.post(
            "/api/v1/instructors/", {"name": "Iris Ito", "schools": [str(world.school_a.pk)]}, format="json"
        ),
        201,
    )
    assert own["schools"] == [str(world.school_a.pk)]
    other = assert_problem(
        client.post(
            "/api/v1/instructors/",
            {"name": "Otto Other", "schools": [str(world.school_a.pk), str(world.school_b.pk)]},
            format="json",
        ),
        400,
    )
    assert "does not exist" in other["errors"]["schools.1"][0]  # as if school B did not exist
    none = assert_problem(client.post("/api/v1/instructors/", {"name": "Nora None"}, format="json"), 400)
    assert "schools" in none["errors"]
    assert not Instructor.objects.filter(name__in=["Otto Other", "Nora None"]).exists()


def test_an_admin_verifies_an_instructors_experience(world, admin):
    url = f"/api/v1/instructors/{world.instructor_b.pk}/clinical-experience/"
    body = _json(
        admin.post(
            url,
            {
                "protocol": world.protocol.slug,
                "years": 12,
                "cases": 640,
                "evidence": "Clinic logs",
                "verified_on": "2020-03-01",
            },
            format="json",
        ),
        201,
    )
    assert set(body) >= {"id", "protocol", "years", "cases", "verified_on", "withdrawn_at"}
    assert (body["protocol"], body["years"], body["cases"], body["verified_on"]) == (
        world.protocol.slug,
        12,
        640,
        "2020-03-01",
    )
    assert body["withdrawn_at"] is None


def test_experience_defaults_to_today_and_not_from_the_future(world, admin):
    url = f"/api/v1/instructors/{world.instructor_b.pk}/clinical-experience/"
    fields = {"protocol": world.protocol.slug, "years": 6, "cases": 250, "evidence": "Clinic logs"}
    assert (
        _json(admin.post(url, fields, format="json"), 201)["verified_on"] == timezone.localdate().isoformat()
    )
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    body = assert_problem(admin.post(url, {**fields, "verified_on": tomorrow}, format="json"), 400)
    assert "verified_on" in body["errors"]
    bad = assert_problem(admin.post(url, {**fields, "years": -1, "evidence": ""}, format="json"), 400)
    assert {"years", "evidence"} <= set(bad["errors"])


def test_only_registry_admins_verify_experience_not_even_the_instructors_school(world, as_role):
    response = as_role(Role.SCHOOL_STAFF).post(
        f"/api/v1/instructors/{world.instructor_a.pk}/clinical-experience/",
        {"protocol": world.protocol.slug, "years": 30, "cases": 9000, "evidence": "Trust us"},
        format="json",
    )
    assert_problem(response, 403, "permission-denied")


def test_withdrawing_experience_flags_the_certificates_taught_on_it(world, admin):
    url = f"/api/v1/clinical-experience/{world.experience_a.pk}/withdraw/"
    body = _json(admin.post(url, {"reason": "Records were forged"}, format="json"), 200)
    assert body["withdrawn_at"] is not None
    assert ClinicalExperience.objects.get(pk=world.experience_a.pk).withdrawn_reason == "Records were forged"
    certification = admin.get(f"/api/v1/certifications/{world.certification_a.pk}/").json()
    assert certification["review_required"] is True
    assert certification["status"] == "active"  # flagged, not revoked
    assert_problem(admin.post(url, {"reason": "Again"}, format="json"), 409, "conflict")


def test_an_unknown_protocol_in_experience_is_a_400(world, admin):
    ProtocolFactory(slug="neck-whiplash")
    url = f"/api/v1/instructors/{world.instructor_a.pk}/clinical-experience/"
    body = assert_problem(
        admin.post(url, {"protocol": "nope", "years": 6, "cases": 250, "evidence": "x"}, format="json"), 400
    )
    assert "protocol" in body["errors"]
