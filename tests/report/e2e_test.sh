#!/bin/sh
# End-to-end: records each case of cases.txt with `hakmem-analyze record`
# (root and BPF needed), then checks that the report raises exactly the
# expected diagnoses. Exits 77 (skip) when the probe cannot load, unless
# HAKMEM_REQUIRE_BPF=1, which turns that into a failure.
#   e2e_test.sh HAKMEM_ANALYZE EXAMPLES_DIR CASES_FILE [CASE...]
set -u
ANALYZE=$1 EXAMPLES=$2 CASES=$3
shift 3
ONLY="$*"
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fails=0

# Can the probe load here? (3: no privilege, 4: no BTF, 5: load failed)
"$ANALYZE" record -o "$TMP/probe.hkt" --no-preload -- /bin/true >"$TMP/probe.out" 2>&1
rc=$?
if [ "$rc" -ge 3 ] && [ "$rc" -le 5 ]; then
  echo "e2e_test: BPF unavailable (record exit $rc): $(tail -1 "$TMP/probe.out")"
  if [ "${HAKMEM_REQUIRE_BPF:-0}" = 1 ]; then echo "FAIL: HAKMEM_REQUIRE_BPF=1"; exit 1; fi
  exit 77
fi

while IFS='|' read -r name env opts cmd expect; do
  case "$name" in '#'* | '') continue ;; esac
  if [ -n "$ONLY" ]; then
    case " $ONLY " in *" $name "*) ;; *) continue ;; esac
  fi
  trace="$TMP/$name.hkt"
  # shellcheck disable=SC2086 # env, opts and cmd are word lists by design
  env $env "$ANALYZE" record $opts -o "$trace" -- "$EXAMPLES"/$cmd >"$TMP/rec.out" 2>&1 </dev/null
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $name: record exited $rc"; cat "$TMP/rec.out"; fails=$((fails + 1)); continue
  fi
  "$ANALYZE" report --format json "$trace" >"$TMP/report.json" || { echo "FAIL $name: report"; fails=$((fails + 1)); continue; }
  got=$(grep -o '"id": "[a-z_]*"' "$TMP/report.json" | sed 's/"id": "\(.*\)"/\1/' | sort | tr '\n' ' ')
  [ "$expect" = "-" ] && expect=""
  want=$(for id in $expect; do echo "$id"; done | sort | tr '\n' ' ')
  if [ "$got" = "$want" ]; then
    echo "ok   $name: ${got:-no diagnosis}"
  else
    echo "FAIL $name: raised [${got}] want [${want}]"
    "$ANALYZE" report "$trace" | sed -n '1,40p'
    fails=$((fails + 1))
  fi
done <"$CASES"

[ "$fails" -eq 0 ]
