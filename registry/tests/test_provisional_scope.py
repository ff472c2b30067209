"""Provisional scope (issue 23) through the services: a new certificate's first sessions are
supervised, the completion of the Nth supervised session makes it full, and a harmful session
sends it to review instead."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEvent, OutboxEvent
from credentials.models import Certification
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import SignSeverity
from protocols.tests.factories import ConditionFactory, OutcomeSignFactory, ProtocolFactory
from registry.choices import BookingStatus
from registry.models import Booking, Decision, Employment, Intake, SessionCertification, SlotHold
from registry.services.bookings import booking_complete, booking_create, booking_reassign, slot_validate
from registry.services.catalog import protocol_update
from registry.services.credentials import certification_revoke
from registry.services.intakes import intake_record
from registry.services.outcomes import adverse_event_report
from registry.services.rechecks import employment_end
from registry.tests.factories import EmploymentFactory

pytestmark = pytest.mark.django_db

N = 3  # the protocol's supervised sessions in these tests
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def p(world):
    """The conftest world, its radiculopathy protocol asking for N supervised sessions; Nora
    freshly certified in it; Sue (senior, full since long ago) and Una (another senior) at the
    spa; Olga a senior at the other spa only."""
    protocol_update(actor=None, protocol=world.radiculopathy, supervised_sessions=N)
    world.radiculopathy.refresh_from_db()
    long_ago = timezone.now() - dt.timedelta(days=400)

    def therapist(name, *, spa=world.spa, full=True):
        person = TherapistFactory(name=name)
        LicenseFactory(therapist=person, jurisdiction="US-CA")
        EmploymentFactory(spa=spa, therapist=person)
        cert = CertificationFactory(
            therapist=person,
            protocol=world.radiculopathy,
            valid_from=long_ago if full else timezone.now() - dt.timedelta(days=10),
            scope_full_at=long_ago + HOUR if full else None,
        )
        return person, cert

    nora, nora_cert = therapist("Nora New", full=False)
    sue, sue_cert = therapist("Sue Senior")
    una, _ = therapist("Una Senior")
    olga, _ = therapist("Olga Elsewhere", spa=world.other_spa)
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-7",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=4,
    )
    return SimpleNamespace(
        w=world, nora=nora, nora_cert=nora_cert, sue=sue, sue_cert=sue_cert, una=una, olga=olga, intake=intake
    )


def slot(p, start, *, minutes=60, intake=None):
    return slot_validate(
        spa=p.w.spa,
        intake=intake or p.intake,
        start=start,
        duration_minutes=minutes,
        focus_region="lumbar",
        focus_minutes=20,
    )


def book(p, therapist, start, supervisor=None, **kwargs):
    return booking_create(
        actor=p.w.desk, therapist=therapist, slot=slot(p, start, **kwargs), supervisor=supervisor
    )


def codes(outcome):
    return [r.code for r in outcome.result.reasons]


def past_intake(p, start):
    """An intake recorded just before a past session (so that it can be completed)."""
    intake = intake_record(
        actor=p.w.desk,
        spa=p.w.spa,
        client_ref="C-past",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=4,
    )
    Intake.objects.filter(pk=intake.pk).update(
        recorded_at=start - HOUR, valid_until=start + dt.timedelta(days=7)
    )
    intake.refresh_from_db()
    return intake


def supervised_session_done(p, start, supervisor=None):
    """Book Nora with a supervisor for a session that has already happened, and complete it."""
    outcome = book(p, p.nora, start, supervisor=supervisor or p.sue, intake=past_intake(p, start))
    assert outcome.booking is not None, outcome.result.reasons
    return booking_complete(actor=p.w.desk, booking=outcome.booking, now=start + 2 * HOUR)


def test_the_story_provisional_then_supervised_then_full_then_alone(p):
    start = p.w.start + dt.timedelta(days=1)
    alone = book(p, p.nora, start)
    assert codes(alone) == ["SUPERVISION_REQUIRED"]
    assert "0 of 3 supervised sessions done" in alone.result.reasons[0].message

    with_sue = book(p, p.nora, start, supervisor=p.sue)
    assert with_sue.booking.status == BookingStatus.CONFIRMED
    assert with_sue.booking.supervisor_id == p.sue.pk
    holds = SlotHold.objects.filter(booking=with_sue.booking)
    assert sorted((h.therapist_id == p.sue.pk, h.supervising) for h in holds) == [
        (False, False),
        (True, True),
    ]
    with_sue.booking.status = BookingStatus.CANCELLED
    with_sue.booking.save()
    assert not SlotHold.objects.filter(booking=with_sue.booking).exists()

    base = timezone.now() - dt.timedelta(days=3)
    for i in range(N):
        supervised_session_done(p, base + i * 3 * HOUR)
        p.nora_cert.refresh_from_db()
        assert p.nora_cert.supervised_sessions_done == i + 1
        assert (p.nora_cert.scope_full_at is not None) == (i + 1 == N)

    audit = AuditEvent.objects.filter(action="certification.scope_full", object_id=str(p.nora_cert.pk))
    assert audit.count() == 1
    event = OutboxEvent.objects.get(type="certification.scope_full")
    assert event.data["certification"] == str(p.nora_cert.pk)
    assert event.data["provisional"] is False
    assert f"spa:{p.w.spa.pk}" in event.audience

    now_alone = book(p, p.nora, start)
    assert now_alone.allowed, now_alone.result.reasons
    assert now_alone.booking.supervisor_id is None


def test_a_supervisor_named_when_none_is_needed_is_not_booked(p):
    outcome = book(p, p.sue, p.w.start, supervisor=p.una)
    assert outcome.booking.supervisor_id is None
    assert [w.code for w in outcome.result.warnings] == ["SUPERVISOR_NOT_NEEDED"]
    assert SlotHold.objects.filter(booking=outcome.booking).count() == 1


def test_the_supervisors_slot_is_held_against_their_own_bookings_and_other_supervision(p):
    first = book(p, p.nora, p.w.start, supervisor=p.sue)
    assert first.allowed
    # Sue treating in the slot she supervises
    own = book(p, p.sue, p.w.start + dt.timedelta(minutes=30))
    assert codes(own) == ["THERAPIST_UNAVAILABLE"]
    # another provisional therapist asking for Sue in the same slot
    ned = TherapistFactory(name="Ned Newer")
    LicenseFactory(therapist=ned, jurisdiction="US-CA")
    EmploymentFactory(spa=p.w.spa, therapist=ned)
    CertificationFactory(therapist=ned, protocol=p.w.radiculopathy)
    second = book(p, ned, p.w.start + dt.timedelta(minutes=15), supervisor=p.sue)
    assert codes(second) == ["SUPERVISOR_UNAVAILABLE"]
    assert second.result.reasons[0].booking == str(first.booking.pk)
    # the supervised therapist is not free either
    again = book(p, p.nora, p.w.start + dt.timedelta(minutes=30), supervisor=p.una)
    assert codes(again) == ["THERAPIST_UNAVAILABLE"]


def test_the_database_alone_refuses_a_supervisor_in_two_sessions_at_once(p):
    first = book(p, p.nora, p.w.start, supervisor=p.sue)
    assert first.allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            spa=p.w.spa,
            therapist=p.una,
            supervisor=p.sue,
            intake=p.intake,
            start=p.w.start + dt.timedelta(minutes=30),
            end=p.w.start + 2 * HOUR,
            status=BookingStatus.CONFIRMED,
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # nor treating while supervising
        Booking.objects.create(
            spa=p.w.spa,
            therapist=p.sue,
            intake=p.intake,
            start=p.w.start + dt.timedelta(minutes=30),
            end=p.w.start + 2 * HOUR,
            status=BookingStatus.CONFIRMED,
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # nor supervising themselves
        Booking.objects.create(
            spa=p.w.spa,
            therapist=p.una,
            supervisor=p.una,
            intake=p.intake,
            start=p.w.start + 5 * HOUR,
            end=p.w.start + 6 * HOUR,
            status=BookingStatus.CONFIRMED,
        )


def test_a_supervisor_of_another_spa_is_not_qualified(p):
    outcome = book(p, p.nora, p.w.start, supervisor=p.olga)
    assert codes(outcome) == ["SUPERVISOR_NOT_QUALIFIED"]
    assert [r.code for r in outcome.result.reasons[0].supervisor_reasons] == ["NOT_EMPLOYED_AT_SPA"]


def test_a_supervisor_whose_certification_expires_during_the_session_is_not_qualified(p):
    expiring = TherapistFactory(name="Eve Expiring")
    LicenseFactory(therapist=expiring, jurisdiction="US-CA")
    EmploymentFactory(spa=p.w.spa, therapist=expiring)
    long_ago = timezone.now() - dt.timedelta(days=700)
    CertificationFactory(
        therapist=expiring,
        protocol=p.w.radiculopathy,
        valid_from=long_ago,
        expires_at=p.w.start + dt.timedelta(minutes=30),
        scope_full_at=long_ago + HOUR,
    )
    outcome = book(p, p.nora, p.w.start, supervisor=expiring)
    assert codes(outcome) == ["SUPERVISOR_NOT_QUALIFIED"]
    assert [r.code for r in outcome.result.reasons[0].supervisor_reasons] == ["CERTIFICATION_EXPIRED"]


def test_decision_log_shows_the_supervisor_and_the_provisional_state_at_decision_time(p):
    refused = book(p, p.nora, p.w.start)
    confirmed = book(p, p.nora, p.w.start, supervisor=p.sue)
    assert refused.decision.case["supervisor"] is None
    assert refused.decision.case["provisional"] == [
        {
            "certification": str(p.nora_cert.pk),
            "protocol": "low-back-radiculopathy",
            "supervised_sessions_done": 0,
            "supervised_sessions": N,
        }
    ]
    logged = Decision.objects.get(booking=confirmed.booking)
    assert logged.case["supervisor"] == str(p.sue.pk)
    assert logged.case["provisional"][0]["certification"] == str(p.nora_cert.pk)
    # an unsupervised, full therapist's decision records nothing of supervision
    assert "supervisor" not in book(p, p.sue, p.w.start + 3 * HOUR).decision.case


def test_revoking_the_supervisors_certification_rechecks_the_supervised_bookings(p):
    supervised = book(p, p.nora, p.w.start, supervisor=p.sue).booking
    _, changed = certification_revoke(actor=None, certification=p.sue_cert, reason="Fraudulent course")
    assert [b.pk for b in changed] == [supervised.pk]
    supervised.refresh_from_db()
    assert supervised.status == BookingStatus.NEEDS_REASSIGNMENT
    (reason,) = supervised.reasons
    assert reason["code"] == "SUPERVISOR_NOT_QUALIFIED"
    assert reason["supervisor"] == str(p.sue.pk)
    assert [r["code"] for r in reason["supervisor_reasons"]] == ["CERTIFICATION_REVOKED"]
    recheck = Decision.objects.filter(booking=supervised, kind="recheck").get()
    assert recheck.case["supervisor"] == str(p.sue.pk)
    # another supervisor puts it right
    fixed = booking_reassign(actor=None, booking=supervised, therapist=p.nora, supervisor=p.una)
    assert fixed.allowed, fixed.result.reasons
    supervised.refresh_from_db()
    assert (supervised.status, supervised.supervisor_id) == (BookingStatus.CONFIRMED, p.una.pk)
    assert set(SlotHold.objects.filter(booking=supervised).values_list("therapist_id", flat=True)) == {
        p.nora.pk,
        p.una.pk,
    }


def _locked_before_deciding(queries, therapist_id) -> bool:
    """Whether a statement locking the therapist's row ran before the first read of
    certifications that locks nothing (the decision's facts)."""
    for query in queries:
        sql = query["sql"]
        if "FOR UPDATE" in sql and f"credentials_therapist WHERE id = '{therapist_id}'" in sql:
            return True
        if "FOR UPDATE" not in sql and "credentials_certification" in sql:
            return False
    raise AssertionError("no decision was read")


def test_reassigning_without_a_supervisor_keeps_and_locks_the_one_the_row_names_not_a_stale_one(p):
    supervised = book(p, p.nora, p.w.start, supervisor=p.sue).booking
    stale = Booking.objects.get(pk=supervised.pk)  # read while Sue supervises
    booking_reassign(actor=None, booking=supervised, therapist=p.nora, supervisor=p.una)
    with CaptureQueriesContext(connection) as ctx:
        kept = booking_reassign(actor=None, booking=stale, therapist=p.nora)
    assert kept.allowed, kept.result.reasons
    assert kept.booking.supervisor_id == p.una.pk  # the row's supervisor, not the stale Sue
    assert _locked_before_deciding(ctx.captured_queries, p.una.pk)
    assert kept.decision.case["supervisor"] == str(p.una.pk)
    assert set(SlotHold.objects.filter(booking=supervised).values_list("therapist_id", flat=True)) == {
        p.nora.pk,
        p.una.pk,
    }


def test_reassigning_with_a_supervisor_locks_them_before_deciding(p):
    supervised = book(p, p.nora, p.w.start, supervisor=p.sue).booking
    with CaptureQueriesContext(connection) as ctx:
        moved = booking_reassign(actor=None, booking=supervised, therapist=p.nora, supervisor=p.una)
    assert moved.allowed, moved.result.reasons
    assert _locked_before_deciding(ctx.captured_queries, p.una.pk)


def test_ending_the_supervisors_employment_rechecks_the_supervised_bookings(p):
    supervised = book(p, p.nora, p.w.start + dt.timedelta(days=3), supervisor=p.sue).booking
    employment = Employment.objects.get(spa=p.w.spa, therapist=p.sue)
    _, changed = employment_end(actor=None, employment=employment)
    assert [b.pk for b in changed] == [supervised.pk]
    supervised.refresh_from_db()
    assert supervised.reasons[0]["supervisor_reasons"][0]["code"] == "NOT_EMPLOYED_AT_SPA"


def test_raising_supervised_sessions_rechecks_future_bookings_resting_on_the_protocol(p):
    """Supervision starting (0 → N) grandfathers the holders: Nora, certified before, keeps
    booking alone (the re-check refuses nothing); a certification issued after is provisional."""
    protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=0)
    alone = book(p, p.nora, p.w.start).booking
    assert alone is not None
    _, changed = protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=N)
    assert changed == []
    alone.refresh_from_db()
    assert alone.status == BookingStatus.CONFIRMED
    assert Decision.objects.filter(booking=alone, kind="recheck", allowed=True).exists()
    assert Certification.objects.get(pk=p.nora_cert.pk).scope_full_at is not None
    assert book(p, p.nora, p.w.start + 2 * HOUR).booking is not None  # still alone

    newcomer = TherapistFactory(name="Nell Newer")
    LicenseFactory(therapist=newcomer, jurisdiction="US-CA")
    EmploymentFactory(spa=p.w.spa, therapist=newcomer)
    CertificationFactory(therapist=newcomer, protocol=p.w.radiculopathy, valid_from=timezone.now())
    assert codes(book(p, newcomer, p.w.start)) == ["SUPERVISION_REQUIRED"]


