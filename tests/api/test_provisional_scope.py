"""Provisional scope (issue 23) over HTTP: the supervisor field, its codes, the search's
supervisors, and no other spa's therapist ever named or accepted."""

import datetime as dt

import pytest
from django.utils import timezone

from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from registry.eligibility import ReasonCode
from registry.models import Booking, Decision
from registry.tests.factories import EmploymentFactory


@pytest.fixture
def w(booking_world):
    """The booking world with the protocol asking for 5 supervised sessions: Ana and Carla are
    full (certified long ago, promoted), Nora (new at Harbour Spa) is provisional; Dora is full
    but at Other Spa."""
    w = booking_world
    type(w.radiculopathy).objects.filter(pk=w.radiculopathy.pk).update(supervised_sessions=5)
    long_ago = timezone.now() - dt.timedelta(days=300)
    type(w.certification).objects.filter(pk__in=[w.certification.pk, w.carla_certification.pk]).update(
        scope_full_at=long_ago
    )
    type(w.certification).objects.filter(therapist=w.dora).update(scope_full_at=long_ago)
    w.nora = TherapistFactory(name="Nora New")
    LicenseFactory(therapist=w.nora, jurisdiction="US-CA")
    EmploymentFactory(spa=w.spa, therapist=w.nora)
    w.nora_cert = CertificationFactory(therapist=w.nora, protocol=w.radiculopathy, school=w.school)
    w.intake_id = w.intake().json()["id"]
    return w


def _codes(response):
    return [r["code"] for r in response.json()["reasons"]]


def test_a_provisional_therapist_alone_is_refused_supervision_required(w):
    response = w.book(w.nora, w.intake_id)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert _codes(response) == ["SUPERVISION_REQUIRED"]
    assert response.json()["reasons"][0]["certification"] == str(w.nora_cert.pk)


def test_with_a_qualified_free_supervisor_the_booking_is_confirmed_and_names_them(w):
    response = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk))
    assert response.status_code == 201, response.content
    assert response.json()["supervisor"] == str(w.ana.pk)
    # the supervisor's slot is held: Ana cannot be booked over it
    assert _codes(w.book(w.ana, w.intake_id, start=(w.start + dt.timedelta(minutes=30)).isoformat())) == [
        "THERAPIST_UNAVAILABLE"
    ]
    decisions = w.desk.get(f"/api/v1/bookings/{response.json()['id']}/decisions/").json()["results"]
    assert decisions[0]["case"]["supervisor"] == str(w.ana.pk)
    assert decisions[0]["case"]["provisional"][0]["supervised_sessions"] == 5


def test_a_supervisor_of_another_spa_is_unknown_and_changes_nothing(w):
    before = (Booking.objects.count(), Decision.objects.count())
    response = w.book(w.nora, w.intake_id, supervisor=str(w.dora.pk))
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/validation-error"
    assert "supervisor" in response.json()["errors"]
    assert "Dora" not in response.content.decode()
    assert (Booking.objects.count(), Decision.objects.count()) == before


