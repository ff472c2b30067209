"""Certifications: who sees which, the status computed now, the filters, fixed queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from credentials.models import Certification
from credentials.tests.factories import CertificationFactory, TherapistFactory
from protocols.tests.factories import ProtocolFactory
from registry.choices import Role
from registry.tests.factories import EmploymentFactory
from tests.api.helpers import assert_problem, count_queries

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


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {c["id"] for c in response.json()["results"]}


@pytest.fixture
def states(world):
    """Therapist A's certifications in every status (besides the active ``certification_a``)."""
    now = timezone.now()
    make = lambda **kw: CertificationFactory(  # noqa: E731
        therapist=world.therapist_a, school=world.school_a, instructor=world.instructor_a, **kw
    )
    return {
        "active": world.certification_a,
        "expired": make(valid_from=now - dt.timedelta(days=800), expires_at=now - dt.timedelta(days=70)),
        "not-yet-valid": make(valid_from=now + dt.timedelta(days=5)),
        "revoked": make(revoked_at=now - dt.timedelta(hours=1), revoked_reason="Fraudulent assessment"),
    }


def test_a_certification_has_its_fields_and_status(world, as_role):
    client = as_role(Role.THERAPIST)
    response = client.get(f"/api/v1/certifications/{world.certification_a.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == KEYS
    assert body["status"] == "active"
    assert body["protocol"] == "low-back-radiculopathy"
    assert body["therapist"] == str(world.therapist_a.pk)
    assert body["school"] == str(world.school_a.pk)
    assert body["instructor"] == str(world.instructor_a.pk)
    assert body["serial"] == world.certification_a.serial
    assert body["revoked_at"] is None
    assert body["review_required"] is False


def test_status_is_computed_now_and_filterable(world, states, as_role):
    client = as_role(Role.THERAPIST)
    by_id = {c["id"]: c["status"] for c in client.get("/api/v1/certifications/").json()["results"]}
    assert len(by_id) == 4
    for status, certification in states.items():
        assert by_id[str(certification.pk)] == status
        assert _ids(client.get("/api/v1/certifications/", {"status": status})) == {str(certification.pk)}


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (Role.THERAPIST, {"certification_a"}),
        (Role.SPA_STAFF, {"certification_a"}),
        (Role.SCHOOL_STAFF, {"certification_a"}),
        (Role.REGISTRY_ADMIN, {"certification_a", "certification_b"}),
    ],
)
def test_who_sees_which_certifications(world, as_role, role, sees):
    client = as_role(role)
    assert _ids(client.get("/api/v1/certifications/")) == {str(getattr(world, name).pk) for name in sees}
    if "certification_b" not in sees:
        assert_problem(client.get(f"/api/v1/certifications/{world.certification_b.pk}/"), 404, "not-found")


def test_school_staff_see_what_their_school_issued_even_to_another_spas_therapist(world, as_role):
    issued = CertificationFactory(therapist=world.therapist_b, school=world.school_a, protocol=world.protocol)
    client = as_role(Role.SCHOOL_STAFF)
    assert _ids(client.get("/api/v1/certifications/")) == {str(world.certification_a.pk), str(issued.pk)}


def test_spa_staff_lose_sight_when_the_employment_ended(world, as_role):
    left = TherapistFactory()
    EmploymentFactory(spa=world.spa_a, therapist=left, ended_on=timezone.now().date() - dt.timedelta(days=3))
    hidden = CertificationFactory(therapist=left, protocol=world.protocol)
    client = as_role(Role.SPA_STAFF)
    assert str(hidden.pk) not in _ids(client.get("/api/v1/certifications/"))


def test_filters_by_therapist_protocol_school_and_review(world, as_role):
    other = CertificationFactory(
        therapist=world.therapist_b, school=world.school_b, protocol=ProtocolFactory(slug="neck-strain")
    )
    Certification.objects.filter(pk=other.pk).update(
        review_required=True, review_reason="Experience withdrawn"
    )
    client = as_role(Role.REGISTRY_ADMIN)
    a, b = str(world.certification_a.pk), str(world.certification_b.pk)
    assert _ids(client.get("/api/v1/certifications/", {"therapist": str(world.therapist_a.pk)})) == {a}
    assert _ids(client.get("/api/v1/certifications/", {"school": str(world.school_b.pk)})) == {
        b,
        str(other.pk),
    }
    assert _ids(client.get("/api/v1/certifications/", {"protocol": "neck-strain"})) == {str(other.pk)}
    assert _ids(client.get("/api/v1/certifications/", {"review": "true"})) == {str(other.pk)}
    assert _ids(client.get("/api/v1/certifications/", {"review": "false"})) == {a, b}


@pytest.mark.parametrize(("param", "value"), [("therapist", "nope"), ("status", "sleeping"), ("school", "1")])
def test_a_malformed_filter_is_a_400_naming_the_parameter(world, as_role, param, value):
    problem = assert_problem(as_role(Role.REGISTRY_ADMIN).get("/api/v1/certifications/", {param: value}), 400)
    assert list(problem["errors"]) == [param]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN])
def test_listing_certifications_takes_a_fixed_number_of_queries(
    world, as_role, role, django_assert_num_queries
):
    client = as_role(role)

    def listing():
        assert client.get("/api/v1/certifications/").status_code == 200

    few = count_queries(listing)
    for _ in range(5):
        CertificationFactory(therapist=world.therapist_a, school=world.school_a, protocol=ProtocolFactory())
    assert count_queries(listing) == few
    with django_assert_num_queries(3):  # token (with the membership), count, page (protocol joined)
        listing()
