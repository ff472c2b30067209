"""Row-level security on the client-data tables, in one place (docs/row-level-security.md).

PostgreSQL, not only Python, keeps one spa's clients from another: every client-data table
has row-level security on, with one permissive policy per role of :data:`ACCESS`. A policy
reads the caller from per-transaction settings (``set_config(..., true)``, gone at COMMIT or
ROLLBACK)::

    registry.role       spa-staff | therapist | school-staff | registry-admin | system | incident
    registry.spa        the spa of spa staff
    registry.therapist  the therapist of a therapist user
    registry.booking    the one booking of the audited incident read

With no setting there is no role, and no policy lets a row through: fail closed.

Who sets them (all through :func:`_apply`, from the scope of the database connection):

- requests (API, pages, admin): :class:`registry.middleware.RowLevelSecurityMiddleware` runs each
  request in one transaction and starts it with no scope; the session user's scope is set there,
  the token user's by the authentication statement itself (``api.authentication``: the settings
  are columns of that one prepared statement, from :func:`settings_select_sql`);
- Celery tasks: ``system`` (``registry.celery``: ``task_prerun``/``task_postrun``);
- management commands and the test process: ``system`` as the process default
  (``REGISTRY_PROCESS_SCOPE=system``, set by ``manage.py`` and ``conftest.py``);
- cross-tenant use cases inside a request, explicitly: :func:`system_scope` (the re-check
  fan-out after a change, aggregate reads that return counts only); callers are listed in
  :data:`SYSTEM_SCOPE_CALLERS` and a test holds the code to that list;
- the registry admin's audited incident read: :func:`incident_review`, the one narrow bypass
  (the rows of ONE booking), callable only from ``api.views.bookings``.

The settings are applied lazily: the first statement of a transaction run with a scope is
preceded by one ``SELECT set_config(...)`` (sent on the driver connection, so it is not counted
as one of Django's queries); a statement run outside a transaction with a scope is wrapped in
one. Migrations (and the test flush) run as the tables' owner (:func:`as_owner`), which row-level
security does not apply to; the application's role owns nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, OuterRef, Q

SETTING_ROLE = "registry.role"
SETTING_SPA = "registry.spa"
SETTING_THERAPIST = "registry.therapist"
SETTING_BOOKING = "registry.booking"

SYSTEM_ROLE = "system"
INCIDENT_ROLE = "incident"


@dataclass(frozen=True)
class DbScope:
    """Who the database sees as asking: a role and the tenant ids its policies read."""

    role: str
    spa: str = ""
    therapist: str = ""
    booking: str = ""

    def values(self) -> list[str]:
        return [self.role, self.spa, self.therapist, self.booking]


SYSTEM = DbScope(SYSTEM_ROLE)
_EMPTY = DbScope("")


def scope_of_membership(membership) -> DbScope | None:
    """The scope of a user's membership (``None``: no role, so no client rows)."""
    if membership is None:
        return None
    return DbScope(
        role=str(membership.role),
        spa=str(membership.spa_id or ""),
        therapist=str(membership.therapist_id or ""),
    )


# --- the access table ---------------------------------------------------------------------------

_SPA = f"NULLIF(current_setting('{SETTING_SPA}', true), '')::uuid"
_THERAPIST = f"NULLIF(current_setting('{SETTING_THERAPIST}', true), '')::uuid"
_BOOKING = f"NULLIF(current_setting('{SETTING_BOOKING}', true), '')::uuid"


@dataclass(frozen=True)
class Rule:
    """Which rows of a table a role sees: ``sql`` is the policy's condition (the table's own
    columns unqualified), ``q`` the same as an ORM filter for the Python scopes
    (``api.tenancy``), where one is needed."""

    name: str
    sql: str

    def q(self, scope: DbScope) -> Q:
        if self.name == "all":
            return Q()
        if self.name == "own spa":
            return Q(spa_id=scope.spa)
        if self.name == "own therapist":
            return Q(therapist_id=scope.therapist)
        if self.name == "assigned to the therapist":
            from registry.models import Booking

            return Q(Exists(Booking.objects.filter(intake=OuterRef("pk"), therapist_id=scope.therapist)))
        raise NotImplementedError(f"rule {self.name!r} has no Python form")


