#!/usr/bin/env python3
"""Fail on risky libc calls in Rampart's C sources (STYLE.md rule 19).

Banned: sprintf, vsprintf, strcpy, strcat, strtok, atoi, atol, atoll,
sscanf, gets, and the strto* family (numbers go through rp_parse_u64 in
lib/base/num.c, the one overflow-checked parser). Comments and string
literals are ignored.
"""
import pathlib
import re
import sys

BANNED = re.compile(
    r"\b(sprintf|vsprintf|strcpy|strcat|strtok|strtok_r|atoi|atol|atoll|"
    r"sscanf|gets|strtol|strtoul|strtoll|strtoull|strtoimax|strtoumax)\s*\(")
DIRS = ["lib", "cli", "runtime", "server", "sim", "sdk", "samples", "tests", "fuzz",
        "bench"]
STRIP = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                   re.S)


def blank(m):
    # Keep line numbers: replace with as many newlines as were matched.
    return "\n" * m.group(0).count("\n")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = 0
    count = 0
    for d in DIRS:
        for path in sorted((root / d).rglob("*.[ch]")):
            if any(part.startswith("build") for part in path.parts):
                continue
            count += 1
            text = STRIP.sub(blank, path.read_text(errors="replace"))
            for no, line in enumerate(text.splitlines(), 1):
                m = BANNED.search(line)
                if m:
                    print(f"{path}:{no}: banned call {m.group(1)}()", file=sys.stderr)
                    bad += 1
    if bad:
        print(f"banned-calls: {bad} banned call(s); see STYLE.md rule 19", file=sys.stderr)
        return 1
    print(f"banned-calls: {count} C files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
