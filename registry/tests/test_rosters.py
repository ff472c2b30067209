"""Licence rosters (primary-source verification): a board's roster compared with the registry's
licences of its jurisdiction, differences applied through the licence services, names that do
not match flagged, licences missing from the roster reported; a roster that cannot be applied
as a whole changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEvent
from credentials.choices import LicenseStatus
from credentials.models import License
from credentials.tests.factories import LicenseFactory, TherapistFactory
from registry.choices import BookingStatus
from registry.models import Booking, ImportJob
from registry.services.imports import import_create, import_run
from registry.services.rosters import ROSTER_COLUMNS, name_key

pytestmark = pytest.mark.django_db

HEADER = ",".join(ROSTER_COLUMNS)


def roster(*rows: tuple[str, str, str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def run(content: str, jurisdiction: str = "US-CA") -> ImportJob:
    job = import_create(
        actor=None, kind="license-roster", content=content, jurisdiction=jurisdiction, source="r.csv"
    )
    return import_run(job_id=job.pk)


def codes(job: ImportJob) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in job.findings:
        found.setdefault(finding["code"], []).append(finding["number"])
    return found


def snapshot() -> list[dict]:
    return list(License.objects.order_by("number").values())


@pytest.fixture
def board():
    """Three US-CA licences (Ana, Beth, Chris) and one in US-NV."""
    ana = LicenseFactory(
        therapist=TherapistFactory(name="Ana Silva"), number="MT-1", expires_on=dt.date(2030, 12, 31)
    )
    beth = LicenseFactory(therapist=TherapistFactory(name="Beth Jones"), number="MT-2")
    chris = LicenseFactory(therapist=TherapistFactory(name="Chris Park"), number="MT-3")
    LicenseFactory(jurisdiction="US-NV", number="NV-1")
    return {"ana": ana, "beth": beth, "chris": chris}


def test_a_roster_that_agrees_marks_each_licence_verified_and_changes_nothing_else(board):
    before = {row["number"]: (row["status"], row["expires_on"]) for row in snapshot()}
    job = run(
        roster(
            ("MT-1", "Ana Silva", "active", "2030-12-31"),
            ("MT-2", "Beth Jones", "active", "2035-12-31"),
            ("MT-3", "Chris Park", "active", "2035-12-31"),
        )
    )
    assert (job.status, job.rows, job.accepted, job.refused) == ("done", 3, 3, 0)
    assert job.findings == []
    after = {row["number"]: (row["status"], row["expires_on"]) for row in snapshot()}
    assert after == before
    for license in License.objects.filter(jurisdiction="US-CA"):
        assert license.verified_at is not None
        assert license.verified_source == f"US-CA licence roster r.csv (import {job.pk})"
    assert License.objects.get(number="NV-1").verified_at is None  # another jurisdiction
    assert AuditEvent.objects.filter(action="license.verified").count() == 3


def test_differences_are_applied_through_the_licence_services_and_audited(board):
    job = run(
        roster(
            ("MT-1", "Ana Silva", "suspended", "2030-12-31"),
            ("MT-2", "Beth Jones", "active", "2026-06-30"),
            ("MT-3", "Chris Park", "active", "2040-01-31"),  # renewed
        )
    )
    assert codes(job) == {"LICENSE_CHANGED": ["MT-1", "MT-2", "MT-3"]}
    ana, beth, chris = (License.objects.get(number=n) for n in ("MT-1", "MT-2", "MT-3"))
    assert ana.status == LicenseStatus.SUSPENDED
    assert beth.expires_on == dt.date(2026, 6, 30)
    assert chris.expires_on == dt.date(2040, 1, 31)
    changes = AuditEvent.objects.filter(action="license.changed")
    assert changes.count() == 3
    assert all(f"import {job.pk}" in event.reason for event in changes)
    assert "active → suspended" in job.findings[0]["message"]


def _book(w, therapist) -> Booking:
    from registry.services.bookings import booking_create, slot_validate
    from registry.tests.factories import IntakeFactory

    intake = IntakeFactory(spa=w.spa, conditions=[w.disc], client_ref="C-1")
    slot = slot_validate(
        spa=w.spa, intake=intake, start=w.start, duration_minutes=60, focus_region="lumbar", focus_minutes=20
    )
    return booking_create(actor=None, therapist=therapist, slot=slot).booking


def test_a_suspension_moves_future_bookings_to_needs_reassignment(world):
    w = world
    booking = _book(w, w.ana)
    license = License.objects.get(therapist=w.ana)
    job = run(roster((license.number, "Ana Silva", "suspended", license.expires_on.isoformat())))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert [reason["code"] for reason in booking.reasons] == ["LICENSE_INACTIVE"]
    [changed] = [f for f in job.findings if f["code"] == "LICENSE_CHANGED"]
    assert changed["bookings_needing_reassignment"] == 1


def test_a_name_that_does_not_match_is_flagged_and_only_a_narrowing_change_applied(board):
    job = run(
        roster(
            ("MT-1", "Anna Silvestri", "suspended", "2030-12-31"),  # narrows: applied, flagged
            ("MT-2", "Bob Jones", "active", "2040-12-31"),  # would widen: held, flagged
            ("MT-3", "PARK, Chris", "active", "2035-12-31"),  # the same name, written otherwise
        )
    )
    assert codes(job) == {"LICENSE_CHANGED": ["MT-1"], "NAME_MISMATCH": ["MT-1", "MT-2"]}
    ana, beth, chris = (License.objects.get(number=n) for n in ("MT-1", "MT-2", "MT-3"))
    assert ana.status == LicenseStatus.SUSPENDED
    assert beth.expires_on == dt.date(2035, 12, 31)  # held for review
    assert (ana.verified_at, beth.verified_at) == (None, None)
    assert chris.verified_at is not None
    [held] = [f for f in job.findings if f["code"] == "NAME_MISMATCH" and f["number"] == "MT-2"]
    assert "Bob Jones" in held["message"]
    assert "Beth Jones" in held["message"]
    assert "expires_on → 2040-12-31" in held["message"]


def test_licences_missing_from_the_roster_are_reported_and_left_alone(board):
    before = snapshot()
    job = run(roster(("MT-1", "Ana Silva", "active", "2030-12-31")))
    assert codes(job) == {"NOT_ON_ROSTER": ["MT-2", "MT-3"]}
    assert all(f["row"] is None for f in job.findings)
    unchanged = [row for row in snapshot() if row["number"] != "MT-1"]
    assert unchanged == [row for row in before if row["number"] != "MT-1"]


def test_bad_rows_are_refused_with_their_reasons_and_the_others_applied(board):
    job = run(
        roster(
            ("MT-1", "Ana Silva", "dormant", "2030-12-31"),
            ("MT-2", "Beth Jones", "active", "31/12/2035"),
            ("MT-9", "Nobody Known", "active", "2035-12-31"),
            ("MT-3", "Chris Park", "active", "2019-01-01"),  # before the licence was valid
            ("", "Someone", "active", "2035-12-31"),
        )
    )
    refused = {entry["row"]: [r.get("field", r["code"]) for r in entry["reasons"]] for entry in job.report}
    assert refused == {
        2: ["status"],
        3: ["expires_on"],
        4: ["LICENSE_UNKNOWN"],
        5: ["INVALID_ROW"],
        6: ["license_number"],
    }
    assert (job.rows, job.accepted, job.refused) == (5, 0, 5)
    assert License.objects.get(number="MT-3").expires_on == dt.date(2035, 12, 31)
    assert not License.objects.filter(verified_at__isnull=False).exists()


def test_a_json_roster_is_read_like_a_csv_one(board):
    entries = [
        {"license_number": "MT-1", "name": "Ana Silva", "status": "revoked", "expires_on": "2030-12-31"},
        {"license_number": "MT-2", "name": "Beth Jones", "status": "active", "expires_on": "2035-12-31"},
    ]
    job = run(json.dumps(entries))
    assert codes(job) == {"LICENSE_CHANGED": ["MT-1"], "NOT_ON_ROSTER": ["MT-3"]}
    assert License.objects.get(number="MT-1").status == LicenseStatus.REVOKED
    bad = [{**entries[0], "status": "x"}]
    assert run(json.dumps(bad)).report[0]["row"] == 1  # the entry's position


def test_names_are_compared_ignoring_case_accents_punctuation_and_order():
    assert name_key("Ána  Silva") == name_key("SILVA, ana") == name_key("ana silva.")
    assert name_key("Ana Maria Silva") != name_key("Ana Silva")


# --- rosters that cannot be applied change nothing ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "jurisdiction", "field", "words"),
    [
        ("number,holder,state,until\nMT-1,Ana Silva,active,2030-12-31\n", "US-CA", "file", "Missing columns"),
        (
            roster(("MT-1", "Ana Silva", "suspended", "2030-12-31"), ("MT-1", "A", "active", "2030-12-31")),
            "US-CA",
            "file",
            "more than once",
        ),
        (
            roster(("MT-1", "Ana Silva", "suspended", "2030-12-31")),
            "US-ZZ",
            "jurisdiction",
            "no licence in US-ZZ",
        ),
        (
            roster(("MT-1", "Ana Silva", "suspended", "2030-12-31")),
            "California",
            "jurisdiction",
            "ISO 3166-2",
        ),
        (roster(("MT-1", "Ana Silva", "suspended", "2030-12-31")), "", "jurisdiction", "jurisdiction"),
        (HEADER + "\n", "US-CA", "file", "no rows"),
        ('[{"license_number": "MT-1"', "US-CA", "file", "not valid JSON"),
        ('{"licenses": []}', "US-CA", "file", "array of objects"),
        (
            json.dumps([{"license_number": ["MT-1"], "name": "A", "status": "active", "expires_on": "x"}]),
            "US-CA",
            "file",
            "must be text",
        ),
        ("[" * 100_000, "US-CA", "file", "JSON"),
        ("license_number\x00,name\n", "US-CA", "file", "NUL"),
        # Escaped in the JSON text (six ASCII characters), read into a NUL or a lone surrogate
        # the database cannot store: the job was left `running` and the upload was a 500.
        (
            '[{"license_number": "MT-1", "name": "A\\u0000", "status": "active", "expires_on": "2030"}]',
            "US-CA",
            "file",
            "not text",
        ),
        (
            '[{"license_number": "MT-1", "name": "A", "status": "act\\ud800ive", "expires_on": "2030"}]',
            "US-CA",
            "file",
            "not text",
        ),
    ],
)
def test_a_roster_that_cannot_be_applied_is_refused_whole_and_changes_nothing(
    board, content, jurisdiction, field, words
):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        import_create(actor=None, kind="license-roster", content=content, jurisdiction=jurisdiction)
    assert words in " ".join(refused.value.errors[field])
    assert snapshot() == before
    assert not ImportJob.objects.exists()


def test_ten_megabytes_of_garbage_through_the_command_change_nothing(board, tmp_path):
    before = snapshot()
    binary = tmp_path / "garbage.bin"
    binary.write_bytes(os.urandom(10 * 1024 * 1024))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_license_roster", str(binary), jurisdiction="US-CA", verbosity=0)
    text = tmp_path / "garbage.csv"
    text.write_text(("lorem ipsum,dolor;sit\tamet\n" * 400_000)[: 10 * 1024 * 1024])
    with pytest.raises(CommandError, match="Missing columns"):
        call_command("import_license_roster", str(text), jurisdiction="US-CA", verbosity=0)
    assert snapshot() == before
    assert not ImportJob.objects.exists()


def test_the_command_reports_every_row_and_finding(board, tmp_path, capsys):
    path = tmp_path / "us-ca.csv"
    path.write_text(
        roster(
            ("MT-1", "Ana Silva", "suspended", "2030-12-31"),
            ("MT-2", "Bobby Jones", "active", "2035-12-31"),
            ("MT-9", "Nobody", "active", "2035-12-31"),
        )
    )
    call_command("import_license_roster", str(path), jurisdiction="us-ca", verbosity=0)
    out = capsys.readouterr().out
    assert "3 rows: 2 accepted, 1 refused" in out
    assert "1 changed, 1 names to review, 1 licences not on the roster" in out
    assert "line 4: LICENSE_UNKNOWN" in out
    assert "line 2: LICENSE_CHANGED" in out
    assert "line 3: NAME_MISMATCH" in out
    assert "not listed: NOT_ON_ROSTER" in out
    job = ImportJob.objects.get()
    assert (job.jurisdiction, job.source) == ("US-CA", "us-ca.csv")
    assert License.objects.get(number="MT-1").verified_source.startswith("US-CA licence roster us-ca.csv")


def test_a_large_roster_runs_in_chunks_with_a_fixed_report(db):
    therapists = TherapistFactory.create_batch(3)
    rows = []
    for index in range(1200):
        therapist = therapists[index % 3]
        LicenseFactory(therapist=therapist, number=f"L{index:05d}")
        status = "expired" if index % 400 == 0 else "active"
        rows.append((f"L{index:05d}", therapist.name, status, "2035-12-31"))
    job = run(roster(*rows))
    assert (job.rows, job.accepted, job.refused) == (1200, 1200, 0)
    assert codes(job) == {"LICENSE_CHANGED": ["L00000", "L00400", "L00800"]}
    assert License.objects.filter(verified_at__isnull=False).count() == 1200
    assert License.objects.filter(status="expired").count() == 3
    assert timezone.now() - License.objects.first().verified_at < dt.timedelta(minutes=5)


def test_the_database_holds_a_rosters_jurisdiction_and_a_verifications_source(board):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.create(kind="license-roster", content="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        License.objects.filter(number="MT-1").update(verified_at=timezone.now())
    assert Booking.objects.count() == 0
