"""Attesting a provisional certification's supervised sessions over HTTP (issue 23,
``POST /certifications/{id}/scope-attest/``): registry admins only, a reason required, the
certification full from now — audited, and its school and the spas employing the therapist told."""

from __future__ import annotations

import pytest

from core.models import AuditEvent, OutboxEvent
from credentials.models import Certification
from credentials.tests.factories import CertificationFactory
from protocols.models import Protocol
from protocols.tests.factories import ProtocolFactory
from registry.choices import Role
from tests.api.helpers import assert_problem


def _url(certification) -> str:
    return f"/api/v1/certifications/{certification.pk}/scope-attest/"


def _attest(client, certification, body=None):
    body = {"reason": "Proctored"} if body is None else body
    return client.post(_url(certification), body, format="json")


@pytest.fixture
def provisional(world):
    """The world's protocol asks for 3 supervised sessions (set in the row: no grandfathering),
    so certification A (and B) are provisional."""
    Protocol.objects.filter(pk=world.protocol.pk).update(supervised_sessions=3)
    return world.certification_a


@pytest.fixture
def admin(as_role):
    return as_role(Role.REGISTRY_ADMIN)


def test_a_registry_admin_attests_a_provisional_certification(admin, provisional, world):
    before = admin.get(f"/api/v1/certifications/{provisional.pk}/").json()
    assert (before["provisional"], before["scope_full_at"]) == (True, None)

    response = _attest(admin, provisional, {"reason": "Ten proctored sessions at St. Mary's"})

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    # the representation GET /certifications/{id}/ gives, now full
    assert body == admin.get(f"/api/v1/certifications/{provisional.pk}/").json()
    assert body["id"] == str(provisional.pk)
    assert body["provisional"] is False
    assert body["scope_full_at"] is not None
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is not None
    assert Certification.objects.get(pk=world.certification_b.pk).scope_full_at is None  # only that one

    audit = AuditEvent.objects.get(action="certification.scope_attested", object_id=str(provisional.pk))
    assert audit.reason == "Ten proctored sessions at St. Mary's"
    assert audit.actor == admin.user
    assert audit.before == {"scope_full_at": None}
    event = OutboxEvent.objects.get(type="certification.scope_full")
    assert event.data["certification"] == str(provisional.pk)
    assert event.data["provisional"] is False
    assert event.data["reason"] == "Ten proctored sessions at St. Mary's"
    assert set(event.audience) == {f"school:{world.school_a.pk}", f"spa:{world.spa_a.pk}"}


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "required"), ({"reason": ""}, "blank"), ({"reason": "   "}, "blank"), ({"reason": None}, "null")],
)
def test_a_missing_or_blank_reason_is_a_field_error_and_changes_nothing(admin, provisional, body, message):
    response = _attest(admin, provisional, body)

    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["reason"]
    assert message in problem["errors"]["reason"][0]
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is None
    assert not AuditEvent.objects.filter(action="certification.scope_attested").exists()
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()


def test_an_already_full_certification_is_a_conflict(admin, provisional):
    assert _attest(admin, provisional).status_code == 200
    full_at = Certification.objects.get(pk=provisional.pk).scope_full_at

    problem = assert_problem(_attest(admin, provisional), 409, "conflict")

    assert "already full" in problem["detail"]
    assert Certification.objects.get(pk=provisional.pk).scope_full_at == full_at
    assert AuditEvent.objects.filter(action="certification.scope_attested").count() == 1
    assert OutboxEvent.objects.filter(type="certification.scope_full").count() == 1


def test_a_certification_whose_protocol_asks_for_no_supervision_is_a_conflict(admin, world):
    unsupervised = CertificationFactory(
        therapist=world.therapist_a, protocol=ProtocolFactory(slug="neck-basic"), school=world.school_a
    )

    problem = assert_problem(_attest(admin, unsupervised), 409, "conflict")

    assert "asks for no supervised sessions" in problem["detail"]
    assert Certification.objects.get(pk=unsupervised.pk).scope_full_at is None


def test_a_revoked_certification_is_a_conflict(admin, provisional):
    assert (
        admin.post(
            f"/api/v1/certifications/{provisional.pk}/revoke/", {"reason": "Forged"}, format="json"
        ).status_code
        == 200
    )

    problem = assert_problem(_attest(admin, provisional), 409, "conflict")

    assert "revoked" in problem["detail"]


def test_an_unknown_certification_is_not_found(admin, provisional):
    response = admin.post(
        "/api/v1/certifications/00000000-0000-0000-0000-0000000000c1/scope-attest/",
        {"reason": "Proctored"},
        format="json",
    )
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("role", [Role.SPA_STAFF, Role.THERAPIST, Role.SCHOOL_STAFF])
def test_no_other_role_may_attest_not_even_on_its_own_certification(as_role, provisional, role):
    # certification A is the therapist's own, at the spa's therapist, of the school
    response = _attest(as_role(role), provisional)

    assert_problem(response, 403, "permission-denied")
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is None
    assert not AuditEvent.objects.filter(action="certification.scope_attested").exists()
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()


def test_not_signed_in_is_401(api_client, provisional):
    assert_problem(_attest(api_client, provisional), 401, "not-authenticated")


def test_the_schema_documents_the_operation_for_registry_admins():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/certifications/{id}/scope-attest/"]["post"]
    assert operation["x-roles"] == ["registry-admin"]
    assert "supervised sessions" in operation["summary"]
    assert "Who may call it: `registry-admin`" in operation["description"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReasonInputRequest"
    )
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Certification"
    )
    assert {"400", "401", "403", "404", "409"} <= set(operation["responses"])
    certification = schema["components"]["schemas"]["Certification"]["properties"]
    assert {"provisional", "supervised_sessions_done", "scope_full_at"} <= set(certification)
