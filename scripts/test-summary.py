#!/usr/bin/env python3
"""Sum up `meson test` results of the given build directories and print
one closing line, `tests: N passed, N failed`; exit 1 if any failed or if
no test ran. Each meson test is one cmocka program, corpus replay or
pytest session; their own logs are in <build>/meson-logs/testlog.txt."""
import json
import pathlib
import sys


def main():
    passed = failed = skipped = 0
    for build in sys.argv[1:]:
        log = pathlib.Path(build) / "meson-logs" / "testlog.json"
        if not log.exists():
            print(f"tests: {build}: no test log (did the build fail?)", file=sys.stderr)
            failed += 1
            continue
        for line in log.read_text().splitlines():
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"tests: FAILED in {build}: {r.get('name')} ({res})", file=sys.stderr)
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
