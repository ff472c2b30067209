"""The eligibility selectors: facts and cases built from rows, in a fixed number of queries."""

import datetime as dt

import pytest

from credentials.models import Certification, License, Therapist
from credentials.tests.factories import (
    CertificationFactory,
    InstructorFactory,
    LicenseFactory,
    SchoolFactory,
    TherapistFactory,
)
from protocols.choices import BodyRegion, ScreeningAction
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry.choices import BookingStatus
from registry.eligibility import (
    REFER_EMERGENCY,
    REFER_PHYSICIAN,
    BookingFact,
    CertificationFact,
    ConditionFact,
    EmploymentFact,
    LicenseFact,
    ProtocolFact,
    ReasonCode,
    Scope,
    ScreeningAnswer,
    decide,
)
from registry.models import Booking, Employment, Intake
from registry.selectors import (
    eligibility_case,
    eligibility_facts_for_spa,
    eligibility_facts_for_therapist,
    therapist_scope,
)
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
# 10:00 in Los Angeles (PDT) on 2030-06-11
START = dt.datetime(2030, 6, 11, 17, 0, tzinfo=UTC)
END = START + HOUR
LONG_AGO = dt.datetime(2029, 1, 1, tzinfo=UTC)
FAR_AHEAD = dt.datetime(2032, 1, 1, tzinfo=UTC)


@pytest.fixture
def catalog():
    lbr = ProtocolFactory(
        slug="low-back-radiculopathy",
        name="Low back with radiculopathy",
        region=BodyRegion.LUMBAR,
        max_focus_minutes=25,
    )
    lstab = ProtocolFactory(
        slug="lumbar-stabilisation",
        name="Lumbar stabilisation",
        region=BodyRegion.LUMBAR,
        max_focus_minutes=30,
    )
    neck = ProtocolFactory(
        slug="cervical-release", name="Cervical release", region=BodyRegion.CERVICAL, max_focus_minutes=20
    )
    disc = ConditionFactory(
        code="M51.16", name="Lumbar disc disorder with radiculopathy", requirements=[[lbr]]
    )
    low_back = ConditionFactory(code="M54.50", name="Low back pain", requirements=[[lstab, lbr]])
    both = ConditionFactory(
        code="M51.17", name="Lumbosacral disc disorder", requirements=[[lstab, lbr], [neck]]
    )
    wellness = ConditionFactory(code="WELLNESS", name="General wellness", region=BodyRegion.WHOLE_BODY)
    bladder = ScreeningQuestionFactory(
        code="ces-bladder-bowel",
        text="Any new loss of bladder or bowel control?",
        action=ScreeningAction.REFER_EMERGENCY,
        position=1,
    )
    trauma = ScreeningQuestionFactory(
        code="recent-trauma",
        text="Any recent significant trauma?",
        action=ScreeningAction.REFER_PHYSICIAN,
        position=2,
    )
    fever = ScreeningQuestionFactory(
        code="fever", text="A fever today?", action=ScreeningAction.REFER_PHYSICIAN, position=3
    )
    return {
        "lbr": lbr,
        "lstab": lstab,
        "neck": neck,
        "disc": disc,
        "low_back": low_back,
        "both": both,
        "wellness": wellness,
        "bladder": bladder,
        "trauma": trauma,
        "fever": fever,
    }


