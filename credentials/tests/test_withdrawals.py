"""Withdrawing an instructor's experience or a school's authorisation does not undo the
certificates already issued: it flags exactly the ones it underpinned for registry review."""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials import services
from credentials.models import Certification
from credentials.tests.factories import issuance_scene, passed_modules
from protocols.tests.factories import ProtocolFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def registrar():
    return UserFactory(username="registrar")


def _teach(scene, *, taught_on, therapist=None, instructor=None, protocol=None, school=None):
    outcome = scene.issue(
        taught_on=taught_on,
        modules=passed_modules(taught_on),
        therapist=therapist or scene.therapist,
        instructor=instructor or scene.instructor,
        protocol=protocol or scene.protocol,
        school=school or scene.school,
    )
    assert outcome.issued, outcome.reasons
    return outcome.certification


def _flagged():
    return set(Certification.objects.filter(review_required=True).values_list("pk", flat=True))


def test_withdrawing_experience_flags_exactly_the_certifications_it_underpinned(registrar):
    verified_on = TODAY - dt.timedelta(days=100)
    scene = issuance_scene(actor=registrar, verified_on=verified_on)
    instructor = scene.instructor
    # The instructor also holds older experience in the same protocol (covering earlier
    # teaching) and experience in another protocol; a colleague teaches the same protocol.
    services.clinical_experience_verify(
        actor=registrar,
        instructor=instructor,
        protocol=scene.protocol,
        years=8,
        cases=300,
        evidence="older clinic",
        verified_on=TODAY - dt.timedelta(days=400),
    )
    other_protocol = ProtocolFactory()
    services.school_authorization_grant(
        actor=registrar,
        school=scene.school,
        protocol=other_protocol,
        at=timezone.now() - dt.timedelta(days=1),
    )
    services.clinical_experience_verify(
        actor=registrar,
        instructor=instructor,
        protocol=other_protocol,
        years=8,
        cases=300,
        evidence="x",
        verified_on=verified_on,
    )
    colleague = services.instructor_create(actor=registrar, name="Colleague", schools=[scene.school])
    services.clinical_experience_verify(
        actor=registrar,
        instructor=colleague,
        protocol=scene.protocol,
        years=8,
        cases=300,
        evidence="x",
        verified_on=verified_on,
    )

    on_verification_day = _teach(scene, taught_on=verified_on)
    after = _teach(scene, taught_on=verified_on + dt.timedelta(days=30))
    before = _teach(scene, taught_on=verified_on - dt.timedelta(days=1))
    other = _teach(scene, taught_on=verified_on + dt.timedelta(days=30), protocol=other_protocol)
    by_colleague = _teach(scene, taught_on=verified_on + dt.timedelta(days=30), instructor=colleague)
    already_revoked = _teach(scene, taught_on=verified_on + dt.timedelta(days=40))
    services.certification_revoke(actor=registrar, certification=already_revoked, reason="x")

    withdrawal = services.clinical_experience_withdraw(
        actor=registrar, experience=scene.experience, reason="Case logs were not the instructor's"
    )

    assert {c.pk for c in withdrawal.flagged} == {on_verification_day.pk, after.pk}
    assert _flagged() == {on_verification_day.pk, after.pk}
    for unflagged in (before, other, by_colleague, already_revoked):
        unflagged.refresh_from_db()
        assert not unflagged.review_required
    after.refresh_from_db()
    assert "Case logs were not the instructor's" in after.review_reason


def test_withdrawing_experience_does_not_revoke_the_certifications(registrar):
    scene = issuance_scene(actor=registrar)
    certification = _teach(scene, taught_on=scene.taught_on)

    services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="x")

    certification.refresh_from_db()
    assert certification.revoked_at is None
    assert certification.review_required


def test_a_withdrawal_flagging_three_certificates_writes_four_audit_events(registrar):
    scene = issuance_scene(actor=registrar)
    certifications = [_teach(scene, taught_on=scene.taught_on) for _ in range(3)]
    events_before = set(AuditEvent.objects.values_list("pk", flat=True))

    services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="audit")

    events = list(AuditEvent.objects.exclude(pk__in=events_before))
    assert len(events) == 4
    assert {(e.action, e.object_id) for e in events} == {
        ("clinical_experience.withdrawn", str(scene.experience.pk)),
        *{("certification.review_required", str(c.pk)) for c in certifications},
    }
    assert all(e.actor == registrar and e.reason for e in events)


