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
DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
