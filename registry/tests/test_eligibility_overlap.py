"""Collision lookup by bisection finds exactly what a full scan finds (no database)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.eligibility import BookingFact, TherapistFacts

T0 = datetime(2026, 1, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=600)
bookings = st.lists(st.tuples(minutes, st.integers(min_value=1, max_value=240)), max_size=25)


@settings(max_examples=300, deadline=None)
@given(bookings=bookings, start=minutes, length=st.integers(min_value=1, max_value=240))
def test_bisection_finds_exactly_the_overlapping_bookings(bookings, start, length):
    facts = TherapistFacts(
        therapist_id="t",
        name="T",
        bookings=tuple(
            BookingFact(
                id=f"b{i}", spa_id="s", start=T0 + timedelta(minutes=s), end=T0 + timedelta(minutes=s + d)
            )
            for i, (s, d) in enumerate(bookings)
        ),
    )
    session_start = T0 + timedelta(minutes=start)
    session_end = session_start + timedelta(minutes=length)
    expected = sorted(
        (b for b in facts.bookings if b.start < session_end and session_start < b.end),
        key=lambda b: (b.start, b.id),
    )
    assert facts.bookings_overlapping(session_start, session_end) == expected
