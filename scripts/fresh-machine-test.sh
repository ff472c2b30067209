#!/usr/bin/env bash
# The README's `make test` as a new user runs it: a fresh clone of this repository's HEAD, on a
# machine without redis-server and chromium (hidden from PATH) and without REQUIRE_ALL. The
# tests needing them must skip loudly and the run must be green. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
clone="$work/registry"
cleanup() {
  (cd "$clone" 2>/dev/null && make stop >/dev/null 2>&1) || true
  rm -rf "$work"
}
trap cleanup EXIT
git clone --quiet "$(pwd)" "$clone"
cd "$clone"
log="$work/make-test.log"
set +e
env -u REQUIRE_ALL scripts/without-programs.sh redis-server chromium -- \
  make test PYTEST_ARGS="$*" 2>&1 | tee "$log" | grep -E "SKIPPED LOUDLY|passed|failed|error" | sort | uniq -c | sort -rn | head -20
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "make test on a fresh clone without redis-server and chromium failed:"; tail -60 "$log"; exit "$status"
fi
grep -q "SKIPPED LOUDLY: redis-server is not installed" "$log" || { echo "no loud skip for redis-server"; exit 1; }
grep -q "SKIPPED LOUDLY: chromium is not installed" "$log" || { echo "no loud skip for chromium"; exit 1; }
echo "fresh clone without redis-server and chromium: make test green, with the loud skip lines"
