"""Row-level security on the client-data tables, its policies generated from
``registry.rls.ACCESS`` (the same table the Python scopes read), and the slot view the
eligibility engine reads other spas' bookings through. Run as the tables' owner (``migrate``),
which the policies do not apply to; the app role owns nothing, so they apply to it.

A later change to ``ACCESS`` needs a migration running ``rls.install_sql()`` again
(``registry/tests/test_row_level_security.py`` fails until the database's policies match)."""

from django.db import migrations

from registry import rls


class Migration(migrations.Migration):
    dependencies = [("registry", "0012_booking_supervisor_and_slot_holds")]

    operations = [migrations.RunSQL(sql=rls.install_sql(), reverse_sql=rls.uninstall_sql())]
