"""Races with real connections: each thread has its own PostgreSQL connection and transaction."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion
from protocols.tests.factories import ConditionFactory, ProtocolFactory
from registry.choices import BookingStatus
from registry.models import Booking, Decision
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from registry.tests.factories import EmploymentFactory, IntakeFactory, SpaFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(functions):
    """Start every function at once (a barrier) and collect results or exceptions."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except BaseException as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def setup():
    protocol = ProtocolFactory(slug="low-back-radiculopathy", region=BodyRegion.LUMBAR)
    condition = ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[protocol]])
    spa = SpaFactory()
    therapist = TherapistFactory(name="Ana Silva")
    LicenseFactory(therapist=therapist, jurisdiction=spa.jurisdiction)
    EmploymentFactory(spa=spa, therapist=therapist)
    certification = CertificationFactory(therapist=therapist, protocol=protocol)
    intake = IntakeFactory(spa=spa, conditions=[condition])
    start = (timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    return spa, therapist, certification, intake, start, protocol


def test_twenty_simultaneous_overlapping_bookings_confirm_exactly_one(setup):
    spa, therapist, _, intake, start, _ = setup

    def attempt(offset):
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=start + dt.timedelta(minutes=offset),
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        return booking_create(actor=None, therapist=therapist, slot=slot)

    results = run_together([lambda i=i: attempt(i) for i in range(20)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sum(1 for r in results if r.allowed) == 1
    refused = [r for r in results if not r.allowed]
    assert len(refused) == 19
    assert all([x.code for x in r.result.reasons] == ["THERAPIST_UNAVAILABLE"] for r in refused)
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED).count() == 1
    assert Decision.objects.count() == 20


def test_revocation_racing_a_booking_never_leaves_a_confirmed_booking_on_it(setup):
    spa, therapist, _, intake, start, protocol = setup
    for trial in range(50):
        certification = CertificationFactory(therapist=therapist, protocol=protocol)
        # Only this trial's certification may carry the booking.
        for other in therapist.certifications.exclude(pk=certification.pk).filter(revoked_at=None):
            certification_revoke(actor=None, certification=other, reason="setup")
        slot_start = start + dt.timedelta(hours=2 * trial)

        def book(slot_start=slot_start):
            slot = slot_validate(
                spa=spa,
                intake=intake,
                start=slot_start,
                duration_minutes=60,
                focus_region="lumbar",
                focus_minutes=20,
            )
            return booking_create(actor=None, therapist=therapist, slot=slot)

        def revoke(certification=certification):
            return certification_revoke(actor=None, certification=certification, reason="race")

        results = run_together([book, revoke] if trial % 2 else [revoke, book])
        assert not [r for r in results if isinstance(r, BaseException)]
        certification.refresh_from_db()
        assert certification.revoked_at is not None
        confirmed = Booking.objects.filter(
            therapist=therapist, start=slot_start, status=BookingStatus.CONFIRMED
        )
        assert not confirmed.exists(), f"trial {trial}: confirmed booking rests on a revoked certification"
    connection.close()


def _book(spa, therapist, intake, start):
    slot = slot_validate(
        spa=spa, intake=intake, start=start, duration_minutes=60, focus_region="lumbar", focus_minutes=20
    )
    return booking_create(actor=None, therapist=therapist, slot=slot)


def test_licence_suspension_racing_bookings_never_leaves_a_confirmed_booking_on_it(setup):
    from credentials.models import License
    from registry.services.rechecks import license_change

    spa, therapist, _, intake, start, _ = setup
    licence = License.objects.get(therapist=therapist)
    for trial in range(20):
        slot_start = start + dt.timedelta(hours=2 * trial)
        if trial:  # reinstate for the next trial
            license_change(actor=None, license=licence, status="active", reason="reinstated")

        def suspend():
            return license_change(actor=None, license=licence, status="suspended", reason="race")

        results = run_together(
            [lambda s=slot_start: _book(spa, therapist, intake, s), suspend]
            if trial % 2
            else [suspend, lambda s=slot_start: _book(spa, therapist, intake, s)]
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert not Booking.objects.filter(
            therapist=therapist, start=slot_start, status=BookingStatus.CONFIRMED
        ).exists(), f"trial {trial}: confirmed booking on a suspended licence"


def test_employment_end_racing_bookings_never_leaves_a_confirmed_booking(setup):
    from registry.models import Employment
    from registry.services.rechecks import employment_end, employment_start

    spa, therapist, _, intake, start, _ = setup
    for trial in range(20):
        # after the spa's today (the last day the ended employment still covers)
        slot_start = start + dt.timedelta(days=2, hours=2 * trial)
        employment = Employment.objects.filter(therapist=therapist, spa=spa, ended_on__isnull=True).first()
        if employment is None or employment.started_on > timezone.localdate():
            employment = employment_start(
                actor=None, spa=spa, therapist=therapist, started_on=dt.date(2020, 1, 1)
            )

        def end(employment=employment):
            return employment_end(actor=None, employment=employment)

        results = run_together(
            [lambda s=slot_start: _book(spa, therapist, intake, s), end]
            if trial % 2
            else [end, lambda s=slot_start: _book(spa, therapist, intake, s)]
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert not Booking.objects.filter(
            therapist=therapist, start=slot_start, status=BookingStatus.CONFIRMED
        ).exists(), f"trial {trial}: confirmed booking after the employment ended"


def test_a_hire_during_a_spa_change_waits_for_it_and_reads_the_new_jurisdiction(setup):
    """spa_update holds the spa while it changes and re-checks; a hire shares that lock, so it
    starts after the change, and its bookings are decided on the new jurisdiction (a hire
    slipping in between could have booked on the old one: the fresh-eyed review of issue 26)."""
    from registry.models import Employment, Spa
    from registry.services.rechecks import employment_start

    spa, *_ = setup
    newcomer = TherapistFactory(name="Nia Newcomer")
    changed, hired = threading.Event(), []

    def change():
        from django.db import transaction

        with transaction.atomic():
            Spa.objects.select_for_update().get(pk=spa.pk)  # what spa_update takes first
            Spa.objects.filter(pk=spa.pk).update(jurisdiction="US-NV")
            threading.Event().wait(1.0)  # the hire, started meanwhile, must wait
            changed.set()

    def hire():
        threading.Event().wait(0.2)
        employment = employment_start(actor=None, spa=Spa.objects.get(pk=spa.pk), therapist=newcomer)
        hired.append((changed.is_set(), employment.pk))

    results = run_together([change, hire])
    assert not any(isinstance(r, BaseException) for r in results), results
    assert len(hired) == 1
    assert hired[0][0] is True  # the hire went through only after the change committed
    assert Employment.objects.filter(spa=spa, therapist=newcomer).exists()


def test_twenty_simultaneous_bookings_naming_the_same_supervisor_confirm_exactly_one(setup):
    """Issue 23: twenty provisional therapists, each asking for the same supervisor in
    overlapping slots: the supervisor's slot is held by exactly one session."""
    spa, _, _, intake, start, protocol = setup
    Protocol = type(protocol)
    Protocol.objects.filter(pk=protocol.pk).update(supervised_sessions=5)
    long_ago = timezone.now() - dt.timedelta(days=400)
    supervisor = TherapistFactory(name="Sue Senior")
    LicenseFactory(therapist=supervisor, jurisdiction=spa.jurisdiction)
    EmploymentFactory(spa=spa, therapist=supervisor)
    CertificationFactory(therapist=supervisor, protocol=protocol, valid_from=long_ago, scope_full_at=long_ago)
    juniors = []
    for i in range(20):
        junior = TherapistFactory(name=f"Junior {i:02d}")
        LicenseFactory(therapist=junior, jurisdiction=spa.jurisdiction)
        EmploymentFactory(spa=spa, therapist=junior)
        CertificationFactory(therapist=junior, protocol=protocol)
        juniors.append(junior)

    def attempt(i):
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=start + dt.timedelta(minutes=i),
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        return booking_create(actor=None, therapist=juniors[i], slot=slot, supervisor=supervisor)

    results = run_together([lambda i=i: attempt(i) for i in range(20)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sum(1 for r in results if r.allowed) == 1
    refused = [r for r in results if not r.allowed]
    assert all([x.code for x in r.result.reasons] == ["SUPERVISOR_UNAVAILABLE"] for r in refused)
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED, supervisor=supervisor).count() == 1
    assert Decision.objects.count() == 20


def test_without_the_gate_the_database_alone_holds_one_supervised_slot(setup):
    """The slot holds' exclusion constraint, with no lock and no engine in the way: twenty
    simultaneous INSERTs of overlapping sessions naming one supervisor, exactly one goes in."""
    from django.db import IntegrityError

    spa, _, _, intake, start, _ = setup
    supervisor = TherapistFactory(name="Sue Senior")
    juniors = [TherapistFactory(name=f"Raw {i:02d}") for i in range(20)]

    def insert(i):
        try:
            Booking.objects.create(
                spa=spa,
                therapist=juniors[i],
                supervisor=supervisor,
                intake=intake,
                start=start + dt.timedelta(minutes=i),
                end=start + dt.timedelta(minutes=i + 60),
                status=BookingStatus.CONFIRMED,
            )
        except IntegrityError:
            return False
        return True

    results = run_together([lambda i=i: insert(i) for i in range(20)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1
    assert Booking.objects.filter(supervisor=supervisor).count() == 1
