#!/bin/sh
# The orchestrator at scale: `cvmd simulate` over a store's customers with the standard
# scenarios, one simulated day and 90 days: wall time, peak memory, decisions per second.
# Usage: bench/bench_orchestrator.sh STORE [FROM]    (a store made by bench_customer_state.sh
# or by importing bench/gen_shop output)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="${BUILD:-$here/../build}"
store="$1"
from="${2:-2026-01-01}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for days in 1 90; do
  /usr/bin/time -f "%e %M" -o "$out.time" "$build/cvmd" --store "$store" simulate --from "$from" --days "$days" \
    --scenarios "$here/../scenarios" > "$out"
  read -r seconds rss < "$out.time"
  decisions=$(wc -l < "$out")
  echo "simulate $days day(s): $seconds s, peak RSS $rss KiB, $decisions decisions," \
    "$(awk -v d="$decisions" -v s="$seconds" 'BEGIN { printf "%.0f", d / s }') decisions/s"
  awk -F'"action":"' '{ split($2, a, "\""); n[a[1]]++ } END { for (k in n) printf "  %s %d\n", k, n[k] }' "$out" | sort
done
rm -f "$out.time"
