"""Licence rosters over HTTP (``POST /api/v1/imports/`` kind ``license-roster``, registry admins
only): queued (202), applied by the task through the licence services, the report and its
findings read back; a roster that cannot be applied as a whole is a 400 (or a 413) problem
and changes nothing."""

from __future__ import annotations

import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from credentials.choices import LicenseStatus
from credentials.models import License
from registry.choices import Role
from registry.models import ImportJob
from registry.services.rosters import ROSTER_COLUMNS
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db
HEADER = ",".join(ROSTER_COLUMNS)


def _upload(content: str | bytes, name: str = "roster.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _post(client, content, jurisdiction="US-CA", **fields):
    body = {"kind": "license-roster", "file": _upload(content), **fields}
    if jurisdiction is not None:
        body["jurisdiction"] = jurisdiction
    return client.post("/api/v1/imports/", body, format="multipart")


@pytest.fixture
def licences(world):
    """Alice's and Bob's US-CA licences, with numbers a roster names."""
    License.objects.filter(pk=world.license_a.pk).update(number="CA-A")
    License.objects.filter(pk=world.license_b.pk).update(number="CA-B")
    return world


def _snapshot():
    return list(License.objects.order_by("number").values())


def test_an_admin_imports_a_roster_and_reads_its_findings(
    licences, as_role, django_capture_on_commit_callbacks
):
    admin = as_role(Role.REGISTRY_ADMIN)
    content = f"{HEADER}\nCA-A,Alice Able,suspended,2035-12-31\nCA-X,Xavier,active,2035-12-31\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, content)
    assert response.status_code == 202, response.content
    job = admin.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert (job["status"], job["rows"], job["accepted"], job["refused"]) == ("done", 2, 1, 1)
    assert job["report"] == [
        {
            "row": 3,
            "reasons": [{"code": "LICENSE_UNKNOWN", "message": "The registry has no licence CA-X in US-CA."}],
        }
    ]
    by_code = {finding["code"]: finding for finding in job["findings"]}
    assert set(by_code) == {"LICENSE_CHANGED", "NOT_ON_ROSTER"}
    assert by_code["LICENSE_CHANGED"]["license"] == str(licences.license_a.pk)
    assert by_code["NOT_ON_ROSTER"]["number"] == "CA-B"
    licence = admin.get(f"/api/v1/licenses/{licences.license_a.pk}/").json()
    assert licence["status"] == "suspended"
    assert licence["verified_source"] == f"US-CA licence roster roster.csv (import {response.json()['id']})"
    assert licence["verified_at"] is not None


def test_a_json_roster_is_accepted(licences, as_role, django_capture_on_commit_callbacks):
    entries = [
        {"license_number": "CA-A", "name": "Alice Able", "status": "active", "expires_on": "2035-12-31"}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(as_role(Role.REGISTRY_ADMIN), json.dumps(entries))
    assert response.status_code == 202, response.content
    assert License.objects.get(pk=licences.license_a.pk).verified_at is not None


def test_only_registry_admins_import_rosters(licences, as_role):
    content = f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\n"
    for role, status in (
        (Role.SCHOOL_STAFF, 403),
        (Role.SPA_STAFF, 403),
        (Role.THERAPIST, 403),
        ("anonymous", 401),
    ):
        assert_problem(_post(as_role(role), content), status)
    assert License.objects.get(pk=licences.license_a.pk).status == LicenseStatus.ACTIVE
    assert not ImportJob.objects.filter(kind="license-roster").exists()


@pytest.mark.parametrize(
    ("content", "jurisdiction", "field"),
    [
        ("number,holder\nCA-A,Alice Able\n", "US-CA", "file"),  # wrong columns
        (
            f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\nCA-A,Alice Able,active,2035-12-31\n",
            "US-CA",
            "file",
        ),
        (f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\n", "US-ZZ", "jurisdiction"),  # no licence there
        (f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\n", "Narnia", "jurisdiction"),
        (f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\n", None, "jurisdiction"),
        (f"{HEADER}\nCA-A,Alice Able,revoked,2035-12-31\n", "US-CA-TOO-LONG", "jurisdiction"),
        ("[1, 2, 3]", "US-CA", "file"),
        (b"\xff\xd8\xff\xe0 a picture, not a roster", "US-CA", "file"),
    ],
)
def test_a_bad_roster_is_a_400_and_changes_nothing(licences, as_role, content, jurisdiction, field):
    before = _snapshot()
    body = assert_problem(_post(as_role(Role.REGISTRY_ADMIN), content, jurisdiction), 400, "validation-error")
    assert field in body["errors"], body
    assert _snapshot() == before
    assert not ImportJob.objects.filter(kind="license-roster").exists()


def test_ten_megabytes_of_garbage_is_a_413_and_changes_nothing(licences, as_role):
    before = _snapshot()
    response = _post(as_role(Role.REGISTRY_ADMIN), os.urandom(10 * 1024 * 1024), "US-CA")
    assert_problem(response, 413, "payload-too-large")
    assert _snapshot() == before
    assert not ImportJob.objects.filter(kind="license-roster").exists()


def test_the_schema_documents_the_roster_kind_and_its_findings(world, as_role):
    schema = as_role("anonymous").get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "license-roster" in components["ImportKind"]["enum"]
    request = schema["paths"]["/api/v1/imports/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "jurisdiction" in components[request["schema"]["$ref"].split("/")[-1]]["properties"]
    assert set(components["RosterFinding"]["enum"]) == {"LICENSE_CHANGED", "NAME_MISMATCH", "NOT_ON_ROSTER"}
    licence = components["License"]["properties"]
    assert licence["verified_at"]["nullable"] is True