@pytest.mark.parametrize("bad", ["not-a-uuid", 7, ["x"], {"id": 1}, "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_supervisor_is_a_field_error(w, bad):
    response = w.book(w.nora, w.intake_id, supervisor=bad)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["supervisor"]


def test_the_eligibility_check_takes_a_supervisor(w):
    body = w.slot(w.nora, w.intake_id)
    alone = w.desk.post("/api/v1/eligibility/check/", body, format="json").json()
    assert [r["code"] for r in alone["reasons"]] == ["SUPERVISION_REQUIRED"]
    supervised = w.desk.post(
        "/api/v1/eligibility/check/", {**body, "supervisor": str(w.carla.pk)}, format="json"
    ).json()
    assert supervised["allowed"] is True
    unqualified = w.desk.post(
        "/api/v1/eligibility/check/", {**body, "supervisor": str(w.beth.pk)}, format="json"
    ).json()
    (reason,) = unqualified["reasons"]
    assert reason["code"] == "SUPERVISOR_NOT_QUALIFIED"
    assert reason["supervisor"] == str(w.beth.pk)
    assert [r["code"] for r in reason["supervisor_reasons"]] == ["PROTOCOL_NOT_CERTIFIED"]
    foreign = w.desk.post("/api/v1/eligibility/check/", {**body, "supervisor": str(w.dora.pk)}, format="json")
    assert foreign.status_code == 400
    assert list(foreign.json()["errors"]) == ["supervisor"]


def test_search_marks_provisional_therapists_and_names_qualified_free_supervisors_of_the_spa_only(w):
    assert w.book(w.carla, w.intake_id).status_code == 201  # Carla is busy in the slot
    body = w.slot(None, w.intake_id)
    therapists = w.desk.post("/api/v1/eligibility/search/", body, format="json").json()["therapists"]
    by_name = {t["name"]: t for t in therapists}
    assert "Dora Evans" not in by_name
    nora = by_name["Nora New"]
    assert nora["provisional"] is True
    assert nora["allowed"] is False
    assert nora["supervisors"] == [{"therapist": str(w.ana.pk), "name": "Ana Silva"}]
    assert by_name["Ana Silva"]["provisional"] is False
    assert by_name["Ana Silva"]["supervisors"] == []


def test_reassigning_a_supervised_booking_takes_a_new_supervisor(w):
    booked = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk)).json()
    response = w.desk.post(
        f"/api/v1/bookings/{booked['id']}/reassign/",
        {"therapist": str(w.nora.pk), "supervisor": str(w.carla.pk)},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["supervisor"] == str(w.carla.pk)


def _reassign(w, booking_id, **body):
    return w.desk.post(f"/api/v1/bookings/{booking_id}/reassign/", body, format="json")


def test_reassigning_to_the_same_therapist_without_a_supervisor_keeps_the_current_one(w):
    booked = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk)).json()
    response = _reassign(w, booked["id"], therapist=str(w.nora.pk))
    assert response.status_code == 200, response.content
    assert response.json()["supervisor"] == str(w.ana.pk)
    decision = Decision.objects.filter(booking_id=booked["id"], kind="reassignment").get()
    assert decision.allowed
    assert decision.case["supervisor"] == str(w.ana.pk)


def test_reassigning_to_the_same_therapist_with_supervisor_null_means_none(w):
    booked = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk)).json()
    response = _reassign(w, booked["id"], therapist=str(w.nora.pk), supervisor=None)
    assert response.status_code == 409
    assert _codes(response) == ["SUPERVISION_REQUIRED"]
    assert Booking.objects.get(pk=booked["id"]).supervisor_id == w.ana.pk  # unchanged


def test_reassigning_to_another_therapist_without_a_supervisor_gives_none(w):
    booked = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk)).json()
    # another provisional therapist is not given Nora's supervisor silently
    nina = TherapistFactory(name="Nina Newer")
    LicenseFactory(therapist=nina, jurisdiction="US-CA")
    EmploymentFactory(spa=w.spa, therapist=nina)
    CertificationFactory(therapist=nina, protocol=w.radiculopathy, school=w.school)
    refused = _reassign(w, booked["id"], therapist=str(nina.pk))
    assert refused.status_code == 409
    assert _codes(refused) == ["SUPERVISION_REQUIRED"]
    # a full therapist takes it alone: the supervisor's slot is freed
    moved = _reassign(w, booked["id"], therapist=str(w.carla.pk))
    assert moved.status_code == 200, moved.content
    assert (moved.json()["therapist"], moved.json()["supervisor"]) == (str(w.carla.pk), None)
    assert w.book(w.ana, w.intake_id).status_code == 201


def test_the_schema_says_what_an_omitted_or_null_reassign_supervisor_means():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    field = schema["components"]["schemas"]["ReassignRequest"]["properties"]["supervisor"]
    assert field["nullable"] is True
    assert "Omitted: the same `therapist` keeps the booking's current supervisor" in field["description"]
    assert "`null`: no supervisor" in field["description"]
    assert "supervisor" not in schema["components"]["schemas"]["ReassignRequest"].get("required", [])


