"""The safety record per therapist and protocol (issue 22): what it counts, and one query for it
whether ten sessions or a thousand are behind it. Sessions are made in bulk (``bulk_create``):
completed bookings of one intake, each resting on Ana's certification, every third with an
outcome, some with adverse events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from credentials.tests.factories import CertificationFactory
from protocols.tests.factories import ProtocolFactory
from registry.choices import AdverseEventKind, BookingStatus
from registry.models import AdverseEvent, Booking, SessionCertification, SessionOutcome
from registry.selectors import safety_records
from registry.tests.factories import IntakeFactory

pytestmark = pytest.mark.django_db


def make_sessions(
    world, count: int, *, therapist=None, certification=None, days_ago: int = 1, with_outcomes: bool = True
):
    """``count`` completed sessions of ``therapist`` (default Ana) resting on ``certification``.
    Every third has an outcome (every sixth with pain worse); every tenth a moderate adverse
    event, every twentieth a serious one. Returns what was made."""
    therapist = therapist or world.ana
    certification = certification or world.certification
    intake = IntakeFactory(spa=world.spa, conditions=[world.disc], pain_score=4)
    start = timezone.now() - dt.timedelta(days=days_ago)
    bookings = Booking.objects.bulk_create(
        Booking(
            spa=world.spa,
            therapist=therapist,
            intake=intake,
            start=start - dt.timedelta(minutes=index),
            end=start - dt.timedelta(minutes=index) + dt.timedelta(hours=1),
            focus_region="lumbar",
            focus_minutes=20,
            status=BookingStatus.COMPLETED,
        )
        for index in range(count)
    )
    SessionCertification.objects.bulk_create(
        SessionCertification(
            booking=b, certification=certification, protocol_id=certification.protocol_id, recorded_at=b.end
        )
        for b in bookings
    )
    outcomes = SessionOutcome.objects.bulk_create(
        SessionOutcome(
            booking=b,
            pain_before=4,
            pain_after=5 if index % 6 == 0 else 3,
            pain_worse=index % 6 == 0,
            signs=["pain-worse"] if index % 6 == 0 else [],
            asked=["pain-worse"],
            severity="mild" if index % 6 == 0 else "none",
            recorded_at=b.end,
        )
        for index, b in enumerate(bookings)
        if with_outcomes and index % 3 == 0
    )
    events = []
    for index, b in enumerate(bookings):
        for every, severity in ((10, "moderate"), (20, "serious")):
            if index % every == 0:
                events.append(
                    AdverseEvent(
                        booking=b,
                        kind=AdverseEventKind.REPORT,
                        severity=severity,
                        signs=["saddle-numbness"],
                        narrative="Reported by phone.",
                        therapist=therapist,
                        protocol_id=certification.protocol_id,
                        focus_region="lumbar",
                        focus_minutes=20,
                        reported_at=b.end,
                    )
                )
    AdverseEvent.objects.bulk_create(events)
    return bookings, outcomes, events


def expected(count: int) -> dict:
    indexes = range(count)
    serious = sum(1 for i in indexes if i % 20 == 0)
    moderate = sum(1 for i in indexes if i % 10 == 0 and i % 20 != 0)
    # mild: an outcome with pain worse and no adverse event
    mild = sum(1 for i in indexes if i % 6 == 0 and i % 10 != 0)
    outcomes = sum(1 for i in indexes if i % 3 == 0)
    worse = sum(1 for i in indexes if i % 6 == 0)
    return {
        "sessions_completed": count,
        "outcomes_recorded": outcomes,
        "pain_worse": worse,
        "pain_worse_share": round(worse / outcomes, 4),
        "mild": mild,
        "moderate": moderate,
        "serious": serious,
    }


@pytest.mark.parametrize("count", [10, 1000])
def test_the_safety_record_is_one_query_at_ten_and_a_thousand_sessions(
    world, count, django_assert_num_queries
):
    make_sessions(world, count)
    with django_assert_num_queries(1):
        (record,) = safety_records()
    assert (record.therapist_id, record.therapist_name, record.protocol) == (
        str(world.ana.pk),
        "Ana Silva",
        "low-back-radiculopathy",
    )
    assert record.all_time.as_dict() == expected(count)
    assert record.last_90_days.as_dict() == expected(count)


def test_a_session_counts_once_at_its_worst_sign_and_old_sessions_only_all_time(world):
    make_sessions(world, 20)  # recent: index 0 has a mild outcome, a moderate and a serious event
    make_sessions(world, 3, days_ago=200)  # old: index 0 of these too
    (record,) = safety_records()
    assert record.last_90_days.as_dict() == expected(20)
    assert record.all_time.sessions_completed == 23
    assert record.all_time.serious == expected(20)["serious"] + 1
    assert record.all_time.outcomes_recorded == expected(20)["outcomes_recorded"] + 1


def test_records_are_per_therapist_and_protocol_and_only_of_completed_sessions(world):
    neck = ProtocolFactory(slug="neck-whiplash", name="Neck after whiplash", region="cervical")
    ana_neck = CertificationFactory(therapist=world.ana, protocol=neck)
    beth_cert = CertificationFactory(therapist=world.beth, protocol=world.radiculopathy)
    make_sessions(world, 2)
    make_sessions(world, 1, certification=ana_neck)
    bookings, _, _ = make_sessions(world, 4, therapist=world.beth, certification=beth_cert)
    Booking.objects.filter(pk=bookings[0].pk).update(
        status=BookingStatus.CANCELLED
    )  # not a completed session
    records = {(r.therapist_name, r.protocol): r.all_time.sessions_completed for r in safety_records()}
    assert records == {
        ("Ana Silva", "low-back-radiculopathy"): 2,
        ("Ana Silva", "neck-whiplash"): 1,
        ("Beth Jones", "low-back-radiculopathy"): 3,
    }
    only_beth = safety_records(rows=SessionCertification.objects.filter(booking__therapist=world.beth))
    assert [(r.therapist_name, r.protocol) for r in only_beth] == [("Beth Jones", "low-back-radiculopathy")]


def test_no_outcome_recorded_means_no_share(world):
    make_sessions(world, 2, with_outcomes=False)
    (record,) = safety_records()
    assert record.all_time.outcomes_recorded == 0
    assert record.all_time.pain_worse_share is None
    assert record.all_time.sessions_completed == 2
