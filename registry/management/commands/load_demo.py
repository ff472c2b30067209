from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load demo schools, instructors, a spa, therapists and one user per role (idempotent)."

    def handle(self, *args, **options):
        self.stdout.write("demo: nothing to load yet")
