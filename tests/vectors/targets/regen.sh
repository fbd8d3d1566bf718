#!/bin/sh
# Rebuild the golden targets vectors in tests/vectors/targets/ and the
# targets fuzz seeds derived from them. The generator is the unit test
# itself (test_targets --regen DIR), which in every ordinary run rebuilds
# the vectors in memory and compares them with these files byte for byte.
# Deterministic: fixed ids, fixed clock, the committed test-only key and
# Ed25519's deterministic signatures. Run from the project root:
#   tests/vectors/targets/regen.sh [BUILD_DIR]     (default: build-vectors)
set -eu
BUILD=${1:-build-vectors}
[ -d "$BUILD" ] || meson setup "$BUILD" > /dev/null
ninja -C "$BUILD" tests/test_targets > /dev/null
"$BUILD/tests/test_targets" --regen tests/vectors/targets
mkdir -p fuzz/corpus/targets
for f in tests/vectors/targets/*.rpt; do
	cp "$f" "fuzz/corpus/targets/vector-$(basename "$f")"
done
# 'P' seeds: the payload alone, for the post-signature decoder.
for v in good next downgrade; do
	f=tests/vectors/targets/$v.rpt
	len=$(od -An -tu4 -j12 -N4 "$f" | tr -d ' ')
	{ printf P; dd if="$f" bs=1 skip=16 count="$len" 2> /dev/null; } \
		> "fuzz/corpus/targets/payload-$v"
done
# 'S' seeds: state files, for the state decoder.
for v in good flipped; do
	{ printf S; cat "tests/vectors/targets/state-$v.bin"; } \
		> "fuzz/corpus/targets/state-$v"
done
RP_SRCDIR=$(pwd) "$BUILD/tests/test_targets" > /dev/null
