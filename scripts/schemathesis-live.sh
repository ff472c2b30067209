#!/usr/bin/env bash
# Schemathesis from outside, as issue 21's outside run: against a live server's /api/schema/
# (default: `make run`'s, http://127.0.0.1:8000), once per role, 25 examples per operation, the
# checks not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance. The registry admin runs every operation the schema lists, writes
# and DELETE included (token paths last, in a run of their own: rotating the token ends it);
# the other roles leave DELETE and token paths out. Logs in $OUT (default .data/schemathesis/).
#   scripts/schemathesis-live.sh [BASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-http://127.0.0.1:8000}
out=${OUT:-.data/schemathesis}
mkdir -p "$out"
env_=(DEBUG=1 SECRET_KEY=${SECRET_KEY:-dev-insecure-secret-key-for-local-use-only-0123456789})
declare -A demo_user=([registry-admin]=registry-admin [spa-staff]=front-desk [school-staff]=school-office [therapist]=ana)
token() {  # the demo user of the role (`make run` loads them): its current token
  env "${env_[@]}" .venv/bin/python manage.py issue_token --username "${demo_user[$1]}" --role "$1" | tail -1
}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {  # role token [schemathesis options]
  local role=$1 key=$2; shift 2
  local auth=()
  [ -n "$key" ] && auth=(-H "Authorization: Token $key")
  if .venv/bin/schemathesis run "$base/api/schema/" "${auth[@]}" -n 25 --checks "$checks" --seed 42 "$@" \
      >"$out/$role.log" 2>&1; then
    echo "$role: $(grep -E 'generated' "$out/$role.log" | tail -1)"
  else
    echo "$role: FAILED (see $out/$role.log)"; grep -A3 -E "^_+ .* _+$" "$out/$role.log" | head -20; status=1
  fi
}
status=0
run registry-admin "$(token registry-admin)" --exclude-path-regex token
for role in spa-staff school-staff therapist; do
  run "$role" "$(token "$role")" --exclude-method DELETE --exclude-path-regex token
done
run anonymous "" --exclude-method DELETE --exclude-path-regex token
# Last: rotating or revoking ends the demo admin's token (`make run` again issues a new one).
run registry-admin-tokens "$(token registry-admin)" --include-path-regex token
exit $status
