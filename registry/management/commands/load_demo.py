from django.core.management.base import BaseCommand

from registry.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load demo schools, instructors, a spa, therapists and one user per role (idempotent)."

    def handle(self, *args, **options):
        users = load_demo()
        self.stdout.write(f"Demo users (password for the pages: {DEMO_PASSWORD})")
        for username, role, token in users:
            self.stdout.write(f"  {username:16} {role:15} token {token}")
        self.stdout.write("Try: curl -H 'Authorization: Token <token>' http://127.0.0.1:8000/api/v1/me/")
