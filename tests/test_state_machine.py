"""A Hypothesis state machine over the services: credentials change, bookings are made and
moved, the clock advances — and after every step the registry's invariants hold."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.models import AuditEvent
from credentials.choices import LicenseStatus
from credentials.models import Certification, ClinicalExperience, License
from credentials.tests.factories import (
    ClinicalExperienceFactory,
    InstructorFactory,
    LicenseFactory,
    SchoolAuthorizationFactory,
    SchoolFactory,
    TherapistFactory,
)
from protocols.choices import BodyRegion, ScreeningAction
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry import eligibility
from registry.choices import ACTIVE_BOOKING_STATUSES, BookingStatus
from registry.models import Booking, Decision, Employment
from registry.selectors import eligibility_case, eligibility_facts_for_therapist
from registry.services import credentials as credential_use_cases
from registry.services.bookings import (
    booking_cancel,
    booking_complete,
    booking_create,
    booking_reassign,
    slot_validate,
)
from registry.services.intakes import intake_record
from registry.services.rechecks import employment_end, employment_start, license_change
from registry.tests.factories import SpaFactory

IMMUTABLE = (
    "serial",
    "therapist_id",
    "protocol_id",
    "school_id",
    "instructor_id",
    "taught_on",
    "valid_from",
    "expires_at",
    "issued_at",
)
MODULES = ("fundamentals", "critical-details", "harm-avoidance")


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = timezone.now().replace(microsecond=0)
        self.protocol = ProtocolFactory(
            slug="low-back-radiculopathy", region=BodyRegion.LUMBAR, max_focus_minutes=30
        )
        ConditionFactory(code="M51.16", region=BodyRegion.LUMBAR, requirements=[[self.protocol]])
        ScreeningQuestionFactory(
            code="ces-bladder-bowel", action=ScreeningAction.REFER_EMERGENCY, regions=[BodyRegion.LUMBAR]
        )
        self.spa = SpaFactory(timezone="UTC")
        self.school = SchoolFactory()
        SchoolAuthorizationFactory(school=self.school, protocol=self.protocol)
        self.instructor = InstructorFactory(schools=[self.school])
        ClinicalExperienceFactory(instructor=self.instructor, protocol=self.protocol)
        self.therapists = []
        for name in ("Ana", "Beth", "Chris"):
            therapist = TherapistFactory(name=name)
            LicenseFactory(therapist=therapist, jurisdiction=self.spa.jurisdiction)
            employment_start(actor=None, spa=self.spa, therapist=therapist, started_on=dt.date(2020, 1, 1))
            self.therapists.append(therapist)
        self.intakes = []
        self.snapshots: dict = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------

    def _audit_delta(self, action, expected):
        before = AuditEvent.objects.count()
        result = action()
        assert AuditEvent.objects.count() - before == expected
        return result

    def _decisions_delta(self, action, expected):
        before = Decision.objects.count()
        result = action()
        assert Decision.objects.count() - before == expected
        return result

    # --- rules ----------------------------------------------------------------------------

    @rule(therapist=st.integers(0, 2), days_ago=st.integers(0, 30))
    def issue(self, therapist, days_ago):
        taught = (self.now - dt.timedelta(days=days_ago)).date()
        modules = [
            {"kind": k, "completed_on": taught, "hours": Decimal("20"), "assessment_passed": True}
            for k in MODULES
        ]
        before = AuditEvent.objects.count()
        outcome = credential_use_cases.certification_issue(
            actor=None,
            therapist=self.therapists[therapist],
            protocol=self.protocol,
            school=self.school,
            instructor=self.instructor,
            taught_on=taught,
            modules=modules,
            now=self.now,
            valid_from=self.now,
        )
        if outcome.certification is not None:
            assert AuditEvent.objects.count() - before == 1
            c = outcome.certification
            self.snapshots[c.pk] = tuple(getattr(c, f) for f in IMMUTABLE)
        else:
            assert AuditEvent.objects.count() == before

    @rule(index=st.integers(0, 50))
    def revoke(self, index):
        live = list(Certification.objects.filter(revoked_at__isnull=True).order_by("issued_at", "pk"))
        if not live:
            return
        certification = live[index % len(live)]
        self._audit_delta(
            lambda: credential_use_cases.certification_revoke(
                actor=None, certification=certification, reason="state machine", now=self.now
            ),
            1,
        )

    @rule(therapist=st.integers(0, 2), status=st.sampled_from(["active", "suspended"]))
    def licence_status(self, therapist, status):
        licence = License.objects.filter(therapist=self.therapists[therapist]).first()
        if licence.status == status:
            return
        self._audit_delta(
            lambda: license_change(actor=None, license=licence, status=status, reason="sm", now=self.now), 1
        )

    @rule(therapist=st.integers(0, 2), days=st.integers(-400, 400))
    def licence_renew_or_shorten(self, therapist, days):
        licence = License.objects.filter(therapist=self.therapists[therapist]).first()
        expires_on = max(licence.valid_from, licence.expires_on + dt.timedelta(days=days))
        if expires_on == licence.expires_on:
            return
        self._audit_delta(
            lambda: license_change(
                actor=None, license=licence, expires_on=expires_on, reason="sm", now=self.now
            ),
            1,
        )

    @rule(therapist=st.integers(0, 2))
    def end_or_rehire(self, therapist):
        therapist = self.therapists[therapist]
        open_one = Employment.objects.filter(therapist=therapist, spa=self.spa, ended_on__isnull=True).first()
        if open_one is not None:
            if open_one.started_on > self.now.date():
                return
            self._audit_delta(lambda: employment_end(actor=None, employment=open_one, now=self.now), 1)
        else:
            employment_start(
                actor=None,
                spa=self.spa,
                therapist=therapist,
                started_on=self.now.date() + dt.timedelta(days=1),
                now=self.now,
            )

    @rule()
    def withdraw_experience(self):
        experience = ClinicalExperience.objects.filter(withdrawn_at__isnull=True).first()
        if experience is None:
            return
        flagged_before = Certification.objects.filter(review_required=True).count()
        before = AuditEvent.objects.count()
        result = credential_use_cases.clinical_experience_withdraw(
            actor=None, experience=experience, reason="sm"
        )
        assert AuditEvent.objects.count() - before == 1 + len(result.flagged)
        assert Certification.objects.filter(review_required=True).count() >= flagged_before

    @rule(bladder=st.booleans())
    def record_intake(self, bladder):
        self.intakes.append(
            intake_record(
                actor=None,
                spa=self.spa,
                client_ref=f"C{len(self.intakes)}",
                condition_codes=["M51.16"],
                screening={"ces-bladder-bowel": bladder},
                pain_score=4,
                now=self.now,
            )
        )

    @precondition(lambda self: self.intakes)
    @rule(
        therapist=st.integers(0, 2),
        intake=st.integers(0, 50),
        hours=st.integers(1, 24 * 9),
        focus=st.sampled_from([0, 20, 30, 45]),
    )
    def book(self, therapist, intake, hours, focus):
        intake = self.intakes[intake % len(self.intakes)]
        slot = slot_validate(
            spa=self.spa,
            intake=intake,
            start=self.now + dt.timedelta(hours=hours),
            duration_minutes=60,
            focus_region="lumbar" if focus else None,
            focus_minutes=focus,
        )
        outcome = self._decisions_delta(
            lambda: booking_create(actor=None, therapist=self.therapists[therapist], slot=slot, now=self.now),
            1,
        )
        assert (outcome.booking is not None) == outcome.allowed

    @rule(index=st.integers(0, 50))
    def cancel(self, index):
        active = list(Booking.objects.filter(status__in=ACTIVE_BOOKING_STATUSES).order_by("pk"))
        if active:
            booking_cancel(actor=None, booking=active[index % len(active)])

    @rule(index=st.integers(0, 50), therapist=st.integers(0, 2))
    def reassign(self, index, therapist):
        future = list(
            Booking.objects.filter(status__in=ACTIVE_BOOKING_STATUSES, start__gt=self.now).order_by("pk")
        )
        if not future:
            return
        booking = future[index % len(future)]
        self._decisions_delta(
            lambda: booking_reassign(
                actor=None, booking=booking, therapist=self.therapists[therapist], now=self.now
            ),
            1,
        )

    @rule(index=st.integers(0, 50))
    def complete(self, index):
        started = list(
            Booking.objects.filter(status=BookingStatus.CONFIRMED, start__lte=self.now).order_by("pk")
        )
        if started:
            booking_complete(actor=None, booking=started[index % len(started)], now=self.now)

    @rule(hours=st.integers(1, 72))
    def advance_clock(self, hours):
        self.now += dt.timedelta(hours=hours)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def no_overlapping_active_bookings(self):
        rows = list(
            Booking.objects.filter(status__in=ACTIVE_BOOKING_STATUSES).order_by("therapist_id", "start")
        )
        for a, b in itertools.pairwise(rows):
            if a.therapist_id == b.therapist_id:
                assert a.end <= b.start, f"{a} overlaps {b}"

    @invariant()
    def future_bookings_match_the_engine(self):
        for booking in Booking.objects.filter(start__gt=self.now).exclude(status=BookingStatus.CANCELLED):
            facts = eligibility_facts_for_therapist(
                therapist_id=booking.therapist_id, window=(booking.start, booking.end)
            )
            case = eligibility_case(
                intake=booking.intake,
                start=booking.start,
                end=booking.end,
                focus_region=booking.focus_region,
                focus_minutes=booking.focus_minutes,
                booking_id=str(booking.pk),
            )
            allowed = eligibility.decide(facts, case).allowed
            if booking.status == BookingStatus.CONFIRMED:
                assert allowed, f"confirmed booking {booking.pk} is not allowed on today's facts"
            if not allowed:
                assert booking.status in (BookingStatus.NEEDS_REASSIGNMENT, BookingStatus.CANCELLED)

    @invariant()
    def issued_certifications_unchanged_but_for_revocation_and_review(self):
        for certification in Certification.objects.filter(pk__in=list(self.snapshots)):
            assert tuple(getattr(certification, f) for f in IMMUTABLE) == self.snapshots[certification.pk]

    @invariant()
    def licences_keep_their_identity(self):
        assert all(lic.status in LicenseStatus.values for lic in License.objects.all())


@pytest.mark.django_db
def test_registry_invariants_hold_under_random_operations():
    run_state_machine_as_test(
        RegistryMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
