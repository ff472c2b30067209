"""API test fixtures: clients per role, a world of two tenants of each kind, and a client that
checks every error answer is problem+json with a known ``type``."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from django.core.cache import cache

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