ALL = Rule("all", "true")
OWN_SPA = Rule("own spa", f"spa_id = {_SPA}")
OWN_THERAPIST = Rule("own therapist", f"therapist_id = {_THERAPIST}")
ASSIGNED = Rule(
    "assigned to the therapist",
    "EXISTS (SELECT 1 FROM registry_booking b WHERE b.intake_id = registry_intake.id "
    f"AND b.therapist_id = {_THERAPIST})",
)
# The booking's own row policy decides: whoever sees the booking sees these. Correlated (one
# primary-key probe per row read, the parent's policy applied to that row), never ``IN (SELECT
# ...)``: that one is planned as a hashed sub-plan over every visible parent row, a scan of the
# parent table in each statement (the eligibility check's intake conditions cost 9 ms at 10,000
# intakes that way). ``{table}``: the table the policy is on.
VIA_BOOKING = Rule(
    "of a visible booking", "EXISTS (SELECT 1 FROM registry_booking b WHERE b.id = {table}.booking_id)"
)
VIA_INTAKE = Rule(
    "of a visible intake", "EXISTS (SELECT 1 FROM registry_intake i WHERE i.id = {table}.intake_id)"
)
INCIDENT_BOOKING = Rule("the incident's booking", f"id = {_BOOKING}")
INCIDENT_INTAKE = Rule(
    "the incident booking's intake",
    f"id IN (SELECT b.intake_id FROM registry_booking b WHERE b.id = {_BOOKING})",
)
INCIDENT_ROWS = Rule("of the incident's booking", f"booking_id = {_BOOKING}")

# table -> role -> rule. A role not named sees no row of the table. Follows API.md's roles table
# (and DESIGN.md's "Client data"): client data reaches the spa that recorded it and the
# therapist assigned to a booking on it; registry admins see bookings and decision logs (the API
# lets them read one booking's log by id) and adverse events (the review of the certifications
# they put under review), never intakes or outcomes except in the audited incident read; school
# staff see none. ``system`` is the explicit scope of jobs (re-check fan-out, reminders, imports,
# commands) and of aggregate reads.
ACCESS: dict[str, dict[str, Rule]] = {
    "registry_intake": {
        "spa-staff": OWN_SPA,
        "therapist": ASSIGNED,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: INCIDENT_INTAKE,
    },
    "registry_intake_conditions": {
        "spa-staff": VIA_INTAKE,
        "therapist": VIA_INTAKE,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: VIA_INTAKE,
    },
    "registry_booking": {
        "spa-staff": OWN_SPA,
        "therapist": OWN_THERAPIST,
        "registry-admin": ALL,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: INCIDENT_BOOKING,
    },
    "registry_decision": {
        "spa-staff": OWN_SPA,
        "registry-admin": ALL,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: INCIDENT_ROWS,
    },
    "registry_sessionoutcome": {
        "spa-staff": VIA_BOOKING,
        "therapist": VIA_BOOKING,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: INCIDENT_ROWS,
    },
    "registry_adverseevent": {
        "spa-staff": VIA_BOOKING,
        "therapist": VIA_BOOKING,
        "registry-admin": ALL,
        SYSTEM_ROLE: ALL,
        INCIDENT_ROLE: INCIDENT_ROWS,
    },
}

# What the eligibility engine needs of every therapist's bookings, whatever spa asks: the slots
# they hold, treating or supervising (THERAPIST_UNAVAILABLE, SUPERVISOR_UNAVAILABLE). No client
# data: no intake, no reasons. A view owned by the tables' owner reads the table as its owner, so
# this is the one window across spas.
SLOT_VIEW = "registry_booking_slot"
SLOT_VIEW_COLUMNS = ("id", "spa_id", "therapist_id", "start", "end", "status", "supervisor_id")


