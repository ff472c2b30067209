"""Provisional scope (issue 23) in the engine, fed plain values: a session resting on a
provisional certification needs a qualified, free supervisor."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.eligibility import (
    BookingFact,
    ReasonCode,
    TherapistFacts,
    allowed_among,
    certification_full,
    certifications_relied_on,
    decide,
    group_certification,
    provisional_certifications,
    qualified_supervisors,
)
from registry.tests.test_eligibility import (
    BETH,
    CASE,
    END,
    LBR,
    LOW_BACK_PAIN,
    LSTAB,
    M51,
    MINUTE,
    OTHER_SPA,
    PROTOCOLS,
    START,
    booking,
    cert,
    employment,
    licence,
)

SUPERVISED = {**PROTOCOLS, LBR: dataclasses.replace(PROTOCOLS[LBR], supervised_sessions=5)}
P_CASE = dataclasses.replace(CASE, protocols=SUPERVISED)
FULL_AT = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)

NEW = dataclasses.replace(
    BETH, therapist_id="t-nora", name="Nora New", certifications=(cert(LBR, id="c-nora"),)
)
NEW_3 = dataclasses.replace(
    NEW, certifications=(dataclasses.replace(cert(LBR, id="c-nora"), supervised_done=3),)
)
SUE = TherapistFacts(
    therapist_id="t-sue",
    name="Sue Senior",
    employments=(employment(),),
    licenses=(licence(id="lic-sue"),),
    certifications=(dataclasses.replace(cert(LBR, id="c-sue"), scope_full_at=FULL_AT),),
)


def sue(**changes) -> TherapistFacts:
    return dataclasses.replace(SUE, **changes)


def with_supervisor(supervisor, **changes):
    return dataclasses.replace(P_CASE, supervisor=supervisor, **changes)


def codes(decision):
    return [r.code for r in decision.reasons]


ALONE = {
    "provisional without a supervisor": (NEW, P_CASE, ReasonCode.SUPERVISION_REQUIRED),
    "supervisor not employed here (another spa's)": (
        NEW,
        with_supervisor(sue(employments=(employment(spa=OTHER_SPA),))),
        ReasonCode.SUPERVISOR_NOT_QUALIFIED,
    ),
    "supervisor busy in the slot": (
        NEW,
        with_supervisor(sue(bookings=(booking(id="bk-other", start=START + 30 * MINUTE, end=END),))),
        ReasonCode.SUPERVISOR_UNAVAILABLE,
    ),
}


@pytest.mark.parametrize(("therapist", "the_case", "code"), ALONE.values(), ids=ALONE.keys())
def test_each_supervision_reason_alone_refuses_with_exactly_that_reason(therapist, the_case, code):
    decision = decide(therapist, the_case)
    assert decision.allowed is False
    assert codes(decision) == [code]
    assert decision.reasons[0].message
    assert "None" not in decision.reasons[0].message


def test_a_provisional_certification_with_a_qualified_free_supervisor_is_allowed():
    decision = decide(NEW, with_supervisor(SUE))
    assert decision.allowed, decision.reasons
    assert decision.warnings == ()


def test_supervision_required_names_the_certification_and_the_count_done():
    (reason,) = decide(NEW_3, P_CASE).reasons
    assert reason.certification == "c-nora"
    assert reason.protocols == (LBR,)
    assert "3 of 5 supervised sessions done" in reason.message


def test_a_protocol_without_supervised_sessions_needs_no_supervisor():
    assert decide(NEW, CASE).allowed


def test_a_promoted_certification_books_alone():
    promoted = dataclasses.replace(
        NEW, certifications=(dataclasses.replace(cert(LBR, id="c-nora"), scope_full_at=FULL_AT),)
    )
    assert decide(promoted, P_CASE).allowed


def test_a_group_met_by_a_full_certification_needs_no_supervisor():
    both = dataclasses.replace(
        NEW,
        certifications=(cert(LBR, id="c-nora"), cert(LSTAB, id="c-stab")),
    )
    the_case = dataclasses.replace(P_CASE, conditions=(LOW_BACK_PAIN,))
    assert provisional_certifications(both, the_case) == ()
    assert decide(both, the_case).allowed


# A group met by a full certification (expiring sooner) and a provisional one (lasting longer)
# needs no supervisor, so the session rests on the full one; a group met by provisional
# certifications alone rests on the longest-lasting of them, the one the supervisor is checked for.
SOON = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)  # after the session, before 2026-01-01
FULL_SOON = dataclasses.replace(cert(LBR, id="c-full", expires_at=SOON), scope_full_at=FULL_AT)
PROV_LONG = cert(LBR, id="c-prov")  # provisional, expires 2026-01-01
PROV_SOON = cert(LBR, id="c-prov-soon", expires_at=SOON)
STAB_SOON = cert(LSTAB, id="c-stab", expires_at=SOON)  # LSTAB asks for no supervision: full

RESTS_ON = {
    "full (sooner) and provisional (longer), one protocol": ((FULL_SOON, PROV_LONG), M51, ["c-full"], []),
    "full in one protocol of the group, provisional (longer) in the other": (
        (STAB_SOON, PROV_LONG),
        LOW_BACK_PAIN,
        ["c-stab"],
        [],
    ),
    "provisional only: the longest-lasting": ((PROV_SOON, PROV_LONG), M51, ["c-prov"], ["c-prov"]),
    "a full one that expires in the session does not count": (
        (dataclasses.replace(FULL_SOON, expires_at=END - MINUTE), PROV_LONG),
        M51,
        ["c-prov"],
        ["c-prov"],
    ),
    "a revoked full one does not count": (
        (dataclasses.replace(FULL_SOON, revoked_at=START - MINUTE), PROV_LONG),
        M51,
        ["c-prov"],
        ["c-prov"],
    ),
    "two full ones: the longest-lasting": (
        (FULL_SOON, dataclasses.replace(PROV_LONG, scope_full_at=FULL_AT)),
        M51,
        ["c-prov"],
        [],
    ),
}


@pytest.mark.parametrize(
    ("held", "condition", "relied", "provisional"), RESTS_ON.values(), ids=RESTS_ON.keys()
)
def test_a_session_rests_on_a_full_certification_before_a_longer_lasting_provisional_one(
    held, condition, relied, provisional
):
    facts = dataclasses.replace(NEW, certifications=held)
    the_case = dataclasses.replace(P_CASE, conditions=(condition,))
    chosen = group_certification(held, condition.requirement_groups[0], START, END, SUPERVISED)
    assert chosen is not None
    assert chosen.id == relied[0]
    assert [c.id for c in certifications_relied_on(facts, the_case)] == relied
    assert [c.id for c in provisional_certifications(facts, the_case)] == provisional
    # supervised exactly when the session rests on a provisional certification
    assert [r.code for r in decide(facts, the_case).reasons] == (
        [ReasonCode.SUPERVISION_REQUIRED] if provisional else []
    )


def test_session_resting_on_full_certification_credits_no_provisional_one():
    """Named a supervisor anyway, a session a full certification covers rests on it alone: the
    provisional certification (never checked against the supervisor) is not relied on, so a
    completion cannot count it as supervised."""
    facts = dataclasses.replace(NEW, certifications=(FULL_SOON, PROV_LONG))
    the_case = with_supervisor(SUE)
    decision = decide(facts, the_case)
    assert decision.allowed
    assert [w.code for w in decision.warnings] == [ReasonCode.SUPERVISOR_NOT_NEEDED]
    assert [c.id for c in certifications_relied_on(facts, the_case)] == ["c-full"]


def test_without_a_catalog_group_certification_is_the_longest_lasting():
    assert group_certification((FULL_SOON, PROV_LONG), (LBR,), START, END).id == "c-prov"
    assert group_certification((FULL_SOON, PROV_LONG), (LBR,), START, END, SUPERVISED).id == "c-full"


def test_a_supervisor_named_when_none_is_needed_is_a_warning_not_a_refusal():
    decision = decide(NEW, dataclasses.replace(CASE, supervisor=SUE))
    assert decision.allowed
    assert [w.code for w in decision.warnings] == [ReasonCode.SUPERVISOR_NOT_NEEDED]


@pytest.mark.parametrize(
    ("supervisor", "sub_codes"),
    [
        (sue(employments=(employment(spa=OTHER_SPA),)), [ReasonCode.NOT_EMPLOYED_AT_SPA]),
        (sue(licenses=(licence(id="lic-sue", jurisdiction="US-NY"),)), [ReasonCode.LICENSE_MISSING]),
        (sue(certifications=()), [ReasonCode.PROTOCOL_NOT_CERTIFIED]),
        (
            sue(
                certifications=(
                    dataclasses.replace(
                        cert(LBR, id="c-sue", revoked_at=START - MINUTE), scope_full_at=FULL_AT
                    ),
                )
            ),
            [ReasonCode.CERTIFICATION_REVOKED],
        ),
        (
            sue(
                certifications=(
                    dataclasses.replace(
                        cert(LBR, id="c-sue", expires_at=END - MINUTE), scope_full_at=FULL_AT
                    ),
                )
            ),
            [ReasonCode.CERTIFICATION_EXPIRED],
        ),
        (sue(certifications=(cert(LBR, id="c-sue"),)), [ReasonCode.SUPERVISOR_NOT_QUALIFIED]),
        (
            sue(employments=(employment(spa=OTHER_SPA),), certifications=()),
            [ReasonCode.NOT_EMPLOYED_AT_SPA, ReasonCode.PROTOCOL_NOT_CERTIFIED],
        ),
    ],
    ids=[
        "other spa",
        "no licence here",
        "not certified",
        "revoked",
        "expires in the session",
        "own provisional",
        "two",
    ],
)
def test_supervisor_not_qualified_carries_the_supervisors_own_reasons(supervisor, sub_codes):
    (reason,) = decide(NEW, with_supervisor(supervisor)).reasons
    assert reason.code == ReasonCode.SUPERVISOR_NOT_QUALIFIED
    assert reason.supervisor == "t-sue"
    assert [r.code for r in reason.supervisor_reasons] == sub_codes
    assert reason.as_dict()["supervisor_reasons"][0]["code"] == sub_codes[0]
    assert "None" not in reason.message


def test_a_therapist_cannot_supervise_themselves():
    (reason,) = decide(NEW, with_supervisor(NEW)).reasons
    assert reason.code == ReasonCode.SUPERVISOR_NOT_QUALIFIED
    assert "own session" in reason.supervisor_reasons[0].message


def test_a_supervisor_both_unqualified_and_busy_gives_both_reasons_in_that_order():
    busy_stranger = sue(
        employments=(employment(spa=OTHER_SPA),), bookings=(booking(id="bk-x", spa=OTHER_SPA),)
    )
    decision = decide(NEW, with_supervisor(busy_stranger))
    assert codes(decision) == [ReasonCode.SUPERVISOR_NOT_QUALIFIED, ReasonCode.SUPERVISOR_UNAVAILABLE]
    # another spa's booking is not named
    assert decision.reasons[1].booking is None


def test_supervisor_unavailable_when_supervising_another_session():
    supervising = sue(
        bookings=(BookingFact(id="bk-s", spa_id=CASE.spa_id, start=START, end=END, supervising=True),)
    )
    (reason,) = decide(NEW, with_supervisor(supervising)).reasons
    assert reason.code == ReasonCode.SUPERVISOR_UNAVAILABLE
    assert reason.booking == "bk-s"


def test_re_checking_a_supervised_booking_ignores_the_supervisors_hold_on_it():
    holding = sue(
        bookings=(BookingFact(id="bk-1", spa_id=CASE.spa_id, start=START, end=END, supervising=True),)
    )
    assert decide(NEW, with_supervisor(holding, booking_id="bk-1")).allowed


def test_back_to_back_supervisor_is_free():
    before = sue(bookings=(booking(id="bk-0", start=START - 60 * MINUTE, end=START),))
    assert decide(NEW, with_supervisor(before)).allowed


@pytest.mark.parametrize(
    ("therapist", "expected"),
    [
        (dataclasses.replace(NEW, certifications=()), [ReasonCode.PROTOCOL_NOT_CERTIFIED]),
        (
            dataclasses.replace(NEW, certifications=(cert(LBR, id="c-nora", revoked_at=START - MINUTE),)),
            [ReasonCode.CERTIFICATION_REVOKED],
        ),
        (
            dataclasses.replace(NEW, bookings=(booking(id="bk-own"),)),
            [ReasonCode.THERAPIST_UNAVAILABLE, ReasonCode.SUPERVISION_REQUIRED],
        ),
        (
            dataclasses.replace(NEW, employments=()),
            [ReasonCode.NOT_EMPLOYED_AT_SPA, ReasonCode.SUPERVISION_REQUIRED],
        ),
    ],
    ids=[
        "unmet group: no supervision reason",
        "revoked: no supervision reason",
        "after unavailable",
        "after employment",
    ],
)
def test_supervision_reasons_come_last_and_only_for_a_met_group(therapist, expected):
    assert codes(decide(therapist, P_CASE)) == expected


def test_qualified_supervisors_lists_only_the_free_qualified_others():
    provisional_sue = sue(therapist_id="t-p", certifications=(cert(LBR, id="c-p"),))
    busy = sue(therapist_id="t-busy", bookings=(booking(id="bk-b"),))
    elsewhere = sue(therapist_id="t-else", employments=(employment(spa=OTHER_SPA),))
    staff = [NEW, SUE, provisional_sue, busy, elsewhere]
    assert [s.therapist_id for s in qualified_supervisors(NEW, P_CASE, staff)] == ["t-sue"]
    assert qualified_supervisors(SUE, P_CASE, staff) == []  # SUE needs none


def test_allowed_among_leaves_out_provisional_therapists_without_a_supervisor():
    assert allowed_among([NEW, SUE], P_CASE) == [SUE]


# --- the property: nothing allowed rests on a provisional certification without a qualified,
# free supervisor --------------------------------------------------------------------------------

WHEN = st.sampled_from([START - 90 * MINUTE, START - 30 * MINUTE, START, START + 30 * MINUTE, END])


@st.composite
def certifications(draw, owner):
    out = []
    for i in range(draw(st.integers(0, 2))):
        out.append(
            dataclasses.replace(
                cert(
                    draw(st.sampled_from([LBR, LSTAB])),
                    id=f"c-{owner}-{i}",
                    revoked_at=draw(st.sampled_from([None, START - MINUTE, END + MINUTE])),
                    expires_at=draw(st.sampled_from([END - MINUTE, END, END + 999 * MINUTE])),
                ),
                scope_full_at=draw(st.sampled_from([None, FULL_AT])),
                supervised_done=draw(st.integers(0, 6)),
            )
        )
    return tuple(out)


@st.composite
def people(draw, owner):
    bookings = tuple(
        BookingFact(
            id=f"bk-{owner}-{i}",
            spa_id=draw(st.sampled_from([CASE.spa_id, OTHER_SPA])),
            start=(s := draw(WHEN)),
            end=s + 60 * MINUTE,
            supervising=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 2)))
    )
    return TherapistFacts(
        therapist_id=f"t-{owner}",
        name=owner,
        employments=draw(st.sampled_from([(employment(),), (employment(spa=OTHER_SPA),), ()])),
        licenses=draw(st.sampled_from([(licence(),), (licence(jurisdiction="US-NY"),)])),
        certifications=draw(certifications(owner)),
        bookings=bookings,
    )


def _full_valid_in(person, slug, the_case):
    return any(
        c.protocol == slug
        and c.valid_from <= the_case.start
        and the_case.end <= c.expires_at
        and (c.revoked_at is None or c.revoked_at >= the_case.end)
        and c.scope_full_at is not None
        for c in person.certifications
    )


@settings(max_examples=300, deadline=None)
@given(
    therapist=people("therapist"),
    supervisor=st.one_of(st.none(), people("supervisor")),
    condition=st.sampled_from([CASE.conditions[0], LOW_BACK_PAIN]),
)
def test_nothing_allowed_rests_on_a_provisional_certification_without_a_qualified_free_supervisor(
    therapist, supervisor, condition
):
    the_case = dataclasses.replace(P_CASE, conditions=(condition,), supervisor=supervisor)
    decision = decide(therapist, the_case)
    if not decision.allowed:
        return
    valid = [
        c
        for c in therapist.certifications
        if c.protocol in condition.requirement_groups[0]
        and c.valid_from <= START
        and c.expires_at >= END
        and (c.revoked_at is None or c.revoked_at >= END)
    ]
    needs = not any(c.protocol != LBR or c.scope_full_at is not None for c in valid)
    if not needs:
        return
    # rests on a provisional LBR certification only: a supervisor, qualified and free
    assert supervisor is not None
    assert supervisor.therapist_id != therapist.therapist_id
    assert _full_valid_in(supervisor, LBR, the_case)
    assert any(e.spa_id == CASE.spa_id for e in supervisor.employments)
    assert any(lic.jurisdiction == "US-CA" for lic in supervisor.licenses)
    assert not any(b.start < END and b.end > START for b in supervisor.bookings)
    assert bool(allowed_among([therapist], the_case)) is True


@settings(max_examples=300, deadline=None)
@given(
    therapist=people("therapist"),
    conditions=st.lists(st.sampled_from([M51, LOW_BACK_PAIN]), min_size=1, max_size=2, unique=True),
)
def test_the_provisional_certifications_relied_on_are_exactly_those_needing_a_supervisor(
    therapist, conditions
):
    """What a completion credits (the provisional certifications among those relied on) is what
    the booking gate asked a supervisor for, never another."""
    the_case = dataclasses.replace(P_CASE, conditions=tuple(conditions))
    relied = certifications_relied_on(therapist, the_case)
    assert tuple(c for c in relied if not certification_full(c, SUPERVISED)) == provisional_certifications(
        therapist, the_case
    )
