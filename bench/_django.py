"""Django set-up shared by the bench scripts (they run as plain scripts: ``python bench/x.py``).

The bench database is chosen by the environment, exactly as the project does it:
``REGISTRY_DATA_DIR`` (the embedded server's directory, e.g. ``.data/bench``) and
``REGISTRY_DB_NAME`` (the database on it; default ``registry``). ``ensure_database`` creates
that database on the embedded server before Django connects to it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

BENCH_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "REGISTRY_THROTTLE_RATES": "off",
    "LOG_LEVEL": "ERROR",
}


def data_dir() -> str:
    """The bench server's directory: ``BENCH_DATA_DIR``, default ``.data/bench`` (never the
    development one, whatever ``REGISTRY_DATA_DIR`` says)."""
    return os.environ.get("BENCH_DATA_DIR") or str(ROOT / ".data" / "bench")


def bench_env(db_name: str | None = None, **extra: str) -> dict[str, str]:
    """The environment a bench process (gunicorn, a bench script) runs with."""
    env = dict(os.environ)
    env.update(BENCH_ENV)
    env["REGISTRY_DATA_DIR"] = data_dir()
    env.pop("DATABASE_URL", None)  # the bench always uses its own embedded server
    if db_name:
        env["REGISTRY_DB_NAME"] = db_name
    env.update(extra)
    return env


def ensure_database(name: str) -> None:
    """Start the embedded server (in ``REGISTRY_DATA_DIR``) and create database ``name``."""
    import psycopg

    from registry.embedded_postgres import OWNER_ROLE, ensure_running

    socket_dir = ensure_running()
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            # owned by the owner role, which migrates it; the app role runs the bench's requests
            conn.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')


def configure_server(shared_buffers: str) -> None:
    """Set the bench server's ``shared_buffers`` (ALTER SYSTEM), restarting it when that
    changes it. The embedded server starts with PostgreSQL's default, 128MB, sized for a small
    machine; the large data is about 4 GB, and a deployment gives PostgreSQL a share of its
    memory (the usual guidance is a quarter of RAM; 1GB is a twenty-fourth of this machine's)."""
    import psycopg

    from registry.embedded_postgres import ensure_running, stop

    with psycopg.connect(host=ensure_running(), user="postgres", dbname="postgres", autocommit=True) as conn:
        if conn.execute("SHOW shared_buffers").fetchone()[0] == shared_buffers:
            return
        conn.execute(psycopg.sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(shared_buffers))
    stop()  # the next connection starts it again, with the new setting


def drop_database(name: str) -> None:
    import psycopg

    from registry.embedded_postgres import ensure_running

    socket_dir = ensure_running()
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup() -> str:
    """Configure Django for the bench database; returns the database name."""
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["REGISTRY_DATA_DIR"] = data_dir()
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    # A bench script is a command: the system row-level security scope (registry.rls).
    os.environ.setdefault("REGISTRY_PROCESS_SCOPE", "system")
    name = os.environ.get("REGISTRY_DB_NAME", "registry")
    ensure_database(name)
    import django

    django.setup()
    return name
