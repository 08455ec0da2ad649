#!/bin/sh
# Regenerates data/: one small trace per case of cases.txt, recorded with
# the project's own `record` (root and BPF needed), and its .expect file.
# Used when the trace format or the examples change; cli_test.sh reports on
# the result, so the diagnoses are covered where BPF is unavailable.
#   make_data.sh BUILD_DIR [CASE...]   (no CASE: every case)
set -eu
BUILD=$(cd "$1" && pwd)  # the loop cds into its examples/
shift
ONLY="$*"
HERE=$(cd "$(dirname "$0")" && pwd)
ANALYZE=$BUILD/analyzer/hakmem-analyze
while IFS='|' read -r name env opts cmd expect; do
  case "$name" in '#'* | '') continue ;; esac
  if [ -n "$ONLY" ]; then
    case " $ONLY " in *" $name "*) ;; *) continue ;; esac
  fi
  # shellcheck disable=SC2086
  (cd "$BUILD/examples" && env $env "$ANALYZE" record $opts -o "$HERE/data/$name.hkt" -- ./$cmd >/dev/null 2>&1 </dev/null)
  rm -f "$HERE/data/$name.hkt.old"
  : >"$HERE/data/$name.expect"
  [ "$expect" = "-" ] || for id in $expect; do echo "$id" >>"$HERE/data/$name.expect"; done
  echo "$name: $(stat -c %s "$HERE/data/$name.hkt") bytes"
done <"$HERE/cases.txt"