def test_supervision_starting_grandfathers_each_holder_audited_and_tells_nobody(p):
    protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=0)
    revoked = CertificationFactory(
        therapist=p.una, protocol=p.w.radiculopathy, revoked_at=timezone.now() - HOUR, revoked_reason="Forged"
    )
    flagged = CertificationFactory(therapist=p.olga, protocol=p.w.radiculopathy, review_required=True)
    before_full = set(
        Certification.objects.filter(scope_full_at__isnull=False).values_list("pk", "scope_full_at")
    )
    now = timezone.now()

    protocol_update(actor=p.w.desk, protocol=p.w.radiculopathy, supervised_sessions=N, now=now)

    # issued before, not full (Ana's was grandfathered by the fixture's first 0 → N)
    grandfathered = {p.nora_cert.pk, flagged.pk}
    assert set(Certification.objects.filter(scope_full_at=now).values_list("pk", flat=True)) == grandfathered
    # already full: untouched; revoked: nothing to make full
    assert before_full <= set(Certification.objects.values_list("pk", "scope_full_at"))
    assert Certification.objects.get(pk=revoked.pk).scope_full_at is None
    audits = AuditEvent.objects.filter(action="certification.scope_grandfathered", actor=p.w.desk)
    assert {a.object_id for a in audits} == {str(pk) for pk in grandfathered}
    audit = audits.get(object_id=str(p.nora_cert.pk))
    assert (audit.actor, audit.before, audit.after["supervised_sessions"]) == (
        p.w.desk,
        {"scope_full_at": None},
        N,
    )
    assert "keep their full scope" in audit.reason
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()