def test_the_schema_documents_the_supervisor_field_and_every_reason_code():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert "supervisor" in components["BookingCreateRequest"]["properties"]
    assert "supervisor" in components["Booking"]["properties"]
    assert "supervisors" in components["Candidate"]["properties"]
    assert "supervised_sessions" in components["Protocol"]["properties"]
    assert "supervised_sessions" in components["PatchedProtocolUpdateRequest"]["properties"]
    code = components["Reason"]["properties"]["code"]
    assert code == {"$ref": "#/components/schemas/ReasonCode"}
    enum = set(components["ReasonCode"]["enum"])
    assert {c.value for c in ReasonCode} <= enum


def _refused_for_the_supervisor(response, w):
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/booking-refused"
    (reason,) = body["reasons"]
    assert reason["code"] == "SUPERVISOR_UNAVAILABLE"
    assert reason["supervisor"] == str(w.ana.pk)
    return reason


def test_a_supervisor_already_treating_in_an_overlapping_slot_is_refused_409_supervisor_unavailable(w):
    treating = w.book(w.ana, w.intake_id)
    assert treating.status_code == 201, treating.content
    before = Booking.objects.count()
    response = w.book(
        w.nora, w.intake_id, supervisor=str(w.ana.pk), start=(w.start + dt.timedelta(minutes=30)).isoformat()
    )
    reason = _refused_for_the_supervisor(response, w)
    assert reason["booking"] == treating.json()["id"]  # the spa's own booking is named
    assert Booking.objects.count() == before
    assert Decision.objects.filter(therapist=w.nora, allowed=False).count() == 1


def test_a_supervisor_booked_after_the_decision_is_refused_409_by_the_slot_holds_not_500(w, monkeypatch):
    """The race: the engine finds Ana free, then (before the insert) a booking of Ana in an
    overlapping slot commits — here written in the same transaction, without her lock, right
    after the decision. The slot holds' exclusion constraint (slothold_person_no_overlap) refuses
    Nora's booking: a 409 SUPERVISOR_UNAVAILABLE, the refusal logged, never a 500."""
    from registry.choices import BookingStatus
    from registry.models import Intake, SlotHold
    from registry.services import bookings

    decided = bookings._decided

    def decided_then_ana_booked(slot, therapist_id, **kwargs):
        outcome = decided(slot, therapist_id, **kwargs)
        assert outcome[0].allowed, outcome[0].reasons  # the engine saw Ana free
        Booking.objects.create(
            spa=slot.spa,
            therapist=w.ana,
            intake=Intake.objects.get(pk=w.intake_id),
            start=slot.start + dt.timedelta(minutes=30),
            end=slot.end + dt.timedelta(minutes=30),
            status=BookingStatus.CONFIRMED,
        )
        return outcome

    monkeypatch.setattr(bookings, "_decided", decided_then_ana_booked)
    response = w.book(w.nora, w.intake_id, supervisor=str(w.ana.pk))
    _refused_for_the_supervisor(response, w)
    assert not Booking.objects.filter(therapist=w.nora).exists()
    assert not SlotHold.objects.filter(therapist=w.nora).exists()
    refusal = Decision.objects.get(therapist=w.nora)
    assert refusal.allowed is False
    assert refusal.booking_id is None
    assert [r["code"] for r in refusal.reasons] == ["SUPERVISOR_UNAVAILABLE"]


def test_an_eligibility_check_with_a_supervisor_costs_one_statement_more(w, django_assert_num_queries):
    """Issue 23, L13: the check's two (authentication; the case and the therapist's facts in one,
    tests/test_query_counts.py) and the supervisor's facts."""
    body = {**w.slot(w.nora, w.intake_id), "supervisor": str(w.ana.pk)}
    w.desk.post("/api/v1/eligibility/check/", body, format="json")  # the connection's first-use work
    with django_assert_num_queries(3):
        response = w.desk.post("/api/v1/eligibility/check/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["allowed"] is True
