"""Licence rosters: a licensing board's list of its licensees (primary-source verification).

A roster (CSV, or JSON: an array of objects) of one jurisdiction has the columns
``license_number, name, status, expires_on``. It is checked whole before anything is queued
(``roster_check``): a roster with missing columns, a licence number listed twice, no rows,
non-text values, or of a jurisdiction the registry holds no licence in is refused, and
nothing changes. Then, row by row (``roster_row``, run by ``registry.services.imports``):

- the licence of that number in the jurisdiction is looked up; a number the registry does not
  know is a refused row (``LICENSE_UNKNOWN``); a row with an unreadable status or expiry too;
- where the roster's status or expiry differs from the registry's, the difference is applied
  through ``rechecks.license_change`` (audited; a licence that now permits less re-checks the
  therapist's future bookings in the jurisdiction, exactly as a change made by hand);
- when the roster's name is the therapist's (ignoring case, accents, punctuation and word
  order), the licence is marked verified (``verified_at``, ``verified_source``). When it is
  not, the row is flagged for review (``NAME_MISMATCH``) and the licence is not marked
  verified: a change that permits less (no longer active, ending earlier) is still applied —
  safety first — but one that would permit more (reactivated, later expiry) is held;
- at the end, every licence of the jurisdiction the roster did not list is reported
  (``NOT_ON_ROSTER``), and left as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from core.errors import DomainError
from core.models import User
from core.text import holds_nul_or_lone_surrogate
from credentials import services as credential_services
from credentials.choices import LicenseStatus
from credentials.models import License
from credentials.services import JURISDICTION_RE
from registry.models import ImportJob
from registry.services import rechecks

ROSTER_COLUMNS = ("license_number", "name", "status", "expires_on")
MAX_ROSTER_ROWS = 100_000


class RosterRowRefused(Exception):
    """A roster row that cannot be applied; ``reasons`` as in an import report."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("roster row refused")
        self.reasons = reasons


# --- reading a roster ----------------------------------------------------------------------------


def _is_json(content: str) -> bool:
    return content.lstrip()[:1] in ("[", "{")


def _json_entries(content: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        raise DomainError(
            "The roster is not valid JSON.",
            errors={"file": ["The roster is not valid JSON (nor CSV with a header line)."]},
        ) from None
    if holds_nul_or_lone_surrogate(data):  # escaped in the JSON text: "\u0000", "\ud800"
        raise DomainError(
            "The roster is not text.",
            errors={"file": ["The roster holds NUL characters or lone surrogates: it is not text."]},
        )
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise DomainError(
            "A JSON roster is an array of objects.",
            errors={"file": [f"A JSON roster is an array of objects with {', '.join(ROSTER_COLUMNS)}."]},
        )
    return data


def _text_value(value: Any) -> str | None:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def roster_columns_and_rows(content: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The roster's columns and its rows as ``(row, {column: text})``: ``row`` is the line in
    a CSV file (the header is line 1) or the entry's position (from 1) in a JSON array."""
    if _is_json(content):
        entries = _json_entries(content)
        columns = list(entries[0]) if entries else list(ROSTER_COLUMNS)
        rows: list[tuple[int, dict[str, str]]] = []
        bad: list[str] = []
        for index, entry in enumerate(entries, start=1):
            row: dict[str, str] = {}
            for column in ROSTER_COLUMNS:
                text = _text_value(entry.get(column))
                if text is None:
                    bad.append(f"entry {index}: {column}")
                    text = ""
                row[column] = text
            rows.append((index, row))
        if bad:
            shown = "; ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise DomainError(
                "The roster has values that are not text.",
                errors={"file": [f"Values must be text (or a whole number): {shown}."]},
            )
        return columns, rows
    reader = csv.DictReader(io.StringIO(content))
    try:
        columns = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = columns
        rows = [
            (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None})
            for row in reader
        ]
    except csv.Error as error:
        raise DomainError(
            "The roster is not readable CSV.", errors={"file": [f"The roster is not readable CSV: {error}."]}
        ) from None
    return columns, rows


