"""API test fixtures: clients per role, a world of two tenants of each kind, and a client that
checks every error answer is problem+json with a known ``type``."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from credentials.tests.factories import (
    CertificationFactory,
    ClinicalExperienceFactory,
    InstructorFactory,
    LicenseFactory,
    SchoolAuthorizationFactory,
    SchoolFactory,
    TherapistFactory,
)
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry.choices import Role
from registry.services.accounts import user_create
from registry.tests.factories import EmploymentFactory, SpaFactory
from tests.api.helpers import ANONYMOUS, ProblemCheckingClient


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counts live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> ProblemCheckingClient:
    return ProblemCheckingClient()


_names = itertools.count(1)


@pytest.fixture
def make_user(db):
    """``make_user(role, spa=..., school=..., therapist=..., password=...)``: a user made by
    ``user_create`` (tenant created when not given), with ``.token``."""

    def make(role: str, *, spa=None, school=None, therapist=None, username=None, password=None):
        if role == Role.SPA_STAFF and spa is None:
            spa = SpaFactory()
        if role == Role.SCHOOL_STAFF and school is None:
            school = SchoolFactory()
        if role == Role.THERAPIST and therapist is None:
            therapist = TherapistFactory()
        user, token = user_create(
            actor=None,
            username=username or f"{role}-{next(_names)}",
            password=password,
            role=role,
            spa=spa,
            school=school,
            therapist=therapist,
        )
        user.token = token
        return user

    return make


@pytest.fixture
def client_for(make_user):
    """``client_for(role, **tenant)``: a client authenticated with a new user's token
    (``"anonymous"``: no credentials). The user is ``client.user``."""

    def make(role: str, **tenant) -> ProblemCheckingClient:
        client = ProblemCheckingClient()
        if role == ANONYMOUS:
            return client
        user = make_user(role, **tenant)
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.token}")
        client.user = user
        return client

    return make


@pytest.fixture
def world(db):
    """Two of each tenant: spa A employs therapist A, school A certified therapist A (taught
    by instructor A, on school A's roster); likewise B. One protocol, a condition needing it,
    a screening question."""
    protocol = ProtocolFactory(slug="low-back-radiculopathy", name="Low back with radiculopathy")
    spa_a, spa_b = SpaFactory(name="Spa A"), SpaFactory(name="Spa B")
    school_a, school_b = SchoolFactory(name="School A"), SchoolFactory(name="School B")
    therapist_a = TherapistFactory(name="Alice Able", email="alice@example.org")
    therapist_b = TherapistFactory(name="Bob Baker", email="bob@example.org")
    EmploymentFactory(spa=spa_a, therapist=therapist_a)
    EmploymentFactory(spa=spa_b, therapist=therapist_b)
    instructor_a = InstructorFactory(name="Ines Instructor", schools=[school_a])
    instructor_b = InstructorFactory(name="Ivan Instructor", schools=[school_b])
    return SimpleNamespace(
        protocol=protocol,
        condition=ConditionFactory(code="M51.16", requirements=[[protocol]]),
        question=ScreeningQuestionFactory(code="saddle-numbness", action="refer-emergency"),
        spa_a=spa_a,
        spa_b=spa_b,
        school_a=school_a,
        school_b=school_b,
        therapist_a=therapist_a,
        therapist_b=therapist_b,
        license_a=LicenseFactory(therapist=therapist_a),
        license_b=LicenseFactory(therapist=therapist_b),
        instructor_a=instructor_a,
        instructor_b=instructor_b,
        experience_a=ClinicalExperienceFactory(instructor=instructor_a, protocol=protocol),
        authorization_a=SchoolAuthorizationFactory(school=school_a, protocol=protocol),
        certification_a=CertificationFactory(
            therapist=therapist_a, protocol=protocol, school=school_a, instructor=instructor_a
        ),
        certification_b=CertificationFactory(
            therapist=therapist_b, protocol=protocol, school=school_b, instructor=instructor_b
        ),
    )


@pytest.fixture
def as_role(world, client_for):
    """``as_role(role)``: a client of that role bound to the A side of ``world``."""

    def make(role: str) -> ProblemCheckingClient:
        tenant = {
            Role.SPA_STAFF: {"spa": world.spa_a},
            Role.SCHOOL_STAFF: {"school": world.school_a},
            Role.THERAPIST: {"therapist": world.therapist_a},
        }.get(role, {})
        return client_for(role, **tenant)

    return make


@pytest.fixture
def gate_world(db):
    """``registry/tests/conftest.py``'s world, for re-checks over HTTP: the story's catalog,
    Harbour Spa (US-CA) employing two licensed therapists — Ana certified in low back with
    radiculopathy, Beth not — and ``book(therapist, screening=, clearances=)``: a confirmed
    booking tomorrow for a client with M51.16 (no red flag unless given), made through the
    booking services."""
    from protocols.choices import BodyRegion, ScreeningAction
    from registry.services.bookings import booking_create, slot_validate
    from registry.services.intakes import intake_record

    radiculopathy = ProtocolFactory(
        slug="low-back-radiculopathy",
        name="Low back with radiculopathy",
        region=BodyRegion.LUMBAR,
        max_focus_minutes=30,
    )
    ConditionFactory(
        code="M51.16",
        name="Intervertebral disc disorder with radiculopathy, lumbar region",
        region=BodyRegion.LUMBAR,
        requirements=[[radiculopathy]],
    )
    ScreeningQuestionFactory(
        code="ces-bladder-bowel",
        text="Any new loss of bladder or bowel control?",
        action=ScreeningAction.REFER_EMERGENCY,
        regions=[BodyRegion.LUMBAR],
    )
    ScreeningQuestionFactory(
        code="recent-trauma",
        text="Any recent significant trauma?",
        action=ScreeningAction.REFER_PHYSICIAN,
        regions=[BodyRegion.LUMBAR],
    )
    spa = SpaFactory(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    ana, beth = TherapistFactory(name="Ana Silva"), TherapistFactory(name="Beth Jones")
    for therapist in (ana, beth):
        LicenseFactory(therapist=therapist, jurisdiction="US-CA")
        EmploymentFactory(spa=spa, therapist=therapist)
    certification = CertificationFactory(therapist=ana, protocol=radiculopathy)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)

    def book(therapist, *, client_ref: str = "C-1", screening=None, clearances=None):
        intake = intake_record(
            actor=None,
            spa=spa,
            client_ref=client_ref,
            condition_codes=["M51.16"],
            screening={"ces-bladder-bowel": False, "recent-trauma": False, **(screening or {})},
            clearances=clearances,
            pain_score=3,
        )
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=tomorrow,
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        outcome = booking_create(actor=None, therapist=therapist, slot=slot)
        assert outcome.booking is not None, outcome.result.reasons
        return outcome.booking

    return SimpleNamespace(
        radiculopathy=radiculopathy,
        spa=spa,
        ana=ana,
        beth=beth,
        certification=certification,
        start=tomorrow,
        book=book,
    )


# --- the booking gate over HTTP (API part 2) ----------------------------------------------------
