"""After the session: outcomes, adverse events and what a serious one sets off (issue 22), at the
service level. The world is ``registry/tests/conftest.py``'s (Ana certified in low back with
radiculopathy, which M51.16 needs) with the shipped signs; sessions are booked through the
booking gate, two hours ago, and completed through ``booking_complete``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import AuditEvent, OutboxEvent
from credentials.tests.factories import CertificationFactory
from protocols import catalog_data
from protocols.services import outcome_sign_create
from registry import eligibility
from registry.choices import BookingStatus
from registry.models import AdverseEvent, Booking, SessionCertification, SessionOutcome
from registry.services.bookings import booking_complete, booking_create, slot_validate
from registry.services.intakes import intake_record
from registry.services.outcomes import (
    adverse_event_report,
    booking_complete_with_outcome,
    session_outcome_record,
)

pytestmark = pytest.mark.django_db

NO_SIGNS = {spec["code"]: False for spec in catalog_data.OUTCOME_SIGNS}


@pytest.fixture
def signs(world):
    for spec in catalog_data.OUTCOME_SIGNS:
        outcome_sign_create(actor=None, **spec)
    return world


def answers(*yes: str) -> dict[str, bool]:
    return {**NO_SIGNS, **dict.fromkeys(yes, True)}


def session(
    world, *, therapist=None, hours_ago: float = 2, pain: int = 4, focus_minutes: int = 30, complete=True
):
    intake = intake_record(
        actor=None,
        spa=world.spa,
        client_ref="CLIENT-0001",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=pain,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=timezone.now() - dt.timedelta(hours=hours_ago),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=focus_minutes,
    )
    outcome = booking_create(actor=None, therapist=therapist or world.ana, slot=slot)
    assert outcome.booking is not None, outcome.result.reasons
    if complete:
        return booking_complete(actor=None, booking=outcome.booking)
    return outcome.booking


def written() -> tuple[int, ...]:
    return (
        SessionOutcome.objects.count(),
        AdverseEvent.objects.count(),
        OutboxEvent.objects.count(),
        AuditEvent.objects.count(),
    )


# --- what a session rested on -----------------------------------------------------------------------


def test_completing_a_booking_records_the_certification_the_session_rested_on(signs):
    booking = session(signs)
    (row,) = SessionCertification.objects.filter(booking=booking)
    assert (row.certification_id, row.protocol_id) == (signs.certification.pk, signs.radiculopathy.pk)


def test_the_engine_names_one_certification_per_group_the_longest_lasting():
    start = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=1)

    def cert(pk, protocol, days, revoked=None):
        return eligibility.CertificationFact(
            id=pk,
            protocol=protocol,
            valid_from=start - dt.timedelta(days=30),
            expires_at=start + dt.timedelta(days=days),
            revoked_at=revoked,
        )

    facts = eligibility.TherapistFacts(
        therapist_id="t",
        name="Ana",
        certifications=(
            cert("short", "radic", 40),
            cert("long", "radic", 400),
            cert("revoked", "radic", 900, revoked=start),  # revoked before the session ends
            cert("neck", "neck", 300),
            cert("unused", "shoulder", 400),
        ),
    )
    case = eligibility.Case(
        spa_id="s",
        spa_jurisdiction="US-CA",
        spa_timezone="UTC",
        start=start,
        end=end,
        intake_valid_until=end,
        conditions=(
            eligibility.ConditionFact("M51.16", "disc", "lumbar", (("radic",),)),
            eligibility.ConditionFact("M54.12", "neck", "cervical", (("neck", "radic"), ("missing",))),
        ),
    )
    relied = eligibility.certifications_relied_on(facts, case)
    assert [c.id for c in relied] == ["long"]  # the neck group is met by "long" (radic) too
    assert (
        eligibility.certifications_relied_on(facts, eligibility.Case(**{**case.__dict__, "conditions": ()}))
        == ()
    )


# --- the seed's case --------------------------------------------------------------------------------


def test_dizziness_and_a_higher_pain_score_are_mild_signs_and_raise_no_event(signs):
    booking = session(signs, pain=4)
    result = session_outcome_record(actor=None, booking=booking, pain_after=5, signs=answers("dizziness"))
    outcome = result.outcome
    assert (outcome.pain_before, outcome.pain_after, outcome.pain_worse) == (4, 5, True)
    assert outcome.signs == ["dizziness", "pain-worse"]  # the higher score adds pain-worse
    assert outcome.severity == "mild"
    assert [a["sign"] for a in outcome.advice] == ["dizziness", "pain-worse"]
    assert result.adverse_event is None
    assert not AdverseEvent.objects.exists()
    assert not OutboxEvent.objects.filter(type="adverse_event.reported").exists()
    signs.certification.refresh_from_db()
    assert not signs.certification.review_required


def test_bladder_control_loss_reported_later_is_serious_and_puts_the_certification_under_review(signs):
    booking = session(signs, pain=4)
    session_outcome_record(actor=None, booking=booking, pain_after=5, signs=answers("dizziness"))

    event = adverse_event_report(
        actor=signs.desk,
        booking=booking,
        signs=["bladder-bowel-change"],
        narrative="The client called: she lost bladder control on the stairs two hours after the session.",
    )

    assert (event.kind, event.severity, event.signs) == ("report", "serious", ["bladder-bowel-change"])
    assert event.advice[0]["instruction"].startswith("Call the emergency number now")
    assert list(event.certifications.all()) == [signs.certification]
    assert (event.therapist, event.protocol, event.focus_region, event.focus_minutes) == (
        signs.ana,
        signs.radiculopathy,
        "lumbar",
        30,
    )
    signs.certification.refresh_from_db()
    assert signs.certification.review_required
    assert str(event.pk) in signs.certification.review_reason
    assert AuditEvent.objects.filter(action="adverse_event.reported", object_id=str(event.pk)).exists()
    assert AuditEvent.objects.filter(
        action="certification.review_required", object_id=str(signs.certification.pk)
    ).exists()
    reported = OutboxEvent.objects.get(type="adverse_event.reported")
    assert reported.data == {
        "adverse_event": str(event.pk),
        "booking": str(booking.pk),
        "therapist": str(signs.ana.pk),
        "certifications": [str(signs.certification.pk)],
        "protocol": "low-back-radiculopathy",
        "focus_region": "lumbar",
        "focus_minutes": 30,
        "severity": "serious",
        "kind": "report",
        "reported_at": event.reported_at.isoformat(),
    }
    assert set(reported.audience) == {
        "registry",
        f"spa:{signs.spa.pk}",
        f"school:{signs.certification.school_id}",
    }
    review = OutboxEvent.objects.get(type="certification.review_required")
    assert review.audience == [f"school:{signs.certification.school_id}"]
    text = json.dumps([reported.data, review.data])
    for client_data in ("CLIENT-0001", "M51.16", "bladder", "stairs", "pain"):
        assert client_data not in text


def test_a_moderate_outcome_raises_an_adverse_event_without_a_review(signs):
    booking = session(signs, pain=4)
    result = session_outcome_record(
        actor=None, booking=booking, pain_after=3, signs=answers("new-numbness-tingling", "muscle-spasm")
    )
    assert result.outcome.severity == "moderate"
    assert result.outcome.pain_worse is False
    event = result.adverse_event
    assert (event.kind, event.severity, event.signs, event.outcome) == (
        "outcome",
        "moderate",
        ["new-numbness-tingling"],
        result.outcome,
    )
    assert OutboxEvent.objects.filter(type="adverse_event.reported").count() == 1
    assert not OutboxEvent.objects.filter(type="certification.review_required").exists()
    signs.certification.refresh_from_db()
    assert not signs.certification.review_required


def test_a_serious_sign_in_the_outcome_itself_puts_the_emergency_instruction_first(signs):
    booking = session(signs)
    result = session_outcome_record(
        actor=None, booking=booking, pain_after=2, signs=answers("dizziness", "saddle-numbness")
    )
    assert [a["severity"] for a in result.outcome.advice] == ["serious", "mild"]
    assert result.adverse_event.severity == "serious"
    signs.certification.refresh_from_db()
    assert signs.certification.review_required


def test_completing_with_the_outcome_is_one_transaction(signs):
    booking = session(signs, complete=False)
    booking, result = booking_complete_with_outcome(
        actor=None, booking=booking, pain_after=4, signs=answers()
    )
    assert booking.status == BookingStatus.COMPLETED
    assert result.outcome.severity == "none"
    assert result.adverse_event is None


def test_a_refused_outcome_completes_nothing(signs):
    booking = session(signs, complete=False)
    before = written()
    with pytest.raises(DomainError) as error:
        booking_complete_with_outcome(actor=None, booking=booking, pain_after=11, signs=answers())
    assert "pain_after" in error.value.errors
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
    assert not SessionCertification.objects.filter(booking=booking).exists()
    assert written() == before


# --- refusals: a clear error and nothing written -----------------------------------------------------


@pytest.mark.parametrize(
    ("pain_after", "given", "field"),
    [
        (11, answers(), "pain_after"),
        (-1, answers(), "pain_after"),
        ("5", answers(), "pain_after"),
        (True, answers(), "pain_after"),
        (5, {**answers(), "fainted": True}, "signs.fainted"),
        (5, {k: v for k, v in answers().items() if k != "saddle-numbness"}, "signs.saddle-numbness"),
        (5, {**answers(), "dizziness": "yes"}, "signs.dizziness"),
        (5, ["dizziness"], "signs"),
    ],
)
def test_bad_outcome_input_is_refused_field_by_field_and_writes_nothing(signs, pain_after, given, field):
    booking = session(signs)
    before = written()
    with pytest.raises(DomainError) as error:
        session_outcome_record(actor=None, booking=booking, pain_after=pain_after, signs=given)
    assert field in error.value.errors
    assert written() == before


def test_an_outcome_needs_a_completed_booking(signs):
    booking = session(signs, hours_ago=-24, complete=False)  # tomorrow, confirmed
    before = written()
    with pytest.raises(Conflict, match="completed session; this booking is confirmed"):
        session_outcome_record(actor=None, booking=booking, pain_after=4, signs=answers())
    assert written() == before


def test_a_second_outcome_for_one_booking_is_a_conflict(signs):
    booking = session(signs)
    session_outcome_record(actor=None, booking=booking, pain_after=4, signs=answers())
    before = written()
    with pytest.raises(Conflict, match="already recorded"):
        session_outcome_record(actor=None, booking=booking, pain_after=6, signs=answers("dizziness"))
    assert written() == before


def test_an_outcome_after_72_hours_is_refused_and_points_to_an_adverse_event(signs):
    booking = session(signs)
    before = written()
    later = booking.end + dt.timedelta(hours=72, seconds=1)
    with pytest.raises(Conflict, match="within 72 hours"):
        session_outcome_record(actor=None, booking=booking, pain_after=4, signs=answers(), now=later)
    assert written() == before
    # at 72 hours exactly it is still on time
    on_time = booking.end + dt.timedelta(hours=72)
    assert session_outcome_record(actor=None, booking=booking, pain_after=4, signs=answers(), now=on_time)


@pytest.mark.parametrize(
    ("given", "narrative", "field"),
    [
        ([], "Something happened.", "signs"),
        (["fainted"], "Something happened.", "signs.0"),
        ("bladder-bowel-change", "Something happened.", "signs"),
        (["bladder-bowel-change"], "   ", "narrative"),
        (["bladder-bowel-change"], "x" * 4001, "narrative"),
        (["bladder-bowel-change"], None, "narrative"),
    ],
)
def test_bad_adverse_event_input_is_refused_and_writes_nothing(signs, given, narrative, field):
    booking = session(signs)
    before = written()
    with pytest.raises(DomainError) as error:
        adverse_event_report(actor=None, booking=booking, signs=given, narrative=narrative)
    assert field in error.value.errors
    assert written() == before
    signs.certification.refresh_from_db()
    assert not signs.certification.review_required


def test_an_adverse_event_needs_a_session_that_took_place(signs):
    booking = session(signs, hours_ago=-24, complete=False)
    with pytest.raises(Conflict):
        adverse_event_report(actor=None, booking=booking, signs=["saddle-numbness"], narrative="Called us.")
    assert not AdverseEvent.objects.exists()


def test_a_revoked_certification_is_not_flagged_again(signs):
    from registry.services.credentials import certification_revoke

    booking = session(signs)
    certification_revoke(actor=None, certification=signs.certification, reason="Fraud")
    adverse_event_report(actor=None, booking=booking, signs=["saddle-numbness"], narrative="Called us.")
    signs.certification.refresh_from_db()
    assert not signs.certification.review_required
    assert not OutboxEvent.objects.filter(type="certification.review_required").exists()


def test_a_session_resting_on_no_protocol_still_records_its_event(signs):
    other = CertificationFactory(therapist=signs.beth, protocol=signs.radiculopathy)
    intake = intake_record(
        actor=None,
        spa=signs.spa,
        client_ref="W-1",
        condition_codes=["WELLNESS"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=2,
    )
    slot = slot_validate(
        spa=signs.spa,
        intake=intake,
        start=timezone.now() - dt.timedelta(hours=2),
        duration_minutes=60,
        focus_region=None,
        focus_minutes=0,
    )
    booking = booking_complete(
        actor=None, booking=booking_create(actor=None, therapist=signs.beth, slot=slot).booking
    )
    event = adverse_event_report(
        actor=None, booking=booking, signs=["saddle-numbness"], narrative="Called us."
    )
    assert event.protocol is None
    assert list(event.certifications.all()) == []
    other.refresh_from_db()
    assert not other.review_required


# --- append-only -------------------------------------------------------------------------------------


def test_outcomes_events_and_what_a_session_rested_on_cannot_be_rewritten(signs):
    from django.db import DatabaseError, transaction

    booking = session(signs)
    result = session_outcome_record(
        actor=None, booking=booking, pain_after=4, signs=answers("saddle-numbness")
    )
    tables = {
        "registry_sessionoutcome": ("pain_after = 0", result.outcome.pk),
        "registry_adverseevent": ("severity = 'mild'", result.adverse_event.pk),
        "registry_sessioncertification": ("recorded_at = now()", booking.session_certifications.get().pk),
    }
    for table, (change, pk) in tables.items():
        for sql in (f"UPDATE {table} SET {change} WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                connection.cursor().execute(sql, [pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        connection.cursor().execute(
            "DELETE FROM registry_adverseevent_certifications WHERE adverseevent_id = %s",
            [result.adverse_event.pk],
        )


def test_recording_an_outcome_costs_a_fixed_number_of_queries(signs):
    first, second = session(signs), session(signs, hours_ago=5)
    with CaptureQueriesContext(connection) as one:
        session_outcome_record(actor=None, booking=first, pain_after=4, signs=answers("dizziness"))
    with CaptureQueriesContext(connection) as other:
        session_outcome_record(actor=None, booking=second, pain_after=7, signs=answers("muscle-spasm"))
    assert len(one) == len(other)
