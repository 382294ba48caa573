#!/usr/bin/env python3
"""Adds up the GoogleTest cases of one or more `meson test` runs, each named by its log base
(e.g. build/meson-logs/testlog, as `meson test --logbase` names it), and prints one closing line,
"tests: N passed, N failed". A test program that failed without reporting a failed case (a crash,
a sanitizer abort, a timeout) counts as one failure; a program that is not a GoogleTest suite
counts as one check. Exits 1 when anything failed."""
import json
import sys
import xml.etree.ElementTree as ET


def summarize(log_base):
    passed = failed = 0
    programs_with_cases = set()
    failed_cases_by_program = {}
    junit = log_base + ".junit.xml"
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        # A program that is not a GoogleTest suite has no dotted name; testlog.json counts it.
        if suite.get("name", "").count(".") < 1:
            continue
        program = suite.get("name", "").split(".")[1]
        for case in suite.iter("testcase"):
            programs_with_cases.add(program)
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failed_cases_by_program[program] = failed_cases_by_program.get(program, 0) + 1
            elif case.find("skipped") is None:
                passed += 1
    with open(log_base + ".json") as log:
        for line in log:
            record = json.loads(line)
            ok = record["result"] == "OK"
            if record["name"] not in programs_with_cases:  # not a GoogleTest program: one check
                passed += ok
                failed += not ok
            elif not ok and not failed_cases_by_program.get(record["name"]):
                failed += 1
    return passed, failed


def main():
    passed = failed = 0
    for log_base in sys.argv[1:]:
        p, f = summarize(log_base)
        print(f"{log_base}: {p} passed, {f} failed")
        passed += p
        failed += f
    print(f"tests: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