@pytest.fixture
def spa():
    return SpaFactory(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")


def booking_row(*, therapist, spa, intake, start, hours=1, status=BookingStatus.CONFIRMED):
    return Booking.objects.create(
        spa=spa, therapist=therapist, intake=intake, start=start, end=start + hours * HOUR, status=status
    )


# --- facts ---------------------------------------------------------------------------------------


def test_one_therapists_facts_hold_every_credential_and_the_slot_holding_bookings_in_the_window(
    spa, catalog, django_assert_num_queries
):
    other_spa = SpaFactory(name="Other Spa")
    beth = TherapistFactory(name="Beth Jones")
    here = EmploymentFactory(spa=spa, therapist=beth, started_on=dt.date(2020, 1, 1))
    there = EmploymentFactory(
        spa=other_spa, therapist=beth, started_on=dt.date(2019, 1, 1), ended_on=dt.date(2021, 12, 31)
    )
    ca = LicenseFactory(therapist=beth, jurisdiction="US-CA")
    ny = LicenseFactory(
        therapist=beth,
        jurisdiction="US-NY",
        status="suspended",
        valid_from=dt.date(2021, 5, 1),
        expires_on=dt.date(2031, 4, 30),
    )
    valid = CertificationFactory(
        therapist=beth, protocol=catalog["lbr"], valid_from=LONG_AGO, expires_at=FAR_AHEAD
    )
    revoked = CertificationFactory(
        therapist=beth,
        protocol=catalog["neck"],
        valid_from=LONG_AGO,
        expires_at=FAR_AHEAD,
        revoked_at=START - HOUR,
        revoked_reason="Fraudulent assessment",
    )
    intake = IntakeFactory(spa=spa)
    intake_there = IntakeFactory(spa=other_spa)
    window = (START, START + 4 * HOUR)
    confirmed = booking_row(therapist=beth, spa=spa, intake=intake, start=START)
    moved = booking_row(
        therapist=beth,
        spa=other_spa,
        intake=intake_there,
        start=START + 2 * HOUR,
        status=BookingStatus.NEEDS_REASSIGNMENT,
    )
    booking_row(therapist=beth, spa=spa, intake=intake, start=START, status=BookingStatus.CANCELLED)
    booking_row(
        therapist=beth, spa=spa, intake=intake, start=START + 3 * HOUR, status=BookingStatus.COMPLETED
    )
    booking_row(therapist=beth, spa=spa, intake=intake, start=START - HOUR)  # ends as the window opens
    booking_row(therapist=beth, spa=spa, intake=intake, start=START + 4 * HOUR)  # starts as it closes
    someone_else = TherapistFactory(name="Ana Silva")
    booking_row(therapist=someone_else, spa=spa, intake=intake, start=START)

    eligibility_facts_for_therapist(therapist_id=beth.pk, window=window)  # copies the catalog
    with django_assert_num_queries(1):
        facts = eligibility_facts_for_therapist(therapist_id=beth.pk, window=window)

    assert facts.therapist_id == str(beth.pk)
    assert facts.name == "Beth Jones"
    assert set(facts.employments) == {
        EmploymentFact(spa_id=str(spa.pk), started_on=here.started_on, ended_on=None),
        EmploymentFact(spa_id=str(other_spa.pk), started_on=there.started_on, ended_on=there.ended_on),
    }
    assert set(facts.licenses) == {
        LicenseFact(str(ca.pk), "US-CA", "active", ca.valid_from, ca.expires_on),
        LicenseFact(str(ny.pk), "US-NY", "suspended", dt.date(2021, 5, 1), dt.date(2031, 4, 30)),
    }
    assert set(facts.certifications) == {
        CertificationFact(str(valid.pk), "low-back-radiculopathy", LONG_AGO, FAR_AHEAD, None),
        CertificationFact(str(revoked.pk), "cervical-release", LONG_AGO, FAR_AHEAD, START - HOUR),
    }
    assert facts.bookings == (
        BookingFact(str(confirmed.pk), str(spa.pk), START, END),
        BookingFact(str(moved.pk), str(other_spa.pk), START + 2 * HOUR, START + 3 * HOUR),
    )


def test_an_unknown_therapist_is_an_error():
    with pytest.raises(Therapist.DoesNotExist):
        eligibility_facts_for_therapist(
            therapist_id="00000000-0000-0000-0000-000000000000", window=(START, END)
        )


def test_spa_facts_cover_everyone_employed_over_the_window_in_the_spas_days_by_name(
    spa, django_assert_num_queries
):
    # 20:00 PDT on June 10 is 03:00 UTC on June 11: the spa's day is June 10.
    start = dt.datetime(2030, 6, 11, 3, 0, tzinfo=UTC)
    window = (start, start + HOUR)
    zoe = TherapistFactory(name="Zoe Park")
    EmploymentFactory(spa=spa, therapist=zoe)
    ana = TherapistFactory(name="Ana Silva")
    EmploymentFactory(spa=spa, therapist=ana, ended_on=dt.date(2030, 6, 10))  # last day: inclusive
    gone = TherapistFactory(name="Gone Before")
    EmploymentFactory(spa=spa, therapist=gone, ended_on=dt.date(2030, 6, 9))
    later = TherapistFactory(name="Starts Tomorrow")  # June 11 is the UTC day, not the spa's
    EmploymentFactory(spa=spa, therapist=later, started_on=dt.date(2030, 6, 11))
    elsewhere = TherapistFactory(name="Elsewhere Only")
    EmploymentFactory(therapist=elsewhere)
    twice = TherapistFactory(name="Mo Back Again")
    EmploymentFactory(spa=spa, therapist=twice, ended_on=dt.date(2025, 1, 1))
    EmploymentFactory(spa=spa, therapist=twice, started_on=dt.date(2026, 1, 1))

    eligibility_facts_for_spa(spa_id=spa.pk, window=window)  # copies the catalog
    with django_assert_num_queries(2):
        facts = eligibility_facts_for_spa(spa_id=spa.pk, window=window)

    assert [f.name for f in facts] == ["Ana Silva", "Mo Back Again", "Zoe Park"]
    assert len(facts[1].employments) == 2


def test_spa_facts_for_a_spa_nobody_works_at_are_empty(spa):
    assert eligibility_facts_for_spa(spa_id=spa.pk, window=(START, END)) == []


def _staffed_spa(count: int):
    """A spa with ``count`` therapists, each employed, licensed, certified in ten protocols
    and booked once in the window; rows bulk-created (certifications once, never updated)."""
    spa = SpaFactory(jurisdiction="US-CA", timezone="America/Los_Angeles")
    school = SchoolFactory()
    instructor = InstructorFactory()
    protocols = [ProtocolFactory() for _ in range(10)]
    therapists = Therapist.objects.bulk_create([Therapist(name=f"Therapist {i:03d}") for i in range(count)])
    Employment.objects.bulk_create(
        [Employment(spa=spa, therapist=t, started_on=dt.date(2020, 1, 1)) for t in therapists]
    )
    License.objects.bulk_create(
        [
            License(
                therapist=t,
                jurisdiction="US-CA",
                number=f"BULK{i:06d}",
                status="active",
                valid_from=dt.date(2020, 1, 1),
                expires_on=dt.date(2035, 12, 31),
            )
            for i, t in enumerate(therapists)
        ]
    )
    Certification.objects.bulk_create(
        [
            Certification(
                serial=Certification.new_serial(),
                therapist=t,
                protocol=p,
                school=school,
                instructor=instructor,
                taught_on=dt.date(2028, 12, 1),
                valid_from=LONG_AGO,
                expires_at=FAR_AHEAD,
                issued_at=LONG_AGO,
            )
            for t in therapists
            for p in protocols
        ]
    )
    intake = IntakeFactory(spa=spa)
    Booking.objects.bulk_create(
        [
            Booking(spa=spa, therapist=t, intake=intake, start=START, end=END, status=BookingStatus.CONFIRMED)
            for t in therapists
        ]
    )
    return spa


@pytest.mark.parametrize("count", [5, 200])
def test_spa_facts_load_in_the_same_number_of_queries_whatever_the_staff(count, django_assert_num_queries):
    spa = _staffed_spa(count)
    eligibility_facts_for_spa(spa_id=spa.pk, window=(START, END))  # copies the catalog
    with django_assert_num_queries(2):
        facts = eligibility_facts_for_spa(spa_id=spa.pk, window=(START, END))
    assert len(facts) == count
    assert all(len(f.certifications) == 10 for f in facts)
    assert all(len(f.licenses) == 1 and len(f.employments) == 1 and len(f.bookings) == 1 for f in facts)
    assert [f.name for f in facts] == sorted(f.name for f in facts)


# --- the case ---------------------------------------------------------------------------------------


def _intake(spa, catalog, *, conditions, screening, clearances=None):
    intake = IntakeFactory(
        spa=spa,
        conditions=conditions,
        screening=screening,
        clearances=clearances or {},
        recorded_at=START - 2 * 24 * HOUR,
        valid_until=START + 5 * 24 * HOUR,
    )
    return Intake.objects.get(pk=intake.pk)  # fresh: nothing cached


def test_the_case_is_built_from_the_intake_the_catalog_and_the_session(
    spa, catalog, django_assert_num_queries
):
    intake = _intake(
        spa,
        catalog,
        conditions=[catalog["wellness"], catalog["both"], catalog["disc"]],
        screening={"recent-trauma": True, "ces-bladder-bowel": True, "fever": False},
        clearances={"recent-trauma": {"cleared_on": "2030-06-01", "cleared_by": "Dr. Okafor"}},
    )
    with django_assert_num_queries(1):
        case = eligibility_case(
            intake=intake, start=START, end=END, focus_region="lumbar", focus_minutes=20, booking_id=None
        )

    assert (case.spa_id, case.spa_jurisdiction, case.spa_timezone) == (
        str(spa.pk),
        "US-CA",
        "America/Los_Angeles",
    )
    assert (case.start, case.end, case.intake_valid_until) == (START, END, intake.valid_until)
    assert (case.focus_region, case.focus_minutes, case.booking_id) == ("lumbar", 20, None)
    assert case.conditions == (
        ConditionFact(
            "M51.16", "Lumbar disc disorder with radiculopathy", "lumbar", (("low-back-radiculopathy",),)
        ),
        ConditionFact(
            "M51.17",
            "Lumbosacral disc disorder",
            "lumbar",
            (("low-back-radiculopathy", "lumbar-stabilisation"), ("cervical-release",)),
        ),
        ConditionFact("WELLNESS", "General wellness", "whole-body", ()),
    )
    assert dict(case.protocols) == {
        "low-back-radiculopathy": ProtocolFact(
            "low-back-radiculopathy", "Low back with radiculopathy", "lumbar", 25
        ),
        "lumbar-stabilisation": ProtocolFact("lumbar-stabilisation", "Lumbar stabilisation", "lumbar", 30),
        "cervical-release": ProtocolFact("cervical-release", "Cervical release", "cervical", 20),
    }
    assert case.screening == (
        ScreeningAnswer(
            "ces-bladder-bowel", "Any new loss of bladder or bowel control?", REFER_EMERGENCY, True, False
        ),
        ScreeningAnswer("recent-trauma", "Any recent significant trauma?", REFER_PHYSICIAN, True, True),
        ScreeningAnswer("fever", "A fever today?", REFER_PHYSICIAN, False, False),
    )


def test_the_case_loads_in_the_same_number_of_queries_for_more_conditions(
    spa, catalog, django_assert_num_queries
):
    extra = [
        ConditionFactory(requirements=[[catalog["lbr"], catalog["neck"]], [catalog["lstab"]]])
        for _ in range(8)
    ]
    intake = _intake(spa, catalog, conditions=extra, screening={"fever": False, "recent-trauma": False})
    with django_assert_num_queries(1):
        case = eligibility_case(intake=intake, start=START, end=END, focus_region=None, focus_minutes=0)
    assert len(case.conditions) == 8


def test_the_case_carries_the_booking_being_rechecked_as_a_string(spa, catalog):
    intake = _intake(spa, catalog, conditions=[], screening={})
    booking = booking_row(therapist=TherapistFactory(), spa=spa, intake=intake, start=START)
    case = eligibility_case(
        intake=intake, start=START, end=END, focus_region=None, focus_minutes=0, booking_id=booking.pk
    )
    assert case.booking_id == str(booking.pk)


def test_a_yes_to_a_question_gone_from_the_catalog_still_refers(spa, catalog):
    intake = _intake(spa, catalog, conditions=[], screening={"retired-question": True})
    intake.clearances = {"retired-question": {"cleared_on": "2030-06-01", "cleared_by": "Dr. Okafor"}}
    intake.save(update_fields=["clearances"])
    case = eligibility_case(intake=intake, start=START, end=END, focus_region=None, focus_minutes=0)
    assert case.screening == (
        ScreeningAnswer("retired-question", "retired-question", REFER_EMERGENCY, True, True),
    )


def test_facts_and_case_from_rows_decide_the_story(spa, catalog):
    """Beth is licensed and employed, but not trained for radiculopathy; Ana is."""
    beth = TherapistFactory(name="Beth Jones")
    ana = TherapistFactory(name="Ana Silva")
    for therapist in (beth, ana):
        EmploymentFactory(spa=spa, therapist=therapist)
        LicenseFactory(therapist=therapist)
    granted = CertificationFactory(
        therapist=ana, protocol=catalog["lbr"], valid_from=LONG_AGO, expires_at=FAR_AHEAD
    )
    screening = {"ces-bladder-bowel": False, "recent-trauma": False, "fever": False}  # every question asked
    intake = _intake(spa, catalog, conditions=[catalog["disc"]], screening=screening)
    case = eligibility_case(intake=intake, start=START, end=END, focus_region="lumbar", focus_minutes=25)

    by_name = {f.name: f for f in eligibility_facts_for_spa(spa_id=spa.pk, window=(START, END))}
    assert decide(by_name["Ana Silva"], case).allowed is True
    refused = decide(by_name["Beth Jones"], case)
    assert [r.as_dict() for r in refused.reasons] == [
        {
            "code": "PROTOCOL_NOT_CERTIFIED",
            "message": "Beth Jones is not certified in Low back with radiculopathy, which M51.16 requires.",
            "condition": "M51.16",
            "protocols": ["low-back-radiculopathy"],
        }
    ]

    Certification.objects.filter(pk=granted.pk).update(revoked_at=START + HOUR / 2, revoked_reason="Audit")
    after = decide(eligibility_facts_for_therapist(therapist_id=ana.pk, window=(START, END)), case)
    assert [(r.code, r.certification) for r in after.reasons] == [
        (ReasonCode.CERTIFICATION_REVOKED, str(granted.pk))
    ]


# --- scope ------------------------------------------------------------------------------------------


@pytest.fixture
def scoped(spa, catalog):
    """Beth: licensed in California, certified in low back with radiculopathy (valid), in
    cervical release (revoked) and lumbar stabilisation (expired)."""
    beth = TherapistFactory(name="Beth Jones")
    licence = LicenseFactory(therapist=beth, jurisdiction="US-CA", expires_on=dt.date(2030, 6, 10))
    CertificationFactory(therapist=beth, protocol=catalog["lbr"], valid_from=LONG_AGO, expires_at=FAR_AHEAD)
    CertificationFactory(
        therapist=beth,
        protocol=catalog["neck"],
        valid_from=LONG_AGO,
        expires_at=FAR_AHEAD,
        revoked_at=LONG_AGO + HOUR,
        revoked_reason="Audit",
    )
    CertificationFactory(
        therapist=beth, protocol=catalog["lstab"], valid_from=LONG_AGO, expires_at=LONG_AGO + HOUR
    )
    return beth, licence


# 20:00 PDT on June 10, the licence's last day in Los Angeles; 03:00 UTC on June 11.
EVENING = dt.datetime(2030, 6, 11, 3, 0, tzinfo=UTC)


def test_scope_holds_the_valid_protocols_and_the_conditions_they_meet(scoped, spa, django_assert_num_queries):
    beth, _ = scoped
    with django_assert_num_queries(6):
        scope = therapist_scope(therapist_id=beth.pk, at=EVENING, spa_id=spa.pk)
    assert scope == Scope(protocols=["low-back-radiculopathy"], conditions=["M51.16", "M54.50", "WELLNESS"])


def test_scope_without_a_spa_needs_any_active_licence(scoped):
    beth, _ = scoped
    # read in UTC, EVENING is June 11: the licence has ended
    assert therapist_scope(therapist_id=beth.pk, at=EVENING) == Scope(protocols=[], conditions=[])
    assert therapist_scope(therapist_id=beth.pk, at=EVENING - 4 * HOUR) == Scope(
        protocols=["low-back-radiculopathy"], conditions=["M51.16", "M54.50", "WELLNESS"]
    )


def test_scope_is_empty_without_a_licence_in_the_spas_jurisdiction(scoped):
    beth, _ = scoped
    oregon = SpaFactory(jurisdiction="US-OR", timezone="America/Los_Angeles")
    assert therapist_scope(therapist_id=beth.pk, at=EVENING, spa_id=oregon.pk) == Scope([], [])


def test_scope_is_empty_when_the_licence_is_suspended(scoped, spa):
    beth, licence = scoped
    License.objects.filter(pk=licence.pk).update(status="suspended")
    assert therapist_scope(therapist_id=beth.pk, at=EVENING, spa_id=spa.pk) == Scope([], [])


def test_scope_of_an_unlicensed_therapist_is_empty(catalog):
    nobody = TherapistFactory()
    CertificationFactory(therapist=nobody, protocol=catalog["lbr"], valid_from=LONG_AGO, expires_at=FAR_AHEAD)
    assert therapist_scope(therapist_id=nobody.pk, at=START) == Scope([], [])
