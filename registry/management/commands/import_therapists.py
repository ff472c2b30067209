from registry.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import therapists with their licences from a CSV file (columns as in API.md)."
    kind = "therapists"
