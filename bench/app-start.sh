#!/bin/sh
# app-start: time from start to the app's first instruction (its first
# write) for a trivial app in a Rampart compartment, against
# `bwrap --unshare-all` running the same binary, alternating, in one run.
# Needs root (compartments are created by root). Ends with:
#   app-start: <ratio>x bwrap (target <= 1.00)
# Exits 0 whether or not the target holds. Env: BUILD (default build),
# RUNS (default 50).
set -eu
BUILD=${BUILD:-build}
RUNS=${RUNS:-50}
tool=$BUILD/bench/app_start
[ -x "$tool" ] || { echo "app-start: build first ($tool missing)" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
	echo "app-start: needs root to create compartments" >&2
	exit 1
fi
command -v bwrap > /dev/null || { echo "app-start: bwrap missing (scripts/deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d /tmp/rp-bench-start-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/app/bin"
cp "$BUILD/bench/trivial" "$work/app/bin/app"
chmod 755 "$work" "$work/app" "$work/app/bin"
out=$("$tool" "$RUNS" "$work/app")
rp=$(echo "$out" | awk '/^rampart/ {print $2}')
bw=$(echo "$out" | awk '/^bwrap/ {print $2}')
echo "rampart compartment: ${rp} us median of $RUNS"
echo "bwrap --unshare-all: ${bw} us median of $RUNS"
awk -v a="$rp" -v b="$bw" 'BEGIN {printf "app-start: %.2fx bwrap (target <= 1.00)\n", a / b}'
