#!/usr/bin/env bash
# bench_rss.sh: peak RSS of real programs under glibc malloc, hakmem and its peers.
#
# A benchmark, not a test: it prints numbers and never passes or fails.
# Each case runs a real program under each allocator (LD_PRELOAD), the
# allocators alternating within each rep, and the table shows the median
# over the reps of peak RSS in MB, with hakmem's ratio to glibc and to mimalloc.
#
#   python  /usr/bin/python3 -m test on a fixed set of allocation-heavy modules,
#           serially (one process); peak = /usr/bin/time %M
#   sqlite  sqlite3 :memory: running a generated script (1.5M rows with random
#           text and blobs, two indexes, GROUP BY, DELETE 90%, VACUUM); %M
#   git     git gc --aggressive on a fresh copy of a shallow clone of a real
#           repository (the largest of git's processes); %M
#   redis   redis-server driven by redis-benchmark (lpush/lpop/set/get with
#           512-B values, then big lists and 256-KB strings, then FLUSHALL);
#           peak = VmHWM, idle = VmRSS after FLUSHALL and a few idle seconds.
#           Only the server is preloaded, not the benchmark client.
#
# Usage: scripts/bench_rss.sh [options]
#   --build DIR       hakmem build dir (default build/ in this repository); uses DIR/preload/libhakmem.so
#   --reps N          runs per case and allocator (default 3)
#   --json FILE       also write the results (every run and the medians) as JSON
#   --cases LIST      comma-separated subset of python,sqlite,git,redis (default all)
#   --allocs LIST     comma-separated subset of glibc,hakmem,mimalloc,jemalloc,tcmalloc
#   --redis-dir DIR   redis source tree built with `make MALLOC=libc`, so that the
#                     preload replaces its malloc (default /work/ext/redis)
#   --git-src REPO    repository to clone for the git case (default the redis
#                     mirror in /work/.mirror if present, else this project's repo)
#   --git-depth N     clone depth for the git case (default 300)
# Peers: scripts/install-deps.sh --bench. A missing allocator or program is skipped.
# Takes about 70 s per allocator and rep on a 2-core VM (~18 min with the defaults).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
reps=3
json=""
cases="python,sqlite,git,redis"
allocs="glibc,hakmem,mimalloc,jemalloc,tcmalloc"
redis_dir=/work/ext/redis
git_src=""
git_depth=300
libdir=/usr/lib/x86_64-linux-gnu

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --allocs) allocs=$2; shift 2 ;;
    --redis-dir) redis_dir=$2; shift 2 ;;
    --git-src) git_src=$2; shift 2 ;;
    --git-depth) git_depth=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_rss: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

python_mods=(test_dict test_list test_set test_json test_re test_unicode test_bytes
  test_collections test_deque test_ordered_dict test_pickle test_itertools test_long
  test_sort test_marshal test_array test_bigmem)
python=/usr/bin/python3
if [[ -z "$git_src" ]]; then
  git_src=/work/.mirror/redis+redis/repo
  [[ -d "$git_src" ]] || git_src=$here
fi

log() { echo "bench_rss: $*" >&2; }

declare -A lib=(
  [glibc]=""
  [hakmem]="$build/preload/libhakmem.so"
  [mimalloc]="$libdir/libmimalloc.so.2"
  [jemalloc]="$libdir/libjemalloc.so.2"
  [tcmalloc]="$libdir/libtcmalloc_minimal.so.4"
)
IFS=, read -r -a alloc_list <<<"$allocs"
IFS=, read -r -a case_list <<<"$cases"
active=()
for a in "${alloc_list[@]}"; do
  [[ -v lib[$a] ]] || { log "unknown allocator $a"; exit 2; }
  if [[ -n "${lib[$a]}" && ! -f "${lib[$a]}" ]]; then log "skipping $a: ${lib[$a]} not found"; continue; fi
  active+=("$a")
done
command -v /usr/bin/time >/dev/null || { log "needs /usr/bin/time (package time)"; exit 1; }

