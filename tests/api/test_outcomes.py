"""After the session over HTTP (issue 22): the seed's case, the outcome and adverse-event
endpoints' refusals (a clear problem, nothing written), who reads what, the incident review and
the safety record. The world is ``booking_world`` (Harbour Spa; Ana certified by the School of
Medical Massage in low back with radiculopathy, which M51.16 needs) with the shipped signs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.models import AuditEvent, OutboxEvent
from protocols import catalog_data
from protocols.services import outcome_sign_create
from registry.models import AdverseEvent, Booking, SessionOutcome
from tests.api.helpers import assert_problem

NO_SIGNS = {spec["code"]: False for spec in catalog_data.OUTCOME_SIGNS}
BLADDER = "The client phoned: she lost bladder control on the stairs at home."


@pytest.fixture
def w(booking_world):
    for spec in catalog_data.OUTCOME_SIGNS:
        outcome_sign_create(actor=None, **spec)
    return booking_world


@pytest.fixture
def later(monkeypatch):
    """``later(hours)``: from now on the clock reads that many hours later."""

    def travel(hours: float) -> None:
        moment = timezone.now() + dt.timedelta(hours=hours)
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return travel


def answers(*yes: str) -> dict[str, bool]:
    return {**NO_SIGNS, **dict.fromkeys(yes, True)}


def past_booking(
    w, *, therapist=None, pain: int = 4, focus_minutes: int = 30, hours_ago: float = 1.5
) -> dict:
    """An intake (M51.16, ``pain``) and a confirmed booking of ``therapist`` (Ana) for a session
    that started ``hours_ago`` (an hour long, ``focus_minutes`` on the lumbar region)."""
    intake = w.intake(pain_score=pain)
    assert intake.status_code == 201, intake.content
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=hours_ago)
    booked = w.book(
        therapist or w.ana, intake.json()["id"], start=start.isoformat(), focus_minutes=focus_minutes
    )
    assert booked.status_code == 201, booked.content
    return booked.json()


def completed(w, **kwargs) -> dict:
    booking = past_booking(w, **kwargs)
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/complete/", format="json")
    assert response.status_code == 200, response.content
    return response.json()


def written() -> tuple[int, ...]:
    return (
        SessionOutcome.objects.count(),
        AdverseEvent.objects.count(),
        OutboxEvent.objects.count(),
        AuditEvent.objects.count(),
        Booking.objects.filter(status="completed").count(),
    )


# --- the seed's case ------------------------------------------------------------------------------


def test_the_seed_case_dizziness_is_mild_and_bladder_control_loss_two_hours_later_is_serious(w, later):
    booking = past_booking(w, pain=4, focus_minutes=30)
    assert (booking["focus_region"], booking["focus_minutes"]) == ("lumbar", 30)

    # completed, with the outcome: pain 5 (4 before) and dizziness
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/complete/",
        {"outcome": {"pain_after": 5, "signs": answers("dizziness")}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    outcome = body["outcome"]
    assert (outcome["pain_before"], outcome["pain_after"], outcome["pain_worse"]) == (4, 5, True)
    assert outcome["signs"] == ["dizziness", "pain-worse"]
    assert outcome["severity"] == "mild"
    assert outcome["emergency"] is False
    assert outcome["adverse_event"] is None
    assert {a["severity"] for a in outcome["advice"]} == {"mild"}
    assert not AdverseEvent.objects.exists()

    # two hours later: a second report, of bladder-control loss
    later(2)
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/adverse-events/",
        {"signs": ["bladder-bowel-change"], "narrative": BLADDER},
        format="json",
    )
    assert response.status_code == 201, response.content
    event = response.json()
    assert (event["kind"], event["severity"], event["emergency"]) == ("report", "serious", True)
    assert event["advice"][0]["sign"] == "bladder-bowel-change"
    assert event["advice"][0]["instruction"] == catalog_data.EMERGENCY_INSTRUCTION
    assert (event["therapist"], event["protocol"], event["focus_region"], event["focus_minutes"]) == (
        str(w.ana.pk),
        "low-back-radiculopathy",
        "lumbar",
        30,
    )
    assert event["certifications"] == [str(w.certification.pk)]

    # the certification the booking rested on is now under registry review
    certification = w.school_staff.get(f"/api/v1/certifications/{w.certification.pk}/").json()
    assert certification["review_required"] is True
    assert certification["status"] == "active"  # it still counts until the registry decides
    assert sorted(OutboxEvent.objects.values_list("type", flat=True)) == [
        "adverse_event.reported",
        "certification.review_required",
    ]
    # the outcome stays as it was recorded; the incident review has both
    incident = w.admin.get(f"/api/v1/bookings/{booking['id']}/incident/").json()
    assert incident["outcome"]["severity"] == "mild"
    assert [e["severity"] for e in incident["adverse_events"]] == ["serious"]


def test_a_serious_sign_in_the_outcome_itself_answers_201_with_the_emergency_instruction_first(w):
    booking = completed(w)
    response = w.ana_client.post(
        f"/api/v1/bookings/{booking['id']}/outcome/",
        {"pain_after": 3, "signs": answers("dizziness", "saddle-numbness")},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["emergency"] is True
    assert [a["severity"] for a in body["advice"]] == ["serious", "mild"]
    assert body["advice"][0]["instruction"].startswith("Call the emergency number now")
    event = w.desk.get(f"/api/v1/bookings/{booking['id']}/adverse-events/").json()["results"]
    assert [(e["id"], e["kind"], e["signs"]) for e in event] == [
        (body["adverse_event"], "outcome", ["saddle-numbness"])
    ]
    assert w.desk.get(f"/api/v1/bookings/{booking['id']}/outcome/").json() == body


# --- bad input: a clear 4xx and nothing written --------------------------------------------------------


def test_an_outcome_for_a_booking_not_completed_is_a_conflict(w):
    booking = past_booking(w)
    before = written()
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/outcome/", {"pain_after": 4, "signs": answers()}, format="json"
    )
    body = assert_problem(response, 409, "conflict")
    assert "completed session" in body["detail"]
    assert written() == before


def test_a_second_outcome_for_one_booking_is_a_conflict(w):
    booking = completed(w)
    url = f"/api/v1/bookings/{booking['id']}/outcome/"
    assert w.desk.post(url, {"pain_after": 4, "signs": answers()}, format="json").status_code == 201
    before = written()
    body = assert_problem(w.ana_client.post(url, {"pain_after": 6, "signs": answers()}, format="json"), 409)
    assert "already recorded" in body["detail"]
    assert written() == before


def test_an_outcome_after_72_hours_is_a_conflict(w, later):
    booking = completed(w)
    later(72.5)
    before = written()
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/outcome/", {"pain_after": 4, "signs": answers()}, format="json"
    )
    body = assert_problem(response, 409, "conflict")
    assert "within 72 hours" in body["detail"]
    assert "adverse-events" in body["detail"]
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pain_after": 4, "signs": {**answers(), "fainted": True}}, "signs.fainted"),
        (
            {"pain_after": 4, "signs": {k: v for k, v in answers().items() if k != "dizziness"}},
            "signs.dizziness",
        ),
        ({"pain_after": 4, "signs": {**answers(), "dizziness": "yes"}}, "signs.dizziness"),
        ({"pain_after": 11, "signs": answers()}, "pain_after"),
        ({"pain_after": -1, "signs": answers()}, "pain_after"),
        ({"pain_after": "5", "signs": answers()}, "pain_after"),
        ({"signs": answers()}, "pain_after"),
        ({"pain_after": 4}, "signs"),
    ],
)
def test_bad_outcome_input_is_a_validation_error_naming_the_field(w, body, field):
    booking = completed(w)
    before = written()
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/outcome/", body, format="json")
    problem = assert_problem(response, 400, "validation-error")
    assert field in problem["errors"], problem
    assert written() == before


def test_a_refused_outcome_given_with_complete_completes_nothing(w):
    booking = past_booking(w)
    before = written()
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/complete/",
        {"outcome": {"pain_after": 4, "signs": {"fainted": True}}},
        format="json",
    )
    problem = assert_problem(response, 400, "validation-error")
    assert "outcome.signs.fainted" in problem["errors"], problem  # the body's path
    assert Booking.objects.get(pk=booking["id"]).status == "confirmed"
    assert written() == before


def test_another_spas_booking_answers_404_and_writes_nothing(w):
    booking = completed(w)
    before = written()
    for method, path, body in (
        ("post", "outcome/", {"pain_after": 4, "signs": answers()}),
        ("get", "outcome/", None),
        ("post", "adverse-events/", {"signs": ["saddle-numbness"], "narrative": "x"}),
        ("get", "adverse-events/", None),
        ("get", "incident/", None),
    ):
        response = getattr(w.other_desk, method)(
            f"/api/v1/bookings/{booking['id']}/{path}", body, format="json"
        )
        assert_problem(response, 404, "not-found")
        # another therapist (Beth, not assigned) does not reach it either
        if path != "incident/":
            assert_problem(
                getattr(w.beth_client, method)(
                    f"/api/v1/bookings/{booking['id']}/{path}", body, format="json"
                ),
                404,
            )
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signs": ["fainted"], "narrative": BLADDER}, "signs.0"),
        ({"signs": [], "narrative": BLADDER}, "signs"),
        ({"signs": ["bladder-bowel-change"], "narrative": "  "}, "narrative"),
        ({"signs": ["bladder-bowel-change"]}, "narrative"),
        ({"signs": "bladder-bowel-change", "narrative": BLADDER}, "signs"),
    ],
)
def test_bad_adverse_event_input_is_a_validation_error_and_flags_nothing(w, body, field):
    booking = completed(w)
    before = written()
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/adverse-events/", body, format="json")
    problem = assert_problem(response, 400, "validation-error")
    assert field in problem["errors"], problem
    assert written() == before
    w.certification.refresh_from_db()
    assert not w.certification.review_required


def test_an_adverse_event_on_a_booking_not_completed_is_a_conflict(w):
    booking = past_booking(w)
    before = written()
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/adverse-events/",
        {"signs": ["saddle-numbness"], "narrative": BLADDER},
        format="json",
    )
    assert_problem(response, 409, "conflict")
    assert written() == before


# --- who may -----------------------------------------------------------------------------------------


def test_the_assigned_therapist_and_a_registry_admin_may_report_later(w, later):
    booking = completed(w)
    later(24 * 5)  # days later: past the outcome's window, an adverse event is still reported
    url = f"/api/v1/bookings/{booking['id']}/adverse-events/"
    by_ana = w.ana_client.post(
        url, {"signs": ["new-numbness-tingling"], "narrative": "Tingling in the foot."}
    )
    assert by_ana.status_code == 201, by_ana.content
    assert by_ana.json()["severity"] == "moderate"
    later(1)
    by_admin = w.admin.post(url, {"signs": ["new-limb-weakness"], "narrative": "Weak leg, seen at A&E."})
    assert by_admin.status_code == 201, by_admin.content
    # the admin reads the events in the audited incident review, not the booking's list
    assert_problem(w.admin.get(url), 403)
    assert_problem(w.school_staff.post(url, {"signs": ["saddle-numbness"], "narrative": "x"}), 403)
    assert [e["severity"] for e in w.desk.get(url).json()["results"]] == ["moderate", "serious"]


def test_only_the_spa_and_the_therapist_record_an_outcome(w):
    booking = completed(w)
    url = f"/api/v1/bookings/{booking['id']}/outcome/"
    for client in (w.admin, w.school_staff):
        assert_problem(client.post(url, {"pain_after": 4, "signs": answers()}, format="json"), 403)
    assert w.ana_client.post(url, {"pain_after": 4, "signs": answers()}, format="json").status_code == 201


def test_the_incident_review_answers_decisions_outcome_and_events_and_audits_an_admins_read(w):
    booking = completed(w)
    w.desk.post(
        f"/api/v1/bookings/{booking['id']}/outcome/",
        {"pain_after": 4, "signs": answers("new-numbness-tingling")},
        format="json",
    )
    spa_view = w.desk.get(f"/api/v1/bookings/{booking['id']}/incident/")
    assert spa_view.status_code == 200
    body = spa_view.json()
    assert body["booking"]["id"] == booking["id"]
    assert [d["allowed"] for d in body["decisions"]] == [True]
    assert body["decisions"] == w.desk.get(f"/api/v1/bookings/{booking['id']}/decisions/").json()["results"]
    assert body["outcome"]["severity"] == "moderate"
    assert [e["id"] for e in body["adverse_events"]] == [body["outcome"]["adverse_event"]]
    assert not AuditEvent.objects.filter(action="incident.read").exists()

    assert w.admin.get(f"/api/v1/bookings/{booking['id']}/incident/").json() == body
    read = AuditEvent.objects.get(action="incident.read")
    assert (read.actor_id, read.object_id) == (w.admin.user.pk, booking["id"])
    assert_problem(w.ana_client.get(f"/api/v1/bookings/{booking['id']}/incident/"), 403)
    # the decision log's own contract is unchanged: a page of decisions
    decisions = w.admin.get(f"/api/v1/bookings/{booking['id']}/decisions/").json()
    assert set(decisions) == {"count", "next", "previous", "results"}


def test_completing_without_a_body_still_answers_the_booking(w):
    booking = past_booking(w)
    response = w.desk.post(f"/api/v1/bookings/{booking['id']}/complete/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert body["outcome"] is None
    assert {k: v for k, v in body.items() if k not in ("status", "outcome")} == {
        k: v for k, v in booking.items() if k != "status"
    }


# --- the catalog and the safety record ----------------------------------------------------------------


def test_anyone_reads_the_signs_in_asking_order(w, api_client):
    body = api_client.get("/api/v1/outcome-signs/").json()
    assert [s["code"] for s in body["results"]] == [spec["code"] for spec in catalog_data.OUTCOME_SIGNS]
    sign = api_client.get("/api/v1/outcome-signs/saddle-numbness/").json()
    assert (sign["severity"], sign["instruction"]) == ("serious", catalog_data.EMERGENCY_INSTRUCTION)
    assert "NICE" in sign["source"]
    serious = api_client.get("/api/v1/outcome-signs/?severity=serious").json()["results"]
    assert [s["code"] for s in serious] == ["new-limb-weakness", "bladder-bowel-change", "saddle-numbness"]
    assert_problem(api_client.get("/api/v1/outcome-signs/fainted/"), 404)


def test_the_safety_record_by_role(w, client_for):
    from registry.choices import Role

    for yes in ((), ("dizziness",), ("saddle-numbness",)):
        booking = completed(w, hours_ago=1.5 + len(yes) * 2)
        w.desk.post(
            f"/api/v1/bookings/{booking['id']}/outcome/",
            {"pain_after": 3, "signs": answers(*yes)},
            format="json",
        )
    completed(w, therapist=w.carla)  # Carla: a session, no outcome yet

    expected_ana = {
        "sessions_completed": 3,
        "outcomes_recorded": 3,
        "pain_worse": 0,
        "pain_worse_share": 0.0,
        "mild": 1,
        "moderate": 0,
        "serious": 1,
    }

    def records(client, query=""):
        response = client.get(f"/api/v1/safety-records/{query}")
        assert response.status_code == 200, response.content
        return {(r["therapist_name"], r["protocol"]): r for r in response.json()["results"]}

    spa = records(w.desk)
    assert set(spa) == {("Ana Silva", "low-back-radiculopathy"), ("Carla Diaz", "low-back-radiculopathy")}
    assert spa[("Ana Silva", "low-back-radiculopathy")]["all_time"] == expected_ana
    assert spa[("Ana Silva", "low-back-radiculopathy")]["last_90_days"] == expected_ana
    assert spa[("Carla Diaz", "low-back-radiculopathy")]["all_time"]["pain_worse_share"] is None
    assert set(records(w.desk, f"?therapist={w.carla.pk}")) == {("Carla Diaz", "low-back-radiculopathy")}
    assert set(records(w.ana_client)) == {("Ana Silva", "low-back-radiculopathy")}
    assert set(records(w.school_staff)) == set(spa)  # both sessions rested on the school's certificates
    assert set(records(w.admin)) == set(spa)
    assert records(w.other_desk) == {}  # Other Spa employs neither
    assert records(client_for(Role.SCHOOL_STAFF)) == {}  # another school issued neither certificate
    assert records(w.beth_client) == {}
    text = w.admin.get("/api/v1/safety-records/").content.decode()
    assert "C-0001" not in text
    assert "M51.16" not in text
