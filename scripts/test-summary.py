#!/usr/bin/env python3
"""Sum up `meson test` results of the given build directories and print
one closing line, `tests: N passed, N failed, N skipped`, counting the
cases inside each program: cmocka's tests, pytest's tests, and one for
each other program (corpus replays, vector checks). Exit 1 if anything
failed or nothing ran. Full logs: <build>/meson-logs/testlog.txt."""
import json
import pathlib
import re
import sys

CMOCKA_RUN = re.compile(r"^\[=+\] (\d+) test\(s\) run\.", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)
PYTEST = re.compile(r"^=*\s*(?:(\d+) failed)?[, ]*(?:(\d+) passed)?[, ]*(?:(\d+) skipped)?.* in [\d.]+s", re.M)


def count(r):
    """(passed, failed, skipped) for one meson test record."""
    out = r.get("stdout") or ""
    ok = r.get("result") in ("OK", "EXPECTEDFAIL")
    if r.get("result") == "SKIP":
        return 0, 0, 1
    m = CMOCKA_RUN.search(out)
    if m:
        run = int(m.group(1))
        f = CMOCKA_FAILED.search(out)
        failed = int(f.group(1)) if f else 0
        if not ok and failed == 0:
            failed = 1  # crashed or sanitizer abort: count the program
        return run - min(failed, run), failed, 0
    m = None
    for m in PYTEST.finditer(out):
        pass
    if m and (m.group(1) or m.group(2)):
        failed = int(m.group(1) or 0)
        if not ok and failed == 0:
            failed = 1
        return int(m.group(2) or 0), failed, int(m.group(3) or 0)
    return (1, 0, 0) if ok else (0, 1, 0)


def main():
    passed = failed = skipped = programs = 0
    for build in sys.argv[1:]:
        log = pathlib.Path(build) / "meson-logs" / "testlog.json"
        if not log.exists():
            print(f"tests: {build}: no test log (did the build fail?)", file=sys.stderr)
            failed += 1
            continue
        for line in log.read_text().splitlines():
            r = json.loads(line)
            p, f, s = count(r)
            passed, failed, skipped, programs = passed + p, failed + f, skipped + s, programs + 1
            if f or r.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP"):
                print(f"tests: FAILED in {build}: {r.get('name')} ({r.get('result')})",
                      file=sys.stderr)
    print(f"{programs} test programs in {', '.join(sys.argv[1:])}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
