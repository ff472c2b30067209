"""``flush`` as the tables' owner (the test database between transactional tests): TRUNCATE is
not the app role's to run (``registry.rls.grant_sql``)."""

from django.core.management.commands.flush import Command as FlushCommand

from registry import rls


class Command(FlushCommand):
    def handle(self, **options):
        with rls.as_owner(options["database"]):
            return super().handle(**options)
