"""The eligibility check answers in a constant number of SQL statements, whatever the data size
(issue 15; ``make bench`` measures the same thing at 1k and 100k therapists).

A request is counted whole: token authentication, every middleware, the serializer's lookups,
the selectors, through ``APIClient`` against ``POST /api/v1/eligibility/check/``. The data grows
between the two measurements in every direction a selector could trip over: more therapists
at the spa, a longer certification history, more licences, employments and bookings for the
therapist asked about, and bookings around (not in) the session's window.

The budget is the issue's target: six statements, authentication included, at both sizes.
(This module is the one home of the check's statement counts: ``tests/api/test_eligibility_
queries.py`` measured the same thing on a smaller growth and was merged into it.)
Django's connection health check (``CONN_HEALTH_CHECKS``) adds a ``SELECT 1`` per request on a
reused connection outside the cursor wrapper; it is not counted here (``bench/explain.md``
notes it).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from credentials.choices import LicenseStatus
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion, ScreeningAction
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry.choices import BookingStatus, Role
from registry.models import Booking
from registry.services.accounts import user_create
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory

BUDGET = 6  # statements per eligibility check, authentication included (issue 15)
CHECK = "/api/v1/eligibility/check/"


@pytest.fixture
def world(db):
    radiculopathy = ProtocolFactory(
        slug="low-back-radiculopathy", region=BodyRegion.LUMBAR, max_focus_minutes=30
    )
    disc = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[radiculopathy]])
    bladder = ScreeningQuestionFactory(
        code="ces-bladder-bowel", action=ScreeningAction.REFER_EMERGENCY, regions=[BodyRegion.LUMBAR]
    )
    spa = SpaFactory(jurisdiction="US-CA", timezone="America/Los_Angeles")
    ana = TherapistFactory(name="Ana Silva")
    LicenseFactory(therapist=ana, jurisdiction="US-CA")
    EmploymentFactory(spa=spa, therapist=ana)
    CertificationFactory(therapist=ana, protocol=radiculopathy)
    intake = IntakeFactory(
        spa=spa, conditions=[disc], focus_regions=[BodyRegion.LUMBAR], screening={bladder.code: False}
    )
    _, token = user_create(actor=None, username="front-desk", role=Role.SPA_STAFF, spa=spa)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    start = (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    body = {
        "spa": str(spa.pk),
        "therapist": str(ana.pk),
        "intake": str(intake.pk),
        "start": start.isoformat(),
        "duration_minutes": 60,
        "focus_region": "lumbar",
        "focus_minutes": 20,
    }
    return {
        "spa": spa,
        "ana": ana,
        "protocol": radiculopathy,
        "intake": intake,
        "client": client,
        "body": body,
        "start": start,
    }


def grow(world, *, therapists: int, history: int) -> None:
    """More of everything around the check, none of it changing its answer."""
    spa, ana, protocol, intake, start = (world[k] for k in ("spa", "ana", "protocol", "intake", "start"))
    long_ago = timezone.now() - dt.timedelta(days=3000)
    for i in range(history):  # Ana's renewal history, old licences and jobs, past and future bookings
        CertificationFactory(
            therapist=ana, protocol=protocol, valid_from=long_ago + dt.timedelta(days=i), issued_at=long_ago
        )
        LicenseFactory(
            therapist=ana,
            jurisdiction="US-NV",
            status=LicenseStatus.EXPIRED,
            valid_from=dt.date(2010, 1, 1),
            expires_on=dt.date(2012, 1, 1),
        )
        EmploymentFactory(
            spa=SpaFactory(), therapist=ana, started_on=dt.date(2015, 1, 1), ended_on=dt.date(2016, 1, 1)
        )
        for offset in (-(i + 1) * 3, (i + 1) * 3):  # hours away from the session, never overlapping it
            Booking.objects.create(
                spa=spa,
                therapist=ana,
                intake=intake,
                start=start + dt.timedelta(hours=offset),
                end=start + dt.timedelta(hours=offset, minutes=60),
                status=BookingStatus.CONFIRMED,
            )
    for _ in range(therapists):  # colleagues at the spa
        colleague = TherapistFactory()
        LicenseFactory(therapist=colleague, jurisdiction="US-CA")
        EmploymentFactory(spa=spa, therapist=colleague)
        CertificationFactory(therapist=colleague, protocol=protocol)


def statements(world) -> tuple[int, dict]:
    world["client"].post(CHECK, world["body"], format="json")  # warm: first-request work is not counted
    with CaptureQueriesContext(connection) as ctx:
        response = world["client"].post(CHECK, world["body"], format="json")
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


def test_the_eligibility_check_takes_the_same_number_of_statements_at_every_size(world):
    small, answer = statements(world)
    assert answer["allowed"] is True
    grow(world, therapists=25, history=12)
    large, grown_answer = statements(world)
    assert grown_answer == answer
    assert large == small


@pytest.mark.parametrize("size", ["small", "grown"])
def test_the_eligibility_check_fits_the_statement_budget(world, size, django_assert_max_num_queries):
    if size == "grown":
        grow(world, therapists=25, history=12)
    world["client"].post(CHECK, world["body"], format="json")
    with django_assert_max_num_queries(BUDGET):
        response = world["client"].post(CHECK, world["body"], format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(("path", "count"), [(CHECK, 2), ("/api/v1/eligibility/search/", 3)])
def test_a_check_or_search_is_authentication_then_its_reads(world, path, count, django_assert_num_queries):
    """Pinned below the budget: one statement authenticates (token, user, role and spa); a
    check then reads the case and the therapist's facts in one more (which also prove the intake
    and the therapist are the spa's), a search the case and the facts of the spa's therapists in
    two. Spa, intake and therapist are never loaded as models first."""
    body = world["body"] if path == CHECK else {k: v for k, v in world["body"].items() if k != "therapist"}
    grow(world, therapists=25, history=12)
    world["client"].post(path, body, format="json")
    with django_assert_num_queries(count):
        response = world["client"].post(path, body, format="json")
    assert response.status_code == 200, response.content
