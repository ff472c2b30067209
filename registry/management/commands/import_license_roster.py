from collections import Counter

from registry.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = (
        "Compare a licensing board's roster (CSV or JSON: license_number, name, status, expires_on) "
        "with the registry's licences of one jurisdiction, and apply the differences."
    )
    kind = "license-roster"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--jurisdiction", required=True, help="the roster's ISO 3166-2 code, e.g. US-CA")

    def import_arguments(self, options) -> dict:
        return {"jurisdiction": options["jurisdiction"]}

    def write_findings(self, job) -> None:
        counts = Counter(finding["code"] for finding in job.findings)
        self.stdout.write(
            f"{counts['LICENSE_CHANGED']} changed, {counts['NAME_MISMATCH']} names to review, "
            f"{counts['NOT_ON_ROSTER']} licences not on the roster"
        )
        super().write_findings(job)
