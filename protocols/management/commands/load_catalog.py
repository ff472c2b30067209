from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the shipped example catalog (idempotent)."

    def handle(self, *args, **options):
        self.stdout.write("catalog: nothing to load yet")
