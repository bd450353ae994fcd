#!/usr/bin/env python3
"""Runs an acceptance folder for the scenario language as its README says:
good/ must check with exit 0; every bad/ file must exit 1 with a diagnostic
FILE:LINE:COL: error: MESSAGE matching the file's first line `# expect: LINES[:COLS] REGEX`."""
import pathlib
import re
import subprocess
import sys


def in_range(value, spec):
    if "-" in spec:
        low, high = spec.split("-")
        return int(low) <= value <= int(high)
    return value == int(spec)


def main():
    folder = pathlib.Path(sys.argv[1])
    cvmd = sys.argv[2]
    templates = str(folder / "templates")
    failures = []

    good = subprocess.run([cvmd, "check", "--templates", templates, str(folder / "good")],
                          capture_output=True, text=True)
    if good.returncode != 0:
        failures.append(f"good/: exit {good.returncode}, expected 0\n{good.stdout}{good.stderr}")

    bad_files = sorted((folder / "bad").glob("*.cvm"))
    if not bad_files:
        failures.append("no bad/*.cvm files found")
    for path in bad_files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        m = re.match(r"#\s*expect:\s*(\S+)\s+(.*)$", first)
        if not m:
            failures.append(f"{path}: first line is not '# expect: LINES[:COLS] REGEX'")
            continue
        place, regex = m.group(1), m.group(2)
        lines, _, cols = place.partition(":")
        run = subprocess.run([cvmd, "check", "--templates", templates, str(path)],
                             capture_output=True, text=True)
        if run.returncode != 1:
            failures.append(f"{path.name}: exit {run.returncode}, expected 1\n{run.stdout}{run.stderr}")
            continue
        pattern = re.compile(re.escape(str(path)) + r":(\d+):(\d+): error: (.*)")
        found = False
        for line in run.stdout.splitlines():
            d = pattern.match(line)
            if not d:
                continue
            line_no, col_no, message = int(d.group(1)), int(d.group(2)), d.group(3)
            if in_range(line_no, lines) and (not cols or in_range(col_no, cols)) and \
                    re.search(regex, message, re.IGNORECASE):
                found = True
        if not found:
            failures.append(f"{path.name}: no error at {place} matching /{regex}/\n{run.stdout}")
        else:
            print(f"ok   {path.name}")

    for f in failures:
        print("FAIL", f)
    print(f"{len(bad_files)} bad files, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
