#!/usr/bin/env python3
"""Extracts every ```cvm block of the language manual and checks it with cvmd, so the
manual cannot drift: ```cvm blocks must pass (exit 0); ```cvm-error blocks must fail
(exit 1) with an error whose message matches the block's first line `# error: REGEX`."""
import pathlib
import re
import subprocess
import sys
import tempfile


def blocks(text):
    fence = re.compile(r"^```(cvm|cvm-error)\s*$")
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = fence.match(lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        yield m.group(1), start, "\n".join(body) + "\n"
        i += 1


def main():
    manual, cvmd, templates = sys.argv[1], sys.argv[2], sys.argv[3]
    failures, count = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind, line, body in blocks(pathlib.Path(manual).read_text(encoding="utf-8")):
            count += 1
            path = pathlib.Path(tmp) / f"example_{line}.cvm"
            path.write_text(body, encoding="utf-8")
            r = subprocess.run([cvmd, "check", "--templates", templates, str(path)],
                               capture_output=True, text=True)
            where = f"{manual}:{line}"
            if kind == "cvm" and r.returncode != 0:
                failures.append(f"{where}: example does not check cleanly\n{r.stdout}{r.stderr}")
            elif kind == "cvm-error":
                first = body.splitlines()[0] if body.strip() else ""
                m = re.match(r"#\s*error:\s*(.+)$", first)
                if not m:
                    failures.append(f"{where}: a cvm-error block must start with '# error: REGEX'")
                elif r.returncode != 1:
                    failures.append(f"{where}: expected exit 1, got {r.returncode}\n{r.stdout}")
                elif not any(re.search(m.group(1), l, re.IGNORECASE)
                             for l in r.stdout.splitlines() if ": error: " in l):
                    failures.append(f"{where}: no error matches /{m.group(1)}/\n{r.stdout}")
    for f in failures:
        print("FAIL", f)
    print(f"{count} examples checked, {len(failures)} failures")
    if count < 10:
        print("FAIL the manual has fewer than 10 checked examples")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
