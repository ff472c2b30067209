"""``migrate`` as the tables' owner: the connection leaves the app role for the migrations
(``registry.rls.as_owner``), then grants the app role its rows (``registry.rls.grant_sql``) on
every table, the new ones included. The app role owns nothing, so row-level security applies
to it; the owner is exempt, which is the migrations' bypass."""

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

from registry import rls


class Command(MigrateCommand):
    def handle(self, *args, **options):
        using = options["database"]
        connection = connections[using]
        with rls.as_owner(using):
            result = super().handle(*args, **options)
            app_role = connection.settings_dict["OPTIONS"].get("assume_role")
            if app_role:
                with connection.cursor() as cursor:
                    cursor.execute(rls.grant_sql(app_role))
        return result
