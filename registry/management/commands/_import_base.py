"""Shared body of the import commands: queue the job, run it with a progress bar, report."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.errors import DomainError
from registry.services.imports import import_create, import_row_count, import_run


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def school(self, options):
        return None

    def import_arguments(self, options) -> dict:
        """More arguments of ``import_create`` for this kind."""
        return {}

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            content = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text; nothing was imported.") from None
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            job = import_create(
                actor=None,
                kind=self.kind,
                content=content,
                school=self.school(options),
                source=path.name,
                **self.import_arguments(options),
            )
        except DomainError as error:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.errors.items())
            raise CommandError(f"{error.detail} {problems} Nothing was imported.".strip()) from error
        total = import_row_count(kind=self.kind, content=content)
        with tqdm(total=total, unit="row", disable=options.get("verbosity", 1) == 0) as bar:
            job = import_run(job_id=job.pk, progress=bar.update)
        self.stdout.write(f"{job.rows} rows: {job.accepted} accepted, {job.refused} refused")
        for entry in job.report:
            reasons = "; ".join(f"{r['code']}: {r['message']}" for r in entry["reasons"])
            self.stdout.write(f"  line {entry['row']}: {reasons}")
        self.write_findings(job)

    def write_findings(self, job) -> None:
        for finding in job.findings:
            where = f"line {finding['row']}" if finding.get("row") is not None else "not listed"
            self.stdout.write(f"  {where}: {finding['code']}: {finding['message']}")
