#!/usr/bin/env python3
"""The CDNOW example end to end: convert, import into a fresh store, re-import, segments."""
import json
import subprocess
import sys
import tempfile
import pathlib

cvmd, to_orders, data = sys.argv[1:4]
with tempfile.TemporaryDirectory() as tmp:
    csv = pathlib.Path(tmp) / "orders.csv"
    with open(csv, "w") as out:
        subprocess.run([to_orders, data], stdout=out, check=True)
    store = str(pathlib.Path(tmp) / "cdnow.db")
    first = subprocess.run([cvmd, "--store", store, "import", "orders", str(csv)], capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "69659 rows: 69659 new" in first.stdout, first.stdout
    again = subprocess.run([cvmd, "--store", store, "import", "orders", str(csv)], capture_output=True, text=True)
    assert "0 new, 69659 already stored" in again.stdout, again.stdout
    rows = json.loads(subprocess.run([cvmd, "--store", store, "segments", "--at", "1998-06-30", "--format", "json"],
                                     capture_output=True, text=True, check=True).stdout)
    lifecycle = {r["segment"]: r["customers"] for r in rows if r["dimension"] == "lifecycle"}
    assert sum(lifecycle.values()) == 23570, lifecycle
    revenue = sum(r["revenue"] for r in rows if r["dimension"] == "lifecycle")
    assert abs(revenue - 2500315.63) < 0.01, revenue
    print("ok", lifecycle)
    fit = json.loads(subprocess.run([cvmd, "--store", store, "clv", "--at", "1997-09-30", "--format", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    bg = fit["bgnbd"]
    # All 23,570 customers, 39 weeks: close to the published fit on the 1/10 sample.
    assert abs(bg["r"] - 0.2516) < 0.002 and abs(bg["alpha"] - 4.789) < 0.02, bg
    assert abs(bg["a"] - 0.7234) < 0.005 and abs(bg["b"] - 2.161) < 0.02, bg
    assert abs(bg["log_likelihood"] - (-95368.44)) < 0.5, bg
    print("ok clv", bg)
