"""``POST /eligibility/check/`` and ``/eligibility/search/``: the engine's answer for a session,
without booking; times must carry their offset."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from registry.choices import Role
from registry.models import Decision
from tests.api.helpers import assert_problem


@pytest.fixture
def w(booking_world):
    booking_world.intake_id = booking_world.intake().json()["id"]
    return booking_world


def _check(w, therapist, client=None, **overrides):
    return (client or w.desk).post(
        "/api/v1/eligibility/check/", w.slot(therapist, w.intake_id, **overrides), format="json"
    )


def _search(w, client=None, **overrides):
    return (client or w.desk).post(
        "/api/v1/eligibility/search/", w.slot(None, w.intake_id, **overrides), format="json"
    )


def test_a_certified_therapist_is_allowed(w):
    response = _check(w, w.ana)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"allowed", "reasons", "warnings"}
    assert body["allowed"] is True
    assert body["reasons"] == []
    assert Decision.objects.count() == 0  # a check records nothing


def test_an_uncertified_therapist_is_refused_with_the_group(w):
    body = _check(w, w.beth).json()
    assert body["allowed"] is False
    [reason] = body["reasons"]
    assert reason["code"] == "PROTOCOL_NOT_CERTIFIED"
    assert reason["condition"] == "M51.16"
    assert reason["protocols"] == ["low-back-radiculopathy"]
    assert reason["message"]


def test_every_reason_is_given_not_the_first(w):
    body = _check(w, w.beth, focus_minutes=45).json()
    assert [r["code"] for r in body["reasons"]] == ["PROTOCOL_NOT_CERTIFIED", "FOCUS_EXCEEDS_PROTOCOL_LIMIT"]


def test_whole_body_work_has_no_focus_limit(w):
    assert _check(w, w.ana, focus_region="whole-body", focus_minutes=60).json()["allowed"] is True


def test_no_focus_region_means_no_focused_minutes(w):
    assert _check(w, w.ana, focus_region=None, focus_minutes=0).json()["allowed"] is True
    errors = assert_problem(_check(w, w.ana, focus_region=None, focus_minutes=10), 400)["errors"]
    assert list(errors) == ["focus_minutes"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start": "2030-05-01T10:00:00"}, "start"),  # naive: 400
        ({"start": "tomorrow"}, "start"),
        ({"focus_minutes": 61}, "focus_minutes"),  # more than the session
        ({"focus_region": "shoulder"}, "focus_region"),  # not one of the intake's regions
        ({"focus_region": "tail"}, "focus_region"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
    ],
)
def test_input_the_engine_cannot_decide_on_is_a_400(w, overrides, field):
    errors = assert_problem(_check(w, w.ana, **overrides), 400, "validation-error")["errors"]
    assert field in errors, errors


@pytest.mark.parametrize("path", ["eligibility/check/", "eligibility/search/", "bookings/"])
@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:30:00+00:00",
        "9999-12-31T20:00:00-10:00",
        "9999-12-15T10:00:00+00:00",  # the engine's 30-day warning horizon would overflow
        "0001-01-01T00:00:00+00:00",
    ],
)
def test_a_session_at_the_edge_of_time_is_a_400_not_an_error(w, path, start):
    body = {**w.slot(w.ana, w.intake_id), "start": start}
    if path == "eligibility/search/":
        del body["therapist"]
    errors = assert_problem(w.desk.post(f"/api/v1/{path}", body, format="json"), 400)["errors"]
    assert list(errors) == ["start"], errors


def test_a_time_with_an_offset_is_read_as_that_instant(w):
    start = w.start.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).isoformat()
    assert _check(w, w.ana, start=start).json()["allowed"] is True


def test_another_spa_its_intakes_and_therapists_cannot_be_named(w):
    other_intake = w.intake(client=w.other_desk, spa=str(w.other_spa.pk)).json()["id"]
    assert "spa" in assert_problem(_check(w, w.ana, spa=str(w.other_spa.pk)), 400)["errors"]
    assert "intake" in assert_problem(_check(w, w.ana, intake=other_intake), 400)["errors"]
    assert "therapist" in assert_problem(_check(w, w.dora), 400)["errors"]


def test_search_decides_every_therapist_of_the_spa_allowed_first(w):
    response = _search(w)
    assert response.status_code == 200, response.content
    therapists = response.json()["therapists"]
    assert [(t["name"], t["allowed"]) for t in therapists] == [
        ("Ana Silva", True),
        ("Carla Diaz", True),
        ("Beth Jones", False),
    ]
    assert set(therapists[0]) == {
        "therapist",
        "name",
        "allowed",
        "reasons",
        "warnings",
        "provisional",
        "supervisors",
    }
    assert therapists[2]["therapist"] == str(w.beth.pk)
    assert therapists[2]["reasons"][0]["code"] == "PROTOCOL_NOT_CERTIFIED"


def test_search_sees_who_is_already_booked(w):
    assert w.book(w.ana, w.intake_id).status_code == 201
    other = w.intake(client_ref="C-2").json()["id"]
    therapists = w.desk.post("/api/v1/eligibility/search/", w.slot(None, other), format="json").json()[
        "therapists"
    ]
    ana = next(t for t in therapists if t["name"] == "Ana Silva")
    assert [r["code"] for r in ana["reasons"]] == ["THERAPIST_UNAVAILABLE"]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN])
def test_only_spa_staff_ask(w, client_for, role):
    client = client_for(role)
    assert_problem(_check(w, w.ana, client=client), 403, "permission-denied")
    assert_problem(_search(w, client=client), 403, "permission-denied")


# --- naming what the caller may not read: the same answer as for what does not exist -------------
# (the check and search resolve ids while they load the case and the facts: issue 15)


def _ask(w, path="eligibility/check/", **overrides):
    """An eligibility check (or booking) of Ana, any field (``therapist`` included) overridden."""
    return w.desk.post(f"/api/v1/{path}", {**w.slot(w.ana, w.intake_id), **overrides}, format="json")


def _unknown(response, field):
    errors = assert_problem(response, 400, "validation-error")["errors"]
    assert list(errors) == [field], errors
    [message] = errors[field]
    assert "does not exist" in message
    return message


def test_an_unknown_id_and_another_tenants_id_get_the_same_answer(w):
    other_intake = w.intake(client=w.other_desk, spa=str(w.other_spa.pk)).json()["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    for field, foreign in (("intake", other_intake), ("therapist", str(w.dora.pk))):
        hidden = _unknown(_ask(w, **{field: foreign}), field)
        absent = _unknown(_ask(w, **{field: missing}), field)
        assert hidden.replace(foreign, missing) == absent
    _unknown(_ask(w, spa=str(w.other_spa.pk)), "spa")
    _unknown(_ask(w, spa=missing), "spa")


def test_check_and_booking_word_an_unknown_id_alike(w):
    missing = "00000000-0000-4000-8000-000000000000"
    for field in ("spa", "intake", "therapist"):
        checked = _unknown(_ask(w, **{field: missing}), field)
        booked = _unknown(_ask(w, "bookings/", **{field: missing}), field)
        assert checked == booked


def test_search_answers_another_spas_intake_as_unknown(w):
    other_intake = w.intake(client=w.other_desk, spa=str(w.other_spa.pk)).json()["id"]
    _unknown(_search(w, intake=other_intake), "intake")
    _unknown(_search(w, spa=str(w.other_spa.pk)), "spa")


@pytest.mark.parametrize("value", [123, True, "not-a-uuid", None, ["x"]])
@pytest.mark.parametrize("field", ["spa", "intake", "therapist"])
def test_ids_are_uuid_strings(w, field, value):
    errors = assert_problem(_ask(w, **{field: value}), 400, "validation-error")["errors"]
    assert list(errors) == [field], errors


def test_a_therapist_whose_employment_ended_cannot_be_asked_about(w):
    from registry.services.rechecks import employment_end

    employment = w.beth.employments.get(spa=w.spa)
    local_today = timezone.now().astimezone(zoneinfo.ZoneInfo(w.spa.timezone)).date()
    employment_end(actor=None, employment=employment, ended_on=local_today - dt.timedelta(days=1))
    _unknown(_check(w, w.beth), "therapist")
    assert "Beth Jones" not in [t["name"] for t in _search(w).json()["therapists"]]


def test_a_therapist_hired_from_next_month_can_be_asked_about_and_is_told_why_not(w):
    from registry.tests.factories import EmploymentFactory

    newcomer = w.dora
    local_today = timezone.now().astimezone(zoneinfo.ZoneInfo(w.spa.timezone)).date()
    EmploymentFactory(spa=w.spa, therapist=newcomer, started_on=local_today + dt.timedelta(days=30))
    body = _check(w, newcomer).json()
    assert body["allowed"] is False
    assert [r["code"] for r in body["reasons"]] == ["NOT_EMPLOYED_AT_SPA"]


# --- the check's input serializer (FlatInputSerializer) ----------------------------------------------


def test_each_check_gets_its_own_bound_fields():
    from api.serializers.registry import EligibilityCheckSerializer

    first, second = EligibilityCheckSerializer(data={}), EligibilityCheckSerializer(data={})
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second


def test_a_flat_input_serializer_takes_no_nested_field():
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework import serializers

    from api.serializers.fields import FlatInputSerializer

    nested = {"names": serializers.ListField(child=serializers.CharField())}
    with pytest.raises(ImproperlyConfigured):
        type("Nested", (FlatInputSerializer,), nested)
