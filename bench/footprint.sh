#!/bin/sh
# footprint: rampartd's resident memory (VmRSS) when idle with three apps
# running, against RAUC's service idle, measured the same way (VmRSS from
# /proc/<pid>/status after a settle time) in the same run. Needs root.
# Ends with:
#   footprint: <n>MiB rampartd vs <m>MiB rauc service (target < 2 MiB)
# Exits 0 whether or not the target holds. Env: BUILD (default build).
set -eu
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rampart=$BUILD/cli/rampart
rampartd=$BUILD/runtime/rampartd
[ -x "$rampartd" ] || { echo "footprint: build first ($rampartd missing)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "footprint: needs root (rampartd runs as root)" >&2; exit 1; }

work=$(mktemp -d /tmp/rp-bench-footprint-XXXXXX)
dpid=""; rpid=""; bpid=""
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null || true
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null || true
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- rampartd with three idle apps ---------------------------------------
export RAMPART_SOCKET="$work/rampartd.sock"
"$rampartd" --state-dir "$work/state" --socket "$RAMPART_SOCKET" --foreground \
	> "$work/rampartd.log" 2>&1 &
dpid=$!
i=0
while [ ! -S "$RAMPART_SOCKET" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$rampart" key generate -o "$work/dev.key" > /dev/null
"$rampart" device enable-development --trust-key "$work/dev.pub" > /dev/null
for n in 1 2 3; do
	mkdir -p "$work/app$n/bin"
	cp /usr/bin/sleep "$work/app$n/bin/app"
	cat > "$work/app$n.json" <<JSON
{"SchemaVersion": 1, "Name": "idle$n", "EntryPoint": "/bin/app",
 "CmdArgs": ["infinity"], "ComponentId": "00000000-0000-4000-8000-00000000000$n",
 "Capabilities": {}, "ApplicationType": "Default"}
JSON
	"$rampart" package pack "$work/app$n" -m "$work/app$n.json" -k "$work/dev.key" \
		-o "$work/app$n.rpk" > /dev/null
	"$rampart" device sideload deploy "$work/app$n.rpk" > /dev/null
done
sleep 3
running=$("$rampart" device app list --json | grep -c '"running"' || true)
rp=$(rss_kb "$dpid")

# --- RAUC's service, idle, on a private system bus -------------------------
cat > "$work/dbus.conf" <<EOF2
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$work/bus</listen>
<auth>EXTERNAL</auth><policy context="default"><allow user="*"/><allow own="*"/>
<allow send_type="method_call"/><allow send_destination="*"/>
<allow receive_sender="*"/></policy></busconfig>
EOF2
cat > "$work/rauc.conf" <<EOF2
[system]
compatible=rampart-bench
bootloader=noop
[slot.rootfs.0]
device=$work/slot0.img
type=raw
bootname=A
[slot.rootfs.1]
device=$work/slot1.img
type=raw
bootname=B
EOF2
truncate -s 1M "$work/slot0.img" "$work/slot1.img"
dbus-daemon --config-file="$work/dbus.conf" --nofork > /dev/null 2>&1 &
bpid=$!
sleep 0.5
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/bus" rauc service --conf="$work/rauc.conf" \
	--override-boot-slot=A > "$work/rauc.log" 2>&1 &
rpid=$!
sleep 3
ra=$(rss_kb "$rpid")

echo "rampartd VmRSS idle, $running apps running: $rp KiB"
echo "rauc service VmRSS idle:                 $ra KiB"
awk -v a="$rp" -v b="$ra" 'BEGIN {printf "footprint: %.2fMiB rampartd vs %.2fMiB rauc service (target < 2 MiB)\n", a / 1024, b / 1024}'
