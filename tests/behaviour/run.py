#!/usr/bin/env python3
"""Runs the scenario behaviour tests: tests/behaviour/*.test (format in README.md).

Each case builds a real store with `cvmd import`, writes its scenarios and templates, runs
`cvmd simulate` and compares the timeline, one decision per line, with the expected lines
after `----`. Usage: run.py CVMD_BINARY PROJECT_DIR [FILE.test ...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SECTIONS = {"config", "customers", "orders", "events", "future", "scenario", "standard", "templates"}


def parse(path):
    cases, case, section = [], None, None
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if case is None or section != "----":
            if line.startswith("case "):
                case = {"name": line[5:].strip(), "line": i, "file": path, "sections": {}, "expected": None}
                cases.append(case)
                section = None
                continue
            if case is None:
                if line.strip() and not line.startswith("#"):
                    raise SystemExit(f"{path}:{i}: expected 'case NAME' before anything else")
                continue
            word = line.strip()
            if word in SECTIONS:
                section = word
                case["sections"][section] = []
                continue
            if word.startswith("simulate "):
                case["simulate"] = word.split()[1:]
                section = None
                continue
            if word == "----":
                section = "----"
                case["expected"] = []
                continue
            if section is None:
                if word and not word.startswith("#"):
                    raise SystemExit(f"{path}:{i}: '{word}' is not a section ({', '.join(sorted(SECTIONS))}, simulate, ----)")
                continue
            case["sections"][section].append(line)
        else:
            if line.strip() == "":
                section = None
                case = None if i < len(lines) else case
                continue
            case["expected"].append(line)
    return cases


def write(path, lines):
    text = "\n".join(lines).strip("\n") + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def compact(d):
    """One decision as a test line: AT CUSTOMER SCENARIO#STEP ACTION [CHANNEL TEMPLATE] [variant=V] [revenue=R] : REASON"""
    step = str(d["step"]) if d["step"] else "-"
    out = f'{d["at"]} {d["customer"]} {d["scenario"]}#{step} {d["action"]}'
    if d["template"]:
        out += f' {d["channel"]} {d["template"]}'
    if d["variant"]:
        out += f' variant={d["variant"]}'
    if "revenue" in d:
        out += f' revenue={d["revenue"]:.2f}'
    return out + " : " + d["reason"]


def run_case(cvmd, project, case, work):
    store = os.path.join(work, "cvmd.db")
    scenarios = os.path.join(work, "scenarios")
    templates = os.path.join(work, "templates")
    os.makedirs(scenarios)
    shutil.copytree(os.path.join(project, "scenarios", "templates"), templates)
    s = case["sections"]
    config = ["store: cvmd.db", "scenarios: scenarios", "templates: templates"] + s.get("config", [])
    write(os.path.join(work, "cvmd.yaml"), config)
    for line in s.get("templates", []):
        if line.strip():
            name, channel = line.split()
            body = [f"channel: {channel}", f'text: "{name} for {{{{first_name}}}}"']
            if channel == "email":
                body.append(f'subject: "{name}"')
            write(os.path.join(templates, name + ".yaml"), body)
    if "scenario" in s:
        write(os.path.join(scenarios, "case.cvm"), s["scenario"])
    for name in s.get("standard", []):
        if name.strip():
            shutil.copy(os.path.join(project, "scenarios", name.strip() + ".cvm"), scenarios)
    base = [cvmd, "--config", os.path.join(work, "cvmd.yaml")]
    for kind in ("customers", "orders", "events"):
        if kind in s:
            data = os.path.join(work, kind + ".csv")
            write(data, s[kind])
            r = subprocess.run(base + ["import", kind, data], capture_output=True, text=True)
            if r.returncode != 0:
                return [f"import {kind} failed: {r.stdout}{r.stderr}"]
    if not os.path.exists(store):  # a case without data still needs a store
        write(os.path.join(work, "none.csv"), ["customer_id", "nobody"])
        subprocess.run(base + ["import", "customers", os.path.join(work, "none.csv")], capture_output=True, check=True)
    args = base + ["simulate"] + case.get("simulate", [])
    if "future" in s:
        write(os.path.join(work, "future.csv"), s["future"])
        args += ["--events", os.path.join(work, "future.csv")]
    first = subprocess.run(args, capture_output=True, text=True)
    if first.returncode != 0:
        return (first.stdout + first.stderr).rstrip("\n").split("\n")
    second = subprocess.run(args, capture_output=True, text=True)
    if second.stdout != first.stdout:
        return ["the same input gave different output on a second run"]
    return [compact(json.loads(line)) for line in first.stdout.splitlines()]


def main():
    cvmd, project = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    files = sys.argv[3:] or sorted(
        os.path.join(project, "tests", "behaviour", f) for f in os.listdir(os.path.join(project, "tests", "behaviour"))
        if f.endswith(".test"))
    failures = total = 0
    for path in files:
        for case in parse(path):
            total += 1
            if case["expected"] is None or "simulate" not in case:
                print(f"FAIL {path}:{case['line']}: {case['name']}: a case needs 'simulate ...' and '----'")
                failures += 1
                continue
            with tempfile.TemporaryDirectory() as work:
                actual = run_case(cvmd, project, case, work)
            if actual != case["expected"]:
                failures += 1
                print(f"FAIL {path}:{case['line']}: {case['name']}")
                print("  expected:")
                for line in case["expected"]:
                    print("    " + line)
                print("  actual:")
                for line in actual:
                    print("    " + line)
    print(f"{total} behaviour cases, {failures} failures")
    sys.exit(1 if failures or total == 0 else 0)


if __name__ == "__main__":
    main()
