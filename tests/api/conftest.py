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
from protocols.tests.factories import (
    ConditionFactory,
    OutcomeSignFactory,
    ProtocolFactory,
    ScreeningQuestionFactory,
)
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
    a screening question, a sign asked after sessions."""
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
        sign=OutcomeSignFactory(code="saddle-numbness", severity="serious"),
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


@pytest.fixture
def booking_world(db, client_for):
    """``registry/tests/conftest.py``'s world, for the booking endpoints: the story's catalog
    (M51.16 needs low back with radiculopathy, 30 focused minutes at most; two lumbar red
    flags), Harbour Spa (US-CA) employing Ana and Carla (certified by ``school``) and Beth (not),
    Other Spa employing Dora; clients ``desk`` and ``other_desk`` (their staff), ``ana`` and
    ``beth`` (therapists), ``school_staff``, ``admin``. ``start``: tomorrow 10:00 at the spa.
    Helpers post through HTTP: ``intake(**overrides)``, ``book(therapist, intake, **overrides)``;
    ``slot(therapist, intake, **overrides)`` is the body."""
    import zoneinfo

    from protocols.choices import BodyRegion, ScreeningAction

    radiculopathy = ProtocolFactory(
        slug="low-back-radiculopathy",
        name="Low back with radiculopathy",
        region=BodyRegion.LUMBAR,
        max_focus_minutes=30,
    )
    disc = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[radiculopathy]])
    wellness = ConditionFactory(code="WELLNESS", code_system="", region=BodyRegion.WHOLE_BODY)
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
    school = SchoolFactory(name="School of Medical Massage")
    instructor = InstructorFactory(name="Ines Instructor", schools=[school])
    spa = SpaFactory(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    other_spa = SpaFactory(name="Other Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    ana, beth, carla = (TherapistFactory(name=n) for n in ("Ana Silva", "Beth Jones", "Carla Diaz"))
    dora = TherapistFactory(name="Dora Evans")
    for therapist, employer in ((ana, spa), (beth, spa), (carla, spa), (dora, other_spa)):
        LicenseFactory(therapist=therapist, jurisdiction="US-CA")
        EmploymentFactory(spa=employer, therapist=therapist)
    certifications = {
        t.name: CertificationFactory(
            therapist=t, protocol=radiculopathy, school=school, instructor=instructor
        )
        for t in (ana, carla, dora)
    }
    local = zoneinfo.ZoneInfo(spa.timezone)
    start = (timezone.now().astimezone(local) + dt.timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    desk = client_for(Role.SPA_STAFF, spa=spa)

    def intake(client=None, **overrides):
        body = {
            "spa": str(spa.pk),
            "client_ref": "C-0001",
            "conditions": ["M51.16"],
            "screening": {"ces-bladder-bowel": False, "recent-trauma": False},
            "pain_score": 4,
            **overrides,
        }
        return (client or desk).post("/api/v1/intakes/", body, format="json")

    def slot(therapist, intake_id, **overrides):
        body = {
            "spa": str(spa.pk),
            "intake": str(intake_id),
            "start": start.isoformat(),
            "duration_minutes": 60,
            "focus_region": "lumbar",
            "focus_minutes": 20,
            **overrides,
        }
        if therapist is not None:
            body["therapist"] = str(therapist.pk)
        return body

    def book(therapist, intake_id, client=None, **overrides):
        return (client or desk).post(
            "/api/v1/bookings/", slot(therapist, intake_id, **overrides), format="json"
        )

    return SimpleNamespace(
        radiculopathy=radiculopathy,
        disc=disc,
        wellness=wellness,
        school=school,
        instructor=instructor,
        spa=spa,
        other_spa=other_spa,
        ana=ana,
        beth=beth,
        carla=carla,
        dora=dora,
        certification=certifications["Ana Silva"],
        carla_certification=certifications["Carla Diaz"],
        start=start,
        desk=desk,
        other_desk=client_for(Role.SPA_STAFF, spa=other_spa),
        ana_client=client_for(Role.THERAPIST, therapist=ana),
        beth_client=client_for(Role.THERAPIST, therapist=beth),
        school_staff=client_for(Role.SCHOOL_STAFF, school=school),
        admin=client_for(Role.REGISTRY_ADMIN),
        intake=intake,
        slot=slot,
        book=book,
    )


@pytest.fixture
def tenants(world):
    """``world`` plus, on each side (``_a``, ``_b``), what the booking gate keeps: the
    employment, an intake (client data: ``client_ref`` ``CLIENT-A-0001``), a confirmed booking
    tomorrow and its decision, a spa webhook and a school webhook, a certification import.
    All reached through the services."""
    from registry.models import Employment
    from registry.services.bookings import booking_create, slot_validate
    from registry.services.imports import CERTIFICATION_COLUMNS, import_create
    from registry.services.intakes import intake_record
    from registry.services.webhooks import webhook_create

    start = (timezone.now() + dt.timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    extra = {}
    for side in ("a", "b"):
        spa, school = getattr(world, f"spa_{side}"), getattr(world, f"school_{side}")
        therapist = getattr(world, f"therapist_{side}")
        intake = intake_record(
            actor=None,
            spa=spa,
            client_ref=f"CLIENT-{side.upper()}-0001",
            condition_codes=[world.condition.code],
            screening={world.question.code: False},
            pain_score=4,
        )
        slot = slot_validate(
            spa=spa, intake=intake, start=start, duration_minutes=60, focus_region="lumbar", focus_minutes=20
        )
        outcome = booking_create(actor=None, therapist=therapist, slot=slot)
        assert outcome.booking is not None, outcome.result.reasons
        extra.update(
            {
                f"employment_{side}": Employment.objects.get(spa=spa, therapist=therapist),
                f"intake_{side}": intake,
                f"booking_{side}": outcome.booking,
                f"decision_{side}": outcome.decision,
                f"webhook_{side}": webhook_create(
                    actor=None, spa=spa, url=f"https://{side}.example.org/hook", events=["license.expiring"]
                ),
                f"school_webhook_{side}": webhook_create(
                    actor=None,
                    school=school,
                    url=f"https://school-{side}.example.org/hook",
                    events=["certification.issued"],
                ),
                f"import_{side}": import_create(
                    actor=None,
                    kind="certifications",
                    content=",".join(CERTIFICATION_COLUMNS) + "\n",
                    school=school,
                ),
            }
        )
    return SimpleNamespace(**vars(world), start=start, **extra)
