"""The OpenAPI schema: valid with no warnings, every operation documents its problems as
problem+json, anonymous operations say so; Swagger UI served without a CDN."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import resolve

from tests.api.helpers import NOT_YET_ON_THE_PATTERN

ROOT = Path(__file__).resolve().parents[2]
ALWAYS = {"400", "401", "403", "404", "429"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("schema") / "schema.yaml"
    env = {
        **os.environ,
        "DEBUG": os.environ.get("DEBUG", "1"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "x"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return yaml.safe_load(out.read_text())


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_the_schema_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/therapists/{id}/licenses/" in schema["paths"]


def _on_the_pattern(path: str) -> bool:
    url = re.sub(r"{[^}]+}", "00000000-0000-0000-0000-000000000000", path)
    return resolve(url).func.cls.__module__ not in NOT_YET_ON_THE_PATTERN


def test_every_operation_documents_its_problems_as_problem_json(schema):
    for path, method, operation in _operations(schema):
        if not path.startswith("/api/v1/") or not _on_the_pattern(path):
            continue
        responses = operation["responses"]
        expected = set(ALWAYS)
        if "requestBody" in operation:
            expected.update({"413", "415"})  # every body: too large, or not a media type it reads
        if method != "get":
            expected.add("409")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            content = responses[status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            ref = content["application/problem+json"]["schema"]["$ref"]
            assert ref.endswith("/ValidationProblem" if status == "400" else "/Problem")


def test_the_problem_components_have_the_rfc_9457_members(schema):
    components = schema["components"]["schemas"]
    assert set(components["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert {"errors", "reasons"} <= set(components["Problem"]["properties"])
    assert "errors" in components["ValidationProblem"]["required"]


def test_anonymous_operations_need_no_authentication_and_others_do(schema):
    security = {(m, p): op.get("security", []) for p, m, op in _operations(schema)}
    assert {} in security[("get", "/api/v1/protocols/")]
    assert {} in security[("get", "/api/v1/verify/{serial}/")]
    assert {} not in security[("get", "/api/v1/therapists/")]
    assert {} not in security[("post", "/api/v1/users/")]


def test_the_condition_lookup_is_a_string_and_the_therapist_id_a_uuid(schema):
    condition = schema["paths"]["/api/v1/conditions/{code}/"]["get"]["parameters"][0]
    assert condition["schema"]["type"] == "string"
    therapist = schema["paths"]["/api/v1/therapists/{id}/"]["get"]["parameters"][0]
    assert therapist["schema"] == {"type": "string", "format": "uuid"}


def test_enums_are_named_after_their_choice_sets(schema):
    components = schema["components"]["schemas"]
    assert components["CertificationStatus"]["enum"] == ["active", "not-yet-valid", "expired", "revoked"]
    assert "whole-body" in components["BodyRegion"]["enum"]


@pytest.mark.django_db
def test_the_schema_and_swagger_ui_are_served_without_a_cdn(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"].startswith("Therapist credential")
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_a_handler_declares_extra_problems_with_the_decorator():
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.response import Response

    from api.permissions import ADMIN
    from api.schema import problems
    from api.views.base import RegistryAPIView

    class Issue(RegistryAPIView):
        action_roles = {"post": ADMIN}

        @problems(422)
        def post(self, request):
            return Response({})

    generated = SchemaGenerator(patterns=[path("api/v1/issue/", Issue.as_view())]).get_schema(public=True)
    responses = generated["paths"]["/api/v1/issue/"]["post"]["responses"]
    assert "422" in responses
    assert "application/problem+json" in responses["422"]["content"]


def test_every_operation_says_which_roles_may_call_it(schema):
    """What a role may do is in the schema, so a client (or a fuzzer) can tell a 403 it should
    expect from one it should not: e.g. only spa staff book, only registry admins add schools."""
    roles = {(path, method): operation.get("x-roles") for path, method, operation in _operations(schema)}
    assert roles[("/api/v1/bookings/", "post")] == ["spa-staff"]
    assert roles[("/api/v1/schools/", "post")] == ["registry-admin"]
    assert roles[("/api/v1/protocols/", "get")][0] == "anonymous"
    for (path, method), names in roles.items():
        if path.startswith("/api/v1/"):
            assert names, f"{method.upper()} {path} does not say who may call it"
    operation = schema["paths"]["/api/v1/bookings/"]["post"]
    assert "Who may call it: `spa-staff`" in operation["description"]
