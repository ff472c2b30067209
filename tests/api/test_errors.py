"""Every error is problem+json: unknown routes, bad bodies, wrong methods and media types,
too large, the browsable API, and the handler's mapping of domain and database errors."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from rest_framework import exceptions

from api.exceptions import flatten_errors, problem_exception_handler
from api.views.errors import not_found, server_error
from core.errors import Conflict, DomainError, NotFound
from credentials.tests.factories import TherapistFactory
from registry.choices import Role
from registry.tests.factories import EmploymentFactory, SpaFactory
from tests.api.helpers import ProblemCheckingClient, assert_problem


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing", "/api/v1/therapists/x/y/z/"])
def test_an_unknown_api_route_is_a_404_problem(api_client, db, path):
    assert_problem(api_client.get(path), 404, "not-found")


def test_a_get_without_the_trailing_slash_is_redirected(api_client, db):
    response = api_client.get("/api/v1/protocols?region=lumbar")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/protocols/?region=lumbar"


def test_a_post_without_the_trailing_slash_is_a_404_with_a_hint(client_for):
    response = client_for(Role.REGISTRY_ADMIN).post("/api/v1/users", {}, format="json")
    assert "/api/v1/users/" in assert_problem(response, 404, "not-found")["detail"]


def test_unparseable_json_is_a_400_validation_problem(client_for):
    client = client_for(Role.REGISTRY_ADMIN)
    response = client.post("/api/v1/users/", data="{not json", content_type="application/json")
    problem = assert_problem(response, 400, "validation-error")
    assert "JSON parse error" in problem["errors"]["non_field_errors"][0]


def test_an_unsupported_media_type_is_a_415_problem(client_for):
    client = client_for(Role.REGISTRY_ADMIN)
    response = client.post("/api/v1/users/", data="username=x", content_type="text/plain")
    assert_problem(response, 415, "unsupported-media-type")


def test_a_body_over_the_limit_is_a_413_problem(client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = client_for(Role.REGISTRY_ADMIN)
    body = {"username": "x" * 200, "role": "registry-admin"}
    assert_problem(client.post("/api/v1/users/", body, format="json"), 413, "payload-too-large")


def test_a_wrong_method_is_a_405_problem(api_client, db):
    response = api_client.put("/api/v1/protocols/", {}, format="json")
    assert_problem(response, 405, "method-not-allowed")


def test_the_browsable_api_renders_problems_as_html(db):
    client = ProblemCheckingClient()
    client.check_problems = False
    response = client.get("/api/v1/therapists/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")


def test_validation_errors_of_nested_fields_are_dotted_paths():
    detail = {
        "modules": [{}, {"hours": ["Must be positive."]}, {"non_field_errors": ["Duplicate kind."]}],
        "non_field_errors": ["Something is off."],
        "therapist": ["Invalid pk."],
    }
    assert flatten_errors(detail) == {
        "modules.1.hours": ["Must be positive."],
        "modules.2": ["Duplicate kind."],
        "non_field_errors": ["Something is off."],
        "therapist": ["Invalid pk."],
    }


def _handled(exc):
    return problem_exception_handler(exc, {})  # an unrendered Response: data and content_type


@pytest.mark.parametrize(
    ("exc", "status", "name"),
    [
        (DomainError("Bad input.", errors={"spa": ["Required."]}), 400, "validation-error"),
        (NotFound("No such booking."), 404, "not-found"),
        (Conflict("Already revoked."), 409, "conflict"),
        (exceptions.Throttled(wait=12), 429, "throttled"),
        (exceptions.PermissionDenied(), 403, "permission-denied"),
    ],
)
def test_the_handler_maps_exceptions_to_problems(exc, status, name):
    response = _handled(exc)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.data["type"] == f"/problems/{name}"
    assert response.data["status"] == status
    if status == 400:
        assert response.data["errors"] == {"spa": ["Required."]}
    if status == 429:
        assert response["Retry-After"] == "13"


@pytest.mark.django_db
def test_a_constraint_violation_is_a_409_with_the_constraints_message():
    employment = EmploymentFactory(spa=SpaFactory(), therapist=TherapistFactory())
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        EmploymentFactory(spa=employment.spa, therapist=employment.therapist)
    response = _handled(caught.value)
    assert response.status_code == 409
    assert response.data["type"] == "/problems/conflict"
    assert response.data["detail"] == "The therapist is already employed at this spa."


def test_an_unexpected_exception_is_left_to_django():
    assert problem_exception_handler(RuntimeError("bug"), {}) is None


@pytest.mark.parametrize(("path", "api"), [("/api/v1/x/", True), ("/elsewhere/", False)])
def test_the_404_and_500_handlers_answer_problems_under_api_only(path, api):
    request = RequestFactory().get(path)
    for handler, status in ((lambda r: not_found(r, None), 404), (server_error, 500)):
        response = handler(request)
        assert response.status_code == status
        if api:
            assert response["Content-Type"] == "application/problem+json"
        else:
            assert response["Content-Type"].startswith("text/html")
