#!/bin/sh
# Run every libFuzzer target in BUILDDIR for SECONDS each, starting from
# its committed seed corpus (copied, so the run does not dirty the tree).
# A crash, leak or timeout fails the run; the input is left in
# BUILDDIR/artifacts/ to add to fuzz/corpus/<target>/.
set -eu
build=${1:-build-fuzz}
secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/artifacts"
n=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	t=$(basename "$bin" | sed 's/^fuzz_//')
	work=$(mktemp -d)
	cp -r "$root/fuzz/corpus/$t/." "$work/"
	dict=""
	[ -f "$root/fuzz/$t.dict" ] && dict="-dict=$root/fuzz/$t.dict"
	echo "fuzz: $t for ${secs}s"
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
		$dict "$work" > "$build/artifacts/$t.log" 2>&1; then
		tail -40 "$build/artifacts/$t.log" >&2
		echo "fuzz: $t FAILED; reproducer in $build/artifacts/" >&2
		rm -rf "$work"
		exit 1
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$build/artifacts/$t.log" | sed "s/^/fuzz: $t /"
	rm -rf "$work"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "fuzz: no targets in $build" >&2; exit 1; }
echo "fuzz: $n targets ran ${secs}s each without a finding"
