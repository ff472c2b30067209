"""Invariant 3: a certification is issued only when every rule holds; a refusal names every
failed rule and writes nothing."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials import services
from credentials.choices import CertificationStatus, IssuanceReasonCode, LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    ModuleCompletion,
    SchoolAuthorization,
    Therapist,
)
from credentials.tests.factories import issuance_scene, passed_modules
from protocols.choices import ModuleKind
from protocols.tests.factories import ProtocolFactory

pytestmark = pytest.mark.django_db

Code = IssuanceReasonCode


def codes(outcome):
    return [reason.code for reason in outcome.reasons]


@pytest.fixture
def actor():
    return UserFactory(username="school-office")


@pytest.fixture
def scene(actor):
    return issuance_scene(actor=actor)


# --- accepted --------------------------------------------------------------------------------


def test_certification_is_issued_when_every_rule_holds(scene, actor):
    outcome = scene.issue()

    assert outcome.issued
    assert outcome.reasons == []
    certification = Certification.objects.get()
    assert certification == outcome.certification
    assert certification.issued_by == actor
    assert certification.serial
    assert certification.status_at(timezone.now()) == CertificationStatus.ACTIVE
    completions = ModuleCompletion.objects.filter(certification=certification)
    assert sorted(c.kind for c in completions) == sorted(ModuleKind.values)
    assert all(c.assessment_passed and c.hours == Decimal("8") for c in completions)


def test_issued_certification_writes_one_audit_event_naming_the_actor(scene, actor):
    certification = scene.issue().certification

    events = AuditEvent.objects.filter(object_id=str(certification.pk))
    assert [(e.action, e.actor) for e in events] == [("certification.issued", actor)]
    assert events[0].after["serial"] == certification.serial


def test_valid_from_defaults_to_the_issue_time_and_expiry_adds_the_validity_months(scene):
    now = timezone.now()
    certification = scene.issue(now=now).certification

    assert certification.issued_at == now
    assert certification.valid_from == now
    assert scene.protocol.validity_months == 24
    assert certification.expires_at == now + relativedelta(months=24)


def test_expiry_counts_calendar_months_from_valid_from(actor):
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(validity_months=1))
    valid_from = dt.datetime(2031, 1, 31, 9, 0, tzinfo=dt.UTC)

    certification = scene.issue(valid_from=valid_from).certification

    assert certification.valid_from == valid_from
    assert certification.expires_at == dt.datetime(2031, 2, 28, 9, 0, tzinfo=dt.UTC)
    assert certification.status_at(timezone.now()) == CertificationStatus.NOT_YET_VALID


def test_instructor_qualified_on_teaching_day_with_exactly_the_minimums_is_accepted(scene):
    assert scene.experience.years == scene.protocol.min_instructor_years
    assert scene.experience.cases == scene.protocol.min_instructor_cases

    assert scene.issue().issued


def test_a_licence_in_any_jurisdiction_counts_for_issuance(scene, actor):
    services.license_change(actor=actor, license=scene.license, status=LicenseStatus.SUSPENDED, reason="x")
    services.license_create(
        actor=actor,
        therapist=scene.therapist,
        jurisdiction="US-OR",
        number="OR-1",
        status=LicenseStatus.ACTIVE,
        valid_from=dt.date(2020, 1, 1),
        expires_on=timezone.localdate() + dt.timedelta(days=30),
    )

    assert scene.issue().issued


# --- each rule alone -------------------------------------------------------------------------


def test_school_not_authorised_for_the_protocol_is_refused(scene, actor):
    services.school_authorization_withdraw(actor=actor, authorization=scene.authorization, reason="audit")

    outcome = scene.issue()

    assert codes(outcome) == [Code.SCHOOL_NOT_AUTHORIZED]
    assert outcome.reasons[0].protocols == (scene.protocol.slug,)


def test_school_authorised_only_for_another_protocol_is_refused(scene, actor):
    other = ProtocolFactory()
    services.school_authorization_grant(actor=actor, school=scene.school, protocol=other)
    services.school_authorization_withdraw(actor=actor, authorization=scene.authorization, reason="audit")
    services.clinical_experience_verify(
        actor=actor, instructor=scene.instructor, protocol=other, years=9, cases=900, evidence="records"
    )

    assert codes(scene.issue()) == [Code.SCHOOL_NOT_AUTHORIZED]


def test_authorisation_granted_after_the_issue_time_is_refused(scene, actor):
    services.school_authorization_withdraw(actor=actor, authorization=scene.authorization, reason="audit")
    services.school_authorization_grant(
        actor=actor, school=scene.school, protocol=scene.protocol, at=timezone.now() + dt.timedelta(hours=1)
    )

    assert codes(scene.issue()) == [Code.SCHOOL_NOT_AUTHORIZED]


def test_instructor_not_on_the_schools_roster_is_refused(scene, actor):
    other_school = services.school_create(actor=actor, name="Elsewhere", jurisdiction="US-CA")
    services.school_authorization_grant(
        actor=actor, school=other_school, protocol=scene.protocol, at=timezone.now() - dt.timedelta(days=1)
    )

    outcome = scene.issue(school=other_school)

    assert codes(outcome) == [Code.INSTRUCTOR_NOT_AT_SCHOOL]


def test_instructor_without_experience_in_that_protocol_is_refused(scene, actor):
    novice = services.instructor_create(actor=actor, name="Novice", schools=[scene.school])
    services.clinical_experience_verify(
        actor=actor, instructor=novice, protocol=ProtocolFactory(), years=20, cases=2000, evidence="other"
    )

    outcome = scene.issue(instructor=novice)

    assert codes(outcome) == [Code.INSTRUCTOR_NOT_QUALIFIED]
    assert outcome.reasons[0].protocols == (scene.protocol.slug,)


@pytest.mark.parametrize(("years", "cases"), [(4, 200), (5, 199)])
def test_instructor_experience_below_the_protocols_minimum_is_refused(scene, actor, years, cases):
    instructor = services.instructor_create(actor=actor, name="Junior", schools=[scene.school])
    services.clinical_experience_verify(
        actor=actor,
        instructor=instructor,
        protocol=scene.protocol,
        years=years,
        cases=cases,
        evidence="records",
        verified_on=dt.date(2015, 1, 1),
    )

    assert codes(scene.issue(instructor=instructor)) == [Code.INSTRUCTOR_NOT_QUALIFIED]


def test_withdrawn_experience_no_longer_qualifies_the_instructor(scene, actor):
    services.clinical_experience_withdraw(actor=actor, experience=scene.experience, reason="forged logs")

    assert codes(scene.issue()) == [Code.INSTRUCTOR_NOT_QUALIFIED]


def test_therapist_without_any_licence_is_refused_license_missing(scene, actor):
    unlicensed = services.therapist_create(actor=actor, name="Beth Jones")

    assert codes(scene.issue(therapist=unlicensed)) == [Code.LICENSE_MISSING]


@pytest.mark.parametrize("status", [LicenseStatus.SUSPENDED, LicenseStatus.REVOKED, LicenseStatus.EXPIRED])
def test_therapist_whose_licence_is_not_active_is_refused_license_inactive(scene, actor, status):
    services.license_change(actor=actor, license=scene.license, status=status, reason="board decision")

    assert codes(scene.issue()) == [Code.LICENSE_INACTIVE]


def test_licence_not_yet_valid_on_the_issue_date_is_refused(scene, actor):
    therapist = services.therapist_create(actor=actor, name="New Graduate")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    services.license_create(
        actor=actor,
        therapist=therapist,
        jurisdiction="US-CA",
        number="MT-NEW",
        status=LicenseStatus.ACTIVE,
        valid_from=tomorrow,
        expires_on=tomorrow + dt.timedelta(days=700),
    )

    assert codes(scene.issue(therapist=therapist)) == [Code.LICENSE_INACTIVE]


def test_missing_prerequisite_is_refused_naming_the_prerequisite(actor):
    basics = ProtocolFactory(slug="low-back-basics")
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[basics]))

    outcome = scene.issue()

    assert codes(outcome) == [Code.PREREQUISITE_MISSING]
    assert outcome.reasons[0].protocols == ("low-back-basics",)
    assert outcome.reasons[0].as_dict()["protocols"] == ["low-back-basics"]


def test_each_missing_prerequisite_is_its_own_reason(actor):
    first, second = ProtocolFactory(slug="pre-a"), ProtocolFactory(slug="pre-b")
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[first, second]))

    outcome = scene.issue()

    assert [(r.code, r.protocols) for r in outcome.reasons] == [
        (Code.PREREQUISITE_MISSING, ("pre-a",)),
        (Code.PREREQUISITE_MISSING, ("pre-b",)),
    ]


def _certify_in(scene, protocol, actor):
    """Certify the scene's therapist in ``protocol`` through the service."""
    services.school_authorization_grant(
        actor=actor, school=scene.school, protocol=protocol, at=timezone.now() - dt.timedelta(days=1)
    )
    services.clinical_experience_verify(
        actor=actor,
        instructor=scene.instructor,
        protocol=protocol,
        years=10,
        cases=500,
        evidence="records",
        verified_on=dt.date(2015, 1, 1),
    )
    return scene.issue(protocol=protocol).certification