def roster_rows(content: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows, for ``import_run`` (the roster was checked when it was queued)."""
    _, rows = roster_columns_and_rows(content)
    yield from rows


def roster_row_count(content: str) -> int:
    try:
        return len(roster_columns_and_rows(content)[1])
    except DomainError:
        return 0


# --- checking it whole -----------------------------------------------------------------------------


def roster_jurisdiction(jurisdiction: str) -> str:
    """The roster's jurisdiction, upper-cased: an ISO 3166-2 code the registry holds licences
    in (a roster of any other is a mistake: there is nothing to compare it with)."""
    code = (jurisdiction or "").strip().upper()
    if not code:
        raise DomainError(
            "A licence roster names its jurisdiction.",
            errors={"jurisdiction": ["Give the roster's jurisdiction (ISO 3166-2, e.g. US-CA)."]},
        )
    if not JURISDICTION_RE.match(code):
        raise DomainError(
            "Unknown jurisdiction.",
            errors={"jurisdiction": [f"'{jurisdiction[:20]}' is not an ISO 3166-2 code such as US-CA."]},
        )
    if not License.objects.filter(jurisdiction=code).exists():
        raise DomainError(
            "Unknown jurisdiction.",
            errors={"jurisdiction": [f"The registry holds no licence in {code}: nothing to compare with."]},
        )
    return code


def roster_check(*, content: str, jurisdiction: str) -> str:
    """Refuse, changing nothing, a roster that cannot be applied as a whole: wrong columns,
    no rows, too many rows, a licence number listed twice, values that are not text, or an
    unknown jurisdiction. Returns the jurisdiction (upper-cased)."""
    errors: dict[str, list[str]] = {}
    try:
        code = roster_jurisdiction(jurisdiction)
    except DomainError as error:
        errors.update(error.errors)
        code = ""
    try:
        columns, rows = roster_columns_and_rows(content)
    except DomainError as error:
        errors.setdefault("file", []).extend(error.errors.get("file", [error.detail]))
        raise DomainError("The roster cannot be processed.", errors=errors) from None
    missing = [column for column in ROSTER_COLUMNS if column not in columns]
    if missing:
        found = ", ".join(c[:40] for c in columns[:8]) or "none"
        errors.setdefault("file", []).append(
            f"Missing columns: {', '.join(missing)} (a roster has {', '.join(ROSTER_COLUMNS)}; "
            f"found: {found})."
        )
    elif not rows:
        errors.setdefault("file", []).append("The roster has no rows.")
    elif len(rows) > MAX_ROSTER_ROWS:
        errors.setdefault("file", []).append(f"At most {MAX_ROSTER_ROWS} rows per roster.")
    else:
        lines: dict[str, list[int]] = {}
        for line, row in rows:
            if row["license_number"]:
                lines.setdefault(row["license_number"], []).append(line)
        twice = {number: at for number, at in lines.items() if len(at) > 1}
        if twice:
            shown = "; ".join(
                f"{number[:60]} (rows {', '.join(map(str, at))})" for number, at in list(twice.items())[:5]
            )
            more = f" and {len(twice) - 5} more" if len(twice) > 5 else ""
            errors.setdefault("file", []).append(f"Licence numbers listed more than once: {shown}{more}.")
    if errors:
        raise DomainError("The roster cannot be processed.", errors=errors)
    return code


# --- applying one row ------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w\s]+")


def name_key(name: str) -> tuple[str, ...]:
    """A name for comparison: case, accents, punctuation and word order ignored ("SILVA, Ána"
    is "Ana Silva")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return tuple(sorted(_NOT_WORD.sub(" ", plain).split()))


def _field_refusal(field: str, message: str) -> dict[str, Any]:
    return {"code": "INVALID_FIELD", "field": field, "message": message}


def _parse(row: dict[str, str]) -> tuple[str, str, str, dt.date]:
    reasons = []
    number, name = row.get("license_number", ""), row.get("name", "")
    status = row.get("status", "").lower()
    expires_on = None
    for field, value in (("license_number", number), ("name", name)):
        if not value:
            reasons.append(_field_refusal(field, "This column is empty."))
    if status not in LicenseStatus.values:
        reasons.append(
            _field_refusal(
                "status", f"'{row.get('status', '')[:40]}' is not one of {', '.join(LicenseStatus.values)}."
            )
        )
    try:
        expires_on = dt.date.fromisoformat(row.get("expires_on", ""))
    except ValueError:
        given = row.get("expires_on", "")[:40]
        reasons.append(_field_refusal("expires_on", f"'{given}' is not a date (YYYY-MM-DD)."))
    if reasons or expires_on is None:
        raise RosterRowRefused(reasons)
    return number, name, status, expires_on


def verification_source(job: ImportJob) -> str:
    name = (job.source or "upload")[:80]
    return f"{job.jurisdiction} licence roster {name} (import {job.pk})"


def _finding(line: int | None, license: License, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "row": line,
        "license": str(license.pk),
        "number": license.number,
        "code": code,
        "message": message,
        **extra,
    }


def roster_row(actor: User | None, line: int, row: dict[str, str], job: ImportJob) -> list[dict[str, Any]]:
    """Apply one roster row (see the module's docstring); returns its findings. Raises
    ``RosterRowRefused`` for a row that cannot be applied."""
    number, name, status, expires_on = _parse(row)
    licenses = License.objects.select_related("therapist")
    license = licenses.filter(jurisdiction=job.jurisdiction, number=number).first()
    if license is None:
        raise RosterRowRefused(
            [
                {
                    "code": "LICENSE_UNKNOWN",
                    "message": f"The registry has no licence {number[:60]} in {job.jurisdiction}.",
                }
            ]
        )
    same_name = name_key(name) == name_key(license.therapist.name)
    changes: dict[str, Any] = {}
    held: dict[str, Any] = {}
    if status != license.status:
        widens = status == LicenseStatus.ACTIVE
        (held if widens and not same_name else changes)["status"] = status
    if expires_on != license.expires_on:
        widens = expires_on > license.expires_on
        (held if widens and not same_name else changes)["expires_on"] = expires_on
    findings: list[dict[str, Any]] = []
    if changes:
        before = {"status": license.status, "expires_on": license.expires_on}
        try:
            license, rechecked = rechecks.license_change(
                actor=actor,
                license=license,
                reason=f"{job.jurisdiction} licence roster (import {job.pk}, row {line}).",
                **changes,
            )
        except DomainError as error:  # e.g. an expiry before the licence was valid
            messages = [m for ms in error.errors.values() for m in ms] or [error.detail]
            raise RosterRowRefused(
                [{"code": "INVALID_ROW", "message": message} for message in messages]
            ) from None
        said = "; ".join(f"{field} {before[field]} → {value}" for field, value in changes.items())
        if rechecked:
            said += f"; {len(rechecked)} future booking(s) now need reassignment"
        findings.append(
            _finding(
                line,
                license,
                "LICENSE_CHANGED",
                f"Changed to the roster's: {said}.",
                bookings_needing_reassignment=len(rechecked),
            )
        )
    if same_name:
        credential_services.license_verify(
            actor=actor, license=license, source=verification_source(job), at=timezone.now()
        )
    else:
        message = (
            f"The roster names '{name[:80]}', the registry '{license.therapist.name}': check who holds "
            "this licence. Not marked verified."
        )
        if held:
            kept = "; ".join(f"{field} → {value}" for field, value in held.items())
            message += f" Held until then: {kept}."
        findings.append(_finding(line, license, "NAME_MISMATCH", message))
    return findings


def roster_unlisted(job: ImportJob) -> list[dict[str, Any]]:
    """The registry's licences of the roster's jurisdiction that the roster did not list."""
    listed = {row["license_number"] for _, row in roster_rows(job.content) if row.get("license_number")}
    findings = []
    for license in License.objects.filter(jurisdiction=job.jurisdiction).order_by("number").iterator():
        if license.number not in listed:
            findings.append(
                _finding(
                    None,
                    license,
                    "NOT_ON_ROSTER",
                    f"The {job.jurisdiction} roster does not list licence {license.number} "
                    f"({license.status} in the registry); left unchanged.",
                )
            )
    return findings
