"""The set-wise re-check (``bookings_recheck``) decides exactly as the engine does one booking
at a time, in a constant number of statements (issue 24).

A generated world: two spas in different jurisdictions and timezones, a dozen therapists with
random licences (active, suspended, expiring), employments (some ended), certifications
(valid, revoked, lapsing, not yet valid) in two protocols, intakes on several conditions (one
with a red flag, one that never answered a question), and bookings on a grid with collisions.
The reference decides every booking one by one with the selectors the booking path uses
(``eligibility_facts_for_therapist``, ``eligibility_case``, ``eligibility_facts_for_spa``) and
``decide()``; the re-check's decision rows, booking updates and events must equal it.
"""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import OutboxEvent
from core.tests.factories import UserFactory
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion, ScreeningAction
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry import eligibility
from registry.choices import BookingStatus, DecisionKind
from registry.models import Booking, Decision
from registry.selectors import (
    eligibility_case,
    eligibility_cases_for_intakes,
    eligibility_facts_for_spa,
    eligibility_facts_for_therapist,
)
from registry.services.rechecks import bookings_recheck, future_active_bookings
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory

pytestmark = pytest.mark.django_db


def _world(seed: int, *, bookings: int = 60):
    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    back = ProtocolFactory(slug="low-back-radiculopathy", region=BodyRegion.LUMBAR, max_focus_minutes=30)
    neck = ProtocolFactory(slug="neck-radiculopathy", region=BodyRegion.CERVICAL, max_focus_minutes=20)
    disc = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[back]])
    both = ConditionFactory(code="M54.12", region=BodyRegion.CERVICAL, requirements=[[neck], [back, neck]])
    wellness = ConditionFactory(code="WELLNESS", code_system="", region=BodyRegion.WHOLE_BODY)
    ScreeningQuestionFactory(
        code="ces-bladder-bowel", action=ScreeningAction.REFER_EMERGENCY, regions=[BodyRegion.LUMBAR]
    )
    ScreeningQuestionFactory(code="recent-trauma", action=ScreeningAction.REFER_PHYSICIAN, regions=[])
    spas = [
        SpaFactory(jurisdiction="US-CA", timezone="America/Los_Angeles"),
        SpaFactory(jurisdiction="US-NY", timezone="America/New_York"),
    ]
    therapists = []
    for i in range(12):
        therapist = TherapistFactory(name=f"Therapist {i:02d} {rng.choice('ABC')}")
        therapists.append(therapist)
        for spa in spas:
            if rng.random() < 0.7:
                ended = None if rng.random() < 0.8 else (now + dt.timedelta(days=rng.randint(-2, 10))).date()
                EmploymentFactory(
                    spa=spa, therapist=therapist, started_on=dt.date(2020, 1, 1), ended_on=ended
                )
            if rng.random() < 0.8:
                LicenseFactory(
                    therapist=therapist,
                    jurisdiction=spa.jurisdiction,
                    status=rng.choice(["active"] * 5 + ["suspended"]),
                    expires_on=(now + dt.timedelta(days=rng.choice([3, 12, 400]))).date(),
                )
        for protocol in (back, neck):
            if rng.random() < 0.75:
                valid_from = now + dt.timedelta(days=rng.choice([-400, -30, -30, 4]))
                expires_at = now + dt.timedelta(days=rng.choice([6, 25, 300, 300]))
                revoked = now + dt.timedelta(days=rng.randint(-5, 9)) if rng.random() < 0.2 else None
                CertificationFactory(
                    therapist=therapist,
                    protocol=protocol,
                    valid_from=min(valid_from, expires_at - dt.timedelta(days=1)),
                    expires_at=expires_at,
                    revoked_at=revoked,
                    revoked_reason="Fraud" if revoked else "",
                )
    intakes = []
    for spa in spas:
        for conditions, screening in (
            ([disc], {"ces-bladder-bowel": False, "recent-trauma": False}),
            ([both], {"ces-bladder-bowel": False, "recent-trauma": False}),
            ([disc, both], {"ces-bladder-bowel": False, "recent-trauma": False}),
            ([wellness], {"recent-trauma": False}),
            ([disc], {"ces-bladder-bowel": False, "recent-trauma": True}),  # a red flag
            ([disc], {"ces-bladder-bowel": False}),  # never asked recent-trauma
        ):
            intakes.append(
                IntakeFactory(
                    spa=spa,
                    conditions=conditions,
                    screening=screening,
                    focus_regions=[BodyRegion.LUMBAR],
                    recorded_at=now - dt.timedelta(days=1),
                    valid_until=now + dt.timedelta(days=rng.choice([3, 8, 8])),
                )
            )
    taken: set[tuple[int, int]] = set()
    created = 0
    while created < bookings:
        t, hour = rng.randrange(len(therapists)), rng.randrange(80)
        if (t, hour) in taken:
            continue
        taken.add((t, hour))
        intake = rng.choice(intakes)
        start = now.replace(minute=0, second=0) + dt.timedelta(hours=2 + hour * 3)
        region = rng.choice([BodyRegion.LUMBAR, BodyRegion.WHOLE_BODY, None])
        Booking.objects.create(
            spa=intake.spa,
            therapist=therapists[t],
            intake=intake,
            start=start,
            end=start + dt.timedelta(minutes=rng.choice([60, 90])),
            focus_region=region,
            focus_minutes=rng.choice([0, 20, 40]) if region else 0,
            status=BookingStatus.CONFIRMED,
        )
        created += 1
    return now


