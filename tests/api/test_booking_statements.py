"""``POST /bookings/`` in at most 8 statements (issue 24), outside any test transaction (as in
production, BEGIN and COMMIT counted): the token (one statement with the membership and its
spa), the spa (the caller's, no query), the intake and the therapist (one each), BEGIN, the
therapist and then their certifications locked (one statement), the case and the facts (one),
the booking with its decision (one statement: the exclusion constraint, ON CONFLICT DO
NOTHING, decides which decision is written), COMMIT.

Row-level security (issue 26) runs the whole request in one transaction (its settings are
per transaction, set by the token statement), so the BEGIN comes first and the service's own
transaction is a savepoint in it: two statements more, 10."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Booking, Decision

pytestmark = pytest.mark.django_db(transaction=True)


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def test_a_booking_costs_eight_statements_and_a_refused_overlap_as_many(booking_world):
    w = booking_world
    intake_id = w.intake().json()["id"]
    w.book(w.carla, intake_id)  # the connection and its prepared statements set up
    with CaptureQueriesContext(connection) as ctx:
        response = w.book(w.ana, intake_id)
    assert response.status_code == 201, response.content
    # BEGIN, the token, the intake, the therapist, SAVEPOINT, the locks (one statement), the case
    # and facts, the booking with its decision, RELEASE SAVEPOINT, COMMIT
    assert len(ctx.captured_queries) == 10, _statements(ctx)
    assert sum("SAVEPOINT" in sql for sql in _statements(ctx)) == 2

    # the same slot again: allowed by the engine (it does not see a booking being written), the
    # exclusion constraint refuses the row, the refusal is logged, nothing else changes
    booked = Booking.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        again = w.book(w.ana, intake_id)
    assert again.status_code == 409
    assert "THERAPIST_UNAVAILABLE" in again.content.decode()
    assert len(ctx.captured_queries) <= 10
    assert Booking.objects.count() == booked
    assert Decision.objects.filter(allowed=False, therapist=w.ana).count() == 1


def test_a_supervised_booking_costs_a_few_statements_more(booking_world):
    """Issue 23: the supervisor read by the serializer, the second lock, the supervisor's facts,
    and a savepoint around the insert (the slot holds' constraint may refuse it)."""
    import datetime as dt

    from django.utils import timezone

    from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
    from registry.tests.factories import EmploymentFactory

    w = booking_world
    type(w.radiculopathy).objects.filter(pk=w.radiculopathy.pk).update(supervised_sessions=5)
    type(w.certification).objects.filter(pk=w.certification.pk).update(
        scope_full_at=timezone.now() - dt.timedelta(days=9)
    )
    nora = TherapistFactory(name="Nora New")
    LicenseFactory(therapist=nora, jurisdiction="US-CA")
    EmploymentFactory(spa=w.spa, therapist=nora)
    CertificationFactory(therapist=nora, protocol=w.radiculopathy)
    intake_id = w.intake().json()["id"]
    w.book(w.carla, intake_id)
    with CaptureQueriesContext(connection) as ctx:
        response = w.book(
            nora, intake_id, supervisor=str(w.ana.pk), start=(w.start + dt.timedelta(hours=2)).isoformat()
        )
    assert response.status_code == 201, response.content
    # the ten, plus the supervisor (serializer), their lock, their facts, SAVEPOINT and RELEASE
    # around the insert
    assert len(ctx.captured_queries) == 15, _statements(ctx)
