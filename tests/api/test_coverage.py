"""The coverage reports over HTTP (issue 27): ``GET /api/v1/spas/{id}/coverage/`` and
``GET /api/v1/schools/{id}/demand/`` — their shape, the window, suppressed cells as ``null``,
and a school's demand that names no spa, therapist or client. Who may call them is pinned in
test_permissions_matrix.py and test_cross_tenant.py."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from credentials.tests.factories import LicenseFactory, SchoolAuthorizationFactory, TherapistFactory
from registry.choices import Role
from registry.tests.factories import EmploymentFactory, SpaFactory

pytestmark = pytest.mark.django_db


def _attempts(world, therapist, *, clients: int, client=None, prefix="C", **slot):
    """``clients`` intakes (M51.16) at the client's spa, one booking attempt each by
    ``therapist``, an hour apart."""
    client = client or world.desk
    spa = str(client.user.membership.spa_id)
    for n in range(clients):
        intake = world.intake(client=client, client_ref=f"{prefix}-{n:04d}", spa=spa)
        assert intake.status_code == 201, intake.content
        start = (world.start + dt.timedelta(hours=n)).isoformat()
        body = {**world.slot(therapist, intake.json()["id"], **slot), "spa": spa, "start": start}
        client.post("/api/v1/bookings/", body, format="json")


def test_spa_coverage_counts_intakes_allowed_and_refused_per_condition(booking_world):
    w = booking_world
    _attempts(w, w.beth, clients=6, prefix="SCOPE")  # Beth is not certified: refused for scope
    _attempts(w, w.carla, clients=5, prefix="FOCUS", focus_minutes=45)  # over the 30-minute limit
    _attempts(w, w.ana, clients=2, prefix="OK")  # allowed
    response = w.desk.get(f"/api/v1/spas/{w.spa.pk}/coverage/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["spa"] == str(w.spa.pk)
    assert body["to"] == timezone.localdate(timezone=zoneinfo.ZoneInfo(w.spa.timezone)).isoformat()
    assert body["suppressed_below"] == 5
    (row,) = body["conditions"]
    assert row == {
        "condition": "M51.16",
        "name": w.disc.name,
        "intakes": 13,
        "allowed": None,  # 2: suppressed
        "refused_scope": 6,
        "refused_focus": 5,
        "protocols": [
            {"protocol": "low-back-radiculopathy", "name": "Low back with radiculopathy", "intakes": 6}
        ],
    }
    groups = {tuple(map(tuple, g["requirements"])): g for g in body["forecast"]}
    lumbar = groups[(("low-back-radiculopathy",),)]
    assert [p["days"] for p in lumbar["points"]] == [0, 30, 60, 90]
    assert lumbar["points"][0]["therapists"] == 2  # Ana and Carla
    assert groups[()]["points"][0]["therapists"] == 3  # wellness: every licensed therapist
    text = response.content.decode()
    assert "SCOPE-" not in text
    assert "client_ref" not in text


def test_spa_coverage_window_is_checked(booking_world):
    url = f"/api/v1/spas/{booking_world.spa.pk}/coverage/"
    desk = booking_world.desk
    cases = {
        "?from=2026-03-01&to=2026-02-01": "from",
        "?from=2024-01-01&to=2026-01-01": "from",  # more than 366 days
        "?to=9999-12-31": "to",
        "?from=yesterday": "from",
        "?to=2026-02-30": "to",
    }
    for query, field in cases.items():
        response = desk.get(url + query)
        assert response.status_code == 400, (query, response.content)
        assert field in response.json()["errors"], (query, response.json())
    response = desk.get(url + "?from=2026-01-01&to=2026-01-31")
    assert response.status_code == 200
    assert (response.json()["from"], response.json()["to"]) == ("2026-01-01", "2026-01-31")
    assert response.json()["conditions"] == []  # nothing recorded then


def test_school_demand_adds_up_the_spas_of_its_jurisdiction_and_names_none(booking_world, client_for):
    w = booking_world
    SchoolAuthorizationFactory(school=w.school, protocol=w.radiculopathy)
    elsewhere = SpaFactory(name="Faraway Spa", jurisdiction="US-NY", timezone="America/New_York")
    far = TherapistFactory(name="Finn Far")
    LicenseFactory(therapist=far, jurisdiction="US-NY")
    EmploymentFactory(spa=elsewhere, therapist=far)
    other_uncertified = TherapistFactory(name="Olga Other")
    LicenseFactory(therapist=other_uncertified, jurisdiction="US-CA")
    EmploymentFactory(spa=w.other_spa, therapist=other_uncertified)
    _attempts(w, w.beth, clients=3, prefix="HARBOUR")
    _attempts(w, other_uncertified, clients=4, prefix="OTHER", client=w.other_desk)
    _attempts(w, far, clients=5, prefix="FAR", client=client_for(Role.SPA_STAFF, spa=elsewhere))

    response = w.school_staff.get(f"/api/v1/schools/{w.school.pk}/demand/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["jurisdiction"] == "US-CA"
    assert body["protocols"] == [
        {
            "protocol": "low-back-radiculopathy",
            "name": "Low back with radiculopathy",
            "refusals": 7,
            "intakes": 7,
        }
    ]  # 3 + 4 from two spas in US-CA; New York's 5 are not counted
    text = response.content.decode()
    for spa in (w.spa, w.other_spa, elsewhere):
        assert str(spa.pk) not in text
        assert spa.name not in text
    for therapist in (w.beth, other_uncertified, far):
        assert str(therapist.pk) not in text
        assert therapist.name not in text
    assert "HARBOUR-" not in text
    assert "OTHER-" not in text


def test_school_demand_lists_every_protocol_taught_with_zero_where_nothing_was_refused(booking_world):
    w = booking_world
    SchoolAuthorizationFactory(school=w.school, protocol=w.radiculopathy)
    response = w.admin.get(f"/api/v1/schools/{w.school.pk}/demand/")
    assert response.status_code == 200
    (row,) = response.json()["protocols"]
    assert (row["refusals"], row["intakes"]) == (0, 0)


def test_both_reports_are_in_the_openapi_schema_with_nullable_counts(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    coverage = schema["paths"]["/api/v1/spas/{id}/coverage/"]["get"]
    assert {p["name"] for p in coverage["parameters"]} >= {"id", "from", "to"}
    assert {"200", "400", "401", "403", "404", "429"} <= set(coverage["responses"])
    demand = schema["paths"]["/api/v1/schools/{id}/demand/"]["get"]
    assert {"200", "401", "403", "404", "429"} <= set(demand["responses"])
    components = schema["components"]["schemas"]
    assert components["ConditionCoverage"]["properties"]["allowed"]["nullable"] is True
    assert components["ProtocolDemand"]["properties"]["refusals"]["nullable"] is True
