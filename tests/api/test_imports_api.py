"""Imports over HTTP: a CSV queued (202), processed by the task through the services, its
report read back by its owner; school staff import certifications for their own school only;
a file over the body limit is a 413 problem."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from credentials.models import Therapist
from registry.choices import Role
from registry.models import ImportJob
from registry.services.imports import CERTIFICATION_COLUMNS, THERAPIST_COLUMNS
from tests.api.helpers import assert_problem

THERAPISTS_CSV = (
    ",".join(THERAPIST_COLUMNS)
    + "\nNora Quinn,nora@example.org,US-CA,MT900001,active,2020-01-01,2035-12-31"
    + "\nOwen Park,owen@example.org,US-CA,MT900002,active,not-a-date,2035-12-31\n"
)


def _csv(text: str, name: str = "rows.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _post(client, **fields):
    return client.post("/api/v1/imports/", fields, format="multipart")


def test_an_admin_imports_therapists_and_reads_the_report(world, as_role, django_capture_on_commit_callbacks):
    admin = as_role(Role.REGISTRY_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, kind="therapists", file=_csv(THERAPISTS_CSV))
    assert response.status_code == 202, response.content
    accepted = response.json()
    assert set(accepted) == {"id", "status"}
    assert accepted["status"] == "queued"
    report = admin.get(f"/api/v1/imports/{accepted['id']}/").json()
    assert set(report) == {"status", "rows", "accepted", "refused", "report", "findings"}
    assert report["findings"] == []  # a licence roster's only
    assert (report["status"], report["rows"], report["accepted"], report["refused"]) == ("done", 2, 1, 1)
    [refused] = report["report"]
    assert refused["row"] == 3
    assert refused["reasons"][0]["field"] == "valid_from"
    assert Therapist.objects.filter(name="Nora Quinn").exists()
    assert not Therapist.objects.filter(name="Owen Park").exists()


@pytest.fixture
def certifications_csv(world):
    taught = (timezone.now() - dt.timedelta(days=20)).date().isoformat()
    row = [
        str(world.therapist_b.pk),
        world.protocol.slug,
        str(world.instructor_a.pk),
        taught,
        taught,
        "10",
        "true",
        "10",
        "true",
        "10",
        "true",
    ]
    bad = [
        str(world.therapist_a.pk),
        "no-such-protocol",
        str(world.instructor_a.pk),
        taught,
        taught,
        *row[5:],
    ]
    return "\n".join([",".join(CERTIFICATION_COLUMNS), ",".join(row), ",".join(bad)]) + "\n"


def test_school_staff_import_certifications_for_their_school(
    world, as_role, certifications_csv, django_capture_on_commit_callbacks
):
    school = as_role(Role.SCHOOL_STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(school, kind="certifications", file=_csv(certifications_csv))
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.school == world.school_a
    report = school.get(f"/api/v1/imports/{job.pk}/").json()
    assert (report["status"], report["accepted"], report["refused"]) == ("done", 1, 1)
    assert report["report"][0]["reasons"][0]["field"] == "protocol"
    assert world.therapist_b.certifications.filter(school=world.school_a).count() == 1


def test_school_staff_may_not_import_therapists_or_for_another_school(world, as_role, certifications_csv):
    school = as_role(Role.SCHOOL_STAFF)
    assert_problem(_post(school, kind="therapists", file=_csv(THERAPISTS_CSV)), 403, "permission-denied")
    response = _post(
        school, kind="certifications", school=str(world.school_b.pk), file=_csv(certifications_csv)
    )
    assert "does not exist" in assert_problem(response, 400)["errors"]["school"][0]
    assert ImportJob.objects.count() == 0


def test_an_admin_names_the_school_of_a_certification_import(world, as_role, certifications_csv):
    admin = as_role(Role.REGISTRY_ADMIN)
    assert (
        "school"
        in assert_problem(_post(admin, kind="certifications", file=_csv(certifications_csv)), 400)["errors"]
    )
    response = _post(
        admin, kind="certifications", school=str(world.school_b.pk), file=_csv(certifications_csv)
    )
    assert response.status_code == 202
    assert ImportJob.objects.get(pk=response.json()["id"]).school == world.school_b


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "therapists", "file": "name,email\nA,a@example.org\n"}, "file"),  # columns missing
        ({"kind": "instructors", "file": THERAPISTS_CSV}, "kind"),
        ({"kind": "therapists"}, "file"),
    ],
)
def test_what_cannot_be_imported_at_all_is_a_400(world, as_role, fields, field):
    fields = {k: _csv(v) if k == "file" else v for k, v in fields.items()}
    assert field in assert_problem(_post(as_role(Role.REGISTRY_ADMIN), **fields), 400)["errors"]


def test_a_file_that_is_not_utf8_is_a_400(world, as_role):
    upload = SimpleUploadedFile("rows.csv", b"\xff\xfe\x00n\x00a", content_type="text/csv")
    assert (
        "file"
        in assert_problem(_post(as_role(Role.REGISTRY_ADMIN), kind="therapists", file=upload))["errors"]
    )


def test_a_file_over_the_body_limit_is_a_413_problem(world, as_role, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    big = THERAPISTS_CSV + "\n".join(
        f"T{n},t{n}@example.org,US-CA,MT{n},active,2020-01-01,2035-12-31" for n in range(9)
    )
    response = _post(as_role(Role.REGISTRY_ADMIN), kind="therapists", file=_csv(big))
    assert_problem(response, 413, "payload-too-large")
    assert ImportJob.objects.count() == 0


def test_a_json_body_is_an_unsupported_media_type(world, as_role):
    response = as_role(Role.REGISTRY_ADMIN).post("/api/v1/imports/", {"kind": "therapists"}, format="json")
    assert_problem(response, 415, "unsupported-media-type")


def test_imports_are_read_by_their_school_and_admins_only(world, as_role, client_for, certifications_csv):
    job = ImportJob.objects.get(
        pk=_post(as_role(Role.SCHOOL_STAFF), kind="certifications", file=_csv(certifications_csv)).json()[
            "id"
        ]
    )
    url = f"/api/v1/imports/{job.pk}/"
    assert as_role(Role.REGISTRY_ADMIN).get(url).json()["status"] == "queued"
    assert client_for(Role.SCHOOL_STAFF, school=world.school_a).get(url).status_code == 200  # a colleague
    assert_problem(client_for(Role.SCHOOL_STAFF, school=world.school_b).get(url), 404)
    assert_problem(as_role(Role.SPA_STAFF).get(url), 403)
    assert_problem(as_role(Role.THERAPIST).get(url), 403)
    assert_problem(as_role(Role.SPA_STAFF).post("/api/v1/imports/", {"kind": "therapists"}), 403)


def test_the_imports_list_shows_a_school_its_own_and_an_admin_all_without_the_reports(
    world, as_role, client_for, certifications_csv, django_assert_num_queries
):
    school = as_role(Role.SCHOOL_STAFF)
    mine = _post(school, kind="certifications", file=_csv(certifications_csv)).json()["id"]
    theirs = _post(
        as_role(Role.REGISTRY_ADMIN),
        kind="certifications",
        school=str(world.school_b.pk),
        file=_csv(certifications_csv),
    ).json()["id"]
    listed = school.get("/api/v1/imports/").json()
    assert [job["id"] for job in listed["results"]] == [mine]
    assert set(listed["results"][0]) == {
        "id", "kind", "status", "school", "jurisdiction", "source",
        "rows", "accepted", "refused", "created_at", "finished_at",
    }  # fmt: skip
    admin = as_role(Role.REGISTRY_ADMIN)
    assert {job["id"] for job in admin.get("/api/v1/imports/").json()["results"]} == {mine, theirs}
    assert admin.get("/api/v1/imports/", {"status": "done"}).json()["count"] == 0
    assert admin.get("/api/v1/imports/", {"kind": "certifications"}).json()["count"] == 2
    assert_problem(admin.get("/api/v1/imports/", {"kind": "sheep"}), 400)
    for _ in range(3):
        _post(admin, kind="therapists", file=_csv("name,email,jurisdiction\n"))
    with django_assert_num_queries(3):  # authentication, count, page
        admin.get("/api/v1/imports/")
