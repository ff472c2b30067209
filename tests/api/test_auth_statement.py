"""Token authentication in one statement, nothing cached between requests (issue 24): a
revoked token, a deactivated user and a changed role are seen by the very next request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from registry.choices import Role
from registry.models import Membership
from registry.services.accounts import token_revoke, token_rotate
from registry.tests.factories import SpaFactory

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def staff(make_user):
    spa = SpaFactory()
    user = make_user(Role.SPA_STAFF, spa=spa)
    token = user.token
    return user, token, spa


def test_me_costs_one_statement_token_user_membership_and_spa(staff):
    _user, token, spa = staff
    client = _client(token)
    client.get("/api/v1/me/")  # the connection and the prepared statement set up
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["role"] == Role.SPA_STAFF
    assert str(spa.pk) in str(response.json())
    assert len(ctx.captured_queries) == 1


def test_a_revoked_token_is_refused_by_the_next_request(staff):
    user, token, _ = staff
    client = _client(token)
    assert client.get("/api/v1/me/").status_code == 200
    token_revoke(user=user)
    assert client.get("/api/v1/me/").status_code == 401


def test_a_rotated_token_is_refused_and_the_new_one_works_at_once(staff):
    user, token, _ = staff
    client = _client(token)
    assert client.get("/api/v1/me/").status_code == 200
    new = token_rotate(user=user)
    assert client.get("/api/v1/me/").status_code == 401
    assert _client(new).get("/api/v1/me/").status_code == 200


def test_a_deactivated_user_is_refused_by_the_next_request(staff):
    user, token, _ = staff
    client = _client(token)
    assert client.get("/api/v1/me/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/me/").status_code == 401


def test_a_role_change_is_seen_by_the_next_request(staff):
    user, token, _spa = staff
    client = _client(token)
    assert client.get("/api/v1/me/").json()["role"] == Role.SPA_STAFF
    Membership.objects.filter(user=user).update(role=Role.REGISTRY_ADMIN, spa=None)
    assert client.get("/api/v1/me/").json()["role"] == Role.REGISTRY_ADMIN


def test_a_token_with_a_nul_character_is_401_not_500(db):
    assert _client("abc\x00def").get("/api/v1/me/").status_code == 401
