#!/bin/sh
# Rebuild the golden vectors in tests/vectors/ and the package/archive fuzz
# seeds derived from them. Deterministic: fixed image id, build time, modes
# and test keys (Ed25519 signatures are deterministic), so running it twice
# changes nothing. Run from the project root:
#   tests/vectors/regen.sh [BUILD_DIR]     (default: build-vectors)
# Needs tests/meson.build to include subdir('vectors').
set -eu
BUILD=${1:-build-vectors}
[ -d "$BUILD" ] || meson setup "$BUILD" > /dev/null
ninja -C "$BUILD" tests/vectors/mkvectors > /dev/null
mkdir -p fuzz/corpus/archive fuzz/corpus/package
"$BUILD/tests/vectors/mkvectors" tests/vectors fuzz/corpus/archive
for f in tests/vectors/*.rpk; do
	cp "$f" "fuzz/corpus/package/vector-$(basename "$f")"
done
"$BUILD/tests/vectors/mkvectors" --check tests/vectors
