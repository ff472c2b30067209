"""Authentication: tokens, session login for the browsable API, /me, rotation and
revocation, and the throttles on login and rotation."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from core.models import AuditEvent
from core.tests.factories import UserFactory
from registry.choices import Role
from tests.api.helpers import ProblemCheckingClient, assert_problem

ME_KEYS = {"id", "username", "role", "spa", "school", "therapist"}


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_me_answers_the_callers_role_and_tenant(client_for):
    client = client_for(Role.SPA_STAFF)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ME_KEYS
    membership = client.user.membership
    assert body == {
        "id": str(client.user.pk),
        "username": client.user.username,
        "role": "spa-staff",
        "spa": str(membership.spa_id),
        "school": None,
        "therapist": None,
    }


def test_me_of_a_user_without_a_role_has_role_null(db):
    user = UserFactory()
    client = ProblemCheckingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["role"] is None


def test_no_credentials_is_401_not_authenticated_with_a_token_challenge(api_client, db):
    response = api_client.get("/api/v1/me/")
    body = assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert body["detail"]


def test_an_unknown_token_is_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_problem(api_client.get("/api/v1/me/"), 401, "not-authenticated")


def test_an_unknown_token_is_401_even_on_a_public_route(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_problem(api_client.get("/api/v1/protocols/"), 401, "not-authenticated")


def test_session_login_serves_the_browsable_api(make_user, db):
    user = make_user(Role.REGISTRY_ADMIN, password="a-long-test-password-42")
    client = ProblemCheckingClient(enforce_csrf_checks=False)
    page = client.get("/api-auth/login/")
    assert page.status_code == 200
    response = client.post(
        "/api-auth/login/",
        {"username": user.username, "password": "a-long-test-password-42", "next": "/api/v1/me/"},
    )
    assert response.status_code == 302
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    html = client.get("/api/v1/therapists/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")


def test_session_login_is_throttled(db, settings):
    _rates(settings, login="2/min")
    client = ProblemCheckingClient()
    for _ in range(2):
        assert client.post("/api-auth/login/", {"username": "x", "password": "y"}).status_code == 200
    response = client.post("/api-auth/login/", {"username": "x", "password": "y"})
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_rotating_gives_a_new_token_and_the_old_one_stops_working(client_for):
    client = client_for(Role.THERAPIST)
    old = client.user.token
    response = client.post("/api/v1/tokens/rotate/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    new = response.json()["token"]
    assert set(response.json()) == {"token"}
    assert new != old

    assert_problem(client.get("/api/v1/me/"), 401, "not-authenticated")
    client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert client.get("/api/v1/me/").status_code == 200
    assert AuditEvent.objects.filter(action="token.rotated", object_id=str(client.user.pk)).count() == 1


def test_rotation_is_throttled(client_for, settings):
    _rates(settings, **{"token-rotate": "1/min"})
    client = client_for(Role.THERAPIST)
    token = client.post("/api/v1/tokens/rotate/").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert_problem(client.post("/api/v1/tokens/rotate/"), 429, "throttled")


def test_throttling_off_lets_every_rotation_through(client_for, settings):
    _rates(settings, **{"token-rotate": "1/min"})
    settings.THROTTLING_ENABLED = False
    client = client_for(Role.THERAPIST)
    for _ in range(3):
        response = client.post("/api/v1/tokens/rotate/")
        assert response.status_code == 200
        client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def test_deleting_the_current_token_revokes_it(client_for):
    client = client_for(Role.SCHOOL_STAFF)
    response = client.delete("/api/v1/tokens/current/")
    assert response.status_code == 204
    assert response.content == b""
    assert not Token.objects.filter(user=client.user).exists()
    assert_problem(client.get("/api/v1/me/"), 401, "not-authenticated")


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.REGISTRY_ADMIN])
def test_a_token_revoked_by_its_user_cannot_rotate_either(client_for, role):
    client = client_for(role)
    client.delete("/api/v1/tokens/current/")
    assert_problem(client.post("/api/v1/tokens/rotate/"), 401, "not-authenticated")
