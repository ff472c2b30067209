"""Therapist imports are written in bulk per chunk (issue 24): the same report as row by row,
a bad row refused alone with its reasons, and a fixed number of statements per chunk."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from credentials.models import License, Therapist
from credentials.tests.factories import LicenseFactory
from registry.services import imports
from registry.services.imports import THERAPIST_COLUMNS, import_create, import_run
from registry.tests.test_imports import to_csv

pytestmark = pytest.mark.django_db


def _rows(count: int, jurisdiction: str) -> list[list[str]]:
    rows = [
        [
            f"Therapist {i}",
            f"t{i}@example.org",
            jurisdiction,
            f"L{i:05d}",
            "active",
            "2024-01-01",
            "2027-12-31",
        ]
        for i in range(count)
    ]
    rows[3][1] = "not-an-email"  # the therapist's rule
    rows[5][2] = "California"  # the licence's rule
    rows[6][5] = "2024-13-01"  # an unreadable column
    rows[7][3] = "L00002"  # a number an earlier row of the file takes
    rows[8][3] = "TAKEN-1"  # a number the registry holds
    rows[9][6] = "2023-01-01"  # expires before it is valid
    rows[10][0] = "   "  # the name, blank
    rows[11][1], rows[11][2] = "bad", "XX"  # two rules broken: the first one reported, as before
    return rows


def _import(rows):
    job = import_create(actor=None, kind="therapists", content=to_csv(THERAPIST_COLUMNS, rows))
    return import_run(job_id=job.pk)


def _written(jurisdiction: str):
    """What an import wrote for the licences of one jurisdiction (ids aside)."""
    licences = License.objects.filter(jurisdiction=jurisdiction, number__startswith="L")
    therapists = Therapist.objects.filter(licenses__in=licences)
    ids = [
        str(pk) for pk in [*licences.values_list("pk", flat=True), *therapists.values_list("pk", flat=True)]
    ]
    events = AuditEvent.objects.filter(object_id__in=ids)
    return (
        sorted(therapists.values_list("name", "email")),
        sorted(licences.values_list("therapist__name", "number", "status", "valid_from", "expires_on")),
        sorted(
            (
                action,
                kind,
                sorted((k, str(v)) for k, v in after.items() if k not in ("therapist", "jurisdiction")),
            )
            for action, kind, after in events.values_list("action", "object_type", "after")
        ),
    )


def test_a_bulk_chunk_reports_and_writes_exactly_what_row_by_row_does(monkeypatch):
    for jurisdiction in ("US-CA", "US-NY"):
        LicenseFactory(jurisdiction=jurisdiction, number="TAKEN-1")
    bulk = _import(_rows(30, "us-ca"))
    assert (bulk.accepted, bulk.refused) == (22, 8)
    assert {entry["row"] for entry in bulk.report} == {r + 2 for r in (3, 5, 6, 7, 8, 9, 10, 11)}
    monkeypatch.setattr(imports, "CHUNK_HANDLERS", {})  # row by row, as before issue 24
    one_by_one = _import(_rows(30, "us-ny"))
    assert one_by_one.report == bulk.report
    assert (one_by_one.accepted, one_by_one.refused) == (bulk.accepted, bulk.refused)
    written = _written("US-CA")
    assert written == _written("US-NY")
    assert len(written[0]) == 22
    assert len(written[2]) == 44


def test_a_therapist_chunk_costs_the_same_statements_for_ten_rows_as_for_five_hundred():
    counts = []
    for size, offset in ((10, 0), (499, 1000)):
        rows = [
            [f"T {i}", f"t{i}@example.org", "US-CA", f"N{i:05d}", "active", "2024-01-01", "2027-12-31"]
            for i in range(offset, offset + size)
        ]
        job = import_create(actor=None, kind="therapists", content=to_csv(THERAPIST_COLUMNS, rows))
        with CaptureQueriesContext(connection) as ctx:
            import_run(job_id=job.pk)
        assert job.__class__.objects.get(pk=job.pk).accepted == size
        counts.append(len(ctx.captured_queries))
    # the job read and marked running; the chunk: two savepoints, the numbers held, the
    # therapists, the licences, the audit events (one INSERT each), two releases; the report
    # written and the job read back
    assert counts == [12, 12]


def test_a_certifications_chunk_issues_and_refuses_exactly_as_row_by_row(monkeypatch, world):
    """Bulk and row by row on two identical groups of therapists: the same report, the same
    certificates, and a prerequisite issued by an earlier row counts for a later one."""
    from credentials.models import Certification
    from credentials.tests.factories import (
        ClinicalExperienceFactory,
        InstructorFactory,
        SchoolAuthorizationFactory,
        SchoolFactory,
        TherapistFactory,
    )
    from protocols.tests.factories import ProtocolFactory
    from registry.services.imports import CERTIFICATION_COLUMNS
    from registry.tests.test_imports import cert_row

    base = ProtocolFactory(slug="base-protocol")
    advanced = ProtocolFactory(slug="advanced-protocol", prerequisites=[base])
    school = SchoolFactory()
    for protocol in (base, advanced, world.radiculopathy):
        SchoolAuthorizationFactory(school=school, protocol=protocol)
    instructor = InstructorFactory(schools=[school])
    for protocol in (base, advanced):
        ClinicalExperienceFactory(instructor=instructor, protocol=protocol)
    stranger = InstructorFactory()  # on no school's list
    ClinicalExperienceFactory(instructor=stranger, protocol=base)

    def group(tag: str):
        therapists = [TherapistFactory(name=f"Twin {i}") for i in range(4)]
        for therapist in therapists[:3]:
            LicenseFactory(therapist=therapist, number=f"{tag}-{therapist.name}")
        a, b, c, unlicensed = therapists
        return [
            cert_row(a, "advanced-protocol", instructor),  # PREREQUISITE_MISSING (not yet held)
            cert_row(a, "base-protocol", instructor),  # issued
            cert_row(a, "advanced-protocol", instructor),  # issued: the base from two rows up
            cert_row(b, "low-back-radiculopathy", instructor),  # INSTRUCTOR_NOT_QUALIFIED
            cert_row(b, "base-protocol", stranger),  # INSTRUCTOR_NOT_AT_SCHOOL
            cert_row(c, "base-protocol", instructor, hours="2"),  # MODULE_INCOMPLETE x3
            cert_row(c, "base-protocol", instructor, taught="2999-01-01"),  # taught_on in the future
            cert_row(unlicensed, "base-protocol", instructor),  # LICENSE_MISSING
            cert_row(c, "base-protocol", instructor),  # issued
        ], therapists

    def run(rows):
        content = to_csv(CERTIFICATION_COLUMNS, rows)
        job = import_create(actor=None, kind="certifications", content=content, school=school)
        return import_run(job_id=job.pk)

    def issued(therapists):
        return sorted(
            Certification.objects.filter(therapist__in=therapists).values_list(
                "therapist__name", "protocol__slug", "instructor_id", "taught_on"
            )
        )

    rows, bulk_group = group("B")
    bulk = run(rows)
    monkeypatch.setattr(imports, "CHUNK_HANDLERS", {})
    rows, row_group = group("R")
    one_by_one = run(rows)
    assert (bulk.accepted, bulk.refused) == (3, 6)
    assert bulk.report == one_by_one.report
    assert issued(bulk_group) == issued(row_group)
    assert len(issued(bulk_group)) == 3