def test_supervision_starting_grandfathers_in_one_update_whatever_the_number_of_holders(p):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(extra_holders):
        protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=0)
        Certification.objects.filter(protocol=p.w.radiculopathy).update(scope_full_at=None)
        for _ in range(extra_holders):
            CertificationFactory(protocol=p.w.radiculopathy)
        with CaptureQueriesContext(connection) as queries:
            protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=N)
        assert not Certification.objects.filter(
            protocol=p.w.radiculopathy, scope_full_at__isnull=True, revoked_at__isnull=True
        ).exists()
        return [q["sql"] for q in queries.captured_queries]

    few, many = statements(0), statements(6)
    assert len(few) == len(many)
    updates = [sql for sql in many if sql.startswith('UPDATE "credentials_certification"')]
    assert len(updates) == 1
    assert sum(sql.startswith('INSERT INTO "core_auditevent"') for sql in many) == 2  # protocol, holders


def test_raising_a_positive_number_grandfathers_nothing_and_the_count_goes_on(p):
    supervised_session_done(p, timezone.now() - dt.timedelta(days=2))
    grandfathered = AuditEvent.objects.filter(action="certification.scope_grandfathered")
    before = grandfathered.count()  # the fixture's 0 → N grandfathered Ana's certification
    _, changed = protocol_update(actor=None, protocol=p.w.radiculopathy, supervised_sessions=N + 2)
    assert changed == []  # nothing rested on Nora alone
    cert = Certification.objects.get(pk=p.nora_cert.pk)
    assert (cert.scope_full_at, cert.supervised_sessions_done) == (None, 1)
    assert Certification.objects.get(pk=p.sue_cert.pk).scope_full_at is not None  # full stays full
    assert grandfathered.count() == before
    alone = book(p, p.nora, p.w.start)
    assert codes(alone) == ["SUPERVISION_REQUIRED"]
    assert f"1 of {N + 2} supervised sessions done" in alone.result.reasons[0].message