def test_prerequisite_held_as_a_valid_certification_is_accepted(actor):
    basics = ProtocolFactory(slug="low-back-basics")
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[basics]))
    assert _certify_in(scene, basics, actor) is not None

    assert scene.issue().issued


def test_revoked_prerequisite_does_not_count(actor):
    basics = ProtocolFactory(slug="low-back-basics")
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[basics]))
    held = _certify_in(scene, basics, actor)
    services.certification_revoke(actor=actor, certification=held, reason="misconduct")

    assert codes(scene.issue()) == [Code.PREREQUISITE_MISSING]


def test_expired_or_not_yet_valid_prerequisite_does_not_count(actor):
    basics = ProtocolFactory(slug="low-back-basics", validity_months=1)
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[basics]))
    _certify_in(scene, basics, actor)  # valid for a month from now

    assert codes(scene.issue(now=timezone.now() + dt.timedelta(days=40))) == [Code.PREREQUISITE_MISSING]
    assert codes(scene.issue(now=timezone.now() - dt.timedelta(minutes=5))) == [Code.PREREQUISITE_MISSING]


def _modules_with(taught_on, kind, **change):
    modules = passed_modules(taught_on)
    for module in modules:
        if module["kind"] == kind:
            module.update(change)
    return modules


@pytest.mark.parametrize(
    ("kind", "change", "words"),
    [
        (ModuleKind.HARM_AVOIDANCE, {"assessment_passed": False}, "assessment was not passed"),
        (ModuleKind.CRITICAL_DETAILS, {"hours": Decimal("7.5")}, "7.5 hours were completed, 8 are required"),
        (ModuleKind.FUNDAMENTALS, {"hours": 0}, "0 hours were completed"),
    ],
)
def test_module_not_passed_or_under_its_minimum_hours_is_refused(scene, kind, change, words):
    outcome = scene.issue(modules=_modules_with(scene.taught_on, kind, **change))

    assert codes(outcome) == [Code.MODULE_INCOMPLETE]
    reason = outcome.reasons[0]
    assert reason.module == kind
    assert kind in reason.message
    assert words in reason.message
    assert reason.as_dict() == {"code": "MODULE_INCOMPLETE", "message": reason.message, "module": kind}


