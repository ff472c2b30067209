"""Bulk imports, row by row through the same services as the API: a refused row writes
nothing, and the report names every refused row (its line in the file) and why. Therapists and
certifications come as CSV; a licence roster as CSV or JSON (``registry.services.rosters``),
whose ``findings`` also name what it changed, the names to review and the licences it did not
list."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError
from core.models import User
from credentials import services as credential_services
from credentials.models import Instructor, School, Therapist
from protocols.choices import ModuleKind
from protocols.models import Protocol
from registry.models import ImportJob
from registry.services import rosters
from registry.services.credentials import certification_issue, certifications_issue_many

THERAPIST_COLUMNS = (
    "name",
    "email",
    "jurisdiction",
    "license_number",
    "license_status",
    "valid_from",
    "expires_on",
)
CERTIFICATION_COLUMNS = (
    "therapist",
    "protocol",
    "instructor",
    "taught_on",
    "completed_on",
    "fundamentals_hours",
    "fundamentals_passed",
    "critical_details_hours",
    "critical_details_passed",
    "harm_avoidance_hours",
    "harm_avoidance_passed",
)
COLUMNS = {
    ImportJob.Kind.THERAPISTS: THERAPIST_COLUMNS,
    ImportJob.Kind.CERTIFICATIONS: CERTIFICATION_COLUMNS,
    ImportJob.Kind.LICENSE_ROSTER: rosters.ROSTER_COLUMNS,
}
MAX_ROWS = 100_000
CHUNK = 500  # rows per transaction (each row in its own savepoint)


Findings = list[dict[str, Any]]


class RowRefused(Exception):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("row refused")
        self.reasons = reasons


def _field_reasons(errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"code": "INVALID_FIELD", "field": field, "message": message}
        for field, messages in errors.items()
        for message in messages
    ]


def _rows(content: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header

    def numbered() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}

    return header, numbered()


def import_create(
    *,
    actor: User | None,
    kind: str,
    content: str,
    school: School | None = None,
    jurisdiction: str = "",
    source: str = "",
) -> ImportJob:
    """Queue an import after checking what can be checked at once: the kind, the columns,
    the size, (certifications) the school, and (a licence roster) the whole roster — see
    ``rosters.roster_check``. Nothing is queued, and nothing changes, when a check fails."""
    errors: dict[str, list[str]] = {}
    if "\x00" in content:
        raise DomainError(
            "The file is not text.",
            errors={"file": ["The file holds NUL characters: it is not a text file."]},
        )
    if kind == ImportJob.Kind.LICENSE_ROSTER:
        jurisdiction = rosters.roster_check(content=content, jurisdiction=jurisdiction)
        school = None
    elif kind not in COLUMNS:
        errors["kind"] = [f"Choose one of {', '.join(COLUMNS)}."]
    elif kind == ImportJob.Kind.CERTIFICATIONS and school is None:
        errors["school"] = ["Certifications are imported for one school."]
    else:
        header, _ = _rows(content)
        missing = [c for c in COLUMNS[kind] if c not in header]
        if missing:
            errors["file"] = [f"Missing columns: {', '.join(missing)}."]
        elif content.count("\n") > MAX_ROWS + 1:
            errors["file"] = [f"At most {MAX_ROWS} rows per file."]
    if errors:
        raise DomainError("The import cannot be processed.", errors=errors)
    return ImportJob.objects.create(
        kind=kind,
        school=school,
        jurisdiction=jurisdiction if kind == ImportJob.Kind.LICENSE_ROSTER else "",
        source=source.strip()[:200],
        content=content,
        created_by=actor if actor is not None and actor.pk else None,
    )


def _date(row: dict[str, str], field: str, errors: dict[str, list[str]]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(row.get(field, ""))
    except ValueError:
        errors[field] = [f"'{row.get(field, '')}' is not a date (YYYY-MM-DD)."]
        return None


def _therapist_input(row: dict[str, str]) -> credential_services.TherapistWithLicence:
    """The row's columns as the services take them; ``RowRefused`` for an empty or unreadable
    column."""
    errors: dict[str, list[str]] = {}
    valid_from = _date(row, "valid_from", errors)
    expires_on = _date(row, "expires_on", errors)
    for field in ("name", "jurisdiction", "license_number", "license_status"):
        if not row.get(field):
            errors[field] = ["This column is empty."]
    if errors:
        raise RowRefused(_field_reasons(errors))
    return credential_services.TherapistWithLicence(
        name=row["name"],
        email=row["email"],
        jurisdiction=row["jurisdiction"],
        number=row["license_number"],
        status=row["license_status"],
        valid_from=valid_from,
        expires_on=expires_on,
    )


def _therapist_row(actor: User | None, line: int, row: dict[str, str], job: ImportJob) -> None:
    data = _therapist_input(row)
    therapist = credential_services.therapist_create(actor=actor, name=data.name, email=data.email)
    credential_services.license_create(
        actor=actor,
        therapist=therapist,
        jurisdiction=data.jurisdiction,
        number=data.number,
        status=data.status,
        valid_from=data.valid_from,
        expires_on=data.expires_on,
    )


def _therapist_chunk(
    actor: User | None, chunk: list[tuple[int, dict[str, str]]], job: ImportJob
) -> list[list[dict[str, Any]] | None]:
    """A chunk of therapist rows in bulk (``therapists_with_licences_create``): per row, its
    reasons when refused (the same as row by row), ``None`` when written."""
    reasons: list[list[dict[str, Any]] | None] = [None] * len(chunk)
    inputs, positions = [], []
    for position, (_line, row) in enumerate(chunk):
        try:
            inputs.append(_therapist_input(row))
            positions.append(position)
        except RowRefused as refusal:
            reasons[position] = refusal.reasons
    for position, error in zip(
        positions, credential_services.therapists_with_licences_create(actor=actor, rows=inputs), strict=True
    ):
        if error is not None:
            reasons[position] = _domain_reasons(error)
    return reasons


def _bool(row: dict[str, str], field: str, errors: dict[str, list[str]]) -> bool | None:
    value = row.get(field, "").lower()
    if value in ("true", "false"):
        return value == "true"
    errors[field] = ['Write "true" or "false".']
    return None


def _hours(row: dict[str, str], field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        return Decimal(row.get(field, ""))
    except InvalidOperation:
        errors[field] = [f"'{row.get(field, '')}' is not a number of hours."]
        return None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class _Lookups:
    """The therapists, instructors and protocols rows name, by id (slug), loaded for a whole
    chunk in one query each (``for_rows``) or for one row."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        therapist_ids = {i for r in rows if (i := _uuid(r.get("therapist", ""))) is not None}
        instructor_ids = {i for r in rows if (i := _uuid(r.get("instructor", ""))) is not None}
        slugs = {r.get("protocol", "") for r in rows}
        self.therapists = {t.pk: t for t in Therapist.objects.filter(pk__in=therapist_ids)}
        self.instructors = {i.pk: i for i in Instructor.objects.filter(pk__in=instructor_ids)}
        self.protocols = {p.slug: p for p in Protocol.objects.filter(slug__in=slugs)}