def _one_by_one(now):
    """What each booking's re-check must be, decided alone with the booking path's selectors."""
    expected = {}
    for booking in future_active_bookings(now).select_related("intake"):
        window = (booking.start, booking.end)
        case = eligibility_case(
            intake=booking.intake,
            start=booking.start,
            end=booking.end,
            focus_region=booking.focus_region,
            focus_minutes=booking.focus_minutes,
            booking_id=str(booking.pk),
        )
        result = eligibility.decide(
            eligibility_facts_for_therapist(therapist_id=booking.therapist_id, window=window), case
        )
        suggested = []
        if not result.allowed:
            staff = sorted(
                eligibility_facts_for_spa(spa_id=booking.spa_id, window=window),
                key=lambda f: (f.name, f.therapist_id),
            )
            suggested = [
                f.therapist_id
                for f in staff
                if f.therapist_id != str(booking.therapist_id) and eligibility.decide(f, case).allowed
            ]
        expected[str(booking.pk)] = {
            "allowed": result.allowed,
            "reasons": [r.as_dict() for r in result.reasons],
            "warnings": [w.as_dict() for w in result.warnings],
            "suggested": suggested,
        }
    return expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_setwise_recheck_decides_every_booking_as_the_engine_does_one_by_one(seed):
    now = _world(seed)
    expected = _one_by_one(now)
    actor = UserFactory()
    changed = bookings_recheck(actor=actor, bookings=future_active_bookings(now), now=now)

    decisions = {str(d.booking_id): d for d in Decision.objects.filter(kind=DecisionKind.RECHECK)}
    assert decisions.keys() == expected.keys()
    for booking_id, want in expected.items():
        decision = decisions[booking_id]
        assert (decision.allowed, decision.reasons, decision.warnings) == (
            want["allowed"],
            want["reasons"],
            want["warnings"],
        ), booking_id
        assert decision.made_at == now
        assert decision.made_by_id == actor.pk
    refused = {k for k, v in expected.items() if not v["allowed"]}
    assert refused
    assert refused != expected.keys()
    assert any(expected[k]["suggested"] for k in refused)  # and suggests someone
    assert {str(b.pk) for b in changed} == refused
    for booking in Booking.objects.filter(pk__in=expected):
        want = expected[str(booking.pk)]
        if want["allowed"]:
            assert booking.status == BookingStatus.CONFIRMED
            continue
        assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
        assert (booking.reasons, booking.warnings, booking.suggested_therapists) == (
            want["reasons"],
            want["warnings"],
            want["suggested"],
        )
        assert booking.updated_at == now
    events = OutboxEvent.objects.filter(type="booking.needs_reassignment")
    assert sorted(e.data["booking"] for e in events) == sorted(refused)
    assert all(e.data["suggested_therapists"] == expected[e.data["booking"]]["suggested"] for e in events)


def test_setwise_recheck_runs_seven_statements_whatever_the_number_of_bookings():
    """The locked bookings, the facts of their therapists, the cases of their intakes, the
    staff of their spas (one statement each), the decisions (one INSERT), the bookings moved
    (one UPDATE) and their events (one outbox INSERT): 7, for 15 bookings as for 80, across
    twelve therapists and two spas."""
    now = _world(7, bookings=80)
    few = list(future_active_bookings(now).order_by("start").values_list("pk", flat=True)[:15])
    eligibility_cases_for_intakes(intake_ids=[])  # nothing: no statement
    bookings_recheck(actor=None, bookings=Booking.objects.none(), now=now)
    # the process's catalog copy taken (after the catalog was written, one more statement)
    eligibility_cases_for_intakes(intake_ids=Booking.objects.values_list("intake_id", flat=True)[:1])
    counts = []
    for queryset in (future_active_bookings(now).filter(pk__in=few), future_active_bookings(now)):
        with CaptureQueriesContext(connection) as ctx:
            changed = bookings_recheck(actor=None, bookings=queryset, now=now)
        assert changed
        counts.append(len(ctx.captured_queries))
    assert counts == [7, 7]
