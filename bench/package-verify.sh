#!/bin/sh
# package-verify: time `rampart package verify` of a package with a 256 MiB
# payload against `openssl dgst -sha256` of the same file, in the same run,
# from a warm page cache. Prints the medians and, last, one line:
#   package-verify: <ratio>x openssl sha256 (target <= 1.10)
# Exits 0 whether or not the target holds. Run from the project root after
# a build (`make build`). Environment: BUILD (default build), MIB (default
# 256), RUNS (default 7).
set -eu
BUILD=${BUILD:-build}
MIB=${MIB:-256}
RUNS=${RUNS:-7}
rampart=$BUILD/cli/rampart
[ -x "$rampart" ] || { echo "package-verify: build first ($rampart missing)" >&2; exit 1; }

work=$(mktemp -d /tmp/rp-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/app/bin" "$work/app/data"
cp /bin/true "$work/app/bin/app"
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$work/app/data/blob"
cat > "$work/app_manifest.json" <<'JSON'
{"SchemaVersion": 1, "Name": "bench", "EntryPoint": "/bin/app",
 "ComponentId": "0d5a1f3c-9b2e-4c7a-8e61-2f4b7d9c0a13",
 "Capabilities": {}, "ApplicationType": "Default"}
JSON
"$rampart" key generate -o "$work/k.key" > /dev/null
"$rampart" package pack "$work/app" -m "$work/app_manifest.json" -k "$work/k.key" \
	-o "$work/big.rpk" > /dev/null
size=$(stat -c %s "$work/big.rpk")
cat "$work/big.rpk" > /dev/null   # warm the page cache for both tools

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/t_rp"
: > "$work/t_ossl"
i=0
while [ "$i" -lt "$RUNS" ]; do
	# Alternate the two so drift in machine load hits both alike.
	t0=$(now); "$rampart" package verify "$work/big.rpk" --trust "$work/k.pub" > /dev/null; t1=$(now)
	echo $((t1 - t0)) >> "$work/t_rp"
	t0=$(now); openssl dgst -sha256 "$work/big.rpk" > /dev/null; t1=$(now)
	echo $((t1 - t0)) >> "$work/t_ossl"
	i=$((i + 1))
done
rp=$(median < "$work/t_rp")
ossl=$(median < "$work/t_ossl")
echo "package size:               $size bytes"
echo "rampart package verify:     $(awk -v n="$rp" 'BEGIN {printf "%.1f ms", n / 1e6}') (median of $RUNS)"
echo "openssl dgst -sha256:       $(awk -v n="$ossl" 'BEGIN {printf "%.1f ms", n / 1e6}') (median of $RUNS)"
awk -v a="$rp" -v b="$ossl" 'BEGIN {printf "package-verify: %.2fx openssl sha256 (target <= 1.10)\n", a / b}'
