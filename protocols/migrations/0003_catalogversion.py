from django.db import migrations, models

# Every statement that writes a catalog table gives the catalog a new version number. The
# number comes from a sequence, so a rolled-back change never hands out a number a later change
# gets again (a process caching the catalog by version could otherwise keep a stale copy). An
# upsert, so that the row comes back after a TRUNCATE of every table (the test database's flush).
CATALOG_TABLES = (
    "protocols_protocol",
    "protocols_condition",
    "protocols_requirementgroup",
    "protocols_requirementgroup_protocols",
    "protocols_screeningquestion",
)

SQL = (
    """
CREATE SEQUENCE protocols_catalog_version_seq;
CREATE OR REPLACE FUNCTION protocols_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO protocols_catalogversion (id, version) VALUES (1, nextval('protocols_catalog_version_seq'))
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
INSERT INTO protocols_catalogversion (id, version) VALUES (1, nextval('protocols_catalog_version_seq'));
"""
    + "".join(
        f"""
CREATE TRIGGER {table}_catalog_changed AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION protocols_catalog_changed();
CREATE TRIGGER {table}_catalog_truncated AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION protocols_catalog_changed();
"""
        for table in CATALOG_TABLES
    )
)

REVERSE_SQL = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_catalog_changed ON {table}; "
        f"DROP TRIGGER IF EXISTS {table}_catalog_truncated ON {table}; "
        for table in CATALOG_TABLES
    )
    + "DROP FUNCTION IF EXISTS protocols_catalog_changed(); DROP SEQUENCE IF EXISTS protocols_catalog_version_seq;"
)


class Migration(migrations.Migration):
    dependencies = [("protocols", "0002_protocol_has_three_modules")]

    operations = [
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(id=1), name="catalog_version_single_row")]
            },
        ),
        migrations.RunSQL(sql=SQL, reverse_sql=REVERSE_SQL),
    ]
