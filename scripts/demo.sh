#!/bin/sh
# make demo: a developer key, an example app packed from its manifest
# (with "$SAMPLE_LED" resolved through the simulated board), signed,
# verified, shown, and a tampered copy and an untrusted signer refused.
# Then, as root, the device runtime: rampartd on a temporary state
# directory, two sideloaded apps in their compartments, an attempt outside
# a manifest refused, the error report, and a clean stop. Without root the
# runtime part is skipped, saying so. Files are left under out/demo/.
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

# ---- the device runtime (needs root) -----------------------------------
rampartd=$BUILD/runtime/rampartd
probe=$BUILD/tests/runtime/probe
if [ "$(id -u)" -ne 0 ]; then
	step "9. The device runtime: skipped"
	echo "rampartd runs every app in its own compartment (namespaces, cgroups,"
	echo "mounts), which needs root. Run 'sudo make demo' to see it start apps,"
	echo "refuse what their manifests do not grant, and report their exits."
	printf '\nDemo complete (without the runtime part). Files are in %s/.\n' "$demo"
	exit 0
fi
if [ ! -x "$rampartd" ] || [ ! -x "$probe" ]; then
	echo "demo: $rampartd or $probe is missing (build with tests enabled)" >&2
	exit 1
fi

# A private state directory and socket; everything is stopped on exit.
rt=$(mktemp -d /tmp/rampart-demo-XXXXXX)
chmod 755 "$rt"
export RAMPART_SOCKET="$rt/rampartd.sock"
cgparent="rampart-demo-$$"
dpid=""
stop_daemon() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid"
		wait "$dpid" 2>/dev/null || true
	fi
	dpid=""
	# rampartd removes each app's cgroup; the empty parent is the demo's.
	for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
}
cleanup() {
	stop_daemon
	rm -rf "$rt"
}
trap cleanup EXIT INT TERM
cat > "$rt/rampartd.json" <<JSON
{"restart_backoff": {"initial_ms": 1000, "max_ms": 8000, "reset_after_ms": 60000},
 "stop_grace_ms": 2000, "cgroup_parent": "$cgparent"}
JSON

step "9. Start rampartd, the device runtime, on a temporary state directory"
printf '$ %s\n' "$rampartd --state-dir $rt/state --config $rt/rampartd.json --socket $RAMPART_SOCKET --foreground &"
"$rampartd" --state-dir "$rt/state" --config "$rt/rampartd.json" \
	--socket "$RAMPART_SOCKET" --foreground > "$rt/rampartd.log" 2>&1 &
dpid=$!
i=0
while [ ! -S "$RAMPART_SOCKET" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
run "$rampart" device show

step "10. A new device runs only production-signed apps: sideload is refused"
refused "$rampart" device sideload deploy "$demo/hello.rpk"

step "11. Enable development mode, trusting the demo developer key"
run "$rampart" device enable-development --trust-key "$demo/dev.pub"

step "12. Sideload two small apps; each runs in its own compartment"
mkdir -p "$demo/monitor/bin" "$demo/intruder/bin"
cp "$probe" "$demo/monitor/bin/app"
cp "$probe" "$demo/intruder/bin/app"
cat > "$demo/monitor.json" <<JSON
{"SchemaVersion": 1, "Name": "monitor", "ComponentId": "6d6f6e69-746f-4200-8000-000000000001",
 "EntryPoint": "/bin/app", "CmdArgs": ["hello"], "Capabilities": {},
 "ApplicationType": "Default"}
JSON
# The intruder may reach telemetry.example.com only, and tries more.
cat > "$demo/intruder.json" <<JSON
{"SchemaVersion": 1, "Name": "intruder", "ComponentId": "696e7472-7564-4500-8000-000000000002",
 "EntryPoint": "/bin/app", "CmdArgs": ["escape"],
 "Capabilities": {"AllowedConnections": ["telemetry.example.com"]},
 "ApplicationType": "Default"}
JSON
"$rampart" package pack "$demo/monitor" --manifest "$demo/monitor.json" \
	--key "$demo/dev.key" -o "$demo/monitor.rpk" > /dev/null
"$rampart" package pack "$demo/intruder" --manifest "$demo/intruder.json" \
	--key "$demo/dev.key" -o "$demo/intruder.rpk" > /dev/null
run "$rampart" device sideload deploy "$demo/monitor.rpk"
run "$rampart" device sideload deploy "$demo/intruder.rpk"
sleep 2
run "$rampart" device app list
run "$rampart" device app logs --component-id 6d6f6e69-746f-4200-8000-000000000001 -n 3

step "13. What the manifest does not grant is refused (the app logs the refusals)"
run "$rampart" device app logs --component-id 696e7472-7564-4500-8000-000000000002 -n 3
if "$rampart" device app logs --component-id 696e7472-7564-4500-8000-000000000002 | grep -q SUCCEEDED; then
	echo "demo: an attempt outside the manifest succeeded" >&2
	exit 1
fi

step "14. Every exit becomes an error report (Azure Sphere's fields; also --json)"
run "$rampart" device error-report --csv

step "15. Stop everything cleanly"
run "$rampart" device sideload delete --all
stop_daemon
echo "rampartd stopped (SIGTERM)"
left=$(pgrep -f "$rt" || true)
mounts=$(grep -c "$rt" /proc/mounts || true)
cgs=$(ls -d /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent" 2>/dev/null | wc -l)
if [ -n "$left" ] || [ "$mounts" -ne 0 ] || [ "$cgs" -ne 0 ]; then
	echo "demo: left behind: processes '$left', $mounts mounts, $cgs cgroups" >&2
	exit 1
fi
echo "No processes, mounts or cgroups left behind."

printf '\nDemo complete. Files are in %s/.\n' "$demo"
