"""``allowed_among`` and ``could_be_allowed`` (the re-check's suggestions) answer as ``decide()``
does, over the generated facts and cases of the engine's property tests (no database)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from registry import eligibility
from registry.eligibility import allowed_among, could_be_allowed, decide
from registry.tests.test_eligibility_properties import worlds


@settings(max_examples=200, deadline=None)
@given(facts_and_case=worlds())
def test_allowed_among_allows_exactly_whom_decide_allows(facts_and_case):
    facts, case = facts_and_case
    assert bool(allowed_among([facts], case)) == decide(facts, case).allowed


@settings(max_examples=200, deadline=None)
@given(facts_and_case=worlds())
def test_who_could_never_be_allowed_is_never_allowed(facts_and_case):
    facts, case = facts_and_case
    if not could_be_allowed(facts, case):
        assert not decide(facts, case).allowed


@settings(max_examples=100, deadline=None)
@given(many=st.lists(worlds(), min_size=1, max_size=4))
def test_allowed_among_keeps_the_candidates_order(many):
    case = many[0][1]
    candidates = [facts for facts, _ in many]
    assert allowed_among(candidates, case) == [f for f in candidates if decide(f, case).allowed]


def test_allowed_among_mirrors_every_rule():
    """A rule added to the engine must be mirrored in ``allowed_among`` too."""
    assert set(eligibility.RULES) == set(eligibility.CASE_RULES) | set(eligibility.FACT_RULES)
