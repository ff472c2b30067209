"""Every append-only table refuses UPDATE and DELETE at the database, whatever the client."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import AuditEvent, OutboxEvent
from core.services import audit_record
from credentials.tests.factories import CertificationFactory
from registry.models import Decision, Delivery, DeliveryAttempt
from registry.tests.factories import IntakeFactory, SpaFactory

pytestmark = pytest.mark.django_db


def refused(sql, params):
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


@pytest.fixture
def rows():
    certification = CertificationFactory()
    audit = audit_record(actor=None, action="test", obj=certification)
    spa = SpaFactory()
    intake = IntakeFactory(spa=spa)
    decision = Decision.objects.create(
        made_at=timezone.now(),
        kind="booking",
        spa=spa,
        therapist=certification.therapist,
        intake=intake,
        case={},
        allowed=False,
        reasons=[],
        warnings=[],
    )
    event = OutboxEvent.objects.create(type="test", data={}, audience=[])
    delivery = Delivery.objects.create(
        event=event, channel="email", email="a@example.org", next_attempt_at=timezone.now()
    )
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, at=timezone.now(), status_code=500, succeeded=False
    )
    return {
        "core_auditevent": (AuditEvent, audit.pk, "action"),
        "registry_decision": (Decision, decision.pk, "allowed"),
        "registry_deliveryattempt": (DeliveryAttempt, attempt.pk, "status_code"),
        "credentials_certification": (type(certification), certification.pk, "taught_on"),
        "credentials_modulecompletion": (
            type(certification.modules.first()),
            certification.modules.first().pk,
            "hours",
        ),
    }


@pytest.mark.parametrize(
    "table",
    [
        "core_auditevent",
        "registry_decision",
        "registry_deliveryattempt",
        "credentials_certification",
        "credentials_modulecompletion",
    ],
)
def test_append_only_table_refuses_update_and_delete(rows, table):
    model, pk, column = rows[table]
    new_value = {
        "action": "'rewritten'",
        "allowed": "true",
        "status_code": "200",
        "taught_on": "'2000-01-01'",
        "hours": "999",
    }[column]
    message = refused(f"UPDATE {table} SET {column} = {new_value} WHERE id = %s", [pk])  # noqa: S608
    assert "append-only" in message
    message = refused(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608
    assert "append-only" in message
    assert model.objects.filter(pk=pk).exists()


def test_revocation_columns_of_a_certification_may_still_be_set(rows):
    _, pk, _ = rows["credentials_certification"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE credentials_certification SET revoked_at = now(), revoked_reason = 'x' WHERE id = %s",
            [pk],
        )
