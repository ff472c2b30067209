"""``core.db.prepared_cursor``: the eligibility statements are prepared once per connection,
counted like any other query, and not prepared at all when the setting is off."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import prepared_cursor

pytestmark = pytest.mark.django_db

STATEMENT = "SELECT %(n)s::int + 1 AS prepared_cursor_probe"


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%prepared_cursor_probe%"],
        )
        return [row[0] for row in cursor.fetchall()]


def _run(n: int) -> int:
    with prepared_cursor() as cursor:
        cursor.execute(STATEMENT, {"n": n})
        return cursor.fetchone()[0]


def test_a_statement_is_prepared_once_and_reused():
    assert [_run(n) for n in range(3)] == [1, 2, 3]
    assert len(_prepared()) == 1


def test_prepared_statements_are_logged_and_counted():
    with CaptureQueriesContext(connection) as queries:
        _run(41)
    assert [q["sql"] for q in queries.captured_queries] == [STATEMENT.replace("%(n)s", "41")]


def test_nothing_is_prepared_when_switched_off(monkeypatch):
    connection.ensure_connection()
    # REGISTRY_PREPARED_STATEMENTS=0 leaves prepare_threshold unset (None) on the connection
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    assert _run(1) == 2
    assert _prepared() == []
