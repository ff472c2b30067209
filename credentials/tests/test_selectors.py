"""Credential reads: statuses computed at a time, in a fixed number of queries."""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import DomainError
from credentials import selectors, services
from credentials.choices import CertificationStatus
from credentials.tests.factories import issuance_scene
from protocols.tests.factories import ProtocolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    return issuance_scene()


@pytest.fixture
def certifications(scene):
    """One certification in each status (seen now)."""
    now = timezone.now()
    active = scene.issue().certification
    future = scene.issue(valid_from=now + dt.timedelta(days=30)).certification
    short = ProtocolFactory(validity_months=1)
    services.school_authorization_grant(
        actor=None, school=scene.school, protocol=short, at=now - dt.timedelta(days=90)
    )
    services.clinical_experience_verify(
        actor=None,
        instructor=scene.instructor,
        protocol=short,
        years=9,
        cases=900,
        evidence="x",
        verified_on=dt.date(2015, 1, 1),
    )
    expired = scene.issue(protocol=short, valid_from=now - dt.timedelta(days=60)).certification
    revoked = scene.issue().certification
    services.certification_revoke(actor=None, certification=revoked, reason="x")
    return {"active": active, "future": future, "expired": expired, "revoked": revoked}


@pytest.mark.parametrize(
    ("status", "key"),
    [
        (CertificationStatus.ACTIVE, "active"),
        (CertificationStatus.NOT_YET_VALID, "future"),
        (CertificationStatus.EXPIRED, "expired"),
        (CertificationStatus.REVOKED, "revoked"),
    ],
)
def test_certification_list_filters_by_status_at_a_time(scene, certifications, status, key):
    found = list(selectors.certification_list(therapist=scene.therapist, status=status))

    assert [c.pk for c in found] == [certifications[key].pk]
    assert found[0].status == status == found[0].status_at(timezone.now())


def test_status_is_computed_at_the_time_asked(scene, certifications):
    later = timezone.now() + dt.timedelta(days=31)

    found = {c.pk: c.status for c in selectors.certification_list(school=scene.school, at=later)}

    assert found[certifications["future"].pk] == CertificationStatus.ACTIVE
    assert found[certifications["revoked"].pk] == CertificationStatus.REVOKED


def test_certification_list_takes_two_queries_whatever_its_length(
    scene, certifications, django_assert_num_queries
):
    with django_assert_num_queries(2):
        rows = list(selectors.certification_list(school=scene.school))
        for row in rows:
            assert all((row.therapist.name, row.protocol.slug, row.school.name, row.instructor.name))
            assert len(row.modules.all()) == 3
    assert len(rows) == 4


def test_certification_list_filters_by_review_flag(scene, certifications):
    services.school_authorization_withdraw(actor=None, authorization=scene.authorization, reason="x")

    flagged = selectors.certification_list(school=scene.school, review_required=True)

    assert {c.pk for c in flagged} == {certifications["active"].pk, certifications["future"].pk}


def test_unknown_status_filter_is_a_domain_error():
    with pytest.raises(DomainError):
        selectors.certification_list(status="valid")


def test_certification_by_serial_finds_it_or_returns_none(certifications, django_assert_num_queries):
    serial = certifications["active"].serial

    with django_assert_num_queries(2):
        found = selectors.certification_by_serial(serial=serial)
        assert all((found.therapist.name, found.protocol.slug))

    assert found.status == CertificationStatus.ACTIVE
    assert selectors.certification_by_serial(serial="no-such-serial") is None


def test_instructor_qualified_protocols_on_a_date(scene, django_assert_num_queries):
    today = timezone.localdate()
    other = ProtocolFactory(slug="aaa-other")
    services.clinical_experience_verify(
        actor=None,
        instructor=scene.instructor,
        protocol=other,
        years=9,
        cases=900,
        evidence="x",
        verified_on=today,
    )
    thin = ProtocolFactory(slug="thin")
    services.clinical_experience_verify(
        actor=None, instructor=scene.instructor, protocol=thin, years=1, cases=9, evidence="x"
    )
    withdrawn = ProtocolFactory(slug="withdrawn")
    experience = services.clinical_experience_verify(
        actor=None, instructor=scene.instructor, protocol=withdrawn, years=9, cases=900, evidence="x"
    )
    services.clinical_experience_withdraw(actor=None, experience=experience, reason="x")

    with django_assert_num_queries(1):
        now = selectors.instructor_qualified_protocols(instructor=scene.instructor, on=today)
    before = selectors.instructor_qualified_protocols(
        instructor=scene.instructor, on=today - dt.timedelta(days=1)
    )

    assert [p.slug for p in now] == ["aaa-other", scene.protocol.slug]
    assert [p.slug for p in before] == [scene.protocol.slug]
