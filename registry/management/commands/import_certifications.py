from django.core.management.base import CommandError

from credentials.models import School
from registry.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import certifications issued by one school from a CSV file (columns as in API.md)."
    kind = "certifications"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--school", required=True, help="the issuing school's id")

    def school(self, options):
        try:
            return School.objects.get(pk=options["school"])
        except (School.DoesNotExist, ValueError) as error:
            raise CommandError(f"no school {options['school']}") from error
