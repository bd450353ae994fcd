#!/bin/sh
# Customer-state benchmarks: import of a synthetic shop's orders by cvmd (validating, into the
# indexed store) against sqlite3's own .import of the same CSV into a bare table, then the
# snapshot (metrics, RFM, segments) through `cvmd segments` against the same computation in
# pandas (bench/pandas_segments.py, Debian's python3-pandas), whose table must agree, and
# `cvmd clv`.
# Usage: bench/bench_customer_state.sh [CUSTOMERS] [ORDERS]   (default 100000 1000000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="${BUILD:-$here/../build}"
customers="${1:-100000}"
orders="${2:-1000000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bench/gen_shop" "$customers" "$orders" "$work"
measure() { # label, command...: prints seconds and peak RSS
  label="$1"; shift
  /usr/bin/time -f "$label: %e s, peak RSS %M KiB" "$@" > /dev/null
}
measure "cvmd import customers" "$build/cvmd" --store "$work/shop.db" import customers "$work/customers.csv"
measure "cvmd import orders   " "$build/cvmd" --store "$work/shop.db" import orders "$work/orders.csv"
measure "sqlite3 .import      " sqlite3 "$work/bare.db" -cmd ".mode csv" ".import $work/orders.csv orders"
/usr/bin/time -f "cvmd segments        : %e s, peak RSS %M KiB" \
  "$build/cvmd" --store "$work/shop.db" segments --at 2026-01-01 --format csv > "$work/cvmd.csv"
/usr/bin/time -f "pandas segments      : %e s, peak RSS %M KiB" \
  /usr/bin/python3 "$here/pandas_segments.py" "$work/customers.csv" "$work/orders.csv" 2026-01-01 > "$work/pandas.csv"
/usr/bin/python3 "$here/same_table.py" "$work/cvmd.csv" "$work/pandas.csv"
/usr/bin/time -f "cvmd clv             : %e s, peak RSS %M KiB" "$build/cvmd" --store "$work/shop.db" clv --at 2026-01-01 | tail -1
ls -l "$work/orders.csv" | awk '{print "orders.csv: " $5 " bytes"}'
