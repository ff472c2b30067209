"""Invariant 4: issued certifications are never edited or deleted (the database refuses it),
and every credential change writes an audit event naming who made it, in its transaction."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import Conflict
from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials import services
from credentials.choices import LicenseStatus
from credentials.models import Certification, ModuleCompletion
from credentials.tests.factories import issuance_scene
from protocols.tests.factories import ProtocolFactory

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


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint keeps the test usable
        cursor.execute(sql, params)


def test_raw_update_of_a_certifications_protocol_fails_at_the_database(certification):
    other = ProtocolFactory()

    with pytest.raises(DatabaseError, match="append-only"):
        _raw(
            "UPDATE credentials_certification SET protocol_id = %s WHERE id = %s",
            [other.pk, certification.pk],
        )

    certification.refresh_from_db()
    assert certification.protocol_id != other.pk


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("expires_at", dt.datetime(2099, 1, 1, tzinfo=dt.UTC)),
        ("therapist_id", None),
        ("serial", "forged"),
        ("taught_on", dt.date(2000, 1, 1)),
    ],
)
def test_raw_update_of_any_issued_column_fails_at_the_database(certification, column, value):
    if value is None:
        value = services.therapist_create(actor=None, name="Someone Else").pk

    with pytest.raises(DatabaseError):
        _raw(f"UPDATE credentials_certification SET {column} = %s WHERE id = %s", [value, certification.pk])  # noqa: S608 — column names are the test's own


def test_raw_delete_of_a_certification_fails_at_the_database(certification):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM credentials_certification WHERE id = %s", [certification.pk])

    assert Certification.objects.filter(pk=certification.pk).exists()


def test_raw_update_of_the_revocation_columns_is_allowed(certification):
    at = timezone.now()

    _raw(
        "UPDATE credentials_certification SET revoked_at = %s, revoked_reason = %s WHERE id = %s",
        [at, "raw", certification.pk],
    )

    certification.refresh_from_db()
    assert certification.revoked_at == at


def test_orm_save_of_an_edited_certification_fails_at_the_database(certification):
    certification.expires_at += dt.timedelta(days=365)

    with pytest.raises(DatabaseError), transaction.atomic():
        certification.save()


def test_module_completions_can_be_neither_updated_nor_deleted(certification):
    completion = ModuleCompletion.objects.filter(certification=certification).first()

    with pytest.raises(DatabaseError):
        _raw("UPDATE credentials_modulecompletion SET hours = 99 WHERE id = %s", [completion.pk])
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM credentials_modulecompletion WHERE id = %s", [completion.pk])


def test_audit_events_can_be_neither_updated_nor_deleted(certification):
    event = AuditEvent.objects.filter(object_id=str(certification.pk)).first()

    with pytest.raises(DatabaseError):
        _raw("UPDATE core_auditevent SET reason = 'rewritten' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM core_auditevent WHERE id = %s", [event.pk])


# --- every credential change is audited -------------------------------------------------------


def _new_events(before):
    return list(AuditEvent.objects.exclude(pk__in=before).order_by("at"))


def _changes(registrar, scene):
    """Each credential-changing service, called once: (name, call, changed objects)."""
    today = timezone.localdate()
    second_school = services.school_create(actor=None, name="Second School", jurisdiction="US-CA")
    certification = scene.issue().certification
    flagged = scene.issue().certification

    def flag_then_clear():
        services.school_authorization_withdraw(actor=None, authorization=scene.authorization, reason="x")
        return [services.certification_review_clear(actor=registrar, certification=flagged, reason="kept")]

    return [
        ("therapist_create", lambda: [services.therapist_create(actor=registrar, name="New")]),
        (
            "therapist_update",
            lambda: [services.therapist_update(actor=registrar, therapist=scene.therapist, name="Ana S.")],
        ),
        (
            "license_create",
            lambda: [
                services.license_create(
                    actor=registrar,
                    therapist=scene.therapist,
                    jurisdiction="US-NV",
                    number="NV-1",
                    status=LicenseStatus.ACTIVE,
                    valid_from=today,
                    expires_on=today,
                )
            ],
        ),
        (
            "license_change",
            lambda: [
                services.license_change(
                    actor=registrar,
                    license=scene.license,
                    expires_on=today + dt.timedelta(days=1),
                    reason="x",
                ).license
            ],
        ),
        ("school_create", lambda: [services.school_create(actor=registrar, name="S", jurisdiction="US-CA")]),
        ("instructor_create", lambda: [services.instructor_create(actor=registrar, name="I")]),
        (
            "instructor_add_school",
            lambda: [
                services.instructor_add_school(
                    actor=registrar, instructor=scene.instructor, school=second_school
                )
            ],
        ),
        (
            "instructor_remove_school",
            lambda: [
                services.instructor_remove_school(
                    actor=registrar, instructor=scene.instructor, school=second_school
                )
            ],
        ),
        (
            "school_authorization_grant",
            lambda: [
                services.school_authorization_grant(
                    actor=registrar, school=second_school, protocol=scene.protocol
                )
            ],
        ),
        (
            "clinical_experience_verify",
            lambda: [
                services.clinical_experience_verify(
                    actor=registrar,
                    instructor=scene.instructor,
                    protocol=scene.protocol,
                    years=1,
                    cases=1,
                    evidence="x",
                )
            ],
        ),
        (
            "certification_issue",
            lambda: [scene.issue(actor=registrar).certification],
        ),
        (
            "certification_revoke",
            lambda: [services.certification_revoke(actor=registrar, certification=certification, reason="x")],
        ),
        ("certification_review_clear", flag_then_clear),
    ]


def test_every_credential_service_writes_one_audit_event_per_changed_object_naming_the_actor(
    registrar, scene
):
    for name, call, *_ in _changes(registrar, scene):
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        with transaction.atomic():
            changed = call()
        events = [e for e in _new_events(before) if e.actor == registrar]
        assert [(e.object_type, e.object_id) for e in events] == [
            (obj._meta.label_lower, str(obj.pk)) for obj in changed
        ], name


def test_withdrawals_write_one_event_for_the_withdrawal_and_one_per_flagged_certification(registrar, scene):
    certification = scene.issue().certification
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    services.school_authorization_withdraw(actor=registrar, authorization=scene.authorization, reason="x")

    events = _new_events(before)
    assert sorted((e.object_type, e.object_id) for e in events) == sorted(
        [
            ("credentials.schoolauthorization", str(scene.authorization.pk)),
            ("credentials.certification", str(certification.pk)),
        ]
    )
    assert all(e.actor == registrar for e in events)


def test_a_change_that_fails_leaves_no_audit_event(registrar, scene):
    certification = scene.issue().certification
    services.certification_revoke(actor=registrar, certification=certification, reason="x")
    before = AuditEvent.objects.count()

    with pytest.raises(Conflict, match="already revoked"):
        services.certification_revoke(actor=registrar, certification=certification, reason="again")

    assert AuditEvent.objects.count() == before
