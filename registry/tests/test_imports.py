"""Bulk imports: every good row in, every bad row named with its reasons."""

import csv
import io

import pytest
from django.core.management import call_command

from credentials.models import Certification, License, Therapist
from credentials.tests.factories import (
    ClinicalExperienceFactory,
    InstructorFactory,
    LicenseFactory,
    SchoolAuthorizationFactory,
    SchoolFactory,
    TherapistFactory,
)
from registry.services.imports import (
    CERTIFICATION_COLUMNS,
    THERAPIST_COLUMNS,
    import_create,
    import_run,
)

pytestmark = pytest.mark.django_db


def to_csv(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.slow
def test_ten_thousand_therapists_with_fifty_bad_rows(tmp_path, capsys):
    rows, bad = [], {}
    for i in range(10_000):
        row = [
            f"Therapist {i}",
            f"t{i}@example.org",
            "US-CA",
            f"L{i:06d}",
            "active",
            "2024-01-01",
            "2027-12-31",
        ]
        line = i + 2  # the header is line 1
        if i % 200 == 7:
            kind = (i // 200) % 5
            if kind == 0:
                row[5] = "01/01/2024"
                bad[line] = "valid_from"
            elif kind == 1:
                row[4] = "dormant"
                bad[line] = "status"
            elif kind == 2:
                row[0] = ""
                bad[line] = "name"
            elif kind == 3:
                row[1] = "not-an-email"
                bad[line] = "email"
            else:
                row[6] = "2023-01-01"  # expires before valid
                bad[line] = "expires_on"
        rows.append(row)
    path = tmp_path / "therapists.csv"
    path.write_text(to_csv(THERAPIST_COLUMNS, rows))
    call_command("import_therapists", str(path), verbosity=0)
    out = capsys.readouterr().out
    assert "10000 rows: 9950 accepted, 50 refused" in out
    assert Therapist.objects.count() == 9950
    assert License.objects.count() == 9950
    refused_lines = [
        int(line.split()[1].rstrip(":")) for line in out.splitlines() if line.startswith("  line")
    ]
    assert refused_lines == sorted(bad)
    for line in out.splitlines()[1:]:
        assert ": " in line  # every refused row carries its reasons


@pytest.fixture
def school_setup(world):
    school = SchoolFactory()
    SchoolAuthorizationFactory(school=school, protocol=world.radiculopathy)
    instructor = InstructorFactory(schools=[school])
    ClinicalExperienceFactory(instructor=instructor, protocol=world.radiculopathy)
    return school, instructor


def cert_row(therapist, protocol, instructor, *, taught="2026-01-10", hours="10", passed="true"):
    return [
        str(therapist.pk),
        protocol,
        str(instructor.pk),
        taught,
        taught,
        hours,
        passed,
        hours,
        passed,
        hours,
        passed,
    ]


def test_certification_import_refuses_rows_exactly_as_the_api_would(world, school_setup):
    school, instructor = school_setup
    unlicensed = TherapistFactory()
    unqualified = InstructorFactory(schools=[school])
    content = to_csv(
        CERTIFICATION_COLUMNS,
        [
            cert_row(world.beth, "low-back-radiculopathy", instructor),  # line 2: ok
            cert_row(unlicensed, "low-back-radiculopathy", instructor),  # 3: LICENSE_MISSING
            cert_row(world.beth, "low-back-radiculopathy", unqualified),  # 4: INSTRUCTOR_NOT_QUALIFIED
            cert_row(world.beth, "low-back-radiculopathy", instructor, hours="1"),  # 5: MODULE_INCOMPLETE x3
            cert_row(world.beth, "no-such-protocol", instructor),  # 6: unknown protocol
            [
                "not-a-uuid",
                "low-back-radiculopathy",
                str(instructor.pk),
                "2026-01-10",
                "2026-01-10",
                "10",
                "yes",
                "10",
                "true",
                "10",
                "true",
            ],  # 7: two field errors
        ],
    )
    job = import_run(
        job_id=import_create(actor=None, kind="certifications", content=content, school=school).pk
    )
    assert (job.status, job.rows, job.accepted, job.refused) == ("done", 6, 1, 5)
    by_line = {entry["row"]: [r["code"] for r in entry["reasons"]] for entry in job.report}
    assert by_line[3] == ["LICENSE_MISSING"]
    assert by_line[4] == ["INSTRUCTOR_NOT_QUALIFIED"]
    assert by_line[5] == ["MODULE_INCOMPLETE"] * 3
    assert by_line[6] == ["INVALID_FIELD"]
    assert by_line[7] == ["INVALID_FIELD", "INVALID_FIELD"]
    assert Certification.objects.filter(school=school).count() == 1


def test_import_with_missing_columns_is_refused_at_once(world):
    from core.errors import DomainError

    with pytest.raises(DomainError) as error:
        import_create(actor=None, kind="therapists", content="name,email\nA,a@example.org\n")
    assert "file" in error.value.errors


def test_licence_number_taken_is_a_refused_row(world):
    LicenseFactory(jurisdiction="US-CA", number="TAKEN1")
    content = to_csv(
        THERAPIST_COLUMNS,
        [["X", "x@example.org", "US-CA", "TAKEN1", "active", "2024-01-01", "2030-01-01"]],
    )
    job = import_run(job_id=import_create(actor=None, kind="therapists", content=content).pk)
    assert job.refused == 1
    assert not Therapist.objects.filter(name="X").exists()