def filter_for(table: str, queryset, scope: DbScope | None):
    """``queryset`` narrowed by the rule of ``table`` for ``scope`` (the Python scopes read the
    same table as the policies)."""
    rule = ACCESS[table].get(scope.role) if scope is not None else None
    if rule is None:
        return queryset.none()
    return queryset.filter(rule.q(scope))


def policy_condition(role: str, rule: Rule, table: str) -> str:
    return f"current_setting('{SETTING_ROLE}', true) = '{role}' AND ({rule.sql.replace('{table}', table)})"


def install_sql(app_role: str | None = None) -> str:
    """Row-level security on every table of :data:`ACCESS`, its policies exactly the table's
    (existing ones dropped first), and the slot view. Run by the migrations, as the owner."""
    parts = []
    for table, rules in ACCESS.items():
        parts.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
        parts.append(
            "DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies "
            f"WHERE schemaname = current_schema() AND tablename = '{table}' LOOP "
            f"EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$;"
        )
        for role, rule in rules.items():
            condition = policy_condition(role, rule, table)
            parts.append(f'CREATE POLICY "{role}" ON {table} USING ({condition}) WITH CHECK ({condition});')
    columns = ", ".join(f'"{c}"' for c in SLOT_VIEW_COLUMNS)
    parts.append(f"CREATE OR REPLACE VIEW {SLOT_VIEW} AS SELECT {columns} FROM registry_booking;")
    return "\n".join(parts)


def uninstall_sql() -> str:
    parts = [f"DROP VIEW IF EXISTS {SLOT_VIEW};"]
    for table, rules in ACCESS.items():
        parts.extend(f'DROP POLICY IF EXISTS "{role}" ON {table};' for role in rules)
        parts.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;")
    return "\n".join(parts)


# --- the scope of a connection ------------------------------------------------------------------

_SETTINGS_SQL = (
    f"SELECT set_config('{SETTING_ROLE}', %s, true), set_config('{SETTING_SPA}', %s, true), "
    f"set_config('{SETTING_THERAPIST}', %s, true), set_config('{SETTING_BOOKING}', %s, true)"
)


def settings_select_sql(*, role: str, spa: str, therapist: str) -> str:
    """The settings as columns of another statement (the authentication statement: the token's
    user's scope costs no statement of its own). The arguments are SQL expressions."""
    return (
        f"set_config('{SETTING_ROLE}', COALESCE({role}, ''), true), "
        f"set_config('{SETTING_SPA}', COALESCE({spa}, ''), true), "
        f"set_config('{SETTING_THERAPIST}', COALESCE({therapist}, ''), true), "
        f"set_config('{SETTING_BOOKING}', '', true)"
    )


def process_default() -> DbScope | None:
    """``system`` in management commands and the test process (``REGISTRY_PROCESS_SCOPE``),
    none in web processes and workers (tasks get ``system`` per task)."""
    return SYSTEM if os.environ.get("REGISTRY_PROCESS_SCOPE") == SYSTEM_ROLE else None


class _Unknown:
    """What the settings are after a rolled-back savepoint: not known, so applied again."""


UNKNOWN = _Unknown()


def _apply(conn, scope: DbScope | None) -> None:
    from psycopg.pq import TransactionStatus

    if conn.connection.info.transaction_status == TransactionStatus.INERROR:
        return  # the statement will fail as it is; the settings are set again after the rollback
    conn.connection.execute(_SETTINGS_SQL, (scope or _EMPTY).values())
    conn.rls_applied = scope


_TRANSACTION_CONTROL = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


def execute_wrapper(execute, sql, params, many, context):
    """Every statement runs with the connection's scope: the first statement of a transaction
    is preceded by the settings (when there is a scope, or another one was applied in it); a
    statement outside a transaction is given one, when there is a scope."""
    conn = context["connection"]
    scope = conn.rls_scope
    if owner_mode() or (isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL)):
        # the owner: no policy applies (migrations, the test flush); savepoints read no row
        return execute(sql, params, many, context)
    if conn.in_atomic_block:
        if conn.rls_applied != scope:  # None applied: nothing set in this transaction yet
            _apply(conn, scope)
        return execute(sql, params, many, context)
    if scope is None:
        return execute(sql, params, many, context)
    with transaction.atomic(using=conn.alias):
        _apply(conn, scope)
        return execute(sql, params, many, context)


