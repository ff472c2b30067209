"""Verify a credential offline: no database, no network, only the files given.

Revocation: with ``--status-list`` (the ``BitstringStatusListCredential`` the credential's
``credentialStatus`` names, as fetched from ``/api/v1/status-lists/{id}/``), its bit is read
and a revoked credential is NOT valid. Without it, the status is not checked: the ``status``
line says SKIP and where the status is, and the verdict says the revocation was not checked
(exit 0 all the same: nothing failed). A status list is a snapshot: the check says as of when.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from credentials.vc.jws import verify_compact


def _read(path: str, what: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the {what} {path}: {exc}", returncode=2) from exc


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(_read(path, what))
    except ValueError as exc:
        raise CommandError(f"the {what} {path} is not JSON: {exc}", returncode=2) from exc


class Command(BaseCommand):
    help = (
        "Verify a compact-JWS credential (vc+jwt) against a JWKS file, offline. Prints each "
        "check; exits 0 when valid, 1 when not, 2 when a file cannot be read. Give the status "
        "list (--status-list) to check revocation; without it, revocation is not checked."
    )
    # Offline and without a database: no system checks (they may touch the database).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the credential: a file holding the compact JWS ('-': stdin)")
        parser.add_argument("--jwks", required=True, help="the registry's JWKS (/.well-known/jwks.json)")
        parser.add_argument(
            "--status-list",
            help="the credential's status list, a compact JWS as served at "
            "/api/v1/status-lists/{id}/ (checks revocation)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token = _read(options["file"], "credential").strip()
        jwks = _read_json(options["jwks"], "JWKS")
        status_list = _read(options["status_list"], "status list").strip() if options["status_list"] else None
        result = verify_compact(token, jwks, now=dt.datetime.now(dt.UTC), status_list=status_list)
        width = max(len(check.check) for check in result.checks)
        for check in result.checks:
            mark = {True: "PASS", False: "FAIL", None: "SKIP"}[check.passed]
            self.stdout.write(f"{mark}  {check.check:<{width}}  {check.detail}")
        if not result.valid:
            raise CommandError("the credential is NOT valid", returncode=1)
        unchecked = [check.check for check in result.checks if check.passed is None]
        if unchecked:
            self.stdout.write(
                self.style.WARNING(
                    f"the credential is valid, but NOT checked: {', '.join(unchecked)} "
                    "(for revocation, give the credential's status list with --status-list)"
                )
            )
            return
        self.stdout.write(self.style.SUCCESS("the credential is valid"))
