"""``Idempotency-Key`` on the creating POSTs: the same key and body replay the first answer (a
refusal included) and create nothing new, also when the duplicates race; another body with
the same key is 422 ``idempotency-mismatch``."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from api.idempotency import request_hash
from core.models import IdempotencyKey
from credentials.tests.factories import ClinicalExperienceFactory, SchoolAuthorizationFactory
from registry.choices import Role
from registry.models import Booking, Decision, Intake
from tests.api.helpers import ProblemCheckingClient, assert_problem


def _post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_booking_five_times_creates_one_and_answers_the_same(booking_world):
    w = booking_world
    intake = w.intake().json()
    body = w.slot(w.ana, intake["id"])
    responses = [_post(w.desk, "/api/v1/bookings/", body, "book-ana-1") for _ in range(5)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1  # byte for byte
    assert "Idempotent-Replayed" not in responses[0]
    assert all(r["Idempotent-Replayed"] == "true" for r in responses[1:])
    assert Booking.objects.count() == 1
    assert Decision.objects.count() == 1


def test_a_refusal_is_replayed_too_and_decided_once(booking_world):
    w = booking_world
    intake = w.intake().json()
    body = w.slot(w.beth, intake["id"])
    responses = [_post(w.desk, "/api/v1/bookings/", body, "book-beth-1") for _ in range(5)]
    assert {r.status_code for r in responses} == {409}
    assert len({r.content for r in responses}) == 1
    for response in responses:
        assert (
            assert_problem(response, 409, "booking-refused")["reasons"][0]["code"] == "PROTOCOL_NOT_CERTIFIED"
        )
    assert Booking.objects.count() == 0
    assert Decision.objects.count() == 1  # the refusal committed its record, and the key with it
    assert IdempotencyKey.objects.get(key="book-beth-1").response_status == 409


def test_the_same_key_with_another_body_is_a_422_mismatch(booking_world):
    w = booking_world
    intake = w.intake().json()
    assert _post(w.desk, "/api/v1/bookings/", w.slot(w.ana, intake["id"]), "k-1").status_code == 201
    other = _post(w.desk, "/api/v1/bookings/", w.slot(w.ana, intake["id"], focus_minutes=10), "k-1")
    assert_problem(other, 422, "idempotency-mismatch")
    # ... and on another path
    assert_problem(_post(w.desk, "/api/v1/intakes/", {"pain_score": 1}, "k-1"), 422, "idempotency-mismatch")
    assert Booking.objects.count() == 1


def test_intakes_are_idempotent(booking_world):
    w = booking_world
    body = {
        "spa": str(w.spa.pk),
        "client_ref": "C-7",
        "conditions": ["M51.16"],
        "screening": {"ces-bladder-bowel": False, "recent-trauma": False},
        "pain_score": 4,
    }
    first = _post(w.desk, "/api/v1/intakes/", body, "intake-7")
    again = _post(w.desk, "/api/v1/intakes/", dict(reversed(body.items())), "intake-7")  # same JSON
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert Intake.objects.count() == 1


def test_an_invalid_request_keeps_no_claim_so_the_corrected_retry_works(booking_world):
    w = booking_world
    intake = w.intake().json()
    bad = _post(w.desk, "/api/v1/bookings/", w.slot(w.ana, intake["id"], start="2030-01-01T10:00:00"), "k-2")
    assert assert_problem(bad, 400, "validation-error")["errors"]["start"]
    assert not IdempotencyKey.objects.filter(key="k-2").exists()
    assert _post(w.desk, "/api/v1/bookings/", w.slot(w.ana, intake["id"]), "k-2").status_code == 201


def test_keys_belong_to_their_user(booking_world, client_for):
    w = booking_world
    colleague = client_for(Role.SPA_STAFF, spa=w.spa)
    first = w.intake(client_ref="C-8")
    body = {
        "spa": str(w.spa.pk),
        "client_ref": "C-9",
        "conditions": ["M51.16"],
        "screening": {"ces-bladder-bowel": False, "recent-trauma": False},
        "pain_score": 2,
    }
    mine = _post(w.desk, "/api/v1/intakes/", body, "same-key")
    theirs = _post(colleague, "/api/v1/intakes/", body, "same-key")
    assert first.status_code == mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_an_overlong_key_is_a_400(booking_world):
    w = booking_world
    response = _post(w.desk, "/api/v1/intakes/", {}, "k" * 201)
    assert "Idempotency-Key" in assert_problem(response, 400, "validation-error")["errors"]


def test_the_request_hash_reads_the_body_as_canonical_json():
    assert request_hash("POST", "/x/", {"a": 1, "b": [1, 2]}) == request_hash(
        "post", "/x/", {"b": [1, 2], "a": 1}
    )
    assert request_hash("POST", "/x/", {"a": 1}) != request_hash("POST", "/y/", {"a": 1})
    assert request_hash("POST", "/x/", {"a": 1}) != request_hash("POST", "/x/", {"a": 2})


@pytest.mark.parametrize("authorised", [True, False])
def test_certifications_are_idempotent_a_refused_issuance_too(booking_world, authorised):
    w = booking_world
    if authorised:
        SchoolAuthorizationFactory(school=w.school, protocol=w.radiculopathy)
    ClinicalExperienceFactory(instructor=w.instructor, protocol=w.radiculopathy)
    taught = (timezone.now() - dt.timedelta(days=10)).date().isoformat()
    body = {
        "therapist": str(w.beth.pk),
        "protocol": w.radiculopathy.slug,
        "school": str(w.school.pk),
        "instructor": str(w.instructor.pk),
        "taught_on": taught,
        "modules": [
            {"kind": kind, "completed_on": taught, "hours": "10", "assessment_passed": True}
            for kind in ("fundamentals", "critical-details", "harm-avoidance")
        ],
    }
    responses = [_post(w.school_staff, "/api/v1/certifications/", body, "cert-beth") for _ in range(3)]
    assert {r.status_code for r in responses} == {201 if authorised else 422}, responses[0].content
    assert len({r.content for r in responses}) == 1
    assert w.beth.certifications.count() == (1 if authorised else 0)
    if not authorised:
        assert (
            assert_problem(responses[0], 422, "issuance-refused")["reasons"][0]["code"]
            == "SCHOOL_NOT_AUTHORIZED"
        )


# --- racing duplicates: each thread its own client and connection ------------------------------


def _race(functions):
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except BaseException as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _as_desk(desk) -> ProblemCheckingClient:
    client = ProblemCheckingClient()
    client.credentials(**desk._credentials)
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("therapist", "status"), [("ana", 201), ("beth", 409)])
def test_concurrent_duplicates_create_one_and_answer_the_same(booking_world, therapist, status):
    w = booking_world
    intake = w.intake().json()
    body = w.slot(getattr(w, therapist), intake["id"])

    def attempt():
        return _post(_as_desk(w.desk), "/api/v1/bookings/", body, f"race-{therapist}")

    results = _race([attempt] * 5)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert {r.status_code for r in results} == {status}
    assert len({r.content for r in results}) == 1
    assert sum(1 for r in results if r.get("Idempotent-Replayed") == "true") == 4
    assert Booking.objects.count() == (1 if status == 201 else 0)
    assert Decision.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
