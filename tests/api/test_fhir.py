"""The FHIR R5 endpoints (issue 25): every answer is FHIR JSON that the R5 models of
``fhir.resources`` accept, every error an OperationOutcome; the API's tokens, roles and
tenancy apply; searches page; no client data."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from fhir.resources import get_fhir_model_class
from rest_framework.test import APIClient

from credentials.choices import LicenseStatus
from credentials.models import Certification, License, School, Therapist
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from registry.choices import Role
from registry.models import Employment, Membership, Spa
from registry.services.credentials import certification_revoke
from registry.tests.factories import EmploymentFactory
from tests.api.helpers import assert_operation_outcome

pytestmark = pytest.mark.django_db

FHIR = "application/fhir+json"
STATUS_URL = "http://127.0.0.1:8000/fhir/StructureDefinition/qualification-status"


@pytest.fixture(autouse=True)
def _base_url(settings):
    """Identifier systems, extensions and links are under REGISTRY_BASE_URL."""
    settings.REGISTRY_BASE_URL = "http://127.0.0.1:8000"


def validated(response) -> dict:
    """The body, checked: FHIR JSON whose resource (and each resource in a Bundle) the R5
    model of its type accepts."""
    assert response["Content-Type"] == FHIR, (response.status_code, response["Content-Type"])
    body = json.loads(response.content)
    model = get_fhir_model_class(body["resourceType"])
    model.model_validate_json(response.content)
    for entry in body.get("entry", []):
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return body


def fhir_get(client, url: str, **extra):
    response = client.get(url, **extra)
    validated(response)
    if response.status_code >= 400:
        assert_operation_outcome(response)
    return response


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def crawl(client, url: str) -> list[dict]:
    """Every page of a search, following ``next`` links; returns the resources."""
    resources, seen = [], set()
    while url:
        assert url not in seen, "paging loops"
        seen.add(url)
        response = fhir_get(client, url)
        assert response.status_code == 200, response.content[:300]
        bundle = response.json()
        assert bundle["type"] == "searchset"
        resources += [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        url = next((path_of(link["url"]) for link in bundle["link"] if link["relation"] == "next"), None)
    return resources


def qualification_status(qualification: dict) -> str:
    [status] = [e["valueCode"] for e in qualification.get("extension", []) if e["url"] == STATUS_URL]
    return status


def qualifications_by_code(practitioner: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for qualification in practitioner.get("qualification", []):
        code = qualification["code"]["coding"][0]["code"]
        found.setdefault(code, []).append(qualification)
    return found


# --- the demo data ------------------------------------------------------------------------------


@pytest.fixture
def demo(db):
    """``load_catalog`` and ``load_demo``, then the demo school revokes Ana's certification in
    low back with radiculopathy (so the demo holds a revoked certification) and Beth gets an
    old, expired second licence. Returns the demo users' clients by username."""
    call_command("load_catalog", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())
    ana = Therapist.objects.get(name="Ana Silva")
    certification = Certification.objects.get(therapist=ana, protocol__slug="low-back-radiculopathy")
    certification_revoke(actor=None, certification=certification, reason="Assessment found falsified.")
    beth = Therapist.objects.get(name="Beth Jones")
    LicenseFactory(
        therapist=beth,
        jurisdiction="US-NV",
        number="NV-OLD-1",
        valid_from=dt.date(2015, 1, 1),
        expires_on=dt.date(2018, 12, 31),
    )
    clients = {"anonymous": APIClient()}
    for membership in Membership.objects.select_related("user"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {membership.user.auth_token.key}")
        clients[membership.user.username] = client
    return clients


def test_every_fhir_response_of_the_demo_data_is_valid_r5(demo):
    """Every resource of the demo data, for every demo user, and the errors each gets: all
    accepted by the fhir.resources R5 models (``validated``)."""
    answered = 0
    for username, client in demo.items():
        assert fhir_get(client, "/fhir/metadata").status_code == 200
        answered += 1
        if username == "anonymous":
            for url in ("/fhir/Practitioner", "/fhir/PractitionerRole", "/fhir/Organization"):
                assert fhir_get(client, url).status_code == 401
                answered += 1
            continue
        searches = {"Practitioner": [], "PractitionerRole": [], "Organization": []}
        for resource_type in searches:
            response = fhir_get(client, f"/fhir/{resource_type}?_count=1")
            if response.status_code == 403:  # school staff: no employments (the roles table)
                assert (username, resource_type) == ("school-office", "PractitionerRole")
                continue
            searches[resource_type] = crawl(client, f"/fhir/{resource_type}?_count=1")
        for resource_type, resources in searches.items():
            for resource in resources:
                response = fhir_get(client, f"/fhir/{resource_type}/{resource['id']}")
                assert response.status_code == 200
                assert response.json() == resource  # a read shows what the search showed
                answered += 1
        for url in ("/fhir/Practitioner/not-an-id", "/fhir/Patient/1", "/fhir/Practitioner?_count=x"):
            assert fhir_get(client, url).status_code in (400, 404)
        assert fhir_get(client, "/fhir/metadata", HTTP_ACCEPT="application/fhir+xml").status_code == 406
        response = client.post("/fhir/Practitioner", {}, format="json")
        assert response.status_code == 405
        validated(response)
    assert answered > 20
    admin_view = crawl(demo["registry-admin"], "/fhir/Practitioner")
    demo_therapists = set(Therapist.objects.values_list("name", flat=True))
    assert {p["name"][0]["text"] for p in admin_view} == demo_therapists
    assert {"Ana Silva", "Beth Jones", "Chris Park"} <= demo_therapists


def test_a_revoked_certification_is_shown_with_its_status_not_as_current(demo):
    admin = demo["registry-admin"]
    [ana] = crawl(admin, "/fhir/Practitioner?name=ana")
    certification = Certification.objects.get(
        therapist__name="Ana Silva", protocol__slug="low-back-radiculopathy"
    )
    [revoked] = qualifications_by_code(ana)["low-back-radiculopathy"]
    assert qualification_status(revoked) == "revoked"
    assert revoked["identifier"][0]["value"] == certification.serial
    ended = dt.datetime.fromisoformat(revoked["period"]["end"])
    assert ended == certification.revoked_at <= timezone.now()  # its period ends at the revocation
    [held] = qualifications_by_code(ana)["low-back-no-radiculopathy"]  # its prerequisite stays
    assert qualification_status(held) == "active"
    [role] = crawl(admin, f"/fhir/PractitionerRole?practitioner=Practitioner/{ana['id']}")
    specialties = {s["coding"][0]["code"] for s in role["specialty"]}
    assert specialties == {"low-back-no-radiculopathy"}  # not the revoked one


def test_an_expired_licence_is_shown_expired(demo):
    [beth] = crawl(demo["registry-admin"], "/fhir/Practitioner?name=beth")
    statuses = {
        q["identifier"][0]["value"]: qualification_status(q)
        for q in beth["qualification"]
        if q["code"]["coding"][0]["code"] == "225700000X"
    }
    assert statuses == {"MT-100002": "active", "NV-OLD-1": "expired"}
    systems = {i["system"] for i in beth["identifier"]}
    assert "http://127.0.0.1:8000/fhir/sid/license/US-NV" in systems


def test_a_suspended_licence_is_not_current(world, as_role):
    License.objects.filter(pk=world.license_a.pk).update(status=LicenseStatus.SUSPENDED)
    body = fhir_get(as_role(Role.REGISTRY_ADMIN), f"/fhir/Practitioner/{world.therapist_a.pk}").json()
    [licence] = qualifications_by_code(body)["225700000X"]
    assert qualification_status(licence) == "suspended"


# --- who sees what --------------------------------------------------------------------------------


def test_anonymous_callers_get_a_401_operation_outcome_except_for_the_capability_statement(world, client_for):
    anonymous = client_for("anonymous")
    urls = [
        "/fhir/Practitioner",
        f"/fhir/Practitioner/{world.therapist_a.pk}",
        "/fhir/PractitionerRole",
        "/fhir/Organization",
        f"/fhir/Organization/{world.school_a.pk}",
    ]
    for url in urls:
        response = fhir_get(anonymous, url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["issue"][0]["code"] == "login"
    assert fhir_get(anonymous, "/fhir/metadata").status_code == 200


def test_an_invalid_token_is_a_401_operation_outcome(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = fhir_get(client, "/fhir/Practitioner")
    assert response.status_code == 401


def test_school_staff_see_their_schools_certifications_and_no_licence(world, as_role):
    CertificationFactory(therapist=world.therapist_a, school=world.school_b)  # another school's
    body = fhir_get(as_role(Role.SCHOOL_STAFF), f"/fhir/Practitioner/{world.therapist_a.pk}").json()
    issuers = {q["issuer"].get("reference") for q in body["qualification"]}
    assert issuers == {f"Organization/{world.school_a.pk}"}  # no licence, no other school's
    assert [i["system"] for i in body["identifier"]] == ["http://127.0.0.1:8000/fhir/sid/therapist"]


def test_a_licence_number_finds_nobody_for_those_who_may_not_read_licences(world, as_role):
    number = world.license_a.number
    assert crawl(as_role(Role.SCHOOL_STAFF), f"/fhir/Practitioner?identifier={number}") == []
    [found] = crawl(as_role(Role.SPA_STAFF), f"/fhir/Practitioner?identifier={number}")
    assert found["id"] == str(world.therapist_a.pk)


def test_another_tenants_practitioner_and_spa_are_not_found(world, as_role):
    for role in (Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF):
        client = as_role(role)
        for url in (f"/fhir/Practitioner/{world.therapist_b.pk}", f"/fhir/Organization/{world.spa_b.pk}"):
            response = fhir_get(client, url)
            assert response.status_code == 404, (role, url)
            assert response.json()["issue"][0]["code"] == "not-found"
    admin = as_role(Role.REGISTRY_ADMIN)
    assert fhir_get(admin, f"/fhir/Practitioner/{world.therapist_b.pk}").status_code == 200


def test_schools_are_organizations_everyone_signed_in_reads(world, as_role):
    for role in (Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN):
        body = fhir_get(as_role(role), f"/fhir/Organization/{world.school_b.pk}").json()
        assert body["name"] == "School B"
        assert body["type"][0]["coding"][0]["code"] == "edu"


def test_a_spa_sees_its_own_practitioner_roles_and_specialties(world, as_role):
    roles = crawl(as_role(Role.SPA_STAFF), "/fhir/PractitionerRole")
    [role] = roles
    assert role["practitioner"]["reference"] == f"Practitioner/{world.therapist_a.pk}"
    assert role["organization"] == {"reference": f"Organization/{world.spa_a.pk}", "display": "Spa A"}
    assert role["active"] is True
    assert [s["coding"][0]["code"] for s in role["specialty"]] == [world.protocol.slug]
    assert crawl(as_role(Role.SPA_STAFF), f"/fhir/PractitionerRole?practitioner={world.therapist_b.pk}") == []
    response = fhir_get(as_role(Role.SCHOOL_STAFF), "/fhir/PractitionerRole")
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_a_practitioner_role_is_one_employment(world, as_role):
    other_spa = Spa.objects.create(name="Spa C", jurisdiction="US-CA", timezone="UTC")
    ended = EmploymentFactory(spa=other_spa, therapist=world.therapist_a, ended_on=dt.date(2020, 1, 1))
    ended.started_on = dt.date(2019, 1, 1)
    ended.save()
    roles = crawl(as_role(Role.THERAPIST), f"/fhir/PractitionerRole?practitioner={world.therapist_a.pk}")
    assert {r["organization"]["reference"]: r["active"] for r in roles} == {
        f"Organization/{world.spa_a.pk}": True,
        f"Organization/{other_spa.pk}": False,
    }
    employment = Employment.objects.get(spa=world.spa_a, therapist=world.therapist_a)
    by_org = crawl(
        as_role(Role.REGISTRY_ADMIN), f"/fhir/PractitionerRole?organization=Organization/{world.spa_a.pk}"
    )
    assert [r["id"] for r in by_org] == [str(employment.pk)]


# --- searching and paging -------------------------------------------------------------------------


@pytest.fixture
def many(world):
    """Twelve more therapists, licensed in US-CA, employed at spa A."""
    therapists = []
    for index in range(12):
        therapist = TherapistFactory(name=f"Zoe Number{index:02d}")
        LicenseFactory(therapist=therapist, number=f"CA-{index:04d}")
        EmploymentFactory(spa=world.spa_a, therapist=therapist)
        therapists.append(therapist)
    return therapists


def test_count_pages_through_every_match_once(world, many, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    first = fhir_get(admin, "/fhir/Practitioner?name=zoe&_count=5").json()
    assert first["total"] == 12
    assert len(first["entry"]) == 5
    relations = {link["relation"] for link in first["link"]}
    assert relations == {"self", "first", "next", "last"}
    names = [p["name"][0]["text"] for p in crawl(admin, "/fhir/Practitioner?name=zoe&_count=5")]
    assert names == sorted(t.name for t in many)
    last = fhir_get(admin, "/fhir/Practitioner?name=zoe&_count=5&_offset=10").json()
    assert {link["relation"] for link in last["link"]} == {"self", "first", "previous", "last"}
    assert "entry" not in fhir_get(admin, "/fhir/Practitioner?_count=0").json()  # only the total
    assert len(fhir_get(admin, "/fhir/Practitioner?_count=100000").json()["entry"]) == 14  # at most 200
    assert len(fhir_get(admin, "/fhir/Practitioner?_count=" + "9" * 5000).json()["entry"]) == 14
    assert "entry" not in fhir_get(admin, "/fhir/Practitioner?_offset=1000000000").json()


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("name=alice", {"Alice Able"}),
        ("name=ABLE", {"Alice Able"}),  # any word, any case
        ("name=li", set()),  # starts-with, not contains
        ("name:contains=li", {"Alice Able"}),
        ("name:exact=Alice Able", {"Alice Able"}),
        ("name:exact=alice able", set()),
        ("name=alice,bob", {"Alice Able", "Bob Baker"}),  # a comma: either
        ("name=alice&name=bob", set()),  # repeated: both
        ("identifier=MT-A-1", {"Alice Able"}),
        ("identifier=http://127.0.0.1:8000/fhir/sid/license/US-CA|MT-A-1", {"Alice Able"}),
        ("identifier=http://127.0.0.1:8000/fhir/sid/license/US-NV|MT-A-1", set()),
        ("identifier=|MT-A-1", set()),  # no system: none of ours
        ("identifier=urn:other|MT-A-1", set()),
        ("identifier={alice}", {"Alice Able"}),
        ("identifier=http://127.0.0.1:8000/fhir/sid/therapist|{bob}", {"Bob Baker"}),
        ("_id={bob}", {"Bob Baker"}),
        ("_id=nonsense", set()),
    ],
)
def test_practitioner_search_parameters(world, as_role, query, names):
    License.objects.filter(pk=world.license_a.pk).update(number="MT-A-1")
    query = query.format(alice=world.therapist_a.pk, bob=world.therapist_b.pk)
    found = crawl(as_role(Role.REGISTRY_ADMIN), f"/fhir/Practitioner?{query}")
    assert {p["name"][0]["text"] for p in found} == names


def test_organization_search_pages_across_spas_and_schools(world, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    found = crawl(admin, "/fhir/Organization?_count=1")
    assert [o["name"] for o in found] == ["Spa A", "Spa B", "School A", "School B"]
    assert [o["name"] for o in crawl(admin, "/fhir/Organization?name=school")] == ["School A", "School B"]
    system = "http://127.0.0.1:8000/fhir/sid/school"
    [school] = crawl(admin, f"/fhir/Organization?identifier={system}|{world.school_b.pk}")
    assert school["id"] == str(world.school_b.pk)
    spa_view = [o["name"] for o in crawl(as_role(Role.SPA_STAFF), "/fhir/Organization")]
    assert spa_view == ["Spa A", "School A", "School B"]


@pytest.mark.parametrize(
    "query",
    [
        "_count=-1",
        "_count=2.5",
        "_count=٣",  # a digit, not an ASCII one
        "_offset=x",
        "_offset=1000000001",
        "_offset=" + "9" * 5000,
        "name:fuzzy=ana",
        "identifier:text=x",
        "name=a%00b",
        "%00=1",
    ],
)
def test_bad_search_values_are_a_400_operation_outcome(world, as_role, query):
    response = fhir_get(as_role(Role.REGISTRY_ADMIN), f"/fhir/Practitioner?{query}")
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "invalid"


def test_unknown_parameters_are_ignored_and_said_so_unless_strict(world, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    bundle = fhir_get(admin, "/fhir/Practitioner?name=alice&gender=female").json()
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    [outcome] = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(matches) == 1
    assert outcome["issue"][0]["severity"] == "warning"
    assert "gender" in outcome["issue"][0]["diagnostics"]
    assert all("gender" not in link["url"] for link in bundle["link"])
    strict = fhir_get(admin, "/fhir/Practitioner?gender=female", HTTP_PREFER="handling=strict")
    assert strict.status_code == 400


def test_format_and_accept(world, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    for extra in ({"HTTP_ACCEPT": "application/json"}, {"HTTP_ACCEPT": "*/*"}, {}):
        assert fhir_get(admin, "/fhir/Practitioner", **extra).status_code == 200
    assert fhir_get(admin, "/fhir/Practitioner?_format=json").status_code == 200
    assert fhir_get(admin, "/fhir/Practitioner?_format=xml").status_code == 406
    assert fhir_get(admin, "/fhir/Practitioner/", HTTP_ACCEPT="application/fhir+json").status_code == 200


def test_no_other_method_than_get(world, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    for method in ("post", "put", "patch", "delete", "options"):
        response = getattr(admin, method)(f"/fhir/Practitioner/{world.therapist_a.pk}")
        assert response.status_code == 405, method
        validated(response)


def test_anonymous_reads_of_the_capability_statement_are_throttled(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon-read": "1/min"},
    }
    client = APIClient()
    assert client.get("/fhir/metadata").status_code == 200
    response = client.get("/fhir/metadata")
    assert response.status_code == 429
    assert validated(response)["issue"][0]["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_the_capability_statement_describes_what_is_served(world):
    statement = fhir_get(APIClient(), "/fhir/metadata").json()
    assert statement["fhirVersion"] == "5.0.0"
    assert "application/fhir+json" in statement["format"]
    served = {r["type"]: {p["name"] for p in r["searchParam"]} for r in statement["rest"][0]["resource"]}
    assert served == {
        "Practitioner": {"_id", "identifier", "name"},
        "PractitionerRole": {"_id", "practitioner", "organization"},
        "Organization": {"_id", "identifier", "name"},
    }


def test_fhir_paths_are_not_in_the_openapi_schema(world):
    schema = APIClient().get("/api/schema/?format=json").json()
    assert not [path for path in schema["paths"] if path.startswith("/fhir")]


# --- queries --------------------------------------------------------------------------------------


def test_searches_and_reads_take_a_fixed_number_of_queries(world, many, as_role, django_assert_num_queries):
    admin = as_role(Role.REGISTRY_ADMIN)
    for therapist in many[:6]:
        CertificationFactory(therapist=therapist, school=world.school_a)
    # Authentication (token with user and role) is one; then count, page, licences,
    # certifications for a search; for a read the row, licences, certifications.
    for url, queries in (
        ("/fhir/Practitioner?_count=2", 5),
        ("/fhir/Practitioner?_count=200", 5),
        (f"/fhir/Practitioner/{many[0].pk}", 4),
        ("/fhir/PractitionerRole?_count=2", 4),
        ("/fhir/PractitionerRole?_count=200", 4),
        ("/fhir/Organization?_count=200", 5),
        (f"/fhir/Organization/{world.school_a.pk}", 3),
    ):
        with django_assert_num_queries(queries):
            assert admin.get(url).status_code == 200, url


# --- client data ----------------------------------------------------------------------------------


def test_no_fhir_answer_carries_client_data(booking_world):
    """Intakes with conditions, screening answers and a physician's clearance, a booking: none
    of it in any FHIR answer, to anyone."""
    w = booking_world
    intake = w.intake(
        client_ref="SECRET-REF-9",
        screening={"ces-bladder-bowel": False, "recent-trauma": True},
        clearances={"recent-trauma": {"cleared_on": "2026-01-05", "cleared_by": "Dr. Secret Physician"}},
    ).json()
    assert w.book(w.ana, intake["id"]).status_code == 201
    tokens = [
        "SECRET-REF-9",
        "Dr. Secret Physician",
        "M51.16",
        "recent-trauma",
        "ces-bladder-bowel",
        intake["id"],
    ]
    clients = [w.desk, w.other_desk, w.ana_client, w.beth_client, w.school_staff, w.admin]
    scanned = 0
    for client in clients:
        for resource_type in ("Practitioner", "PractitionerRole", "Organization"):
            response = client.get(f"/fhir/{resource_type}?_count=200")
            texts = [response.content.decode()]
            if response.status_code == 200:
                for entry in response.json().get("entry", []):
                    read = client.get(f"/fhir/{resource_type}/{entry['resource']['id']}")
                    texts.append(read.content.decode())
            for text in texts:
                assert [t for t in tokens if t in text] == []
                scanned += 1
    assert scanned > 20
    assert School.objects.exists()