def test_missing_module_is_refused_module_incomplete(scene):
    modules = [m for m in passed_modules(scene.taught_on) if m["kind"] != ModuleKind.HARM_AVOIDANCE]

    outcome = scene.issue(modules=modules)

    assert [(r.code, r.module) for r in outcome.reasons] == [(Code.MODULE_INCOMPLETE, "harm-avoidance")]
    assert "not completed" in outcome.reasons[0].message


def test_no_modules_gives_one_reason_per_module_kind(scene):
    outcome = scene.issue(modules=[])

    assert [r.module for r in outcome.reasons] == ModuleKind.values


# --- every reason at once, and nothing written -----------------------------------------------


def test_request_failing_five_rules_gets_all_five_reasons(actor):
    basics = ProtocolFactory(slug="low-back-basics")
    scene = issuance_scene(actor=actor, protocol=ProtocolFactory(prerequisites=[basics]))
    services.school_authorization_withdraw(actor=actor, authorization=scene.authorization, reason="audit")
    stranger = services.instructor_create(actor=actor, name="Stranger")  # qualified, not on the roster
    services.clinical_experience_verify(
        actor=actor,
        instructor=stranger,
        protocol=scene.protocol,
        years=10,
        cases=500,
        evidence="records",
        verified_on=dt.date(2015, 1, 1),
    )
    unlicensed = services.therapist_create(actor=actor, name="Beth Jones")

    outcome = scene.issue(
        therapist=unlicensed,
        instructor=stranger,
        modules=_modules_with(scene.taught_on, ModuleKind.HARM_AVOIDANCE, assessment_passed=False),
    )

    assert outcome.certification is None
    assert codes(outcome) == [
        Code.SCHOOL_NOT_AUTHORIZED,
        Code.INSTRUCTOR_NOT_AT_SCHOOL,
        Code.LICENSE_MISSING,
        Code.PREREQUISITE_MISSING,
        Code.MODULE_INCOMPLETE,
    ]
    assert all(r.message for r in outcome.reasons)