def adopt(scope: DbScope | None, using: str = DEFAULT_DB_ALIAS) -> None:
    """The connection's scope is ``scope``, and the statement just run already set it (the
    authentication statement)."""
    conn = connections[using]
    conn.rls_scope = scope
    if conn.in_atomic_block:
        conn.rls_applied = scope


def set_scope(scope: DbScope | None, using: str = DEFAULT_DB_ALIAS) -> None:
    """The scope of the connection's next statements (applied lazily)."""
    connections[using].rls_scope = scope


def current_scope(using: str = DEFAULT_DB_ALIAS) -> DbScope | None:
    return connections[using].rls_scope


@contextlib.contextmanager
def scope(new: DbScope | None, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Statements inside run with ``new``; the previous scope is back afterwards."""
    conn = connections[using]
    previous = conn.rls_scope
    conn.rls_scope = new
    try:
        yield
    finally:
        conn.rls_scope = previous


# Where code may switch to the system scope inside a request: module -> why.
SYSTEM_SCOPE_CALLERS = {
    "registry.services.rechecks": "the re-check fan-out: bookings of every spa resting on what changed",
    "registry.selectors": "the safety record: counts over every spa's completed sessions",
    "registry.coverage.selectors": "a school's demand: refusal counts over the jurisdiction's spas",
    "registry.services.bookings": "a certification's supervised sessions: counted over every spa",
}


@contextlib.contextmanager
def system_scope(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """The ``system`` scope, for the cross-tenant work named in :data:`SYSTEM_SCOPE_CALLERS`
    (refused anywhere else)."""
    caller = inspect.currentframe().f_back.f_back.f_globals.get("__name__", "")
    if caller not in SYSTEM_SCOPE_CALLERS:
        raise PermissionError(f"{caller} may not use the system scope (registry.rls.SYSTEM_SCOPE_CALLERS)")
    with scope(SYSTEM, using):
        yield


INCIDENT_CALLERS = ("api.views.bookings",)


@contextlib.contextmanager
def incident_review(*, booking, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """The one bypass of the client-data policies: inside, the database shows the rows of ONE
    booking (the booking, its intake, its decisions, its outcome and adverse events) and
    nothing else. For the registry admin's incident read, which is audited by its caller before
    it enters; refused outside ``api.views.bookings``."""
    caller = inspect.currentframe().f_back.f_back.f_globals.get("__name__", "")
    if caller not in INCIDENT_CALLERS:
        raise PermissionError(f"{caller} may not bypass row-level security (registry.rls.incident_review)")
    with scope(DbScope(INCIDENT_ROLE, booking=str(booking.pk)), using):
        yield


# --- the owner ----------------------------------------------------------------------------------

_owner = threading.local()


def owner_mode() -> bool:
    """Whether new connections stay the login role (the owner) instead of the app role."""
    return getattr(_owner, "depth", 0) > 0


@contextlib.contextmanager
def as_owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Statements inside run as the login role, the tables' owner (``RESET ROLE``): migrations,
    the test database's flush, the bench's data load. Row-level security does not apply to the
    owner, so nothing else uses this (a test holds the code to that)."""
    conn = connections[using]
    _owner.depth = getattr(_owner, "depth", 0) + 1
    try:
        if conn.connection is not None:
            with conn.cursor() as cursor:
                cursor.execute("RESET ROLE")
        yield
    finally:
        _owner.depth -= 1
        if conn.connection is not None and not owner_mode():
            conn.configure_app_role()


def grant_sql(app_role: str) -> str:
    """What the app role may do: read and write rows of every table (row-level security
    narrowing the client-data ones), use the sequences. No TRUNCATE, no DDL, owns nothing."""
    return (
        f'GRANT USAGE ON SCHEMA public TO "{app_role}"; '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app_role}"; '
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_role}"; '
        f'REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM "{app_role}";'
    )