def _certification_input(row: dict[str, str], lookups: _Lookups) -> credential_services.IssueRequest:
    """The row's columns as ``certification_issue`` takes them; ``RowRefused`` for an unknown
    therapist, instructor or protocol, or an unreadable column."""
    errors: dict[str, list[str]] = {}
    therapist = instructor = None
    if (therapist_id := _uuid(row["therapist"])) is None or therapist_id not in lookups.therapists:
        errors["therapist"] = [f"No therapist '{row['therapist']}'."]
    else:
        therapist = lookups.therapists[therapist_id]
    if (instructor_id := _uuid(row["instructor"])) is None or instructor_id not in lookups.instructors:
        errors["instructor"] = [f"No instructor '{row['instructor']}'."]
    else:
        instructor = lookups.instructors[instructor_id]
    protocol = lookups.protocols.get(row["protocol"])
    if protocol is None:
        errors["protocol"] = [f"No protocol '{row.get('protocol', '')}'."]
    taught_on = _date(row, "taught_on", errors)
    completed_on = _date(row, "completed_on", errors)
    modules = []
    for kind in ModuleKind.values:
        prefix = kind.replace("-", "_")
        hours = _hours(row, f"{prefix}_hours", errors)
        passed = _bool(row, f"{prefix}_passed", errors)
        modules.append(
            {"kind": kind, "completed_on": completed_on, "hours": hours, "assessment_passed": passed}
        )
    if errors:
        raise RowRefused(_field_reasons(errors))
    return credential_services.IssueRequest(
        therapist=therapist, protocol=protocol, instructor=instructor, taught_on=taught_on, modules=modules
    )


