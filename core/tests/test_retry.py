"""Serialization failures and deadlocks are retried, never surfaced as a 500."""

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from core.retry import retry_on_conflict
from registry import rls


def test_a_deadlock_is_retried_until_it_succeeds(transactional_db):
    # DDL is the owner's (the app role owns nothing, registry.rls); the threads run as the app role
    with rls.as_owner(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS retry_probe (id int primary key, v int)")
        cursor.execute("TRUNCATE retry_probe")
        cursor.execute("INSERT INTO retry_probe VALUES (1, 0), (2, 0)")
        cursor.execute(
            f"GRANT SELECT, UPDATE ON retry_probe TO {connection.settings_dict['OPTIONS']['assume_role']}"
        )
    barrier = threading.Barrier(2)
    attempts = {"a": 0, "b": 0}
    errors = []

    def worker(name, first, second):
        @retry_on_conflict(attempts=5)
        def body():
            attempts[name] += 1
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE retry_probe SET v = v + 1 WHERE id = %s", [first])
                if attempts[name] == 1:
                    barrier.wait(5)
                cursor.execute("UPDATE retry_probe SET v = v + 1 WHERE id = %s", [second])

        try:
            body()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=("a", 1, 2)),
        threading.Thread(target=worker, args=("b", 2, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert attempts["a"] + attempts["b"] == 3  # one of them was the deadlock victim and ran again
    with rls.as_owner(), connection.cursor() as cursor:
        cursor.execute("SELECT sum(v) FROM retry_probe")
        assert cursor.fetchone()[0] == 4
        cursor.execute("DROP TABLE retry_probe")


def test_other_errors_are_not_retried(transactional_db):
    calls = []

    @retry_on_conflict()
    def fails():
        calls.append(1)
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        fails()
    assert calls == [1]
