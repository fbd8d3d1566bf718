#!/bin/sh
# make demo: a developer key, an example app packed from its manifest
# (with "$SAMPLE_LED" resolved through the simulated board), signed,
# verified, shown, and a tampered copy and an untrusted signer refused.
# Everything is written under out/demo/ and left there to look at.
set -eu
BUILD=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rampart=$BUILD/cli/rampart
demo=out/demo
rm -rf "$demo"
mkdir -p "$demo/app/bin" "$demo/app/share"

if [ -t 1 ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }
# A command that must fail with "refused" (exit 1); the demo fails if not.
refused() {
	printf '$ %s\n' "$*"
	set +e
	"$@"
	rc=$?
	set -e
	if [ "$rc" -ne 1 ]; then
		echo "demo: expected the command above to be refused (exit 1), got exit $rc" >&2
		exit 1
	fi
	echo "(refused, exit 1, as it must be)"
}

step "1. Create a developer signing key (Ed25519)"
run "$rampart" key generate -o "$demo/dev.key"
run "$rampart" key show "$demo/dev.pub"

step "2. The board: a simulated board and Azure Sphere's sample_appliance names"
run "$rampart" board show boards/sim/sample_appliance.json
run "$rampart" board generate-header boards/sim/sample_appliance.json -o "$demo/inc/hw/sample_appliance.h"
grep -m 3 '#define' "$demo/inc/hw/sample_appliance.h"

step "3. Pack and sign the example app from its Azure Sphere manifest"
cp "$BUILD/examples/hello" "$demo/app/bin/app"
echo "hello, device" > "$demo/app/share/greeting.txt"
run cat examples/hello/app_manifest.json
run "$rampart" package pack "$demo/app" --manifest examples/hello/app_manifest.json \
	--board boards/sim/sample_appliance.json --key "$demo/dev.key" -o "$demo/hello.rpk"

step "4. Verify it against the trusted developer key"
run "$rampart" package verify "$demo/hello.rpk" --trust "$demo/dev.pub"

step "5. Show it (for scripts: --json)"
run "$rampart" package show "$demo/hello.rpk" --json | head -n 20
echo "..."

step "6. A tampered copy is refused: one byte of the payload changed"
cp "$demo/hello.rpk" "$demo/tampered.rpk"
size=$(stat -c %s "$demo/tampered.rpk")
off=$((size - 200))
# Flip the low bit of one byte near the end of the payload.
byte=$(od -An -tu1 -j "$off" -N1 "$demo/tampered.rpk" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$demo/tampered.rpk" bs=1 seek="$off" conv=notrunc status=none
refused "$rampart" package verify "$demo/tampered.rpk" --trust "$demo/dev.pub"

step "7. A package signed by someone else is refused"
run "$rampart" key generate -o "$demo/mallory.key" > /dev/null
run "$rampart" package pack "$demo/app" --manifest examples/hello/app_manifest.json \
	--board boards/sim/sample_appliance.json --key "$demo/mallory.key" -o "$demo/mallory.rpk" > /dev/null
refused "$rampart" package verify "$demo/mallory.rpk" --trust "$demo/dev.pub"

step "8. A truncated copy is refused"
head -c $((size / 2)) "$demo/hello.rpk" > "$demo/truncated.rpk"
refused "$rampart" package verify "$demo/truncated.rpk" --trust "$demo/dev.pub"

printf '\nDemo complete. Files are in %s/.\n' "$demo"
