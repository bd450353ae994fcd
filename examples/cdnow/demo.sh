#!/bin/sh
# The whole story on the CDNOW data, as `make demo` tells it: import, segments and CLV, 90
# days of the standard scenarios simulated with a seeded response model, what they did,
# the A/B report, and the HTML report. Usage: examples/cdnow/demo.sh CDNOW_master.txt DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${1:?usage: demo.sh CDNOW_master.txt DIR}"
dir="${2:?usage: demo.sh CDNOW_master.txt DIR}"
cvmd="${CVMD:-$here/../../build/cvmd}"
scenarios="$here/../../scenarios"
mkdir -p "$dir"
store="$dir/cdnow.db"
simulated="$dir/cdnow-simulated.db"
rm -f "$store" "$store-wal" "$store-shm" "$simulated" "$simulated-wal" "$simulated-shm"

step() { printf '\n== %s\n' "$1"; }

step "1. Import: the real CDNOW transactions (1997-01 to 1998-06), and made-up addresses and consents"
"$here/to_orders.sh" "$data" > "$dir/cdnow-orders.csv"
"$here/to_customers.sh" "$data" > "$dir/cdnow-customers.csv"
"$cvmd" --store "$store" import orders "$dir/cdnow-orders.csv"
"$cvmd" --store "$store" import customers "$dir/cdnow-customers.csv"

step "2. Segments at the end of the data (1998-06-30)"
"$cvmd" --store "$store" segments --at 1998-06-30

step "3. Predicted customer value: BG/NBD + Gamma-Gamma fitted on 1997-01..09, checked on what came after"
"$cvmd" --store "$store" clv --at 1997-09-30

step "4. The standard scenarios over the next 90 days (1998-07-01 to 09-28), simulated with responses"
echo "   (response model: examples/cdnow/response.yaml; recorded into a copy of the store: $simulated)"
"$cvmd" --store "$store" simulate --from 1998-07-01 --days 90 --scenarios "$scenarios" \
  --respond "$here/response.yaml" --record-into "$simulated" > "$dir/cdnow-timeline.jsonl"
echo "   the decisions, one per line: $dir/cdnow-timeline.jsonl"

step "5. What each scenario did"
"$cvmd" --store "$simulated" report scenarios

step "6. The experiments: each variant against its control"
"$cvmd" --store "$simulated" report ab

step "7. The dashboard as one self-contained HTML file"
"$cvmd" --store "$simulated" report html -o "$dir/cdnow-report.html" --at 1998-09-28
echo "   open $dir/cdnow-report.html in a browser"