def _certification_row(actor: User | None, line: int, row: dict[str, str], job: ImportJob) -> None:
    request = _certification_input(row, _Lookups([row]))
    outcome = certification_issue(
        actor=actor,
        therapist=request.therapist,
        protocol=request.protocol,
        school=job.school,
        instructor=request.instructor,
        taught_on=request.taught_on,
        modules=request.modules,
    )
    if outcome.certification is None:
        raise RowRefused([reason.as_dict() for reason in outcome.reasons])


def _certification_chunk(
    actor: User | None, chunk: list[tuple[int, dict[str, str]]], job: ImportJob
) -> list[list[dict[str, Any]] | None]:
    """A chunk of certification rows in bulk (``certifications_issue_many``): per row, its
    reasons when refused (the same as row by row), ``None`` when issued."""
    lookups = _Lookups([row for _, row in chunk])
    reasons: list[list[dict[str, Any]] | None] = [None] * len(chunk)
    requests, positions = [], []
    for position, (_line, row) in enumerate(chunk):
        try:
            requests.append(_certification_input(row, lookups))
            positions.append(position)
        except RowRefused as refusal:
            reasons[position] = refusal.reasons
    outcomes = certifications_issue_many(actor=actor, school=job.school, requests=requests)
    for position, outcome in zip(positions, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            reasons[position] = _domain_reasons(outcome)
        elif outcome.certification is None:
            reasons[position] = [reason.as_dict() for reason in outcome.reasons]
    return reasons


def _roster_row(actor: User | None, line: int, row: dict[str, str], job: ImportJob) -> Findings:
    try:
        return rosters.roster_row(actor, line, row, job)
    except rosters.RosterRowRefused as refusal:
        raise RowRefused(refusal.reasons) from None


RowHandler = Callable[[User | None, int, dict[str, str], ImportJob], Findings | None]
ROW_HANDLERS: dict[str, RowHandler] = {
    ImportJob.Kind.THERAPISTS: _therapist_row,
    ImportJob.Kind.CERTIFICATIONS: _certification_row,
    ImportJob.Kind.LICENSE_ROSTER: _roster_row,
}
# Kinds whose chunks are written in bulk (same rules and report as their row handler, which
# takes over for a chunk whose bulk write fails, e.g. on a concurrent duplicate).
CHUNK_HANDLERS: dict[str, Callable[[User | None, list[tuple[int, dict[str, str]]], ImportJob], list]] = {
    ImportJob.Kind.THERAPISTS: _therapist_chunk,
    ImportJob.Kind.CERTIFICATIONS: _certification_chunk,
}
# What a kind reports once every row is done (a roster: the licences it did not list).
FINISHERS: dict[str, Callable[[ImportJob], Findings]] = {
    ImportJob.Kind.LICENSE_ROSTER: rosters.roster_unlisted,
}


def _csv_rows(content: str) -> Iterator[tuple[int, dict[str, str]]]:
    return _rows(content)[1]


READERS: dict[str, Callable[[str], Iterator[tuple[int, dict[str, str]]]]] = {
    ImportJob.Kind.THERAPISTS: _csv_rows,
    ImportJob.Kind.CERTIFICATIONS: _csv_rows,
    ImportJob.Kind.LICENSE_ROSTER: rosters.roster_rows,
}


def import_row_count(*, kind: str, content: str) -> int:
    """How many rows the import has (for a progress bar)."""
    if kind == ImportJob.Kind.LICENSE_ROSTER:
        return rosters.roster_row_count(content)
    return max(0, content.count("\n") - 1)


def import_run(*, job_id: Any, progress: Callable[[int], None] | None = None) -> ImportJob:
    """Process a queued import: each row in its own savepoint (a refused row writes nothing),
    rows committed in chunks. Returns the finished job with its report."""
    job = ImportJob.objects.select_related("school", "created_by").get(pk=job_id)
    # Claimed by one conditional update: a task delivered twice (acks late) runs the job once.
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    if not claimed:
        return job
    handler = ROW_HANDLERS[job.kind]
    actor = job.created_by
    report: list[dict[str, Any]] = []
    findings: Findings = []
    rows = accepted = 0
    numbered = READERS[job.kind](job.content)
    try:
        chunk: list[tuple[int, dict[str, str]]] = []
        for item in numbered:
            chunk.append(item)
            if len(chunk) == CHUNK:
                rows, accepted = _run_chunk(
                    chunk, handler, actor, job, report, findings, rows, accepted, progress
                )
                chunk = []
        rows, accepted = _run_chunk(chunk, handler, actor, job, report, findings, rows, accepted, progress)
        if job.kind in FINISHERS:
            findings.extend(FINISHERS[job.kind](job))
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE,
            rows=rows,
            accepted=accepted,
            refused=len(report),
            report=report,
            findings=findings,
            finished_at=timezone.now(),
        )
    except Exception as error:
        _mark_failed(job, error, rows=rows, accepted=accepted, report=report, findings=findings)
        raise
    job.refresh_from_db()
    return job


