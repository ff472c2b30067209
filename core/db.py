"""SQL for rules the database itself holds (used from migrations)."""

from django.db import migrations


def append_only(table: str, *, updatable_columns: tuple[str, ...] = ()) -> migrations.RunSQL:
    """A trigger refusing DELETE, and any UPDATE that changes a column not listed.

    With no ``updatable_columns`` every UPDATE is refused: the rows are history.
    """
    function = f"{table}_append_only"
    if updatable_columns:
        strip = "".join(f" - '{c}'" for c in updatable_columns)
        update_check = f"""
        IF TG_OP = 'UPDATE' THEN
            IF (to_jsonb(NEW){strip}) IS DISTINCT FROM (to_jsonb(OLD){strip}) THEN
                RAISE EXCEPTION '% rows are append-only: only % may change', TG_TABLE_NAME,
                    '{", ".join(updatable_columns)}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END IF;"""
    else:
        update_check = """
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION '% rows are append-only: UPDATE refused', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;"""
    return migrations.RunSQL(
        sql=f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
        {update_check}
            RAISE EXCEPTION '% rows are append-only: DELETE refused', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {function}();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();",
    )