def test_a_serious_event_on_a_supervised_session_sends_the_certification_to_review_and_holds_promotion(p):
    serious = OutcomeSignFactory(code="new-numbness", severity=SignSeverity.SERIOUS)
    base = timezone.now() - dt.timedelta(days=3)
    first = supervised_session_done(p, base)
    supervised_session_done(p, base + 3 * HOUR)
    p.nora_cert.refresh_from_db()
    assert p.nora_cert.supervised_sessions_done == 2

    adverse_event_report(
        actor=p.w.desk, booking=first, signs=[serious.code], narrative="Numb leg that evening."
    )
    p.nora_cert.refresh_from_db()
    assert p.nora_cert.review_required
    assert p.nora_cert.supervised_sessions_done == 1  # that session no longer counts, audited
    assert AuditEvent.objects.filter(
        action="certification.supervised_count", object_id=str(p.nora_cert.pk)
    ).exists()

    for i in range(2, 2 + N):
        supervised_session_done(p, base + i * 3 * HOUR)
    p.nora_cert.refresh_from_db()
    assert p.nora_cert.supervised_sessions_done == N + 1
    assert p.nora_cert.scope_full_at is None  # under review: not made full silently
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()


def test_a_moderate_event_on_a_supervised_session_also_goes_to_review(p):
    moderate = OutcomeSignFactory(code="more-pain", severity=SignSeverity.MODERATE)
    first = supervised_session_done(p, timezone.now() - dt.timedelta(days=2))
    adverse_event_report(
        actor=p.w.desk, booking=first, signs=[moderate.code], narrative="Worse the next day."
    )
    cert = Certification.objects.get(pk=p.nora_cert.pk)
    assert cert.review_required
    assert cert.supervised_sessions_done == 0


