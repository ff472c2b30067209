"""The foundation: a real PostgreSQL with btree_gist, health, production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connection

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_test_database_is_postgresql_15_or_newer_with_btree_gist():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() is not None


@pytest.mark.django_db
def test_healthz_answers_ok_with_the_database_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_without_the_database(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_production_settings_refuse_to_start_without_a_secret():
    result = _manage("check", env={"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_passes_with_production_style_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "k" * 20 + "production-like-secret-Zx8!q2@w7#e6$r5%t4^y3&u",
            "ALLOWED_HOSTS": "registry.example.org",
            "REGISTRY_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_command_that_needs_no_database_starts_none(tmp_path):
    result = _manage("check", env={"DEBUG": "1", "SECRET_KEY": "dev", "REGISTRY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pg").exists()


def test_the_tests_needing_a_system_program_live_where_ci_checks_the_missing_program_path():
    """CI runs tests/integration and tests/web on a fresh clone with redis-server and chromium
    hidden (scripts/fresh-machine-test.sh): every test that needs a program must live there."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    users = {
        path.relative_to(root).parts[:2]
        for path in root.rglob("*.py")
        if ".venv" not in path.parts
        and ".data" not in path.parts
        and path != Path(__file__).resolve()
        and "require_program(" in path.read_text()
    }
    assert users <= {("conftest.py",), ("tests", "integration"), ("tests", "web")}, users
