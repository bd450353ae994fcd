#!/usr/bin/env python3
"""The peer for `cvmd segments`: the same per-customer metrics, RFM scores and segments,
lifecycle stages, VIP and value tiers (definitions in docs/metrics.md), computed with pandas
from the same synthetic shop, and the same segment table as CSV.

Usage: bench/pandas_segments.py CUSTOMERS_CSV ORDERS_CSV YYYY-MM-DD > segments.csv
Prints to standard error the seconds spent loading the CSV files and computing.
"""
import sys
import time

import numpy as np
import pandas as pd

DAY = 86400
NEW_DAYS, LAPSING_AFTER, INACTIVE_AFTER, VIP_TOP_PERCENT = 30, 60, 180, 5


def quintile_scores(values):
    # Position k (0-based, ascending) of n gets 1 + floor(5k/n); ties take the first position.
    k = values.rank(method="min").to_numpy() - 1
    return (1 + np.floor(5 * k / len(values))).astype(int)


def rfm_segments(r, f, m):
    conditions = [
        (r >= 4) & (f >= 4) & (m >= 4), (r >= 4) & (f >= 4), (r >= 4) & (f >= 2), r >= 4,
        (r == 3) & (f >= 4), (r == 3) & (f >= 2), r == 3,
        (r == 2) & (f >= 4), (r == 2) & (f >= 2), r == 2,
        f >= 4, f >= 2,
    ]
    choices = ["champions", "loyal", "potential_loyalist", "new",
               "loyal", "need_attention", "promising",
               "at_risk", "about_to_sleep", "hibernating",
               "cant_lose", "at_risk"]
    return np.select(conditions, choices, default="lost")


def main():
    customers_csv, orders_csv, at_date = sys.argv[1:4]
    at = int(pd.Timestamp(at_date, tz="UTC").timestamp()) + DAY - 1  # the end of that day

    started = time.perf_counter()
    customers = pd.read_csv(customers_csv, usecols=["customer_id"], dtype=str)
    orders = pd.read_csv(orders_csv, usecols=["customer_id", "ordered_at", "amount"],
                         dtype={"customer_id": str, "ordered_at": str, "amount": float})
    orders["at"] = pd.to_datetime(orders["ordered_at"], utc=True, format="%Y-%m-%dT%H:%M:%SZ").astype("int64") // 10**9
    orders["cents"] = (orders["amount"] * 100).round().astype("int64")
    loaded = time.perf_counter()

    orders = orders[orders["at"] <= at]
    buyers = orders.groupby("customer_id").agg(orders=("cents", "size"), cents=("cents", "sum"),
                                               first=("at", "min"), last=("at", "max"))
    since_last = ((at - buyers["last"]) // DAY).clip(lower=0)
    since_first = ((at - buyers["first"]) // DAY).clip(lower=0)
    buyers["r"] = quintile_scores(-since_last)
    buyers["f"] = quintile_scores(buyers["orders"])
    buyers["m"] = quintile_scores(buyers["cents"])
    buyers["rfm_segment"] = rfm_segments(buyers["r"], buyers["f"], buyers["m"])
    buyers["lifecycle"] = np.select([since_last > INACTIVE_AFTER, since_last > LAPSING_AFTER, since_first <= NEW_DAYS],
                                    ["inactive", "lapsing", "new"], default="active")
    by_revenue = buyers["cents"].sort_values(ascending=False, kind="stable")
    vip_count = int(np.ceil(len(by_revenue) * VIP_TOP_PERCENT / 100))
    buyers["vip"] = buyers["cents"] >= by_revenue.iloc[vip_count - 1]
    # Revenue of everyone strictly better, so that equal revenue gets an equal tier.
    before = by_revenue.cumsum() - by_revenue
    before_first_of_tie = before.groupby(by_revenue.values).transform("min")
    total = buyers["cents"].sum()
    tier = np.select([before_first_of_tie < 0.5 * total, before_first_of_tie < 0.8 * total], ["high", "medium"], "low")
    buyers["value_tier"] = pd.Series(tier, index=by_revenue.index)

    prospects = customers.loc[~customers["customer_id"].isin(buyers.index)]
    n = len(buyers) + len(prospects)
    rows = []
    for dimension in ["lifecycle", "rfm_segment", "value_tier", "vip"]:
        key = buyers[dimension] if dimension != "vip" else buyers["vip"].map({True: "vip", False: None})
        groups = buyers.groupby(key).agg(customers=("cents", "size"), cents=("cents", "sum"), orders=("orders", "sum"))
        if dimension == "lifecycle" and len(prospects):
            groups.loc["prospect"] = [len(prospects), 0, 0]
        if dimension == "value_tier" and len(prospects):
            groups.loc["low"] += [len(prospects), 0, 0]
        for segment, g in groups.sort_index().iterrows():
            rows.append((dimension, segment, int(g["customers"]), g["customers"] / n, g["cents"] / 100,
                         g["cents"] / total, g["cents"] / 100 / g["orders"] if g["orders"] else None))
    table = pd.DataFrame(rows, columns=["dimension", "segment", "customers", "customer_share", "revenue",
                                        "revenue_share", "aov"])
    computed = time.perf_counter()
    table.to_csv(sys.stdout, index=False)
    print(f"pandas: load {loaded - started:.2f} s, compute {computed - loaded:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