work=$(mktemp -d /tmp/bench_rss.XXXXXX)
cleanup() {
  # the cases run in $(...) subshells, so a running server is found by its pid file
  [[ -f $work/redis.pid ]] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the one runner: a command under an allocator -----------------------------

# run_peak ALLOC CMD...: runs CMD with ALLOC preloaded, stdout/stderr to $work/out.log;
# prints its peak RSS in KB (the max over it and its waited children), or "fail".
# Writes its wall time in seconds to $work/secs.
run_peak() {
  local alloc=$1; shift
  local ok=1
  /usr/bin/time -f "%M %e" -o "$work/time.txt" env ${lib[$alloc]:+"LD_PRELOAD=${lib[$alloc]}"} "$@" \
    >"$work/out.log" 2>&1 || ok=0
  awk 'END {print $2}' "$work/time.txt" >"$work/secs"
  if ((ok)); then
    awk 'END {print $1}' "$work/time.txt"
  else
    log "$alloc: '$*' failed; tail of its output:"; tail -5 "$work/out.log" >&2
    echo fail
  fi
}

# ---- the cases: each prints "metric KB" lines ------------------------------------

case_python() {
  [[ -x $python ]] && $python -c 'import test.libregrtest' 2>/dev/null ||
    { log "python: needs $python and its test suite (libpython3.11-testsuite)"; return 1; }
  echo "peak $(cd "$work" && run_peak "$1" $python -m test -q "${python_mods[@]}")"
}

sqlite_script() {
  cat <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)
INSERT INTO t SELECT x, abs(random()) % 100000, hex(randomblob(12)), randomblob(abs(random()) % 256) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_s ON t(s);
SELECT k % 100 AS g, count(*), sum(length(b)) FROM t GROUP BY g ORDER BY 2 DESC LIMIT 3;
SELECT count(DISTINCT s) FROM t;
DELETE FROM t WHERE id % 10 <> 0;
VACUUM;
SELECT count(*), sum(length(b)) FROM t;
EOF
}

case_sqlite() {
  command -v sqlite3 >/dev/null || { log "sqlite: needs sqlite3"; return 1; }
  [[ -f $work/t.sql ]] || sqlite_script >"$work/t.sql"
  echo "peak $(run_peak "$1" sh -c 'exec sqlite3 :memory: < "$1"' sh "$work/t.sql")"
}

case_git() {
  if [[ ! -d $work/git-src ]]; then
    log "git: cloning $git_src (depth $git_depth)"
    git clone -q --no-local --depth "$git_depth" "file://$git_src" "$work/git-src" ||
      { log "git: cannot clone $git_src"; return 1; }
  fi
  rm -rf "$work/git-run"
  cp -a "$work/git-src" "$work/git-run"
  echo "peak $(run_peak "$1" git -C "$work/git-run" gc --aggressive -q)"
}

rcli() { "$redis_dir/src/redis-cli" -s "$work/redis.sock" "$@"; }
rbench() { "$redis_dir/src/redis-benchmark" -s "$work/redis.sock" -q "$@" >>"$work/bench.log" 2>&1; }
vm() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# Not through run_peak: the server runs in the background while the client drives
# it, and the numbers come from its /proc status (VmHWM, then VmRSS when idle).
case_redis() {
  [[ -x $redis_dir/src/redis-server ]] || { log "redis: no $redis_dir/src/redis-server"; return 1; }
  local a=$1 pid big t0=$SECONDS
  rm -f "$work/redis.sock"
  env ${lib[$a]:+"LD_PRELOAD=${lib[$a]}"} "$redis_dir/src/redis-server" --port 0 \
    --unixsocket "$work/redis.sock" --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" </dev/null >/dev/null 2>&1 &
  pid=$!
  echo "$pid" >"$work/redis.pid"
  for _ in $(seq 100); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
  if [[ -n ${lib[$a]} ]] && ! grep -qF "${lib[$a]}" "/proc/$pid/maps"; then
    log "redis: ${lib[$a]} is not mapped in redis-server"
  fi
  big=$(head -c 512 /dev/zero | tr '\0' x)
  rbench -t lpush,lpop,set,get -n 200000 -d 512 -r 100000
  rbench -n 400000 -r 16 lpush "biglist:__rand_int__" "$big"   # ~200 MB in 16 lists
  rbench -t set -n 1000 -d 262144 -r 400                        # ~100 MB of 256-KB strings
  echo "peak $(vm "$pid" VmHWM)"
  rcli flushall >/dev/null
  sleep 3
  echo "idle $(vm "$pid" VmRSS)"
  rcli shutdown nosave >/dev/null 2>&1 || kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$work/redis.pid"
  echo $((SECONDS - t0)) >"$work/secs"
}

