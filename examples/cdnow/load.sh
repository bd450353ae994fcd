#!/bin/sh
# Loads the CDNOW transactions into a cvmd store and shows their segments as of the end of
# the data (1998-06-30). Usage: examples/cdnow/load.sh [CDNOW_master.txt] [STORE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${1:-$here/../../../shared/data/CDNOW_master.txt}"
store="${2:-cdnow.db}"
cvmd="${CVMD:-$here/../../build/cvmd}"
csv=$(mktemp --suffix=.csv)
trap 'rm -f "$csv"' EXIT
"$here/to_orders.sh" "$data" > "$csv"
"$cvmd" --store "$store" import orders "$csv"
"$cvmd" --store "$store" segments --at 1998-06-30