def test_withdrawing_an_authorisation_flags_the_schools_certifications_issued_under_it(registrar):
    scene = issuance_scene(actor=registrar)
    # Issued under an earlier authorisation of the same school, since withdrawn and kept.
    earlier = _teach(scene, taught_on=scene.taught_on)
    services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="lapse")
    services.certification_review_clear(actor=registrar, certification=earlier, reason="kept")
    regrant = services.school_authorization_grant(
        actor=registrar, school=scene.school, protocol=scene.protocol
    )
    under_regrant = _teach(scene, taught_on=scene.taught_on)
    # Another school and another protocol of this school: untouched.
    other_school = services.school_create(actor=registrar, name="Other School", jurisdiction="US-CA")
    services.instructor_add_school(actor=registrar, instructor=scene.instructor, school=other_school)
    services.school_authorization_grant(actor=registrar, school=other_school, protocol=scene.protocol)
    at_other_school = _teach(scene, taught_on=scene.taught_on, school=other_school)
    other_protocol = ProtocolFactory()
    services.school_authorization_grant(actor=registrar, school=scene.school, protocol=other_protocol)
    services.clinical_experience_verify(
        actor=registrar,
        instructor=scene.instructor,
        protocol=other_protocol,
        years=9,
        cases=900,
        evidence="x",
        verified_on=dt.date(2015, 1, 1),
    )
    other_protocol_cert = _teach(scene, taught_on=scene.taught_on, protocol=other_protocol)

    withdrawal = services.school_authorization_withdraw(
        actor=registrar, authorization=regrant, reason="Inspection failed"
    )

    assert [c.pk for c in withdrawal.flagged] == [under_regrant.pk]
    assert _flagged() == {under_regrant.pk}
    assert withdrawal.withdrawn.withdrawn_reason == "Inspection failed"
    assert withdrawal.withdrawn.withdrawn_by == registrar
    for untouched in (earlier, at_other_school, other_protocol_cert):
        untouched.refresh_from_db()
        assert not untouched.review_required


def test_withdrawn_authorisation_refuses_new_issuance_but_allows_a_new_grant(registrar):
    scene = issuance_scene(actor=registrar)
    services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="x")

    assert [r.code for r in scene.issue().reasons] == ["SCHOOL_NOT_AUTHORIZED"]
    services.school_authorization_grant(actor=registrar, school=scene.school, protocol=scene.protocol)
    assert scene.issue().issued


def test_withdrawing_twice_is_a_conflict(registrar):
    scene = issuance_scene(actor=registrar)
    services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="x")
    services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="x")

    with pytest.raises(Conflict):
        services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="y")
    with pytest.raises(Conflict):
        services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="y")


def test_withdrawals_need_a_reason(registrar):
    scene = issuance_scene(actor=registrar)

    with pytest.raises(DomainError):
        services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason=" ")
    with pytest.raises(DomainError):
        services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="")


def test_granting_an_authorisation_already_open_is_a_conflict(registrar):
    scene = issuance_scene(actor=registrar)

    with pytest.raises(Conflict):
        services.school_authorization_grant(actor=registrar, school=scene.school, protocol=scene.protocol)


def test_experience_cannot_be_verified_from_a_future_date(registrar):
    scene = issuance_scene(actor=registrar)

    with pytest.raises(DomainError) as error:
        services.clinical_experience_verify(
            actor=registrar,
            instructor=scene.instructor,
            protocol=scene.protocol,
            years=10,
            cases=500,
            evidence="x",
            verified_on=TODAY + dt.timedelta(days=1),
        )
    assert list(error.value.errors) == ["verified_on"]


def test_experience_is_verified_from_today_by_default(registrar):
    scene = issuance_scene(actor=registrar)

    experience = services.clinical_experience_verify(
        actor=registrar, instructor=scene.instructor, protocol=scene.protocol, years=1, cases=2, evidence="x"
    )

    assert experience.verified_on == TODAY
    assert experience.verified_by == registrar


@pytest.mark.parametrize(
    ("years", "cases", "evidence"), [(-1, 5, "x"), (1, "5", "x"), (1, 5, ""), (True, 5, "x")]
)
def test_experience_with_malformed_figures_is_refused(registrar, years, cases, evidence):
    scene = issuance_scene(actor=registrar)

    with pytest.raises(DomainError):
        services.clinical_experience_verify(
            actor=registrar,
            instructor=scene.instructor,
            protocol=scene.protocol,
            years=years,
            cases=cases,
            evidence=evidence,
        )


WITHDRAWALS = {
    "clinical experience": (services.clinical_experience_withdraw, "experience", "clinical_experience"),
    "school authorisation": (services.school_authorization_withdraw, "authorization", "school_authorization"),
}


@pytest.mark.parametrize(("withdraw", "keyword", "action"), WITHDRAWALS.values(), ids=WITHDRAWALS.keys())
def test_both_withdrawals_have_one_shape(registrar, withdraw, keyword, action):
    """Either withdrawal: the fact withdrawn with who and why, audited, the certificates it
    underpinned flagged and returned; a second withdrawal is a conflict that changes nothing."""
    scene = issuance_scene(actor=registrar, verified_on=TODAY - dt.timedelta(days=100))
    certification = _teach(scene, taught_on=TODAY - dt.timedelta(days=2))
    result = withdraw(actor=registrar, reason="Audit found no records", **{keyword: getattr(scene, keyword)})
    assert isinstance(result, services.Withdrawal)
    assert (result.withdrawn.withdrawn_by, result.withdrawn.withdrawn_reason) == (
        registrar,
        "Audit found no records",
    )
    assert [c.pk for c in result.flagged] == [certification.pk]
    assert (
        AuditEvent.objects.filter(action=f"{action}.withdrawn", object_id=str(result.withdrawn.pk)).count()
        == 1
    )
    with pytest.raises(Conflict, match="already withdrawn"):
        withdraw(actor=registrar, reason="again", **{keyword: getattr(scene, keyword)})
    assert AuditEvent.objects.filter(action=f"{action}.withdrawn").count() == 1
