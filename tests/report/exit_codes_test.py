#!/usr/bin/env python3
"""The exit codes are documented in one place: analyzer/cli/exit_codes.h's
kExitCodes table, which `hakmem-analyze --help` prints. This checks that
the README's "Exit codes of hakmem-analyze" table says exactly the same,
code by code, that every kExit constant is in the table, and that --help
prints it.

  exit_codes_test.py REPO_ROOT HAKMEM_ANALYZE
"""
import re
import subprocess
import sys

root, analyze = sys.argv[1:3]
header = open(f"{root}/analyzer/cli/exit_codes.h").read()
readme = open(f"{root}/README.md").read()
fails = []

constants = {m[0]: int(m[1]) for m in re.findall(r"inline constexpr int (kExit\w+) = (\d+);", header)}
table = {}
for name, meaning in re.findall(r'\{(kExit\w+), "((?:[^"\\]|\\.)*)"\}', header):
    if name not in constants:
        fails.append(f"exit_codes.h table names unknown {name}")
        continue
    table[constants[name]] = meaning
for name, code in constants.items():
    if code not in table:
        fails.append(f"{name} = {code} is missing from kExitCodes")

section = readme.split("### Exit codes of hakmem-analyze", 1)
if len(section) != 2:
    fails.append("README has no 'Exit codes of hakmem-analyze' section")
    documented = {}
else:
    rows = re.findall(r"^\| (\d+) \| (.*) \|$", section[1].split("\n#", 1)[0], re.M)
    documented = {int(c): m for c, m in rows}
for code in sorted(set(table) | set(documented)):
    if table.get(code) != documented.get(code):
        fails.append(f"exit code {code}: exit_codes.h says {table.get(code)!r}, README says {documented.get(code)!r}")

help_text = subprocess.run([analyze, "--help"], capture_output=True, text=True).stdout
for code, meaning in table.items():
    if f"  {code}  {meaning}" not in help_text:
        fails.append(f"--help does not list exit code {code}")

for f in fails:
    print("FAIL", f)
print(f"exit_codes_test: {len(table)} codes, {len(documented)} README rows, {len(fails)} failures")
sys.exit(1 if fails else 0)
