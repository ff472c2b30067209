"""Invariant 4: a revocation is a new fact (who, when, why); a review is settled by keeping
(clear) or revoking."""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials import services
from credentials.choices import CertificationStatus
from credentials.tests.factories import issuance_scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def registrar():
    return UserFactory(username="registrar")


@pytest.fixture
def scene(registrar):
    return issuance_scene(actor=registrar)


@pytest.fixture
def certification(scene):
    return scene.issue().certification


def test_revocation_records_who_when_and_why(certification, registrar):
    at = timezone.now()

    revoked = services.certification_revoke(
        actor=registrar, certification=certification, reason="Falsified hours", at=at
    )

    revoked.refresh_from_db()
    assert (revoked.revoked_at, revoked.revoked_by, revoked.revoked_reason) == (
        at,
        registrar,
        "Falsified hours",
    )
    event = AuditEvent.objects.get(object_id=str(certification.pk), action="certification.revoked")
    assert event.actor == registrar
    assert event.reason == "Falsified hours"


def test_revoked_certification_counts_until_the_revocation_time_and_not_after(certification, registrar):
    at = timezone.now() + dt.timedelta(hours=1)
    services.certification_revoke(actor=registrar, certification=certification, reason="x", at=at)
    certification.refresh_from_db()

    assert certification.status_at(at - dt.timedelta(seconds=1)) == CertificationStatus.ACTIVE
    assert certification.status_at(at) == CertificationStatus.REVOKED


def test_revoking_an_already_revoked_certification_is_a_conflict(certification, registrar):
    services.certification_revoke(actor=registrar, certification=certification, reason="first")

    with pytest.raises(Conflict):
        services.certification_revoke(actor=registrar, certification=certification, reason="second")

    certification.refresh_from_db()
    assert certification.revoked_reason == "first"
    assert AuditEvent.objects.filter(action="certification.revoked").count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_revocation_without_a_reason_is_refused(certification, registrar, reason):
    with pytest.raises(DomainError) as error:
        services.certification_revoke(actor=registrar, certification=certification, reason=reason)

    assert list(error.value.errors) == ["reason"]
    certification.refresh_from_db()
    assert certification.revoked_at is None


def test_revocation_at_a_naive_time_is_refused(certification, registrar):
    with pytest.raises(DomainError):
        services.certification_revoke(
            actor=registrar, certification=certification, reason="x", at=dt.datetime(2030, 1, 1)
        )


def test_revoking_a_flagged_certification_settles_its_review(scene, certification, registrar):
    services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="audit")
    certification.refresh_from_db()
    assert certification.review_required

    services.certification_revoke(actor=registrar, certification=certification, reason="decided")

    certification.refresh_from_db()
    assert certification.revoked_at is not None
    assert not certification.review_required
    assert certification.reviewed_by == registrar


def test_clearing_a_review_keeps_the_certification_and_records_the_reviewer(scene, certification, registrar):
    services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="x")

    kept = services.certification_review_clear(
        actor=registrar, certification=certification, reason="Trained before the problem"
    )

    kept.refresh_from_db()
    assert not kept.review_required
    assert kept.reviewed_by == registrar
    assert kept.reviewed_at is not None
    assert kept.revoked_at is None
    assert kept.review_reason  # why it was flagged stays on record
    event = AuditEvent.objects.get(object_id=str(certification.pk), action="certification.review_cleared")
    assert (event.actor, event.reason) == (registrar, "Trained before the problem")


def test_clearing_a_certification_not_flagged_for_review_is_a_conflict(certification, registrar):
    with pytest.raises(Conflict):
        services.certification_review_clear(actor=registrar, certification=certification, reason="x")


def test_clearing_a_review_needs_a_reason(scene, certification, registrar):
    services.clinical_experience_withdraw(actor=registrar, experience=scene.experience, reason="x")

    with pytest.raises(DomainError):
        services.certification_review_clear(actor=registrar, certification=certification, reason="")
