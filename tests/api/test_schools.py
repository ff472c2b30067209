"""Schools and their authorisations, instructors and their clinical experience: readable by
anyone; experience evidence only by signed-in readers."""

from __future__ import annotations

from django.utils import timezone

from credentials.tests.factories import (
    ClinicalExperienceFactory,
    InstructorFactory,
    SchoolAuthorizationFactory,
    SchoolFactory,
)
from protocols.tests.factories import ProtocolFactory
from registry.choices import Role
from tests.api.helpers import assert_problem, count_queries


def test_schools_are_listed_for_anyone(world, api_client):
    response = api_client.get("/api/v1/schools/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    results = response.json()["results"]
    assert [s["name"] for s in results] == ["School A", "School B"]
    assert set(results[0]) == {"id", "name", "jurisdiction", "contact_email"}
    detail = api_client.get(f"/api/v1/schools/{world.school_b.pk}/").json()
    assert detail["id"] == str(world.school_b.pk)
    assert detail["jurisdiction"] == "US-CA"


def test_schools_filter_by_name_and_jurisdiction(world, api_client):
    SchoolFactory(name="Nevada School", jurisdiction="US-NV")
    names = [
        s["name"] for s in api_client.get("/api/v1/schools/", {"jurisdiction": "US-NV"}).json()["results"]
    ]
    assert names == ["Nevada School"]
    names = [s["name"] for s in api_client.get("/api/v1/schools/", {"name": "school a"}).json()["results"]]
    assert names == ["School A"]


def test_an_unknown_school_is_a_404_problem(api_client, db):
    assert_problem(api_client.get("/api/v1/schools/00000000-0000-0000-0000-000000000000/"), 404, "not-found")


def test_a_schools_authorizations(world, api_client):
    other = ProtocolFactory(slug="neck-strain")
    withdrawn = SchoolAuthorizationFactory(school=world.school_a, protocol=other)
    withdrawn.withdrawn_at = timezone.now()
    withdrawn.save()
    response = api_client.get(f"/api/v1/schools/{world.school_a.pk}/authorizations/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    assert set(results[0]) == {"id", "protocol", "granted_at", "withdrawn_at"}
    by_protocol = {a["protocol"]: a for a in results}
    assert by_protocol["low-back-radiculopathy"]["withdrawn_at"] is None
    assert by_protocol["neck-strain"]["withdrawn_at"] is not None
    assert api_client.get(f"/api/v1/schools/{world.school_b.pk}/authorizations/").json()["count"] == 0


def test_instructors_list_their_schools_by_id(world, api_client):
    both = InstructorFactory(name="Bea Both", schools=[world.school_a, world.school_b])
    response = api_client.get(f"/api/v1/instructors/{both.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "name", "schools"}
    assert sorted(body["schools"]) == sorted([str(world.school_a.pk), str(world.school_b.pk)])
    names = [
        i["name"]
        for i in api_client.get("/api/v1/instructors/", {"school": str(world.school_b.pk)}).json()["results"]
    ]
    assert names == ["Bea Both", "Ivan Instructor"]


def test_instructors_filter_by_protocol_they_are_verified_in(world, api_client):
    results = api_client.get("/api/v1/instructors/", {"protocol": world.protocol.slug}).json()["results"]
    assert [i["name"] for i in results] == ["Ines Instructor"]


def test_listing_instructors_takes_a_fixed_number_of_queries(world, api_client, django_assert_num_queries):
    def listing():
        assert api_client.get("/api/v1/instructors/").status_code == 200

    few = count_queries(listing)
    for _ in range(5):
        InstructorFactory(schools=[world.school_a, world.school_b])
    assert count_queries(listing) == few
    with django_assert_num_queries(3):  # count, page, schools
        listing()


def test_clinical_experience_hides_evidence_from_anonymous_readers(world, api_client, as_role):
    url = f"/api/v1/instructors/{world.instructor_a.pk}/clinical-experience/"
    anonymous = api_client.get(url)
    assert anonymous.status_code == 200
    [row] = anonymous.json()["results"]
    assert set(row) == {"id", "protocol", "years", "cases", "verified_on", "withdrawn_at"}
    assert row["protocol"] == "low-back-radiculopathy"
    assert row["years"] == 10
    signed_in = as_role(Role.SPA_STAFF).get(url).json()["results"][0]
    assert signed_in["evidence"] == "Clinic records reviewed by the registry"


def test_listing_experience_takes_a_fixed_number_of_queries(world, api_client):
    url = f"/api/v1/instructors/{world.instructor_a.pk}/clinical-experience/"

    def listing():
        assert api_client.get(url).status_code == 200

    few = count_queries(listing)
    for _ in range(4):
        ClinicalExperienceFactory(instructor=world.instructor_a, protocol=ProtocolFactory())
    assert count_queries(listing) == few