def _all_signs(present):
    from protocols.models import OutcomeSign

    return {s.code: s.code in present for s in OutcomeSign.objects.all()}


def test_the_nth_supervised_session_completed_with_a_moderate_sign_does_not_promote(p):
    from registry.services.outcomes import booking_complete_with_outcome

    moderate = OutcomeSignFactory(code="more-pain", severity=SignSeverity.MODERATE)
    base = timezone.now() - dt.timedelta(days=2)
    for i in range(N - 1):
        supervised_session_done(p, base + i * 3 * HOUR)
    start = base + N * 3 * HOUR
    nth = book(p, p.nora, start, supervisor=p.sue, intake=past_intake(p, start)).booking
    _, result = booking_complete_with_outcome(
        actor=p.w.desk, booking=nth, pain_after=4, signs=_all_signs({moderate.code}), now=start + 2 * HOUR
    )
    assert result.adverse_event is not None
    cert = Certification.objects.get(pk=p.nora_cert.pk)
    assert cert.scope_full_at is None
    assert cert.supervised_sessions_done == N - 1
    assert cert.review_required
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()
    assert not AuditEvent.objects.filter(action="certification.scope_full").exists()


def test_a_moderate_event_reported_later_on_the_nth_session_makes_the_certification_provisional_again(p):
    moderate = OutcomeSignFactory(code="more-pain", severity=SignSeverity.MODERATE)
    base = timezone.now() - dt.timedelta(days=3)
    last = None
    for i in range(N):
        last = supervised_session_done(p, base + i * 3 * HOUR)
    assert Certification.objects.get(pk=p.nora_cert.pk).scope_full_at is not None

    adverse_event_report(actor=p.w.desk, booking=last, signs=[moderate.code], narrative="Worse next day.")
    cert = Certification.objects.get(pk=p.nora_cert.pk)
    assert cert.scope_full_at is None
    assert cert.supervised_sessions_done == N - 1
    assert cert.review_required
    audit = AuditEvent.objects.get(action="certification.scope_provisional", object_id=str(cert.pk))
    assert audit.after["scope_full_at"] is None
    assert codes(book(p, p.nora, p.w.start)) == ["SUPERVISION_REQUIRED"]


