#!/bin/sh
# make demo: a developer key, an example app packed from its manifest
# (with "$SAMPLE_LED" resolved through the simulated board), signed,
# verified, shown, and a tampered copy and an untrusted signer refused.
# Then, as root, the device runtime: rampartd on a temporary state
# directory, two sideloaded apps in their compartments, an attempt outside
# a manifest refused, the error report, and a clean stop. Without root the
# runtime part is skipped, saying so. Last, as root, the samples on the
# simulated board (demo_samples): rampart-sim, mosquitto, co2monitor with
# its partner and blink, telemetry, an alarm LED, an install deferred while
# the alarm is on, and refusals. Then, as root, the whole story with the
# security service (demo_service): rampart-server on SQLite, a tenant and
# a product, a device claimed into a device group that checks in over
# mutual TLS, an app that crashes once, and its error report read from the
# service. Files are left under out/demo/.
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
# Show a command as one would type it (arguments with spaces or quotes
# in single quotes), then run it.
show() {
	_cmd="$"
	for _a in "$@"; do
		case $_a in
		*[!A-Za-z0-9_./:=@%+,-]* | '') _a="'$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'" ;;
		esac
		_cmd="$_cmd $_a"
	done
	printf '%s\n' "$_cmd"
}
run() { show "$@"; "$@"; }
# A command that must fail with "refused" (exit 1); the demo fails if not.
refused() {
	show "$@"
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

# ---- the samples on the simulated board (root; called at the end) ------
# rampart-sim plays the board (GPIO lines, an SCD30 CO2 sensor on I2C),
# mosquitto the telemetry broker on loopback, and a second rampartd is
# configured with the simulated board so apps get their peripherals from
# it. Everything it starts is stopped before it returns.
demo_samples() {
	sim=$BUILD/sim/rampart-sim
	smp=$BUILD/samples
	mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	if [ ! -x "$sim" ] || [ ! -x "$smp/co2monitor/co2monitor" ] || [ ! -x "$mosq" ] ||
	   [ ! -x "$BUILD/tests/grantprobe" ] ||
	   ! command -v mosquitto_sub > /dev/null; then
		step "S. The samples: skipped (rampart-sim, the samples, grantprobe or mosquitto are missing)"
		return 0
	fi
	srt=$(mktemp -d /tmp/rampart-samples-XXXXXX)
	chmod 755 "$srt"
	export RAMPART_SOCKET="$srt/rampartd.sock"
	scg="rampart-demo-samples-$$"
	simpid="" mqpid="" spid=""
	samples_stop() {
		for p in $spid $simpid $mqpid; do
			if kill -0 "$p" 2>/dev/null; then
				kill -TERM "$p"
				wait "$p" 2>/dev/null || true
			fi
		done
		spid="" simpid="" mqpid=""
		for d in /sys/fs/cgroup/*/"$scg" /sys/fs/cgroup/"$scg"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
		done
	}
	trap 'samples_stop; rm -rf "$srt"; cleanup' EXIT

	step "S1. The simulated board (rampart-sim) and an MQTT broker on loopback"
	echo "rampart-sim serves the board's devices as sockets: 16 GPIO lines, an"
	echo "SCD30 CO2 sensor at 0x61 on i2c-0, UARTs, PWM, ADC. Apps never see them."
	printf '$ %s\n' "$sim serve --dir $srt/sim &"
	"$sim" serve --dir "$srt/sim" > "$srt/sim.out" 2>&1 &
	simpid=$!
	i=0
	while ! grep -q ready "$srt/sim.out" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$srt/mosquitto.conf"
	printf '$ %s\n' "mosquitto -c $srt/mosquitto.conf &   # port $port"
	"$mosq" -c "$srt/mosquitto.conf" > /dev/null 2>&1 &
	mqpid=$!
	run "$sim" --dir "$srt/sim" scd30 set --co2 650 --temperature 21.5 --humidity 45

	step "S2. rampartd with the simulated board as the device's hardware"
	cat > "$srt/rampartd.json" <<JSON
{"board": "$root/boards/sim/sim.json", "board_root": "$srt/sim",
 "stop_grace_ms": 2000, "cgroup_parent": "$scg"}
JSON
	run cat "$srt/rampartd.json"
	"$rampartd" --state-dir "$srt/state" --config "$srt/rampartd.json" \
		--socket "$RAMPART_SOCKET" --foreground > "$srt/rampartd.log" 2>&1 &
	spid=$!
	i=0
	while [ ! -S "$RAMPART_SOCKET" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	run "$rampart" device enable-development --trust-key "$demo/dev.pub"

	step "S3. Pack and sideload three samples from their Azure Sphere manifests"
	echo "co2monitor: SCD30 -> MQTT telemetry, alarm LED, settings in storage, partner"
	echo "rtpartner:  its partner app (commands over an app-to-app channel)"
	echo "blink:      SAMPLE_LED blinks; SAMPLE_BUTTON_1 changes the rate"
	for app in co2monitor rtpartner blink; do
		mkdir -p "$demo/samples/$app/bin"
		cp "$smp/$app/$app" "$demo/samples/$app/bin/app"
		# The broker's port is this demo's, in CmdArgs and AllowedConnections.
		sed "s/1883/$port/g" "samples/$app/app_manifest.json" > "$demo/samples/$app.json"
		"$rampart" package pack "$demo/samples/$app" --manifest "$demo/samples/$app.json" \
			--board boards/sim/sample_appliance.json --key "$demo/dev.key" \
			-o "$demo/samples/$app.rpk" > /dev/null
	done
	run grep -A 10 '"Capabilities"' "$demo/samples/co2monitor.json"
	for app in rtpartner co2monitor blink; do
		run "$rampart" device sideload deploy "$demo/samples/$app.rpk"
	done
	co2id=$(sed -n 's/.*"ComponentId": "\([^"]*\)".*/\1/p' samples/co2monitor/app_manifest.json)
	ptid=$(sed -n 's/.*"ComponentId": "\([^"]*\)".*/\1/p' samples/rtpartner/app_manifest.json)

	step "S4. Telemetry arrives at the broker (mosquitto_sub, three messages)"
	run mosquitto_sub -h 127.0.0.1 -p "$port" -t rampart/co2monitor/telemetry -C 3 -W 30

	step "S5. The partner drives, co2monitor decides: both sides of the channel"
	sleep 6
	run "$rampart" device app logs --component-id "$ptid" -n 8
	"$rampart" device app logs --component-id "$co2id" | grep -m 4 'partner' || true

	step "S6. The CO2 rises: the alarm LED (line 3) goes on"
	run "$sim" --dir "$srt/sim" gpio get 3
	run "$sim" --dir "$srt/sim" scd30 set --co2 2000
	i=0
	while [ "$("$sim" --dir "$srt/sim" gpio get 3)" != 1 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	run "$sim" --dir "$srt/sim" gpio get 3
	"$rampart" device app logs --component-id "$co2id" | grep 'alarm on' | tail -n 1

	step "S7. blink toggles SAMPLE_LED (line 2); the button changes its rate"
	run "$sim" --dir "$srt/sim" gpio watch 2 --count 4 --timeout 5
	run "$sim" --dir "$srt/sim" gpio set 0 0
	sleep 0.2
	run "$sim" --dir "$srt/sim" gpio set 0 1
	sleep 0.3
	"$rampart" device app logs --component-id b1e5a3c0-4f1d-4e6b-9a2c-7d0e8f6a1b01 | tail -n 1

	step "S8. Outside a manifest: refused"
	echo "A second app asking for SAMPLE_LED, which blink holds (one peripheral, one app):"
	mkdir -p "$demo/samples/thief/bin"
	cp "$smp/blink/blink" "$demo/samples/thief/bin/app"
	sed -e 's/"Name": "blink"/"Name": "thief"/' \
	    -e 's/b1e5a3c0-4f1d-4e6b-9a2c-7d0e8f6a1b01/74686965-6600-4000-8000-000000000001/' \
		samples/blink/app_manifest.json > "$demo/samples/thief.json"
	"$rampart" package pack "$demo/samples/thief" --manifest "$demo/samples/thief.json" \
		--board boards/sim/sample_appliance.json --key "$demo/dev.key" \
		-o "$demo/samples/thief.rpk" > /dev/null
	refused "$rampart" device sideload deploy "$demo/samples/thief.rpk"

	step "S9. An install waits while co2monitor's alarm is on (update deferral)"
	echo "co2monitor registered for UpdateReadyForInstall; it defers while the CO2"
	echo "alarm is on, and lets the install proceed once the air is clear."
	echo "The app installed is a probe granted only SAMPLE_BUTTON_2, which then tries"
	echo "the alarm LED, the I2C bus and /dev/gpiochip0: each is refused."
	mkdir -p "$demo/samples/probe/bin"
	cp "$BUILD/tests/grantprobe" "$demo/samples/probe/bin/app"
	cat > "$demo/samples/probe.json" <<JSON
{"SchemaVersion": 1, "Name": "probe", "ComponentId": "74686965-6600-4000-8000-000000000002",
 "EntryPoint": "/bin/app", "CmdArgs": ["gpio-in", "1", "gpio-out", "3", "i2c", "0",
 "open", "/dev/gpiochip0"], "Capabilities": {"Gpio": ["\$SAMPLE_BUTTON_2"]},
 "ApplicationType": "Default"}
JSON
	"$rampart" package pack "$demo/samples/probe" --manifest "$demo/samples/probe.json" \
		--board boards/sim/sample_appliance.json --key "$demo/dev.key" \
		-o "$demo/samples/probe.rpk" > /dev/null
	run "$rampart" device sideload deploy "$demo/samples/probe.rpk"
	run "$sim" --dir "$srt/sim" scd30 set --co2 600
	i=0
	while ! "$rampart" device app list | grep -q 'probe.*running' && [ "$i" -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	"$rampart" device app logs --component-id "$co2id" | grep -E 'deferring|proceed' | tail -n 2
	run "$rampart" device app list
	sleep 1
	run "$rampart" device app logs --component-id 74686965-6600-4000-8000-000000000002
	if "$rampart" device app logs --component-id 74686965-6600-4000-8000-000000000002 |
		grep -E 'gpio-out 3: ok|i2c 0: ok|gpiochip0: ok'; then
		echo "demo: an attempt outside the manifest succeeded" >&2
		exit 1
	fi

	step "S10. Stop everything cleanly"
	run "$rampart" device sideload delete --all
	samples_stop
	echo "rampartd, rampart-sim and mosquitto stopped."
	left=$(pgrep -f "$srt" || true)
	mounts=$(grep -c "$srt" /proc/mounts || true)
	if [ -n "$left" ] || [ "$mounts" -ne 0 ]; then
		echo "demo: left behind: processes '$left', $mounts mounts" >&2
		exit 1
	fi
	rm -rf "$srt"
	trap cleanup EXIT
	echo "No processes or mounts left behind."
}

# ---- the whole story with the security service (root; called last) -----
# rampart-server on a temporary SQLite database with its signer, an
# operator (the CLI, logged in with a private config), and a device (a
# third rampartd) that is claimed, checks in over mutual TLS, runs an app
# that crashes once, and uploads the report, which the operator then reads
# from the service. Everything it starts is stopped before it returns.
demo_service() {
	server=$BUILD/server/rampart-server
	signer=$BUILD/signer/rampart-signer
	if [ ! -x "$server" ] || [ ! -x "$signer" ] || [ ! -x "$BUILD/runtime/rampart-cloud" ] ||
	   ! command -v openssl > /dev/null || ! command -v curl > /dev/null; then
		step "C. The service: skipped (rampart-server, rampart-signer, rampart-cloud, openssl or curl is missing)"
		return 0
	fi
	svt=$(mktemp -d /tmp/rampart-service-XXXXXX)
	chmod 755 "$svt"
	# The server's secrets (key, database, CA keys, owner token) and the
	# CLI's config stay in a root-only directory, removed at the end.
	sv=$svt/server
	mkdir -m 700 "$sv"
	out=$demo/service
	mkdir -p "$out"
	export RAMPART_SOCKET="$svt/rampartd.sock"
	export RAMPART_CONFIG="$sv/cli-config.json"
	# The service is on loopback: past any proxy the environment names
	# (curl and the CLI's libcurl read https_proxy).
	export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
	vcg="rampart-demo-service-$$"
	srvpid="" vpid=""
	service_stop() {
		for p in $vpid $srvpid; do
			if kill -0 "$p" 2>/dev/null; then
				kill -TERM "$p"
				wait "$p" 2>/dev/null || true
			fi
		done
		vpid="" srvpid=""
		for d in /sys/fs/cgroup/*/"$vcg" /sys/fs/cgroup/"$vcg"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
		done
	}
	trap 'service_stop; rm -rf "$svt"; cleanup' EXIT

	step "C1. The security service: rampart-server on SQLite, on loopback"
	echo "A server certificate for 127.0.0.1 (self-signed: the device and the CLI"
	echo "are given it as their CA), the schema and the owner's first token."
	run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$sv/server.key" -out "$out/server.pem" -days 1 -subj /CN=localhost \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
	run "$server" init --db "sqlite:$sv/rampart.db" --admin-token-out "$sv/owner.token"
	run stat -c '%A %n' "$sv/owner.token"
	echo "serve: TLS 1.3 only, port 0 (any free port, printed); --keys starts"
	echo "rampart-signer, the process that holds the tenants' CA and targets keys."
	printf '$ %s\n' "$server serve --db sqlite:$sv/rampart.db --cert $out/server.pem --key $sv/server.key --listen 127.0.0.1:0 --keys $sv/ca-keys --signer $signer --data $sv/data &"
	"$server" serve --db "sqlite:$sv/rampart.db" --cert "$out/server.pem" \
		--key "$sv/server.key" --listen 127.0.0.1:0 --keys "$sv/ca-keys" \
		--signer "$signer" --data "$sv/data" > "$svt/server.out" 2> "$svt/server.log" &
	srvpid=$!
	i=0
	while ! grep -q '^listening ' "$svt/server.out" 2>/dev/null && [ "$i" -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sport=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$svt/server.out")
	if [ -z "$sport" ]; then
		echo "demo: rampart-server did not start:" >&2
		cat "$svt/server.log" >&2
		exit 1
	fi
	url=https://127.0.0.1:$sport
	i=0
	while ! curl -sSf --cacert "$out/server.pem" "$url/v1/health" > /dev/null 2>&1 &&
	      [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	run curl -sSf --cacert "$out/server.pem" "$url/v1/health"

	step "C2. The operator: log in, create a tenant and a product"
	echo "The CLI keeps the server, the token file's path and the CA in"
	echo "\$RAMPART_CONFIG, here a temporary file so nothing of yours is touched."
	run "$rampart" login --server "$url" --token-file "$sv/owner.token" --ca-cert "$out/server.pem"
	run "$rampart" tenant create Contoso
	tid=$("$rampart" tenant show Contoso --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
	run "$rampart" product create "CO2 Monitor" --description "the co2monitor sample's fleet"
	echo "Every product gets Azure Sphere's five device groups:"
	run "$rampart" device-group list --product "CO2 Monitor"

	step "C3. A device: rampartd on a temporary state directory, pointed at the service"
	cat > "$svt/rampartd.json" <<JSON
{"restart_backoff": {"initial_ms": 120000, "max_ms": 120000, "reset_after_ms": 120000},
 "stop_grace_ms": 2000, "cgroup_parent": "$vcg", "checkin_interval_s": 3600}
JSON
	printf '$ %s\n' "$rampartd --state-dir $svt/device --config $svt/rampartd.json --socket $RAMPART_SOCKET --foreground &"
	"$rampartd" --state-dir "$svt/device" --config "$svt/rampartd.json" \
		--socket "$RAMPART_SOCKET" --foreground > "$svt/rampartd.log" 2>&1 &
	vpid=$!
	i=0
	while [ ! -S "$RAMPART_SOCKET" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	did=$("$rampart" device show --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["device_id"])')
	echo "The device id is the SHA-256 of its key's public half; the key never leaves it."
	run "$rampart" device show
	echo "Setup checks in at once: not claimed yet, the device waits and says its id"
	echo "(the same as 'rampart device cloud status' shows from now on)."
	run "$rampart" device cloud setup --url "$url" --ca "$out/server.pem" --tenant "$tid"

	step "C4. The operator claims the device into CO2 Monitor / Field Test"
	run "$rampart" device claim "$did" --product "CO2 Monitor" --device-group "Field Test"

	step "C5. The device checks in: certificate, check-in over mutual TLS, signed targets"
	run "$rampart" device check-for-updates

	step "C6. An app that crashes once"
	echo "A probe app that writes through a null pointer (SIGSEGV) as it starts;"
	echo "rampartd records the crash and would restart it after a 2-minute back-off."
	mkdir -p "$demo/service/crasher/bin"
	cp "$probe" "$demo/service/crasher/bin/app"
	cat > "$out/crasher.json" <<JSON
{"SchemaVersion": 1, "Name": "crasher", "ComponentId": "63726173-6865-4200-8000-000000000003",
 "EntryPoint": "/bin/app", "CmdArgs": ["crash"], "Capabilities": {},
 "ApplicationType": "Default"}
JSON
	"$rampart" package pack "$out/crasher" --manifest "$out/crasher.json" \
		--key "$demo/dev.key" -o "$out/crasher.rpk" > /dev/null
	run "$rampart" device enable-development --trust-key "$demo/dev.pub"
	run "$rampart" device sideload deploy "$out/crasher.rpk"
	i=0
	while ! "$rampart" device error-report --csv | grep -q AppCrash && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! "$rampart" device error-report --csv | grep -q AppCrash; then
		echo "demo: the crash was not recorded within 10 s" >&2
		exit 1
	fi
	run "$rampart" device app list
	run "$rampart" device error-report --csv

	step "C7. The next check-in uploads the report"
	run "$rampart" device check-for-updates

	step "C8. The operator reads it from the service"
	run "$rampart" error-report list --device "$did"
	run "$rampart" error-report download --csv -o "$out/reports.csv"
	run cat "$out/reports.csv"
	if ! grep -q "^$did,Unplanned,Application,1,AppCrash: signal=11" "$out/reports.csv"; then
		echo "demo: the service does not hold the crash report" >&2
		exit 1
	fi
	echo "The service's record of the device: its group, last check-in, what it runs."
	run "$rampart" device list
	run "$rampart" device show "$did"

	step "C9. Stop everything cleanly"
	run "$rampart" device sideload delete --all
	kill -TERM "$vpid"
	drc=0
	wait "$vpid" || drc=$?
	kill -TERM "$srvpid"
	src=0
	wait "$srvpid" || src=$?
	vpid="" srvpid=""
	service_stop
	if [ "$drc" -ne 0 ] || [ "$src" -ne 0 ]; then
		echo "demo: rampartd exited with $drc, rampart-server with $src" >&2
		cat "$svt/rampartd.log" "$svt/server.log" >&2
		exit 1
	fi
	echo "rampartd, rampart-server and its signer stopped (SIGTERM, exit 0)."
	left=$(pgrep -f "$svt" || true)
	mounts=$(grep -c "$svt" /proc/mounts || true)
	cgs=$(ls -d /sys/fs/cgroup/*/"$vcg" /sys/fs/cgroup/"$vcg" 2>/dev/null | wc -l)
	if [ -n "$left" ] || [ "$mounts" -ne 0 ] || [ "$cgs" -ne 0 ]; then
		echo "demo: left behind: processes '$left', $mounts mounts, $cgs cgroups" >&2
		exit 1
	fi
	rm -rf "$svt"
	unset RAMPART_CONFIG
	trap cleanup EXIT
	echo "No processes, mounts or cgroups left behind."
}

# ---- the device runtime (needs root) -----------------------------------
rampartd=$BUILD/runtime/rampartd
probe=$BUILD/tests/runtime/probe
if [ "$(id -u)" -ne 0 ]; then
	step "9. The device runtime: skipped"
	echo "rampartd runs every app in its own compartment (namespaces, cgroups,"
	echo "mounts), which needs root. Run 'sudo make demo' to see it start apps,"
	echo "refuse what their manifests do not grant, and report their exits."
	step "S. The samples on the simulated board: skipped (rampartd needs root)"
	step "C. The service (server, claim, check-in, error reports): skipped (rampartd needs root)"
	printf '\nDemo complete (without the runtime, samples and service parts). Files are in %s/.\n' "$demo"
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
# Interrupted: exit, which runs the EXIT trap (the cleanup of the part
# that is running).
trap 'exit 130' INT TERM
trap cleanup EXIT
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

demo_samples
demo_service

printf '\nDemo complete. Files are in %s/.\n' "$demo"
