"""The catalog: protocols, conditions (codes with dots), screening questions — read by
anyone, paginated, filtered, in a fixed number of queries, anonymous reads throttled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from protocols.models import ScreeningQuestion
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry.choices import Role
from tests.api.helpers import assert_problem, count_queries

PROTOCOL_KEYS = {
    "slug",
    "name",
    "region",
    "max_focus_minutes",
    "validity_months",
    "min_instructor_years",
    "min_instructor_cases",
    "prerequisites",
    "modules",
    "source",
    "version",
    "supervised_sessions",
}
PAGE_KEYS = {"count", "next", "previous", "results"}


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


@pytest.fixture
def protocols(db):
    base = ProtocolFactory(slug="lumbar-fundamentals", name="Lumbar fundamentals")
    radic = ProtocolFactory(slug="low-back-radiculopathy", region="lumbar", prerequisites=[base])
    return base, radic


def test_a_protocol_by_slug_has_its_three_modules_in_teaching_order(api_client, protocols):
    response = api_client.get("/api/v1/protocols/low-back-radiculopathy/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == PROTOCOL_KEYS
    assert body["prerequisites"] == ["lumbar-fundamentals"]
    assert [m["kind"] for m in body["modules"]] == ["fundamentals", "critical-details", "harm-avoidance"]
    assert set(body["modules"][0]) == {"kind", "title", "min_hours"}
    assert Decimal(str(body["modules"][0]["min_hours"])) == Decimal("8")
    assert body["region"] == "lumbar"
    assert body["max_focus_minutes"] == 30


def test_an_unknown_protocol_is_a_404_problem(api_client, db):
    assert_problem(api_client.get("/api/v1/protocols/no-such-protocol/"), 404, "not-found")


def test_protocols_list_is_paginated_and_filtered_by_region(api_client, protocols):
    ProtocolFactory(slug="neck-strain", region="cervical")
    body = api_client.get("/api/v1/protocols/").json()
    assert set(body) == PAGE_KEYS
    assert body["count"] == 3
    assert [p["slug"] for p in body["results"]] == [
        "low-back-radiculopathy",
        "lumbar-fundamentals",
        "neck-strain",
    ]
    cervical = api_client.get("/api/v1/protocols/", {"region": "cervical"}).json()
    assert [p["slug"] for p in cervical["results"]] == ["neck-strain"]


def test_an_invalid_filter_value_is_a_400_with_the_field(api_client, db):
    problem = assert_problem(
        api_client.get("/api/v1/protocols/", {"region": "elbow"}), 400, "validation-error"
    )
    assert "region" in problem["errors"]


def test_listing_protocols_takes_a_fixed_number_of_queries(api_client, db, django_assert_num_queries):
    def listing():
        assert api_client.get("/api/v1/protocols/").status_code == 200

    ProtocolFactory.create_batch(2)
    few = count_queries(listing)
    ProtocolFactory.create_batch(6, prerequisites=[ProtocolFactory()])
    assert count_queries(listing) == few
    with django_assert_num_queries(4):  # count, page, modules, prerequisites
        listing()


def test_a_condition_code_with_dots_is_a_lookup(api_client, protocols):
    base, radic = protocols
    other = ProtocolFactory(slug="sciatica-care")
    ConditionFactory(
        code="M51.16", name="Disc disorder with radiculopathy", requirements=[[radic, other], [base]]
    )
    response = api_client.get("/api/v1/conditions/M51.16/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"code", "code_system", "name", "region", "requirements", "source"}
    assert body["code"] == "M51.16"
    assert body["requirements"] == [["low-back-radiculopathy", "sciatica-care"], ["lumbar-fundamentals"]]


def test_a_condition_needing_no_protocol_has_empty_requirements(api_client, db):
    ConditionFactory(code="WELLNESS", code_system="")
    assert api_client.get("/api/v1/conditions/WELLNESS/").json()["requirements"] == []


def test_conditions_filter_by_protocol_and_list_in_fixed_queries(
    api_client, protocols, django_assert_num_queries
):
    base, radic = protocols
    ConditionFactory(code="M54.16", requirements=[[radic]])
    ConditionFactory(code="M54.5", requirements=[[base]])
    ConditionFactory(code="WELLNESS")
    body = api_client.get("/api/v1/conditions/", {"protocol": "low-back-radiculopathy"}).json()
    assert [c["code"] for c in body["results"]] == ["M54.16"]

    def listing():
        assert api_client.get("/api/v1/conditions/").status_code == 200

    few = count_queries(listing)
    for i in range(5):
        ConditionFactory(code=f"Z{i}.1", requirements=[[base, radic], [radic]])
    assert count_queries(listing) == few
    with django_assert_num_queries(4):  # count, page, groups, their protocols
        listing()


def test_screening_questions_by_code_and_by_region(api_client, db):
    ScreeningQuestionFactory(code="saddle-numbness", action="refer-emergency", regions=["lumbar", "pelvis"])
    ScreeningQuestionFactory(code="fever", regions=[])
    ScreeningQuestionFactory(code="neck-trauma", regions=["cervical"])
    detail = api_client.get("/api/v1/screening-questions/saddle-numbness/")
    assert detail.status_code == 200
    assert detail.json() == {
        "code": "saddle-numbness",
        "text": detail.json()["text"],
        "action": "refer-emergency",
        "regions": ["lumbar", "pelvis"],
        "source": "Test source",
    }
    lumbar = api_client.get("/api/v1/screening-questions/", {"region": "lumbar"}).json()
    assert sorted(q["code"] for q in lumbar["results"]) == ["fever", "saddle-numbness"]


def test_a_page_holds_at_most_200(api_client, db):
    ScreeningQuestion.objects.bulk_create(
        ScreeningQuestion(code=f"q-{i:03d}", text="?", action="refer-physician", source="s")
        for i in range(205)
    )
    body = api_client.get("/api/v1/screening-questions/", {"limit": 500}).json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert "offset=200" in body["next"]
    second = api_client.get("/api/v1/screening-questions/", {"limit": 200, "offset": 200}).json()
    assert len(second["results"]) == 5
    assert second["next"] is None


def test_anonymous_reads_are_throttled(api_client, client_for, db, settings):
    _rates(settings, **{"anon-read": "3/min"})
    for _ in range(3):
        assert api_client.get("/api/v1/protocols/").status_code == 200
    response = api_client.get("/api/v1/conditions/")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    # signed-in callers are not counted as anonymous
    admin = client_for(Role.REGISTRY_ADMIN)
    for _ in range(4):
        assert admin.get("/api/v1/protocols/").status_code == 200


def test_throttling_off_lets_anonymous_reads_through(api_client, db, settings):
    _rates(settings, **{"anon-read": "1/min"})
    settings.THROTTLING_ENABLED = False
    for _ in range(3):
        assert api_client.get("/api/v1/protocols/").status_code == 200
