"""The policies of the tables whose rows follow a parent's (intake conditions, session outcomes,
adverse events) probe the parent row by primary key instead of scanning every visible parent
(``registry.rls.VIA_INTAKE``, ``VIA_BOOKING``): the policies installed again from
``registry.rls.ACCESS``, as 0020 says a change to it needs."""

from django.db import migrations

from registry import rls


class Migration(migrations.Migration):
    dependencies = [("registry", "0020_row_level_security")]

    operations = [migrations.RunSQL(sql=rls.install_sql(), reverse_sql=migrations.RunSQL.noop)]