# ---- the loop: reps x cases x allocators (order rotated per rep) ---------------

declare -A runs      # [case/metric/alloc] = "kb kb ..."
declare -A secs      # [case/alloc] = "s s ..."
metrics=()           # case/metric in first-seen order

for ((r = 1; r <= reps; r++)); do
  n=${#active[@]}
  for c in "${case_list[@]}"; do
    declare -F "case_$c" >/dev/null || { log "unknown case $c"; exit 2; }
    for ((i = 0; i < n; i++)); do
      a=${active[$(((i + r - 1) % n))]}
      rm -f "$work/secs"
      out=$("case_$c" "$a") || continue
      while read -r m kb; do
        key="$c/$m"
        [[ " ${metrics[*]} " == *" $key "* ]] || metrics+=("$key")
        runs[$key/$a]+="$kb "
      done <<<"$out"
      t=$(cat "$work/secs" 2>/dev/null || echo fail)
      secs[$c/$a]+="$t "
      log "rep $r $c $a: $(tr '\n' ' ' <<<"$out")KB, ${t}s"
    done
  done
done

# median VALUES [DIVISOR]: median of the space-separated values / DIVISOR, one
# decimal; "fail" if any run failed, "-" if there are none
median() {
  local vals=$1 div=${2:-1}
  [[ -z ${vals// /} ]] && { echo -; return; }
  [[ $vals == *fail* ]] && { echo fail; return; }
  tr ' ' '\n' <<<"$vals" | grep . | sort -n | awk -v d="$div" '{v[NR] = $1}
    END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m / d}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-"}'; }

# row LABEL KEY ARRAY DIVISOR: one table row of medians, stored in med[KEY/alloc]
declare -A med
row() {
  local -n vals=$3
  printf '%-14s' "$1"
  for a in "${active[@]}"; do
    med[$2/$a]=$(median "${vals[$2/$a]:-}" "$4")
    printf '%10s' "${med[$2/$a]}"
  done
  printf '%10s%10s\n' "$(ratio "${med[$2/hakmem]:-}" "${med[$2/glibc]:-}")" \
    "$(ratio "${med[$2/hakmem]:-}" "${med[$2/mimalloc]:-}")"
}
header() { printf '\n%s\n%-14s' "$1" case; printf '%10s' "${active[@]}"; printf '%10s%10s\n' hak/glibc hak/mi; }

header "median RSS in MB over $reps reps (peak; redis/idle = resident after FLUSHALL + 3 s idle)"
for key in "${metrics[@]}"; do row "$key" "$key" runs 1024; done
header "median wall time in s"
for c in "${case_list[@]}"; do [[ " ${metrics[*]} " == *" $c/"* ]] && row "$c" "$c" secs 1; done

if [[ -n $json ]]; then
  {
    printf '{\n  "reps": %d,\n  "unit": "MB",\n  "build": "%s",\n  "results": [' "$reps" "$build"
    sep=""
    for key in "${metrics[@]}"; do
      for a in "${active[@]}"; do
        list=$(for kb in ${runs[$key/$a]:-}; do
                 [[ $kb == fail ]] && echo null || awk -v k="$kb" 'BEGIN {printf "%.1f\n", k / 1024}'
               done | paste -sd, -)
        m=${med[$key/$a]}
        [[ $m == - || $m == fail ]] && m=null
        t=${med[${key%/*}/$a]:-null}
        [[ $t == - || $t == fail ]] && t=null
        printf '%s\n    {"case": "%s", "metric": "%s", "allocator": "%s", "median": %s, "runs": [%s], "median_secs": %s}' \
          "$sep" "${key%/*}" "${key#*/}" "$a" "$m" "$list" "$t"
        sep=","
      done
    done
    printf '\n  ]\n}\n'
  } >"$json"
  log "wrote $json"
fi