def test_an_event_after_a_session_the_promotion_did_not_count_leaves_the_certification_full(p):
    moderate = OutcomeSignFactory(code="more-pain", severity=SignSeverity.MODERATE)
    base = timezone.now() - dt.timedelta(days=3)
    for i in range(N):
        supervised_session_done(p, base + i * 3 * HOUR)
    start = base + N * 3 * HOUR
    later = booking_complete(
        actor=p.w.desk,
        booking=book(p, p.nora, start, intake=past_intake(p, start)).booking,
        now=start + 2 * HOUR,
    )
    adverse_event_report(actor=p.w.desk, booking=later, signs=[moderate.code], narrative="Worse.")
    assert Certification.objects.get(pk=p.nora_cert.pk).scope_full_at is not None


def test_a_moderate_event_on_a_session_of_an_attested_certification_does_not_withdraw_the_attestation(p):
    from registry.services.credentials import certification_scope_attest

    moderate = OutcomeSignFactory(code="more-pain", severity=SignSeverity.MODERATE)
    first = supervised_session_done(p, timezone.now() - dt.timedelta(days=2))
    certification_scope_attest(actor=None, certification=p.nora_cert, reason="Proctored at the hospital.")
    adverse_event_report(actor=p.w.desk, booking=first, signs=[moderate.code], narrative="Worse.")
    assert Certification.objects.get(pk=p.nora_cert.pk).scope_full_at is not None


def test_supervised_sessions_at_every_spa_count_whichever_spas_staff_counts(p):
    """Row-level security (issue 26) keeps another spa's bookings from a spa's staff, but not
    from the count of a therapist's supervised sessions: a completion at the second spa of a
    therapist counts the sessions done at the first."""
    from registry import rls
    from registry.services.bookings import certifications_supervised_count

    base = timezone.now() - dt.timedelta(days=3)
    for i in range(N - 1):
        supervised_session_done(p, base + i * 3 * HOUR)
    Certification.objects.filter(pk=p.nora_cert.pk).update(supervised_sessions_done=0)
    p.nora_cert.refresh_from_db()
    with rls.scope(rls.DbScope("spa-staff", spa=str(p.w.other_spa.pk))):
        assert not Booking.objects.filter(spa=p.w.spa).exists()  # the wall holds for the spa's reads
        certifications_supervised_count(actor=None, certifications=[p.nora_cert], now=timezone.now())
    p.nora_cert.refresh_from_db()
    assert p.nora_cert.supervised_sessions_done == N - 1


