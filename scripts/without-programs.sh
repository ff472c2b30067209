#!/usr/bin/env bash
# Runs a command as on a machine without some programs: its PATH is a directory of links to
# every program on the current PATH except the named ones.
#   scripts/without-programs.sh redis-server chromium -- make test
set -euo pipefail
hidden=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do hidden+=("$1"); shift; done
[ $# -gt 1 ] || { echo "usage: $0 PROGRAM... -- COMMAND..." >&2; exit 2; }
shift
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
IFS=: read -ra dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  for program in "$dir"/*; do
    name=${program##*/}
    [ -x "$program" ] && [ ! -d "$program" ] && [ ! -e "$bin/$name" ] || continue
    for h in "${hidden[@]}"; do [ "$name" = "$h" ] && continue 2; done
    ln -s "$program" "$bin/$name"
  done
done
for h in "${hidden[@]}"; do
  if PATH=$bin command -v "$h" >/dev/null; then echo "could not hide $h" >&2; exit 1; fi
done
echo "running without ${hidden[*]} on PATH: $*"
PATH=$bin "$@"
