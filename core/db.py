"""SQL helpers: rules the database itself holds (used from migrations), and a cursor for the
hottest fixed statements."""

from django.db import DEFAULT_DB_ALIAS, connections, migrations
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _PreparingCursor(ServerBindingCursor):
    """Server-side binding, and every statement prepared on its first execution."""

    def execute(self, query, params=None, *, prepare=True, binary=None):
        return super().execute(query, params, prepare=prepare, binary=binary)


class _DebugWrapperWithValues(CursorDebugWrapper):
    """Logs a statement with its values, as Django logs its own (client-side bound) ones: the
    server-bound text has ``$1`` placeholders, which EXPLAIN or a reader cannot run."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params) if params else sql, params):
            return CursorWrapper.execute(self, sql, params)


def prepared_cursor(using: str = DEFAULT_DB_ALIAS):
    """A cursor whose statements PostgreSQL parses and plans once per connection (psycopg
    prepares them, by name, on first use): for the few fixed statements every eligibility
    request runs, where planning costs more than executing. Logged and counted like any other
    cursor. Without ``prepare_threshold`` in the database OPTIONS (``REGISTRY_PREPARED_STATEMENTS=0``,
    e.g. behind a transaction-pooling PgBouncer older than 1.21) nothing is prepared."""
    connection = connections[using]
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = _PreparingCursor(connection.connection)
    if connection.queries_logged:
        return _DebugWrapperWithValues(cursor, connection)
    return connection.make_cursor(cursor)


def insert_many(objs: list, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT model instances of one model in ONE statement whatever their number, each column
    sent as one array and unnested (``bulk_create`` composes a parameter per value, and spends
    more time on that than the server on the rows). Field defaults are the instances' own,
    ``auto_now(_add)`` fields are set as ``save()`` sets them; no signals (as ``bulk_create``).
    For the batch writes of imports and re-checks."""
    if not objs:
        return
    connection = connections[using]
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    columns = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs] for f in fields]
    sql = "INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})".format(  # noqa: S608
        table=connection.ops.quote_name(model._meta.db_table),
        names=", ".join(connection.ops.quote_name(f.column) for f in fields),
        arrays=", ".join(f"%s::{f.db_type(connection)}[]" for f in fields),
    )
    with prepared_cursor(using) as cursor:
        cursor.execute(sql, columns)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


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
