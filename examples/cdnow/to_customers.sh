#!/bin/sh
# Customers for the CDNOW orders, made up: the data holds only transactions, and a scenario
# can only write to someone with an address and consent. Every customer gets an address at
# example.com (reserved for examples, never delivered), a first name from a fixed list and
# email consent for 17 in 20 of them (by id), so that the demo shows both sends and
# suppressions. Deterministic: the same file gives the same customers.
set -eu
in="${1:?usage: to_customers.sh CDNOW_master.txt}"
tr -d '\r' < "$in" | awk '
  BEGIN {
    print "customer_id,email,email_consent,first_name"
    split("Ann Ben Cleo Dan Eve Finn Gus Hana Ivo Jo Kim Lea Max Nia Otto Pia Raj Sue Tom Uma", names, " ")
  }
  NR == 1 && $1 == "customer_id" { next }
  NF == 4 && !($1 in seen) {
    seen[$1] = 1
    id = $1 + 0
    printf "%s,customer%s@example.com,%s,%s\n", $1, $1, (id % 20 < 17) ? "yes" : "no", names[id % 20 + 1]
  }'
