"""Properties of the eligibility engine over generated facts and cases (no database)."""

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

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
    ScreeningAnswer,
    TherapistFacts,
    decide,
)

UTC = dt.UTC
BASE = dt.datetime(2025, 6, 10, 0, 0, tzinfo=UTC)
SPAS = ("spa-a", "spa-b")
PROTOCOLS = {
    "lbr": ProtocolFact("lbr", "Low back with radiculopathy", "lumbar", 25),
    "lstab": ProtocolFact("lstab", "Lumbar stabilisation", "lumbar", 30),
    "concussion": ProtocolFact("concussion", "Post-concussion rehabilitation", "head", 15),
    "neck": ProtocolFact("neck", "Cervical release", "cervical", 20),
}
SLUGS = tuple(PROTOCOLS)
REGIONS = ("lumbar", "head", "cervical", "shoulder", "whole-body")
TIMEZONES = ("UTC", "America/Los_Angeles", "Europe/Berlin", "Pacific/Kiritimati")
REQUIREMENT_CODES = {
    ReasonCode.PROTOCOL_NOT_CERTIFIED,
    ReasonCode.CERTIFICATION_REVOKED,
    ReasonCode.CERTIFICATION_EXPIRED,
    ReasonCode.CERTIFICATION_NOT_YET_VALID,
}

minutes = st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60).map(lambda m: dt.timedelta(minutes=m))
days = st.integers(min_value=-5, max_value=5).map(lambda d: dt.timedelta(days=d))


@st.composite
def sessions(draw):
    start = BASE + draw(minutes)
    end = start + dt.timedelta(minutes=draw(st.integers(min_value=15, max_value=180)))
    return start, end


@st.composite
def certifications(draw, start, id):
    valid_from = start + draw(minutes)
    expires_at = valid_from + dt.timedelta(minutes=draw(st.integers(min_value=1, max_value=6 * 24 * 60)))
    revoked_at = draw(st.none() | minutes.map(lambda m: start + m))
    return CertificationFact(
        id=id,
        protocol=draw(st.sampled_from(SLUGS)),
        valid_from=valid_from,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


@st.composite
def worlds(draw):
    """A therapist's facts and a case around one session, varied around every boundary."""
    start, end = draw(sessions())
    today = start.date()
    groups = st.lists(
        st.lists(st.sampled_from(SLUGS), min_size=1, max_size=3, unique=True).map(tuple),
        max_size=3,
    ).map(tuple)
    conditions = tuple(
        ConditionFact(code=f"C{i}", name=f"Condition {i}", region="lumbar", requirement_groups=draw(groups))
        for i in range(draw(st.integers(min_value=0, max_value=3)))
    )
    screening = tuple(
        ScreeningAnswer(
            question=f"q{i}",
            text=f"Question {i}?",
            action=draw(st.sampled_from((REFER_EMERGENCY, REFER_PHYSICIAN))),
            answer=draw(st.booleans()),
            cleared=draw(st.booleans()),
        )
        for i in range(draw(st.integers(min_value=0, max_value=2)))
    )
    employments = tuple(
        EmploymentFact(
            spa_id=draw(st.sampled_from(SPAS)),
            started_on=today + draw(days),
            ended_on=draw(st.none() | days.map(lambda d: today + d)),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=2)))
    )
    licences = tuple(
        LicenseFact(
            id=f"lic-{i}",
            jurisdiction=draw(st.sampled_from(("US-CA", "US-NY"))),
            status=draw(st.sampled_from(("active", "active", "suspended", "expired"))),
            valid_from=today + draw(days),
            expires_on=today + draw(days) + dt.timedelta(days=5),
        )
        for i in range(draw(st.integers(min_value=0, max_value=2)))
    )
    certs = tuple(
        draw(certifications(start, f"cert-{i}")) for i in range(draw(st.integers(min_value=0, max_value=5)))
    )
    bookings = tuple(
        BookingFact(
            id=f"bk-{i}",
            spa_id=draw(st.sampled_from(SPAS)),
            start=(b_start := start + draw(minutes)),
            end=b_start + dt.timedelta(minutes=draw(st.integers(min_value=15, max_value=120))),
        )
        for i in range(draw(st.integers(min_value=0, max_value=2)))
    )
    focus_region = draw(st.none() | st.sampled_from(REGIONS))
    facts = TherapistFacts(
        therapist_id="t-1",
        name="Beth Jones",
        employments=employments,
        licenses=licences,
        certifications=certs,
        bookings=bookings,
    )
    case = Case(
        spa_id="spa-a",
        spa_jurisdiction="US-CA",
        spa_timezone=draw(st.sampled_from(TIMEZONES)),
        start=start,
        end=end,
        intake_valid_until=start + draw(minutes),
        conditions=conditions,
        screening=screening,
        focus_region=focus_region,
        focus_minutes=0 if focus_region is None else draw(st.integers(min_value=0, max_value=60)),
        protocols=PROTOCOLS,
        booking_id=draw(st.none() | st.just("bk-0")),
    )
    return facts, case


