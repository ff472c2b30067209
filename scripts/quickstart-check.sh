#!/usr/bin/env bash
# The README's quick start, checked: `make run` answers /healthz, a second `make run` is up in
# seconds, `make stop` leaves no server running. Prints the timings; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
port=8000
wait_health() {
  for _ in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}
run_once() {
  local started=$SECONDS
  make run >"${TMPDIR:-/tmp}/make-run.log" 2>&1 &
  local pid=$!
  if ! wait_health; then
    echo "make run did not answer /healthz"; tail -40 "${TMPDIR:-/tmp}/make-run.log"; kill $pid || true; exit 1
  fi
  echo "$1 make run answered /healthz after $((SECONDS - started)) s"
  curl -fsS "http://127.0.0.1:$port/healthz"; echo
  pkill -f "manage.py runserver 127.0.0.1:$port" || true
  wait $pid 2>/dev/null || true
}
run_once "first"
run_once "second"
make stop
sleep 1
if pgrep -f "postgres -D $(pwd)/.data/pg" >/dev/null; then echo "a server is still running after make stop"; exit 1; fi
echo "make stop left no server running"
