from django.db import migrations

# A catalog version number is never handed out twice: not by a write that supplies one (loaddata,
# a hand-made UPDATE: the row trigger replaces any value with a fresh one), not by the sequence
# being dropped and created again (migrating back and forth): it continues from the clock, in
# microseconds, past any number it gave before. A process keeps its catalog copy by this number.
SQL = """
SELECT setval('protocols_catalog_version_seq', GREATEST(
    (SELECT last_value FROM protocols_catalog_version_seq),
    (extract(epoch FROM clock_timestamp()) * 1000000)::bigint));
CREATE OR REPLACE FUNCTION protocols_catalog_version_fresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := nextval('protocols_catalog_version_seq');
    RETURN NEW;
END $$;
CREATE TRIGGER protocols_catalogversion_fresh BEFORE INSERT OR UPDATE ON protocols_catalogversion
    FOR EACH ROW EXECUTE FUNCTION protocols_catalog_version_fresh();
UPDATE protocols_catalogversion SET version = 0;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS protocols_catalogversion_fresh ON protocols_catalogversion;
DROP FUNCTION IF EXISTS protocols_catalog_version_fresh();
"""


class Migration(migrations.Migration):
    dependencies = [("protocols", "0003_catalogversion")]

    operations = [migrations.RunSQL(sql=SQL, reverse_sql=REVERSE_SQL)]
