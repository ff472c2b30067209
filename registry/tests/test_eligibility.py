"""The eligibility engine, fed plain values: no database, no clock."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from registry.eligibility import (
    REFER_EMERGENCY,
    REFER_PHYSICIAN,
    BookingFact,
    Case,
    CertificationFact,
    ConditionFact,
    Decision,
    EmploymentFact,
    LicenseFact,
    ProtocolFact,
    ReasonCode,
    Scope,
    ScreeningAnswer,
    TherapistFacts,
    UnansweredQuestion,
    decide,
    local_days,
    question_applies,
    scope_of,
)

UTC = dt.UTC
LA = "America/Los_Angeles"
SPA = "spa-harbour"
OTHER_SPA = "spa-elsewhere"
MINUTE = dt.timedelta(minutes=1)

# 10:00-11:00 in Los Angeles (PDT, UTC-7) on 2025-06-10.
START = dt.datetime(2025, 6, 10, 17, 0, tzinfo=UTC)
END = START + dt.timedelta(hours=1)

LBR = "low-back-radiculopathy"
LSTAB = "lumbar-stabilisation"
CONCUSSION = "post-concussion"
NECK = "cervical-release"
SHOULDER = "frozen-shoulder"

PROTOCOLS = {
    LBR: ProtocolFact(LBR, "Low back with radiculopathy", "lumbar", 25),
    LSTAB: ProtocolFact(LSTAB, "Lumbar stabilisation", "lumbar", 30),
    CONCUSSION: ProtocolFact(CONCUSSION, "Post-concussion rehabilitation", "head", 15),
    NECK: ProtocolFact(NECK, "Cervical release", "cervical", 20),
    SHOULDER: ProtocolFact(SHOULDER, "Frozen shoulder", "shoulder", 20),
}

M51 = ConditionFact("M51.16", "Lumbar disc disorder with radiculopathy", "lumbar", ((LBR,),))
LOW_BACK_PAIN = ConditionFact("M54.50", "Low back pain", "lumbar", ((LBR, LSTAB),))
CONCUSSED = ConditionFact("S06.0X0A", "Concussion", "head", ((CONCUSSION,),))
NECK_PAIN = ConditionFact("M54.2", "Cervicalgia", "cervical", ((NECK,),))
FROZEN = ConditionFact("M75.00", "Adhesive capsulitis", "shoulder", ((SHOULDER,),))
WELLNESS = ConditionFact("WELLNESS", "Wellness", "whole-body", ())

BLADDER = ScreeningAnswer("bladder-control", "New loss of bladder or bowel control?", REFER_EMERGENCY, False)
DVT = ScreeningAnswer("dvt", "A calf that is swollen, warm and painful?", REFER_PHYSICIAN, False)
# A question added to the screening after the intake was recorded.
SADDLE = UnansweredQuestion("saddle-numbness", "Any numbness in the saddle area?")


def cert(protocol=LBR, *, id=None, valid_from=None, expires_at=None, revoked_at=None):
    return CertificationFact(
        id=id or f"cert-{protocol}",
        protocol=protocol,
        valid_from=valid_from or dt.datetime(2024, 1, 1, tzinfo=UTC),
        expires_at=expires_at or dt.datetime(2026, 1, 1, tzinfo=UTC),
        revoked_at=revoked_at,
    )


def licence(*, id="lic-ca", jurisdiction="US-CA", status="active", valid_from=None, expires_on=None):
    return LicenseFact(
        id=id,
        jurisdiction=jurisdiction,
        status=status,
        valid_from=valid_from or dt.date(2020, 1, 1),
        expires_on=expires_on or dt.date(2030, 12, 31),
    )


def employment(spa=SPA, started_on=dt.date(2020, 1, 1), ended_on=None):
    return EmploymentFact(spa_id=spa, started_on=started_on, ended_on=ended_on)


def booking(id="bk-1", spa=SPA, start=START, end=END):
    return BookingFact(id=id, spa_id=spa, start=start, end=end)


BETH = TherapistFacts(
    therapist_id="t-beth",
    name="Beth Jones",
    employments=(employment(),),
    licenses=(licence(),),
    certifications=(cert(LBR),),
)

CASE = Case(
    spa_id=SPA,
    spa_jurisdiction="US-CA",
    spa_timezone=LA,
    start=START,
    end=END,
    intake_valid_until=START + dt.timedelta(days=3),
    conditions=(M51,),
    screening=(BLADDER, DVT),
    focus_region="lumbar",
    focus_minutes=20,
    protocols=PROTOCOLS,
)


def facts(**changes) -> TherapistFacts:
    return dataclasses.replace(BETH, **changes)


def case(**changes) -> Case:
    return dataclasses.replace(CASE, **changes)


def session(start: dt.datetime, minutes: int = 60, **changes) -> Case:
    return case(start=start, end=start + dt.timedelta(minutes=minutes), **changes)


def local(year, month, day, hour, minute=0, tz=LA) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def codes(decision: Decision) -> list[str]:
    return [str(r.code) for r in decision.reasons]


def warning_codes(decision: Decision) -> list[str]:
    return [str(w.code) for w in decision.warnings]


# --- the baseline ----------------------------------------------------------------------------


def test_a_licensed_employed_certified_therapist_is_allowed_with_no_warnings():
    decision = decide(BETH, CASE)
    assert decision == Decision(allowed=True, reasons=(), warnings=())


def test_the_engine_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        decide(BETH, case(start=START.replace(tzinfo=None)))


# --- every reason code alone -----------------------------------------------------------------

ALONE = {
    "red flag": (
        BETH,
        case(screening=(dataclasses.replace(BLADDER, answer=True), DVT)),
        ReasonCode.RED_FLAG_REFERRAL,
    ),
    "intake expired": (BETH, case(intake_valid_until=START - MINUTE), ReasonCode.INTAKE_EXPIRED),
    "intake incomplete": (BETH, case(unanswered=(SADDLE,)), ReasonCode.INTAKE_INCOMPLETE),
    "not employed": (
        facts(employments=(employment(OTHER_SPA),)),
        CASE,
        ReasonCode.NOT_EMPLOYED_AT_SPA,
    ),
    "licence missing": (
        facts(licenses=(licence(jurisdiction="US-NY"),)),
        CASE,
        ReasonCode.LICENSE_MISSING,
    ),
    "licence inactive": (
        facts(licenses=(licence(status="suspended"),)),
        CASE,
        ReasonCode.LICENSE_INACTIVE,
    ),
    "not certified": (facts(certifications=()), CASE, ReasonCode.PROTOCOL_NOT_CERTIFIED),
    "certification revoked": (
        facts(certifications=(cert(revoked_at=START + 30 * MINUTE),)),
        CASE,
        ReasonCode.CERTIFICATION_REVOKED,
    ),
    "certification expired": (
        facts(certifications=(cert(expires_at=END - MINUTE),)),
        CASE,
        ReasonCode.CERTIFICATION_EXPIRED,
    ),
    "certification not yet valid": (
        facts(certifications=(cert(valid_from=START + MINUTE),)),
        CASE,
        ReasonCode.CERTIFICATION_NOT_YET_VALID,
    ),
    "focus over the limit": (BETH, case(focus_minutes=26), ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT),
    "therapist unavailable": (
        facts(bookings=(booking(start=START + 30 * MINUTE, end=END + 30 * MINUTE),)),
        CASE,
        ReasonCode.THERAPIST_UNAVAILABLE,
    ),
}


@pytest.mark.parametrize(("therapist", "the_case", "code"), ALONE.values(), ids=ALONE.keys())
def test_each_reason_alone_refuses_with_exactly_that_reason(therapist, the_case, code):
    decision = decide(therapist, the_case)
    assert decision.allowed is False
    assert codes(decision) == [code]
    assert decision.reasons[0].message
    assert "None" not in decision.reasons[0].message


def test_every_reason_code_is_tested_alone():
    from registry.tests.test_eligibility_supervision import ALONE as SUPERVISION_ALONE

    tested = {code for _, _, code in (*ALONE.values(), *SUPERVISION_ALONE.values())}
    warnings = {ReasonCode.SUPERVISOR_NOT_NEEDED}
    refusals = {c for c in ReasonCode if not c.name.endswith("EXPIRES_SOON") and c not in warnings}
    assert tested == refusals


@pytest.mark.parametrize(
    ("licences", "licence_code"),
    [
        ((licence(jurisdiction="US-NY"),), ReasonCode.LICENSE_MISSING),
        ((licence(status="revoked"),), ReasonCode.LICENSE_INACTIVE),
    ],
    ids=["licence missing", "licence inactive"],
)
def test_all_reasons_at_once_are_collected_in_order(licences, licence_code):
    """Nothing stops at the first reason: a therapist failing every rule hears all of them."""
    therapist = facts(
        employments=(employment(OTHER_SPA),),
        licenses=licences,
        certifications=(
            cert(LBR, revoked_at=START - dt.timedelta(days=1)),
            cert(CONCUSSION, expires_at=START - dt.timedelta(days=1)),
            cert(NECK, valid_from=START + dt.timedelta(days=1), expires_at=START + dt.timedelta(days=800)),
        ),
        bookings=(booking(start=START - 30 * MINUTE, end=START + 30 * MINUTE),),
    )
    the_case = case(
        conditions=(M51, CONCUSSED, NECK_PAIN, FROZEN),
        screening=(dataclasses.replace(BLADDER, answer=True), dataclasses.replace(DVT, answer=True)),
        intake_valid_until=START,
        unanswered=(SADDLE,),
        focus_minutes=40,
    )
    decision = decide(therapist, the_case)
    assert decision.allowed is False
    assert codes(decision) == [
        ReasonCode.RED_FLAG_REFERRAL,
        ReasonCode.RED_FLAG_REFERRAL,
        ReasonCode.INTAKE_EXPIRED,
        ReasonCode.INTAKE_INCOMPLETE,
        ReasonCode.NOT_EMPLOYED_AT_SPA,
        licence_code,
        ReasonCode.CERTIFICATION_REVOKED,
        ReasonCode.CERTIFICATION_EXPIRED,
        ReasonCode.CERTIFICATION_NOT_YET_VALID,
        ReasonCode.PROTOCOL_NOT_CERTIFIED,
        ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT,
        ReasonCode.THERAPIST_UNAVAILABLE,
    ]
    by_condition = {r.condition: r for r in decision.reasons if r.condition}
    assert by_condition["M51.16"].certification == f"cert-{LBR}"
    assert by_condition["S06.0X0A"].certification == f"cert-{CONCUSSION}"
    assert by_condition["M54.2"].certification == f"cert-{NECK}"
    assert by_condition["M75.00"].certification is None
    assert by_condition["M75.00"].protocols == (SHOULDER,)


# --- messages and reason shapes --------------------------------------------------------------


def test_not_certified_reads_in_plain_words():
    decision = decide(facts(certifications=()), CASE)
    (reason,) = decision.reasons
    assert (
        reason.message == "Beth Jones is not certified in Low back with radiculopathy, which M51.16 requires."
    )
    assert reason.as_dict() == {
        "code": "PROTOCOL_NOT_CERTIFIED",
        "message": reason.message,
        "condition": "M51.16",
        "protocols": [LBR],
    }


def test_the_precise_certification_reasons_name_the_certification_and_group():
    decision = decide(facts(certifications=(cert(revoked_at=START - dt.timedelta(days=2)),)), CASE)
    (reason,) = decision.reasons
    assert reason.as_dict() == {
        "code": "CERTIFICATION_REVOKED",
        "message": reason.message,
        "condition": "M51.16",
        "protocols": [LBR],
        "certification": f"cert-{LBR}",
    }
    assert "Beth Jones" in reason.message
    assert "Low back with radiculopathy" in reason.message
    assert "revoked" in reason.message


# --- requirement groups ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [LBR, LSTAB])
def test_an_any_of_group_is_met_by_either_protocol(protocol):
    decision = decide(facts(certifications=(cert(protocol),)), case(conditions=(LOW_BACK_PAIN,)))
    assert decision.allowed is True


def test_an_any_of_group_met_by_neither_protocol_names_both():
    decision = decide(facts(certifications=(cert(CONCUSSION),)), case(conditions=(LOW_BACK_PAIN,)))
    (reason,) = decision.reasons
    assert reason.code == ReasonCode.PROTOCOL_NOT_CERTIFIED
    assert reason.protocols == (LBR, LSTAB)
    assert "Low back with radiculopathy" in reason.message
    assert "Lumbar stabilisation" in reason.message


def test_an_any_of_group_met_by_one_protocol_ignores_an_invalid_other():
    therapist = facts(certifications=(cert(LBR, revoked_at=START - MINUTE), cert(LSTAB)))
    assert decide(therapist, case(conditions=(LOW_BACK_PAIN,))).allowed is True


def test_every_group_of_a_condition_must_be_met():
    both = ConditionFact("M51.17", "Lumbosacral disc disorder", "lumbar", ((LBR, LSTAB), (NECK,)))
    decision = decide(facts(certifications=(cert(LSTAB),)), case(conditions=(both,)))
    (reason,) = decision.reasons
    assert reason.code == ReasonCode.PROTOCOL_NOT_CERTIFIED
    assert reason.protocols == (NECK,)


def test_a_condition_with_no_requirements_needs_no_certification():
    decision = decide(facts(certifications=()), case(conditions=(WELLNESS,), focus_region="whole-body"))
    assert decision.allowed is True


def test_a_group_named_by_two_conditions_is_reported_once_per_condition():
    sciatica = ConditionFact("M54.1", "Radiculopathy", "lumbar", ((LBR,),))
    decision = decide(facts(certifications=()), case(conditions=(M51, sciatica)))
    assert [(r.code, r.condition) for r in decision.reasons] == [
        (ReasonCode.PROTOCOL_NOT_CERTIFIED, "M51.16"),
        (ReasonCode.PROTOCOL_NOT_CERTIFIED, "M54.1"),
    ]


# --- precedence among the certification reasons ----------------------------------------------

DAY = dt.timedelta(days=1)
PRECEDENCE = {
    "revoked and expired: revoked": (
        (cert(revoked_at=START - 2 * DAY, expires_at=START - DAY),),
        ReasonCode.CERTIFICATION_REVOKED,
        f"cert-{LBR}",
    ),
    "revoked and not yet valid: revoked": (
        (cert(valid_from=START + MINUTE, revoked_at=START + 2 * MINUTE),),
        ReasonCode.CERTIFICATION_REVOKED,
        f"cert-{LBR}",
    ),
    "expired and not yet valid (inside the session): expired": (
        (cert(valid_from=START + MINUTE, expires_at=END - MINUTE),),
        ReasonCode.CERTIFICATION_EXPIRED,
        f"cert-{LBR}",
    ),
    "an expired and a revoked one: revoked": (
        (
            cert(id="old", expires_at=START - 300 * DAY, valid_from=START - 1000 * DAY),
            cert(id="renewed", revoked_at=START - DAY),
        ),
        ReasonCode.CERTIFICATION_REVOKED,
        "renewed",
    ),
    "a not-yet-valid and an expired one: expired": (
        (
            cert(id="next", valid_from=START + DAY, expires_at=START + 700 * DAY),
            cert(id="old", valid_from=START - 800 * DAY, expires_at=START - DAY),
        ),
        ReasonCode.CERTIFICATION_EXPIRED,
        "old",
    ),
    "only not yet valid": (
        (cert(valid_from=START + DAY, expires_at=START + 700 * DAY),),
        ReasonCode.CERTIFICATION_NOT_YET_VALID,
        f"cert-{LBR}",
    ),
    "a certification in another protocol does not count: not certified": (
        (cert(CONCUSSION, revoked_at=START - DAY),),
        ReasonCode.PROTOCOL_NOT_CERTIFIED,
        None,
    ),
}


@pytest.mark.parametrize(
    ("certifications", "code", "certification"), PRECEDENCE.values(), ids=PRECEDENCE.keys()
)
def test_certification_reasons_take_the_first_that_applies(certifications, code, certification):
    decision = decide(facts(certifications=certifications), CASE)
    (reason,) = decision.reasons
    assert (reason.code, reason.certification) == (code, certification)
    assert reason.protocols == (LBR,)
    assert reason.condition == "M51.16"


# --- boundaries --------------------------------------------------------------------------------

BOUNDARIES = {
    "expires exactly when the session ends": (cert(expires_at=END), []),
    "expires one minute before the session ends": (
        cert(expires_at=END - MINUTE),
        [ReasonCode.CERTIFICATION_EXPIRED],
    ),
    "valid from exactly the start": (cert(valid_from=START), []),
    "valid from one minute after the start": (
        cert(valid_from=START + MINUTE),
        [ReasonCode.CERTIFICATION_NOT_YET_VALID],
    ),
    "revoked during the session": (cert(revoked_at=END - MINUTE), [ReasonCode.CERTIFICATION_REVOKED]),
    "revoked exactly at the start": (cert(revoked_at=START), [ReasonCode.CERTIFICATION_REVOKED]),
    "revoked exactly when the session ends": (cert(revoked_at=END), []),
    "revoked after the session": (cert(revoked_at=END + DAY), []),
}


@pytest.mark.parametrize(("certification", "expected"), BOUNDARIES.values(), ids=BOUNDARIES.keys())
def test_a_certification_counts_only_if_valid_for_the_whole_session(certification, expected):
    assert codes(decide(facts(certifications=(certification,)), CASE)) == expected


def test_local_days_read_the_end_as_exclusive():
    assert local_days(local(2025, 6, 10, 23), local(2025, 6, 11, 0), LA) == (
        dt.date(2025, 6, 10),
        dt.date(2025, 6, 10),
    )
    assert local_days(local(2025, 6, 10, 23, 30), local(2025, 6, 11, 0, 30), LA) == (
        dt.date(2025, 6, 10),
        dt.date(2025, 6, 11),
    )


# Times arrive in UTC (as the database gives them); days are read in the spa's timezone.
MIDNIGHT = local(2025, 6, 10, 23, 30).astimezone(UTC)  # 23:30-00:30 local crosses into June 11
EVENING = dt.datetime(2025, 6, 11, 3, 0, tzinfo=UTC)  # 20:00 PDT on June 10
LICENCE_DAYS = {
    "licence ends on the first day of a session crossing midnight": (
        MIDNIGHT,
        licence(expires_on=dt.date(2025, 6, 10)),
        [ReasonCode.LICENSE_INACTIVE],
    ),
    "licence ends on the second day of a session crossing midnight": (
        MIDNIGHT,
        licence(expires_on=dt.date(2025, 6, 11)),
        [],
    ),
    "licence starts on the second day of a session crossing midnight": (
        MIDNIGHT,
        licence(valid_from=dt.date(2025, 6, 11)),
        [ReasonCode.LICENSE_INACTIVE],
    ),
    "licence ends on the local day of an evening session that is the next UTC day": (
        EVENING,
        licence(expires_on=dt.date(2025, 6, 10)),
        [],
    ),
    "licence starts on the UTC day of an evening session, the next local day": (
        EVENING,
        licence(valid_from=dt.date(2025, 6, 11)),
        [ReasonCode.LICENSE_INACTIVE],
    ),
    "licence expired the day before": (
        START,
        licence(expires_on=dt.date(2025, 6, 9)),
        [ReasonCode.LICENSE_INACTIVE],
    ),
    "licence in another jurisdiction": (START, licence(jurisdiction="US-OR"), [ReasonCode.LICENSE_MISSING]),
}


@pytest.mark.parametrize(("start", "the_licence", "expected"), LICENCE_DAYS.values(), ids=LICENCE_DAYS.keys())
def test_licence_days_are_read_in_the_spas_timezone(start, the_licence, expected):
    decision = decide(facts(licenses=(the_licence,)), session(start))
    assert codes(decision) == expected


def test_a_session_ending_at_local_midnight_does_not_touch_the_next_day():
    the_case = case(start=local(2025, 6, 10, 23).astimezone(UTC), end=local(2025, 6, 11, 0).astimezone(UTC))
    therapist = facts(
        licenses=(licence(expires_on=dt.date(2025, 6, 10)),),
        employments=(employment(ended_on=dt.date(2025, 6, 10)),),
    )
    assert codes(decide(therapist, the_case)) == []


def test_an_active_licence_elsewhere_does_not_help_an_inactive_one_here():
    therapist = facts(licenses=(licence(status="suspended"), licence(id="lic-ny", jurisdiction="US-NY")))
    assert codes(decide(therapist, CASE)) == [ReasonCode.LICENSE_INACTIVE]


def test_one_active_licence_among_inactive_ones_is_enough():
    therapist = facts(
        licenses=(licence(id="old", status="expired", expires_on=dt.date(2024, 1, 1)), licence(id="new"))
    )
    assert decide(therapist, CASE).allowed is True


EMPLOYMENT_DAYS = {
    "employment ends on the first day of a session crossing midnight": (
        MIDNIGHT,
        employment(ended_on=dt.date(2025, 6, 10)),
        [ReasonCode.NOT_EMPLOYED_AT_SPA],
    ),
    "employment ends on the session's day (inclusive)": (
        START,
        employment(ended_on=dt.date(2025, 6, 10)),
        [],
    ),
    "employment starts on the session's day (inclusive)": (
        START,
        employment(started_on=dt.date(2025, 6, 10)),
        [],
    ),
    "employment starts the next day": (
        START,
        employment(started_on=dt.date(2025, 6, 11)),
        [ReasonCode.NOT_EMPLOYED_AT_SPA],
    ),
    "employment starts on the UTC day of an evening session, the next local day": (
        EVENING,
        employment(started_on=dt.date(2025, 6, 11)),
        [ReasonCode.NOT_EMPLOYED_AT_SPA],
    ),
    "employment ended the day before": (
        START,
        employment(ended_on=dt.date(2025, 6, 9)),
        [ReasonCode.NOT_EMPLOYED_AT_SPA],
    ),
    "employment at another spa": (START, employment(OTHER_SPA), [ReasonCode.NOT_EMPLOYED_AT_SPA]),
}


@pytest.mark.parametrize(
    ("start", "the_employment", "expected"), EMPLOYMENT_DAYS.values(), ids=EMPLOYMENT_DAYS.keys()
)
def test_employment_must_cover_the_whole_session_in_local_days(start, the_employment, expected):
    decision = decide(facts(employments=(the_employment,)), session(start))
    assert codes(decision) == expected


def test_an_earlier_ended_employment_and_a_new_one_cover_the_session():
    therapist = facts(
        employments=(
            employment(ended_on=dt.date(2022, 1, 1)),
            employment(started_on=dt.date(2024, 1, 1)),
        )
    )
    assert decide(therapist, CASE).allowed is True


INTAKES = {
    "intake valid one minute past the start": (START + MINUTE, []),
    "intake ends exactly at the start": (START, [ReasonCode.INTAKE_EXPIRED]),
    "session starts one minute past validity": (START - MINUTE, [ReasonCode.INTAKE_EXPIRED]),
}


@pytest.mark.parametrize(("valid_until", "expected"), INTAKES.values(), ids=INTAKES.keys())
def test_an_intake_serves_sessions_starting_before_it_expires(valid_until, expected):
    assert codes(decide(BETH, case(intake_valid_until=valid_until))) == expected


def test_each_question_the_intake_never_asked_is_its_own_reason():
    dvt_later = UnansweredQuestion("calf-swelling", "A calf that is swollen, warm and painful?")
    decision = decide(BETH, case(unanswered=(SADDLE, dvt_later)))
    assert codes(decision) == [ReasonCode.INTAKE_INCOMPLETE] * 2
    assert [r.question for r in decision.reasons] == ["saddle-numbness", "calf-swelling"]
    assert "saddle area" in decision.reasons[0].message


QUESTION_APPLIES = {
    "no regions: every intake": ((), {"cervical"}, True),
    "a region the intake names": (("lumbar", "pelvis"), {"lumbar"}, True),
    "no region in common": (("lumbar",), {"cervical", "head"}, False),
    "whole-body work: every question": (("lumbar",), {"whole-body"}, True),
}


@pytest.mark.parametrize(
    ("question_regions", "intake_regions", "expected"), QUESTION_APPLIES.values(), ids=QUESTION_APPLIES.keys()
)
def test_a_question_applies_to_an_intake_when_its_regions_meet(question_regions, intake_regions, expected):
    assert question_applies(question_regions, frozenset(intake_regions)) is expected


# --- dose ----------------------------------------------------------------------------------------

DOSES = {
    "exactly at the limit": (case(focus_minutes=25), []),
    "one over the limit": (case(focus_minutes=26), [ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT]),
    "whole-body work is not focused work": (case(focus_region="whole-body", focus_minutes=60), []),
    "no focus region": (case(focus_region=None, focus_minutes=0), []),
    "no protocol on the focus region: no limit": (case(focus_region="shoulder", focus_minutes=60), []),
    "the smallest limit of an any-of group on the region": (
        case(conditions=(LOW_BACK_PAIN,), focus_minutes=26),
        [ReasonCode.FOCUS_EXCEEDS_PROTOCOL_LIMIT],
    ),
    "a protocol on another region does not limit this one": (
        case(conditions=(M51, CONCUSSED), focus_minutes=20),
        [],
    ),
}


@pytest.mark.parametrize(("the_case", "expected"), DOSES.values(), ids=DOSES.keys())
def test_focused_minutes_stay_within_the_smallest_protocol_limit(the_case, expected):
    therapist = facts(certifications=(cert(LBR), cert(LSTAB), cert(CONCUSSION)))
    assert codes(decide(therapist, the_case)) == expected


def test_the_dose_reason_names_the_limiting_protocols():
    therapist = facts(certifications=(cert(LSTAB),))
    decision = decide(therapist, case(conditions=(LOW_BACK_PAIN,), focus_minutes=26))
    (reason,) = decision.reasons
    assert reason.protocols == (LBR,)
    assert "25" in reason.message
    assert "Low back with radiculopathy" in reason.message


def test_protocols_sharing_the_smallest_limit_are_all_named():
    twin = ProtocolFact("lumbar-twin", "Lumbar twin", "lumbar", 25)
    condition = ConditionFact("M99.03", "Lumbar segmental dysfunction", "lumbar", ((LBR, twin.slug),))
    the_case = case(conditions=(condition,), protocols={**PROTOCOLS, twin.slug: twin}, focus_minutes=30)
    (reason,) = decide(BETH, the_case).reasons
    assert reason.protocols == (LBR, "lumbar-twin")


# --- red flags -----------------------------------------------------------------------------------

RED_FLAGS = {
    "a no answer": ((BLADDER, DVT), []),
    "an uncleared refer-physician flag": (
        (dataclasses.replace(DVT, answer=True),),
        [(ReasonCode.RED_FLAG_REFERRAL, "dvt", REFER_PHYSICIAN)],
    ),
    "a cleared refer-physician flag": ((dataclasses.replace(DVT, answer=True, cleared=True),), []),
    "a 'cleared' refer-emergency flag": (
        (dataclasses.replace(BLADDER, answer=True, cleared=True),),
        [(ReasonCode.RED_FLAG_REFERRAL, "bladder-control", REFER_EMERGENCY)],
    ),
    "two flags: one reason each": (
        (dataclasses.replace(BLADDER, answer=True), dataclasses.replace(DVT, answer=True)),
        [
            (ReasonCode.RED_FLAG_REFERRAL, "bladder-control", REFER_EMERGENCY),
            (ReasonCode.RED_FLAG_REFERRAL, "dvt", REFER_PHYSICIAN),
        ],
    ),
}


@pytest.mark.parametrize(("screening", "expected"), RED_FLAGS.values(), ids=RED_FLAGS.keys())
def test_a_red_flag_means_referral_unless_a_physician_cleared_it(screening, expected):
    decision = decide(BETH, case(screening=screening))
    assert [(r.code, r.question, r.action) for r in decision.reasons] == expected
    assert decision.allowed is (not expected)


def test_a_red_flag_message_quotes_the_question():
    decision = decide(BETH, case(screening=(dataclasses.replace(BLADDER, answer=True),)))
    assert "New loss of bladder or bowel control?" in decision.reasons[0].message
    assert "emergency" in decision.reasons[0].message


# --- availability --------------------------------------------------------------------------------

AVAILABILITY = {
    "a booking ending as this one starts": (booking(start=START - 60 * MINUTE, end=START), []),
    "a booking starting as this one ends": (booking(start=END, end=END + 60 * MINUTE), []),
    "a booking overlapping by one minute": (
        booking(start=END - MINUTE, end=END + 60 * MINUTE),
        [(ReasonCode.THERAPIST_UNAVAILABLE, "bk-1")],
    ),
    "a booking inside this one": (
        booking(start=START + 10 * MINUTE, end=START + 20 * MINUTE),
        [(ReasonCode.THERAPIST_UNAVAILABLE, "bk-1")],
    ),
    "another spa's booking: its id is not told": (
        booking(id="bk-secret", spa=OTHER_SPA),
        [(ReasonCode.THERAPIST_UNAVAILABLE, None)],
    ),
}


@pytest.mark.parametrize(("the_booking", "expected"), AVAILABILITY.values(), ids=AVAILABILITY.keys())
def test_a_therapist_cannot_be_in_two_sessions_at_once(the_booking, expected):
    decision = decide(facts(bookings=(the_booking,)), CASE)
    assert [(r.code, r.booking) for r in decision.reasons] == expected
    assert all("bk-secret" not in r.message for r in decision.reasons)


def test_another_spas_booking_leaks_nothing_in_the_reason():
    decision = decide(facts(bookings=(booking(id="bk-secret", spa=OTHER_SPA),)), CASE)
    (reason,) = decision.reasons
    assert reason.as_dict() == {"code": "THERAPIST_UNAVAILABLE", "message": reason.message}
    assert "bk-secret" not in reason.message
    assert OTHER_SPA not in reason.message


def test_rechecking_a_booking_does_not_collide_with_itself():
    therapist = facts(bookings=(booking(id="bk-this"),))
    assert decide(therapist, case(booking_id="bk-this")).allowed is True
    assert codes(decide(therapist, case(booking_id="bk-other"))) == [ReasonCode.THERAPIST_UNAVAILABLE]


# --- warnings ------------------------------------------------------------------------------------

WARNINGS = {
    "certification expires 10 days after the session": (
        facts(certifications=(cert(expires_at=END + 10 * DAY),)),
        [ReasonCode.CERTIFICATION_EXPIRES_SOON],
    ),
    "certification expires exactly 30 days after": (
        facts(certifications=(cert(expires_at=END + 30 * DAY),)),
        [ReasonCode.CERTIFICATION_EXPIRES_SOON],
    ),
    "certification expires 30 days and a minute after": (
        facts(certifications=(cert(expires_at=END + 30 * DAY + MINUTE),)),
        [],
    ),
    "a renewal lasting longer meets the group: no warning": (
        facts(
            certifications=(
                cert(id="old", expires_at=END + 10 * DAY),
                cert(id="renewed", valid_from=START - DAY, expires_at=END + 700 * DAY),
            )
        ),
        [],
    ),
    "licence expires 20 days after the session's day": (
        facts(licenses=(licence(expires_on=dt.date(2025, 6, 30)),)),
        [ReasonCode.LICENSE_EXPIRES_SOON],
    ),
    "licence expires 31 days after the session's day": (
        facts(licenses=(licence(expires_on=dt.date(2025, 7, 11)),)),
        [],
    ),
    "a licence elsewhere expiring soon is not the one used": (
        facts(
            licenses=(licence(), licence(id="lic-ny", jurisdiction="US-NY", expires_on=dt.date(2025, 6, 20)))
        ),
        [],
    ),
}


@pytest.mark.parametrize(("therapist", "expected"), WARNINGS.values(), ids=WARNINGS.keys())
def test_warnings_tell_what_expires_soon_after_the_session(therapist, expected):
    decision = decide(therapist, CASE)
    assert decision.allowed is True
    assert warning_codes(decision) == expected


def test_a_certification_warning_names_the_certification():
    decision = decide(facts(certifications=(cert(expires_at=END + 10 * DAY),)), CASE)
    (warning,) = decision.warnings
    assert warning.certification == f"cert-{LBR}"
    assert warning.protocols == (LBR,)
    assert "Low back with radiculopathy" in warning.message


def test_warnings_follow_the_case_warning_days():
    therapist = facts(certifications=(cert(expires_at=END + 10 * DAY),))
    assert decide(therapist, case(warning_days=5)).warnings == ()


def test_warnings_come_with_refusals_too():
    therapist = facts(certifications=(cert(expires_at=END + 10 * DAY),), employments=())
    decision = decide(therapist, CASE)
    assert codes(decision) == [ReasonCode.NOT_EMPLOYED_AT_SPA]
    assert warning_codes(decision) == [ReasonCode.CERTIFICATION_EXPIRES_SOON]


# --- scope ----------------------------------------------------------------------------------------

REQUIREMENTS = {
    "M51.16": ((LBR,),),
    "M54.50": ((LBR, LSTAB),),
    "S06.0X0A": ((CONCUSSION,),),
    "M51.17": ((LBR, LSTAB), (NECK,)),
    "WELLNESS": (),
}


def test_scope_holds_valid_protocols_and_the_conditions_they_meet():
    therapist = facts(
        certifications=(
            cert(LBR),
            cert(CONCUSSION, revoked_at=START - DAY),
            cert(NECK, valid_from=START + DAY, expires_at=START + 700 * DAY),
        )
    )
    scope = scope_of(therapist, REQUIREMENTS, START, "US-CA", LA)
    assert scope == Scope(protocols=[LBR], conditions=["M51.16", "M54.50", "WELLNESS"])


def test_scope_is_empty_without_an_active_licence_in_the_jurisdiction():
    assert scope_of(BETH, REQUIREMENTS, START, "US-NY", LA) == Scope(protocols=[], conditions=[])
    assert scope_of(BETH, REQUIREMENTS, START, None) == Scope(
        protocols=[LBR], conditions=["M51.16", "M54.50", "WELLNESS"]
    )


def test_scope_at_an_instant_reads_revocation_and_expiry_like_the_certificate_status():
    at_revocation = facts(certifications=(cert(revoked_at=START),))
    at_expiry = facts(certifications=(cert(expires_at=START),))
    at_validity = facts(certifications=(cert(valid_from=START),))
    assert scope_of(at_revocation, REQUIREMENTS, START, None).protocols == []
    assert scope_of(at_expiry, REQUIREMENTS, START, None).protocols == []
    assert scope_of(at_validity, REQUIREMENTS, START, None).protocols == [LBR]