def unmet_groups(decision: Decision) -> set[tuple[str | None, tuple[str, ...]]]:
    return {(r.condition, r.protocols) for r in decision.reasons if r.code in REQUIREMENT_CODES}


@settings(max_examples=200, deadline=None)
@given(facts_and_case=worlds(), data=st.data())
def test_adding_a_valid_certification_never_adds_a_reason(facts_and_case, data):
    facts, case = facts_and_case
    valid = CertificationFact(
        id="cert-new",
        protocol=data.draw(st.sampled_from(SLUGS)),
        valid_from=case.start - data.draw(st.integers(0, 10_000).map(lambda m: dt.timedelta(minutes=m))),
        expires_at=case.end + data.draw(st.integers(0, 10_000).map(lambda m: dt.timedelta(minutes=m))),
        revoked_at=data.draw(
            st.none() | st.integers(0, 10_000).map(lambda m: case.end + dt.timedelta(minutes=m))
        ),
    )
    before = decide(facts, case)
    after = decide(dataclasses.replace(facts, certifications=(*facts.certifications, valid)), case)
    assert set(after.reasons) <= set(before.reasons)
    assert after.allowed or not before.allowed


@settings(max_examples=200, deadline=None)
@given(facts_and_case=worlds(), data=st.data())
def test_revoking_a_certification_never_allows_and_never_meets_a_group(facts_and_case, data):
    facts, case = facts_and_case
    unrevoked = [i for i, c in enumerate(facts.certifications) if c.revoked_at is None]
    if unrevoked:
        index = data.draw(st.sampled_from(unrevoked))
    else:
        # nothing to revoke yet: give the therapist one valid certification first
        facts = dataclasses.replace(
            facts,
            certifications=(
                *facts.certifications,
                CertificationFact(
                    "cert-valid", data.draw(st.sampled_from(SLUGS)), case.start, case.end, None
                ),
            ),
        )
        index = len(facts.certifications) - 1
    revoked_at = case.start + data.draw(minutes)
    certs = list(facts.certifications)
    certs[index] = dataclasses.replace(certs[index], revoked_at=revoked_at)

    before = decide(facts, case)
    after = decide(dataclasses.replace(facts, certifications=tuple(certs)), case)
    assert not after.allowed or before.allowed
    assert unmet_groups(before) <= unmet_groups(after)


@settings(max_examples=200, deadline=None)
@given(facts_and_case=worlds())
def test_allowed_exactly_when_there_is_no_reason_and_every_reason_speaks(facts_and_case):
    facts, case = facts_and_case
    decision = decide(facts, case)
    assert decision.allowed is (not decision.reasons)
    for reason in (*decision.reasons, *decision.warnings):
        assert reason.message
        assert reason.booking in (None, *(b.id for b in facts.bookings if b.spa_id == case.spa_id))
