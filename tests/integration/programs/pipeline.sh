# A bash pipeline of coreutils and awk, then bash's own allocations
# (an associative array and string building). Prints digests of both.
set -euo pipefail
seq 1 300000 | awk '{ print ($1 * 7919) % 10007, $1 % 13 }' | sort -k1,1n -k2,2n |
  uniq -c | sort -k1,1nr -k2,2n | sed -n '1,50p' | md5sum
declare -A squares
for i in $(seq 1 20000); do squares[k$i]=$((i * i)); done
text=""
for i in $(seq 1 3000); do text+="${squares[k$i]},"; done
echo "${#squares[@]} ${squares[k777]} ${#text}"
printf '%s' "$text" | tr ',' '\n' | sort -n | tail -n 3