def test_a_supervisors_sessions_at_another_spa_are_in_their_facts_whichever_spa_asks(p):
    """The slot view (issue 26) carries the supervisor too: spa staff who cannot read another
    spa's bookings still see that their supervisor is busy supervising there."""
    from registry import rls
    from registry.selectors import eligibility_facts_for_therapist

    supervised = book(p, p.nora, p.w.start, supervisor=p.sue)
    assert supervised.allowed
    window = (p.w.start - HOUR, p.w.start + 2 * HOUR)
    with rls.scope(rls.DbScope("spa-staff", spa=str(p.w.other_spa.pk))):
        assert not Booking.objects.filter(pk=supervised.booking.pk).exists()
        facts = eligibility_facts_for_therapist(therapist_id=p.sue.pk, window=window)
    assert [(b.id, b.supervising) for b in facts.bookings] == [(str(supervised.booking.pk), True)]


def test_completion_credits_only_the_provisional_certification_the_supervisor_was_checked_for(p):
    """Issue 23, H2. The session's intake needs two protocols: neck, which Nora holds only
    provisionally (the booking's supervisor is checked for it), and radiculopathy, where she
    holds a full certification (expiring sooner) besides her provisional one (lasting longer).
    The radiculopathy group needs no supervisor, so the session rests on the full one there; the
    completion records and credits the neck certification and never the provisional
    radiculopathy one the supervisor was not checked for."""
    neck = ProtocolFactory(
        slug="neck-radiculopathy", name="Neck with radiculopathy", region="cervical", supervised_sessions=N
    )
    ConditionFactory(code="M54.12", region="cervical", requirements=[[neck]])
    long_ago = timezone.now() - dt.timedelta(days=400)
    nora_neck = CertificationFactory(therapist=p.nora, protocol=neck)
    CertificationFactory(therapist=p.sue, protocol=neck, valid_from=long_ago, scope_full_at=long_ago + HOUR)
    nora_full = CertificationFactory(
        therapist=p.nora,
        protocol=p.w.radiculopathy,
        valid_from=long_ago,
        expires_at=timezone.now() + dt.timedelta(days=60),  # before her provisional one's expiry
        scope_full_at=long_ago + HOUR,
    )
    assert nora_full.expires_at < p.nora_cert.expires_at

    start = timezone.now() - dt.timedelta(days=1)
    intake = intake_record(
        actor=p.w.desk,
        spa=p.w.spa,
        client_ref="C-two",
        condition_codes=["M51.16", "M54.12"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=4,
    )
    Intake.objects.filter(pk=intake.pk).update(
        recorded_at=start - HOUR, valid_until=start + dt.timedelta(days=7)
    )
    intake.refresh_from_db()
    outcome = book(p, p.nora, start, supervisor=p.sue, intake=intake)
    assert outcome.booking is not None, outcome.result.reasons
    assert outcome.booking.supervisor_id == p.sue.pk
    assert [c["certification"] for c in outcome.decision.case["provisional"]] == [str(nora_neck.pk)]

    booking_complete(actor=p.w.desk, booking=outcome.booking, now=start + 2 * HOUR)

    recorded = set(
        SessionCertification.objects.filter(booking=outcome.booking).values_list("certification", flat=True)
    )
    assert recorded == {nora_full.pk, nora_neck.pk}
    assert Certification.objects.get(pk=nora_neck.pk).supervised_sessions_done == 1
    unchecked = Certification.objects.get(pk=p.nora_cert.pk)
    assert (unchecked.supervised_sessions_done, unchecked.scope_full_at) == (0, None)
    assert not AuditEvent.objects.filter(
        action="certification.supervised_count", object_id=str(p.nora_cert.pk)
    ).exists()


def test_a_booking_refused_for_its_supervisor_releases_the_supervisors_slot(p):
    """Issue 23, M4. Sue's certification revoked, the booking she supervised needs reassignment
    for her (SUPERVISOR_NOT_QUALIFIED) and lets her go: her slot hold is released in the
    re-check's own UPDATE, so she can be booked in that slot again; the booking's reasons and the
    re-check's decision still name her."""
    supervised = book(p, p.nora, p.w.start, supervisor=p.sue).booking
    certification_revoke(actor=None, certification=p.sue_cert, reason="Fraudulent course")
    supervised.refresh_from_db()
    assert supervised.status == BookingStatus.NEEDS_REASSIGNMENT
    assert supervised.supervisor_id is None
    assert list(SlotHold.objects.filter(booking=supervised).values_list("therapist_id", "supervising")) == [
        (p.nora.pk, False)
    ]
    assert supervised.reasons[0]["supervisor"] == str(p.sue.pk)
    assert Decision.objects.get(booking=supervised, kind="recheck").case["supervisor"] == str(p.sue.pk)

    wellness = intake_record(
        actor=p.w.desk,
        spa=p.w.spa,
        client_ref="C-8",
        condition_codes=["WELLNESS"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=2,
    )
    treating = booking_create(
        actor=p.w.desk,
        therapist=p.sue,
        slot=slot_validate(
            spa=p.w.spa,
            intake=wellness,
            start=p.w.start + dt.timedelta(minutes=30),
            duration_minutes=60,
            focus_region=None,
            focus_minutes=0,
        ),
    )
    assert treating.allowed, treating.result.reasons
    assert treating.booking is not None


def test_a_booking_refused_for_its_therapist_keeps_its_supervisor(p):
    """Only a refusal for the supervisor lets them go: the booking refused for its therapist
    keeps the supervisor (and their hold) for the reassignment to another therapist."""
    supervised = book(p, p.nora, p.w.start, supervisor=p.sue).booking
    certification_revoke(actor=None, certification=p.nora_cert, reason="Course not attended")
    supervised.refresh_from_db()
    assert supervised.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [r["code"] for r in supervised.reasons] == ["CERTIFICATION_REVOKED"]
    assert supervised.supervisor_id == p.sue.pk
    assert SlotHold.objects.filter(booking=supervised, therapist=p.sue, supervising=True).exists()


# --- statements (issue 23, L13): a supervised completion and the re-check of supervised bookings
# are pinned, inside the test's transaction (each atomic block a SAVEPOINT and its RELEASE) ----


def test_a_supervised_completion_costs_thirteen_statements_and_fifteen_when_it_makes_the_scope_full(
    p, django_assert_num_queries
):
    """The savepoint; the booking locked, then completed; the therapist's facts and the
    session's case; the relied-on certifications' protocols, the SessionCertification INSERT and
    their read back; the provisional ones locked; their supervised sessions counted; the count
    written and audited; the release: 13. The completion that makes the certification full
    reads the spas employing the therapist and writes the outbox event: 15."""
    base = timezone.now() - dt.timedelta(days=3)
    for i in range(N):
        start = base + i * 3 * HOUR
        booking = book(p, p.nora, start, supervisor=p.sue, intake=past_intake(p, start)).booking
        with django_assert_num_queries(15 if i + 1 == N else 13):
            booking_complete(actor=p.w.desk, booking=booking, now=start + 2 * HOUR)
    assert Certification.objects.get(pk=p.nora_cert.pk).scope_full_at is not None


@pytest.mark.parametrize("supervised", [2, 5])
def test_revoking_a_supervisors_certification_rechecks_their_bookings_in_constant_statements(
    p, supervised, django_assert_num_queries
):
    """22 statements for 2 supervised bookings as for 5: the revocation (savepoints, the
    therapist and certifications lock, the certification read and revoked, its status list bit,
    the audit) and the set-wise re-check's 7 (bookings locked, therapists' and supervisors'
    facts, the intakes' cases, the spa's staff, the decisions, the one UPDATE that also lets the
    supervisor go, the outbox), then the certification event (the spas employing, the protocol,
    the outbox row)."""
    for i in range(supervised):
        assert book(p, p.nora, p.w.start + i * 3 * HOUR, supervisor=p.sue).booking is not None
    with django_assert_num_queries(22):
        _, changed = certification_revoke(actor=None, certification=p.sue_cert, reason="Fraudulent course")
    assert len(changed) == supervised
    assert not SlotHold.objects.filter(therapist=p.sue).exists()
