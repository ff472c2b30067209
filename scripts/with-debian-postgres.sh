#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at a throwaway Debian PostgreSQL 15 cluster.
# Usage: scripts/with-debian-postgres.sh make test
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | head -1)
d=$(mktemp -d) && chmod 755 "$d" && mkdir "$d/pg" && chown postgres:postgres "$d/pg"
port=${PG15_PORT:-55432}
runuser -u postgres -- "$bin/initdb" -D "$d/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$d/pg" -l "$d/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $d/pg -c fsync=off" start >/dev/null
trap 'kill -INT $(head -1 "$d/pg/postmaster.pid") 2>/dev/null || true' EXIT
echo "Debian PostgreSQL: $("$bin/postgres" --version)"
# The same roles as the embedded server (docs/row-level-security.md): the owner logs in, creates
# the test database and runs the migrations; every connection then runs as the app role (no
# superuser, no BYPASSRLS, owns nothing), so row-level security applies as in production.
"$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE registry_owner LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
CREATE ROLE registry_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT registry_app TO registry_owner;
CREATE DATABASE registry OWNER registry_owner;
SQL
DATABASE_URL="postgres://registry_owner@127.0.0.1:$port/registry" REGISTRY_DB_APP_ROLE=registry_app "$@"