def test_refused_issuance_commits_nothing_but_returns_its_reasons(scene, actor):
    events_before = AuditEvent.objects.count()
    services.license_change(actor=actor, license=scene.license, status=LicenseStatus.SUSPENDED, reason="x")

    outcome = scene.issue()

    assert outcome.certification is None
    assert codes(outcome) == [Code.LICENSE_INACTIVE]
    assert not Certification.objects.exists()
    assert not ModuleCompletion.objects.exists()
    assert AuditEvent.objects.count() == events_before + 1  # the licence change only


def test_reason_as_dict_has_code_and_message_and_only_the_keys_that_apply():
    reason = services.IssuanceReason(Code.LICENSE_MISSING, "No licence on record.")

    assert reason.as_dict() == {"code": "LICENSE_MISSING", "message": "No licence on record."}


# --- as-of-date boundaries -------------------------------------------------------------------


def test_experience_verified_the_day_after_teaching_is_refused(actor):
    today = timezone.localdate()
    scene = issuance_scene(
        actor=actor, verified_on=today - dt.timedelta(days=4), taught_on=today - dt.timedelta(days=5)
    )

    assert codes(scene.issue()) == [Code.INSTRUCTOR_NOT_QUALIFIED]


def test_experience_verified_on_the_teaching_day_is_accepted(actor):
    day = timezone.localdate() - dt.timedelta(days=5)
    scene = issuance_scene(actor=actor, verified_on=day, taught_on=day)

    assert scene.issue().issued


def test_authorisation_withdrawn_before_the_issue_time_is_refused(scene, actor):
    withdrawal = services.school_authorization_withdraw(
        actor=actor, authorization=scene.authorization, reason="audit"
    )

    outcome = scene.issue(now=withdrawal.withdrawn.withdrawn_at + dt.timedelta(seconds=1))

    assert codes(outcome) == [Code.SCHOOL_NOT_AUTHORIZED]


def test_authorisation_withdrawn_later_on_the_issue_day_is_accepted(scene, actor):
    withdrawal = services.school_authorization_withdraw(
        actor=actor, authorization=scene.authorization, reason="audit"
    )

    outcome = scene.issue(now=withdrawal.withdrawn.withdrawn_at - dt.timedelta(seconds=1))

    assert outcome.issued


