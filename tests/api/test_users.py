"""Users: ``POST /users/`` (registry admins), the ``user_create`` service's rules, and the
``issue_token`` management command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from core.errors import DomainError
from core.models import AuditEvent, User
from credentials.tests.factories import SchoolFactory, TherapistFactory
from registry.choices import Role
from registry.models import Membership
from registry.services.accounts import token_ensure, token_revoke, token_rotate, user_create
from registry.tests.factories import SpaFactory
from tests.api.helpers import assert_problem

CREATED_KEYS = {"id", "username", "role", "spa", "school", "therapist", "token"}


@pytest.fixture
def admin(client_for):
    return client_for(Role.REGISTRY_ADMIN)


def test_admin_creates_a_spa_staff_user_whose_token_works(admin):
    spa = SpaFactory()
    response = admin.post(
        "/api/v1/users/", {"username": "desk", "role": "spa-staff", "spa": str(spa.pk)}, format="json"
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == CREATED_KEYS
    assert body["role"] == "spa-staff"
    assert body["spa"] == str(spa.pk)
    assert body["school"] is None
    assert body["therapist"] is None

    user = User.objects.get(pk=body["id"])
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).spa_id == spa.pk
    assert (
        AuditEvent.objects.filter(action="user.created", object_id=str(user.pk), actor=admin.user).count()
        == 1
    )

    admin.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert admin.get("/api/v1/me/").json()["username"] == "desk"


def test_a_password_is_checked_by_the_password_validators(admin):
    school = SchoolFactory()
    body = {"username": "teacher", "role": "school-staff", "school": str(school.pk), "password": "123"}
    problem = assert_problem(admin.post("/api/v1/users/", body, format="json"), 400, "validation-error")
    assert "password" in problem["errors"]
    body["password"] = "a-long-test-password-42"
    response = admin.post("/api/v1/users/", body, format="json")
    assert response.status_code == 201
    assert User.objects.get(username="teacher").check_password("a-long-test-password-42")


@pytest.mark.parametrize(
    ("role", "tenants", "field"),
    [
        ("spa-staff", {}, "spa"),
        ("school-staff", {}, "school"),
        ("therapist", {}, "therapist"),
        ("spa-staff", {"spa": "spa", "school": "school"}, "school"),
        ("registry-admin", {"therapist": "therapist"}, "therapist"),
    ],
)
def test_the_tenant_must_match_the_role(admin, role, tenants, field):
    made = {"spa": SpaFactory, "school": SchoolFactory, "therapist": TherapistFactory}
    body = {"username": "someone", "role": role, **{k: str(made[k]().pk) for k in tenants}}
    problem = assert_problem(admin.post("/api/v1/users/", body, format="json"), 400, "validation-error")
    assert field in problem["errors"]
    assert not User.objects.filter(username="someone").exists()


def test_an_unknown_role_is_a_field_error(admin):
    problem = assert_problem(
        admin.post("/api/v1/users/", {"username": "x", "role": "janitor"}, format="json"), 400
    )
    assert "role" in problem["errors"]


def test_a_username_is_unique_ignoring_case(admin, make_user):
    make_user(Role.REGISTRY_ADMIN, username="Front-Desk")
    problem = assert_problem(
        admin.post("/api/v1/users/", {"username": "front-desk", "role": "registry-admin"}, format="json"), 400
    )
    assert problem["errors"] == {"username": ["A user with this username already exists."]}


def test_naming_a_spa_that_does_not_exist_is_a_field_error(admin):
    body = {"username": "x", "role": "spa-staff", "spa": "00000000-0000-0000-0000-000000000000"}
    problem = assert_problem(admin.post("/api/v1/users/", body, format="json"), 400)
    assert list(problem["errors"]) == ["spa"]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.SPA_STAFF, Role.SCHOOL_STAFF])
def test_only_registry_admins_create_users(client_for, role):
    client = client_for(role)
    response = client.post("/api/v1/users/", {"username": "x", "role": "registry-admin"}, format="json")
    assert_problem(response, 403, "permission-denied")
    assert not User.objects.filter(username="x").exists()


# --- the service ------------------------------------------------------------------------------


def test_user_create_collects_every_field_error_at_once(db):
    with pytest.raises(DomainError) as caught:
        user_create(actor=None, username="", role="spa-staff", school=SchoolFactory(), password="1")
    assert set(caught.value.errors) == {"username", "spa", "school", "password"}


def test_token_rotate_and_revoke_are_audited(db):
    user, first = user_create(actor=None, username="t", role=Role.REGISTRY_ADMIN)
    second = token_rotate(user=user)
    assert second != first
    assert Token.objects.get(user=user).key == second
    token_revoke(user=user)
    assert not Token.objects.filter(user=user).exists()
    assert token_ensure(user=user) != second
    actions = list(AuditEvent.objects.filter(object_id=str(user.pk)).values_list("action", flat=True))
    assert actions == ["user.created", "token.rotated", "token.revoked", "token.issued"]


# --- issue_token ------------------------------------------------------------------------------


def _issue(*args: str) -> list[str]:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_issue_token_creates_the_user_and_prints_the_token_last(db):
    spa = SpaFactory()
    lines = _issue("--username", "desk", "--role", "spa-staff", "--spa", str(spa.pk))
    user = User.objects.get(username="desk")
    assert lines[-1] == Token.objects.get(user=user).key
    assert user.membership.role == "spa-staff"
    assert user.membership.spa_id == spa.pk


def test_issue_token_reuses_an_existing_users_token(db):
    first = _issue("--username", "root", "--role", "registry-admin")[-1]
    again = _issue("--username", "root", "--role", "registry-admin")[-1]
    assert again == first
    assert User.objects.filter(username="root").count() == 1


def test_issue_token_for_an_existing_user_needs_no_tenant_again(db):
    spa = SpaFactory()
    first = _issue("--username", "desk", "--role", "spa-staff", "--spa", str(spa.pk))[-1]
    assert _issue("--username", "desk", "--role", "spa-staff")[-1] == first
    with pytest.raises(CommandError, match="exists as spa-staff"):
        _issue("--username", "desk", "--role", "spa-staff", "--spa", str(SpaFactory().pk))


def test_issue_token_refuses_another_role_for_an_existing_user(db):
    _issue("--username", "root", "--role", "registry-admin")
    with pytest.raises(CommandError, match="exists as registry-admin"):
        _issue("--username", "root", "--role", "school-staff", "--school", str(SchoolFactory().pk))


def test_issue_token_explains_a_missing_tenant(db):
    with pytest.raises(CommandError, match="needs a therapist"):
        _issue("--username", "t", "--role", "therapist")


def test_issue_token_refuses_an_unknown_tenant_id(db):
    with pytest.raises(CommandError, match="No spa with id"):
        _issue("--username", "t", "--role", "spa-staff", "--spa", "nope")
