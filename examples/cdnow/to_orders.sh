#!/bin/sh
# Turns the CDNOW master file (whitespace-separated: customer, YYYYMMDD, CDs, dollars; a
# header line; CRLF line ends) into cvmd's orders CSV on standard output. The order id is
# the customer, the date and the line number: the file has no ids, and a customer can buy
# twice on one day. Amounts of 0.00 (free CDs) are kept: they are orders.
set -eu
in="${1:?usage: to_orders.sh CDNOW_master.txt}"
tr -d '\r' < "$in" | awk '
  BEGIN { print "order_id,customer_id,ordered_at,amount,category" }
  NR == 1 && $1 == "customer_id" { next }
  NF == 4 {
    printf "%s-%s-%d,%s,%s-%s-%s,%s,cds:%s\n", $1, $2, NR, $1, substr($2, 1, 4), substr($2, 5, 2), substr($2, 7, 2), $4, $3
  }'