def test_authorisation_granted_at_the_issue_time_is_accepted(scene, actor):
    services.school_authorization_withdraw(actor=actor, authorization=scene.authorization, reason="audit")
    granted_at = timezone.now() + dt.timedelta(minutes=1)
    services.school_authorization_grant(
        actor=actor, school=scene.school, protocol=scene.protocol, at=granted_at
    )

    assert codes(scene.issue(now=granted_at - dt.timedelta(microseconds=1))) == [Code.SCHOOL_NOT_AUTHORIZED]
    assert scene.issue(now=granted_at).issued


def test_licence_expired_the_day_before_issue_is_refused(scene, actor):
    today = timezone.localdate()
    services.license_change(
        actor=actor, license=scene.license, expires_on=today - dt.timedelta(days=1), reason="not renewed"
    )

    assert codes(scene.issue()) == [Code.LICENSE_INACTIVE]


def test_licence_expiring_on_the_issue_day_is_accepted(scene, actor):
    services.license_change(
        actor=actor, license=scene.license, expires_on=timezone.localdate(), reason="last day"
    )

    assert scene.issue().issued


# --- input that cannot be processed ----------------------------------------------------------


def test_unknown_module_kind_is_a_domain_error(scene):
    modules = [*passed_modules(scene.taught_on), {**passed_modules(scene.taught_on)[0], "kind": "massage"}]

    with pytest.raises(DomainError) as error:
        scene.issue(modules=modules)

    assert "modules.3.kind" in error.value.errors
    assert not Certification.objects.exists()


def test_duplicate_module_kinds_are_a_domain_error(scene):
    modules = [*passed_modules(scene.taught_on), passed_modules(scene.taught_on)[1]]

    with pytest.raises(DomainError) as error:
        scene.issue(modules=modules)

    assert list(error.value.errors) == ["modules.3.kind"]


def test_naive_valid_from_is_a_domain_error(scene):
    with pytest.raises(DomainError) as error:
        scene.issue(valid_from=dt.datetime(2030, 1, 1, 9, 0))

    assert list(error.value.errors) == ["valid_from"]


def test_teaching_in_the_future_is_a_domain_error(scene):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    with pytest.raises(DomainError) as error:
        scene.issue(taught_on=tomorrow, modules=passed_modules(scene.taught_on))

    assert list(error.value.errors) == ["taught_on"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("hours", "lots"), ("hours", -1), ("assessment_passed", "yes"), ("completed_on", "2024-01-01")],
)
def test_malformed_module_fields_are_domain_errors_with_dotted_paths(scene, field, value):
    modules = passed_modules(scene.taught_on)
    modules[1][field] = value

    with pytest.raises(DomainError) as error:
        scene.issue(modules=modules)

    assert list(error.value.errors) == [f"modules.1.{field}"]


# --- the decision's locks --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_issuance_holds_what_its_decision_rests_on_until_it_commits():
    """A concurrent licence change (which locks the therapist first), authorisation withdrawal
    or experience withdrawal waits for the issuance, and then sees what it issued."""
    scene = issuance_scene()
    rows = [
        (Therapist, scene.therapist.pk),
        (SchoolAuthorization, scene.authorization.pk),
        (ClinicalExperience, scene.experience.pk),
    ]
    seen: list[str] = []

    def try_locks() -> None:
        try:
            for model, pk in rows:
                try:
                    with transaction.atomic():
                        model.objects.select_for_update(nowait=True).get(pk=pk)
                    seen.append(f"{model.__name__}: free")
                except DatabaseError:
                    seen.append(f"{model.__name__}: busy")
        finally:
            connection.close()

    def run_in_thread() -> None:
        thread = threading.Thread(target=try_locks)
        thread.start()
        thread.join()

    with transaction.atomic():
        assert scene.issue().issued
        run_in_thread()
    assert seen == ["Therapist: busy", "SchoolAuthorization: busy", "ClinicalExperience: busy"]

    seen.clear()
    run_in_thread()
    assert seen == ["Therapist: free", "SchoolAuthorization: free", "ClinicalExperience: free"]
