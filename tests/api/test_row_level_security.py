"""Row-level security (registry.rls, docs/row-level-security.md): PostgreSQL itself keeps
client data to its tenant, whatever query the code runs; the Python scopes and the policies
come from one access table; the bypasses are where they are said to be, and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.http import HttpResponse
from django.test import RequestFactory

from api.authentication import token_user
from api.tenancy import scoped
from registry import rls
from registry.choices import Role
from registry.middleware import RowLevelSecurityMiddleware
from registry.models import AdverseEvent, Booking, Decision, Intake, SessionOutcome

ROOT = Path(__file__).resolve().parents[2]
CLIENT_MODELS = (Intake, Booking, Decision, SessionOutcome, AdverseEvent)


def _ids(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


def test_the_app_connects_as_a_role_that_is_no_superuser_and_owns_no_client_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user"
        )
        user, superuser, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT relname, pg_get_userbyid(relowner), relrowsecurity FROM pg_class WHERE relname = ANY(%s)",
            [list(rls.ACCESS)],
        )
        tables = {name: (owner, on) for name, owner, on in cursor.fetchall()}
    assert (user, superuser, bypass) == ("registry_app", False, False)
    assert set(tables) == set(rls.ACCESS)
    for name, (owner, on) in tables.items():
        assert owner != user, name
        assert on, f"row-level security is off on {name}"


def test_the_policies_are_the_access_tables(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE tablename = ANY(%s)", [list(rls.ACCESS)]
        )
        found: dict[str, set[str]] = {}
        for table, policy in cursor.fetchall():
            found.setdefault(table, set()).add(policy)
    assert found == {table: set(rules) for table, rules in rls.ACCESS.items()}


def test_an_unscoped_query_in_a_spa_staff_request_sees_only_that_spas_rows(tenants, make_user):
    """The session path (pages, admin): the middleware sets the scope; the view's query names
    no spa."""
    user = make_user(Role.SPA_STAFF, spa=tenants.spa_a)
    seen = {}

    def view(request):
        seen.update({model: _ids(model) for model in CLIENT_MODELS})
        seen["all"] = list(Intake.objects.all())
        return HttpResponse()

    request = RequestFactory().get("/")
    request.session = {SESSION_KEY: str(user.pk)}
    request.user = user
    RowLevelSecurityMiddleware(view)(request)
    assert [i.pk for i in seen["all"]] == [tenants.intake_a.pk]
    assert seen[Booking] == {tenants.booking_a.pk}
    assert seen[Decision] == {tenants.decision_a.pk}


def test_an_unscoped_query_after_token_authentication_sees_only_that_spas_rows(tenants, make_user):
    """The API path: the authentication statement itself sets the settings."""
    user = make_user(Role.SPA_STAFF, spa=tenants.spa_b)
    with rls.scope(None), transaction.atomic():
        assert token_user(user.token) is not None
        assert [i.pk for i in Intake.objects.all()] == [tenants.intake_b.pk]
        assert _ids(Booking) == {tenants.booking_b.pk}


def test_with_no_settings_no_client_row_is_seen(tenants):
    assert _ids(Intake) == {tenants.intake_a.pk, tenants.intake_b.pk}  # the test's system scope
    with rls.scope(None):
        for model in CLIENT_MODELS:
            assert model.objects.count() == 0, model.__name__
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM registry_intake")
            assert cursor.fetchone() == (0,)
    with rls.scope(None), transaction.atomic():
        assert Intake.objects.count() == 0


def test_a_write_outside_the_callers_rows_is_refused(tenants):
    with rls.scope(rls.DbScope("spa-staff", spa=str(tenants.spa_a.pk))):
        # another spa's booking: not there to update
        assert Booking.objects.filter(pk=tenants.booking_b.pk).update(focus_minutes=0) == 0
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Intake.objects.filter(pk=tenants.intake_a.pk).update(spa=tenants.spa_b)


@pytest.mark.parametrize("role", [Role.SPA_STAFF, Role.THERAPIST, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN])
def test_the_python_scopes_and_the_policies_agree(tenants, make_user, role):
    tenant = {
        Role.SPA_STAFF: {"spa": tenants.spa_a},
        Role.THERAPIST: {"therapist": tenants.therapist_a},
        Role.SCHOOL_STAFF: {"school": tenants.school_a},
        Role.REGISTRY_ADMIN: {},
    }[role]
    user = make_user(role, **tenant)
    from api.tenancy import membership_of

    db_scope = rls.scope_of_membership(membership_of(user))
    for resource, model in (("intakes", Intake), ("bookings", Booking), ("decisions", Decision)):
        python = set(scoped(resource, model.objects.all(), user).values_list("pk", flat=True))
        with rls.scope(db_scope):
            database = _ids(model)
        assert python == database, (role, resource)


def test_the_incident_review_sees_one_bookings_rows_only(tenants):
    with rls.scope(rls.DbScope(rls.INCIDENT_ROLE, booking=str(tenants.booking_a.pk))):
        assert _ids(Booking) == {tenants.booking_a.pk}
        assert _ids(Intake) == {tenants.intake_a.pk}
        assert _ids(Decision) == {tenants.decision_a.pk}


def test_the_bypasses_are_refused_outside_their_places(db):
    # called from here (a test module), not from the incident views or a listed module
    nobody = Booking(pk="00000000-0000-0000-0000-000000000000")
    with pytest.raises(PermissionError, match="may not bypass"):
        rls.incident_review(booking=nobody).__enter__()
    with pytest.raises(PermissionError, match="may not use the system scope"):
        rls.system_scope().__enter__()


def test_the_app_role_cannot_switch_row_level_security_off(db):
    with (
        pytest.raises(DatabaseError, match="must be owner"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("ALTER TABLE registry_intake DISABLE ROW LEVEL SECURITY")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL row_security = off")
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute("SELECT count(*) FROM registry_intake")


def _callers(name: str) -> set[str]:
    """Files of the project (tests aside) that call ``name(``."""
    found = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if (
            relative.startswith((".venv/", "tests/"))
            or "/tests/" in relative
            or relative == "registry/rls.py"
        ):
            continue
        if re.search(rf"\b{name}\(", path.read_text()):
            found.add(relative)
    return found


def test_the_bypasses_are_used_only_by_the_audited_read_and_the_owners_work():
    """The incident bypass: only in the incident views (the audited read, and an admin's
    audited adverse-event report on one booking); the owner (no policy applies): only the
    migrations, the test flush and the bench's data load; the system scope: only where
    ``SYSTEM_SCOPE_CALLERS`` says why."""
    assert _callers("incident_review") == {"api/views/bookings.py"}
    assert _callers("as_owner") == {
        "registry/management/commands/migrate.py",
        "registry/management/commands/flush.py",
        "bench/generate.py",
    }
    modules = {name.replace("/", ".").removesuffix(".py") for name in _callers("system_scope")}
    assert modules == set(rls.SYSTEM_SCOPE_CALLERS)
    # the settings themselves are written by registry.rls alone (the authentication statement
    # takes its columns from rls.settings_select_sql)
    assert _callers("set_config") == set()
    text = (ROOT / "api/views/bookings.py").read_text()
    read = text[text.index("def incident(") :]
    assert read.index("audit_record(") < read.index("rls.incident_review(")


def test_the_owners_work_inside_a_transaction_is_not_committed_by_the_switch_back(db):
    """``as_owner`` inside a transaction (a test's, a request's) returns to the app role without
    committing: a leaked commit once left a test's broken row in the database for the next."""
    from django.db import connections

    from registry.tests.factories import SpaFactory

    spa = SpaFactory()
    with rls.as_owner(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "registry_app"
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM registry_spa WHERE id = %s", [spa.pk])
            assert cursor.fetchone()[0] == 0, "the test's transaction was committed"
    finally:
        other.close()
