"""The credential endpoints: a certification's signed credential (who may fetch it, in which
content type), the public keys, and online verification."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.tests.factories import UserFactory
from credentials.tests.factories import CertificationFactory, SchoolFactory, TherapistFactory
from credentials.vc.document import credential_document
from credentials.vc.jws import verify_compact
from registry.choices import Role
from registry.models import Employment, Membership, Spa

JWT = "application/vc+jwt"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def signing_keys(settings, tmp_path):
    settings.REGISTRY_SIGNING_KEYS = tmp_path / "signing-keys"
    return settings.REGISTRY_SIGNING_KEYS


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def certification(db):
    return CertificationFactory()


@pytest.fixture
def spa(db):
    return Spa.objects.create(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")


def client_for(role: str | None, **tenant) -> APIClient:
    """An API client with a token for a new user of ``role`` (no membership when None)."""
    user = UserFactory()
    if role is not None:
        Membership.objects.create(user=user, role=role, **tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def url(certification) -> str:
    return f"/api/v1/certifications/{certification.pk}/credential/"


def jwks() -> dict:
    return APIClient().get("/.well-known/jwks.json").json()


# --- GET /api/v1/certifications/{id}/credential/ ---------------------------------------------


def test_the_credential_is_a_compact_jws_by_default(certification):
    response = client_for(Role.THERAPIST, therapist=certification.therapist).get(url(certification))
    assert response.status_code == 200
    assert response["Content-Type"] == JWT
    assert "Accept" in response["Vary"]
    token = response.content.decode()
    assert token.count(".") == 2
    result = verify_compact(token, jwks(), timezone.now())
    assert result.valid, result.checks


def test_accept_vc_jwt_gives_the_jws_and_accept_json_the_credential(certification):
    client = client_for(Role.REGISTRY_ADMIN)
    assert client.get(url(certification), HTTP_ACCEPT=JWT)["Content-Type"] == JWT

    response = client.get(url(certification), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == credential_document(certification)


def test_an_unacceptable_media_type_is_a_406_problem(certification):
    response = client_for(Role.REGISTRY_ADMIN).get(url(certification), HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response["Content-Type"] == PROBLEM


def test_anonymous_is_401(certification):
    response = APIClient().get(url(certification))
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-authenticated"
    assert "WWW-Authenticate" in response


def test_another_schools_staff_gets_404_and_the_issuing_schools_staff_the_credential(certification):
    other = client_for(Role.SCHOOL_STAFF, school=SchoolFactory())
    response = other.get(url(certification))
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-found"

    own = client_for(Role.SCHOOL_STAFF, school=certification.school)
    assert own.get(url(certification)).status_code == 200


def test_a_therapist_reads_their_own_credential_only(certification):
    assert (
        client_for(Role.THERAPIST, therapist=certification.therapist).get(url(certification)).status_code
        == 200
    )
    stranger = client_for(Role.THERAPIST, therapist=TherapistFactory())
    assert stranger.get(url(certification)).status_code == 404


def test_spa_staff_read_the_credentials_of_therapists_employed_at_their_spa(certification, spa):
    desk = client_for(Role.SPA_STAFF, spa=spa)
    assert desk.get(url(certification)).status_code == 404

    employment = Employment.objects.create(
        spa=spa, therapist=certification.therapist, started_on=dt.date(2024, 1, 1)
    )
    assert desk.get(url(certification)).status_code == 200

    Employment.objects.filter(pk=employment.pk).update(ended_on=timezone.localdate() - dt.timedelta(days=2))
    assert desk.get(url(certification)).status_code == 404

    other_spa = Spa.objects.create(name="Other Spa", jurisdiction="US-CA", timezone="UTC")
    Employment.objects.create(
        spa=other_spa, therapist=certification.therapist, started_on=dt.date(2024, 1, 1)
    )
    assert desk.get(url(certification)).status_code == 404


def test_an_unknown_certification_is_a_404_and_a_user_without_a_role_a_403(certification):
    admin = client_for(Role.REGISTRY_ADMIN)
    assert admin.get(f"/api/v1/certifications/{uuid.uuid4()}/credential/").status_code == 404
    response = client_for(None).get(url(certification))
    assert response.status_code == 403  # as everywhere in the API: signed in, but no role
    assert response.json()["type"] == "/problems/permission-denied"


def test_the_credential_endpoint_reads_a_fixed_number_of_queries(db, django_assert_num_queries):
    school = SchoolFactory()
    client = client_for(Role.SCHOOL_STAFF, school=school)
    for certification in (CertificationFactory(school=school), CertificationFactory(school=school)):
        # token + user + membership, the certification with its relations, two prefetches
        with django_assert_num_queries(4):
            assert client.get(url(certification)).status_code == 200


# --- the round trip: issued, then verified online and offline ---------------------------------


def test_an_issued_credential_verifies_online_offline_and_with_the_command(certification, tmp_path):
    token = client_for(Role.REGISTRY_ADMIN).get(url(certification)).content.decode()
    keys = jwks()

    online = APIClient().post("/api/v1/verify/", {"credential": token}, format="json")
    assert online.status_code == 200
    assert online.json()["valid"] is True
    assert [c["check"] for c in online.json()["checks"]] == [
        "format", "algorithm", "kid", "signature", "validity-window", "jsonld-terms", "status",
    ]  # fmt: skip
    assert all(c["passed"] is True for c in online.json()["checks"])  # online, status is checked

    assert verify_compact(token, keys, timezone.now()).valid

    (tmp_path / "credential.jwt").write_text(token)
    (tmp_path / "jwks.json").write_text(json.dumps(keys))
    out = io.StringIO()
    call_command(
        "verify_credential", str(tmp_path / "credential.jwt"), jwks=str(tmp_path / "jwks.json"), stdout=out
    )
    assert "FAIL" not in out.getvalue()
    assert "SKIP  status" in out.getvalue()
    assert "NOT checked: status" in out.getvalue()

    status_list = APIClient().get(status_list_url(certification)).content.decode()
    (tmp_path / "status-list.jwt").write_text(status_list)
    out = io.StringIO()
    call_command(
        "verify_credential",
        str(tmp_path / "credential.jwt"),
        jwks=str(tmp_path / "jwks.json"),
        status_list=str(tmp_path / "status-list.jwt"),
        stdout=out,
    )
    assert "PASS  status" in out.getvalue()
    assert out.getvalue().strip().endswith("the credential is valid")


# --- GET /api/v1/status-lists/{id}/ -------------------------------------------------------------


def status_list_url(certification) -> str:
    return f"/api/v1/status-lists/{certification.status_list_id}/"


def test_the_status_list_is_public_a_jws_by_default_and_json_on_request(certification, settings):
    response = APIClient().get(status_list_url(certification))
    assert response.status_code == 200
    assert response["Content-Type"] == JWT
    assert "Accept" in response["Vary"]
    assert response["Cache-Control"] == "no-cache"
    token = response.content.decode()
    result = verify_compact(token, jwks(), timezone.now(), status_list=None)
    assert failed_checks(result) == ["jsonld-terms"]  # a status list is not a certificate

    assert APIClient().get(status_list_url(certification), HTTP_ACCEPT=JWT)["Content-Type"] == JWT
    response = APIClient().get(status_list_url(certification), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["id"] == f"{settings.REGISTRY_BASE_URL}{status_list_url(certification)}"
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    assert document["credentialSubject"]["encodedList"].startswith("u")


def test_the_status_list_answers_with_a_bad_token_and_without_one(certification):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(status_list_url(certification)).status_code == 200


def test_an_unknown_status_list_is_a_404_problem_and_an_unacceptable_type_a_406(certification):
    response = APIClient().get(f"/api/v1/status-lists/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-found"
    response = APIClient().get(status_list_url(certification), HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response["Content-Type"] == PROBLEM


def test_the_status_list_reads_one_query(certification, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert APIClient().get(status_list_url(certification)).status_code == 200


def failed_checks(result) -> list[str]:
    return [c.check for c in result.checks if c.passed is False]


# --- GET /.well-known/jwks.json -----------------------------------------------------------------


def test_the_jwks_is_public_and_holds_only_public_keys(certification):
    assert jwks() == {"keys": []}
    client_for(Role.REGISTRY_ADMIN).get(url(certification))
    response = APIClient().get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")


def test_the_jwks_answers_even_with_a_bad_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.post("/api/v1/verify/", {"credential": "x"}, format="json").status_code == 200


# --- POST /api/v1/verify/ -----------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["", "not a jws", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_verifying_a_malformed_credential_is_valid_false_not_400(db, credential):
    response = APIClient().post("/api/v1/verify/", {"credential": credential}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["checks"][-1]["passed"] is False
    assert body["checks"][-1]["check"] == "format"


def test_verifying_a_forgery_names_the_failing_check(certification):
    token = client_for(Role.REGISTRY_ADMIN).get(url(certification)).content.decode()
    header, payload, _signature = token.split(".")
    none = base64.urlsafe_b64encode(
        json.dumps(
            {**json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))), "alg": "none"}
        ).encode()
    )
    forged = f"{none.rstrip(b'=').decode()}.{payload}."
    response = APIClient().post("/api/v1/verify/", {"credential": forged}, format="json")
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert [c["check"] for c in response.json()["checks"] if not c["passed"]] == ["algorithm"]


@pytest.mark.parametrize(
    "body", [{}, {"credential": None}, {"credential": 42}, {"credential": ["a"]}, {"jws": "x"}]
)
def test_a_missing_or_non_string_credential_is_a_400_problem(db, body):
    response = APIClient().post("/api/v1/verify/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert "credential" in problem["errors"]


@pytest.mark.parametrize("raw", [b"not json", b'["a list"]', b'"a string"'])
def test_a_body_that_is_not_a_json_object_is_a_400_problem(db, raw):
    response = APIClient().generic("POST", "/api/v1/verify/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_verification_is_throttled_for_anonymous_callers(db, settings):
    settings.THROTTLING_ENABLED = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon-read": "2/min"},
    }
    client = APIClient()
    for _ in range(2):
        assert client.post("/api/v1/verify/", {"credential": "x"}, format="json").status_code == 200
    response = client.post("/api/v1/verify/", {"credential": "x"}, format="json")
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert "Retry-After" in response

    settings.THROTTLING_ENABLED = False
    assert client.post("/api/v1/verify/", {"credential": "x"}, format="json").status_code == 200


# --- OpenAPI ------------------------------------------------------------------------------------


def test_the_schema_documents_the_endpoints_and_their_problems():
    from api import urls_vc

    schema = SchemaGenerator(patterns=urls_vc.urlpatterns).get_schema(request=None, public=True)
    credential = schema["paths"]["/api/v1/certifications/{id}/credential/"]["get"]["responses"]
    assert set(credential["200"]["content"]) == {JWT, "application/json"}
    for status in ("401", "404"):
        assert PROBLEM in credential[status]["content"]

    verify = schema["paths"]["/api/v1/verify/"]["post"]["responses"]
    for status in ("400", "429"):
        assert PROBLEM in verify[status]["content"]

    status_list = schema["paths"]["/api/v1/status-lists/{id}/"]["get"]["responses"]
    assert set(status_list["200"]["content"]) == {JWT, "application/json"}
    for status in ("404", "406", "429"):
        assert PROBLEM in status_list[status]["content"]
    assert "429" in schema["paths"]["/.well-known/jwks.json"]["get"]["responses"]