def _mark_failed(
    job: ImportJob, error: Exception, *, rows: int, accepted: int, report: list, findings: list
) -> None:
    """A job that failed is marked failed, whatever it held: when its report cannot be stored
    (a value the database refuses), it is marked failed without it, never left ``running``."""
    failed = {
        "status": ImportJob.Status.FAILED,
        "error": str(error)[:2000],
        "rows": rows,
        "accepted": accepted,
        "refused": len(report),
        "finished_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            ImportJob.objects.filter(pk=job.pk).update(**failed, report=report, findings=findings)
    except DatabaseError:
        ImportJob.objects.filter(pk=job.pk).update(**failed, report=[], findings=[])


def _domain_reasons(error: DomainError) -> list[dict[str, Any]]:
    return _field_reasons(error.errors) or [{"code": "INVALID_ROW", "message": error.detail}]


def _run_chunk(chunk, handler, actor, job, report, findings, rows, accepted, progress):
    if not chunk:
        return rows, accepted
    bulk = CHUNK_HANDLERS.get(job.kind)
    if bulk is not None and chunk:
        try:
            with transaction.atomic():
                outcomes = bulk(actor, chunk, job)
        except IntegrityError:  # a concurrent write of the same key: row by row instead
            outcomes = None
        if outcomes is not None:
            for (line, _row), reasons in zip(chunk, outcomes, strict=True):
                rows += 1
                if reasons is None:
                    accepted += 1
                else:
                    report.append({"row": line, "reasons": reasons})
            if progress:
                progress(len(chunk))
            return rows, accepted
    with transaction.atomic():
        for line, row in chunk:
            rows += 1
            try:
                with transaction.atomic():
                    found = handler(actor, line, row, job)
                findings.extend(found or [])
                accepted += 1
            except RowRefused as refusal:
                report.append({"row": line, "reasons": refusal.reasons})
            except DomainError as error:
                report.append({"row": line, "reasons": _domain_reasons(error)})
    if progress and chunk:
        progress(len(chunk))
    return rows, accepted
