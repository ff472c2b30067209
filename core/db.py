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


def _unnested(objs: list, connection) -> tuple[str, str, str, list]:
    """The table, the column list and ``SELECT * FROM unnest(...)`` of these instances (one
    model), with its parameters: one array per column."""
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    columns = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs] for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    select = f"SELECT * FROM unnest({arrays})"  # noqa: S608 — the model's own types
    return table, names, select, columns


def _saved(objs: list, using: str) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def insert_many(objs: list, *, using: str = DEFAULT_DB_ALIAS, skip_conflicts: bool = False) -> int:
    """INSERT model instances of one model in ONE statement whatever their number, each column
    sent as one array and unnested (``bulk_create`` composes a parameter per value, and spends
    more time on that than the server on the rows). Field defaults are the instances' own,
    ``auto_now(_add)`` fields are set as ``save()`` sets them; no signals (as ``bulk_create``).
    For the batch writes of imports and re-checks. ``skip_conflicts``: a row that would violate
    a unique or exclusion constraint is not inserted (``ON CONFLICT DO NOTHING``). Returns the
    number of rows inserted."""
    if not objs:
        return 0
    connection = connections[using]
    table, names, select, params = _unnested(objs, connection)
    sql = f"INSERT INTO {table} ({names}) {select}"
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with prepared_cursor(using) as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    if inserted == len(objs):
        _saved(objs, using)
    return inserted


def insert_unless_conflict_then(row, *, then: tuple, using: str = DEFAULT_DB_ALIAS) -> bool:
    """INSERT ``row`` unless it violates a unique or exclusion constraint (``ON CONFLICT DO
    NOTHING``) and, in the SAME statement, one of the two instances of ``then`` (one model):
    the first when ``row`` went in, the second when it did not. Returns whether ``row`` went
    in. (A booking and its decision: the exclusion constraint decides which decision is
    written.)"""
    connection = connections[using]
    if_inserted, if_not = then
    table, names, select, params = _unnested([row], connection)
    then_table, then_names, then_select, if_params = _unnested([if_inserted], connection)
    _, _, _, not_params = _unnested([if_not], connection)
    sql = (
        f"WITH inserted AS (INSERT INTO {table} ({names}) {select} ON CONFLICT DO NOTHING RETURNING 1) "  # noqa: S608
        f"INSERT INTO {then_table} ({then_names}) "
        f"{then_select} WHERE EXISTS (SELECT 1 FROM inserted) "
        f"UNION ALL {then_select} WHERE NOT EXISTS (SELECT 1 FROM inserted) "
        "RETURNING (SELECT count(*) FROM inserted)"
    )
    with prepared_cursor(using) as cursor:
        cursor.execute(sql, [*params, *if_params, *not_params])
        went_in = bool(cursor.fetchone()[0])
    _saved([row, if_inserted] if went_in else [if_not], using)
    return went_in


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
