#!/bin/sh
# checkin: device check-ins per second and their p99 latency on
# rampart-server (POST /v1/device/checkin over mutual TLS 1.3, keep-alive),
# on SQLite and on PostgreSQL, with DEVICES devices registered, against
# nginx serving a static 200-byte file over TLS 1.3 (keep-alive, no client
# certificate) on the same machine in the same run, with the same load
# generator (build/bench/checkin_load: C connections, one request in
# flight on each, each connection a device with its own certificate that
# reconnects as the next device after RECONNECT requests; nginx gets the
# same connection pattern). The ratio is the SQLite check-in rate over
# nginx's rate. Ends with one line:
#   checkin: <ratio>x nginx (sqlite <n>/s p99 <ms>ms, postgresql <n>/s p99 <ms>ms, nginx <n>/s) (target >= 0.50)
# Exits 0 whether or not the target holds.
#
# Set-up, per backend (bench/checkin_setup.py): a tenant, product and
# group, one image uploaded and deployed (so each check-in returns a real
# signed targets document), CERTS devices claimed and given certificates by
# the real API (their keys made by `checkin_load keygen`), and the rest of
# the DEVICES inserted as claimed rows straight into the database in one
# statement (they only need to exist; they never check in).
#
# Run from the project root after `make build`; builds nothing. Needs root
# (PostgreSQL runs as an unprivileged user via runuser; nginx's workers
# drop to nobody). Every process and file it starts or makes is removed on
# exit. Environment: BUILD (default build), DEVICES (100000), CONNS (64),
# SECONDS (10, per target), CERTS (distinct device certificates, 1000),
# RECONNECT (requests per connection, 50), THREADS (load generator
# threads, 1), NGINX_WORKERS (default: the number of cores), WORKERS
# (rampart-server's event loops, serve --workers; default NGINX_WORKERS), PG_OPTS
# (extra postgres options, e.g. "-c fsync=off"; default none: durable like
# SQLite's synchronous=FULL), PERF_OUT (a directory: profile
# rampart-server during its runs with perf, reports left there).
set -eu
BUILD=${BUILD:-build}
DEVICES=${DEVICES:-100000}
CONNS=${CONNS:-64}
DURATION=${SECONDS:-10}
CERTS=${CERTS:-1000}
RECONNECT=${RECONNECT:-50}
THREADS=${THREADS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-$(nproc)}
WORKERS=${WORKERS:-$NGINX_WORKERS}
PG_OPTS=${PG_OPTS:-}
PGBIN=/usr/lib/postgresql/15/bin

fail() { echo "checkin: $*" >&2; exit 1; }
for v in DEVICES CONNS DURATION CERTS RECONNECT THREADS NGINX_WORKERS WORKERS; do
	eval "x=\$$v"
	[ "$v" = DURATION ] && v=SECONDS
	case "$x" in ''|*[!0-9]*) fail "$v must be a number (got '$x')" ;; esac
done
[ "$CERTS" -ge 1 ] && [ "$CONNS" -ge 1 ] && [ "$DURATION" -ge 1 ] || fail "CERTS, CONNS and SECONDS must be at least 1"
[ "$DEVICES" -ge "$CERTS" ] || fail "DEVICES ($DEVICES) must be at least CERTS ($CERTS)"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
server=$BUILD/server/rampart-server
signer=$BUILD/signer/rampart-signer
cli=$BUILD/cli/rampart
load=$BUILD/bench/checkin_load
for b in "$server" "$signer" "$cli" "$load"; do
	[ -x "$b" ] || fail "build first ($b missing; run make build)"
done
[ "$(id -u)" -eq 0 ] || fail "needs root (PostgreSQL under an unprivileged user, nginx)"
for c in nginx sqlite3 psql python3 openssl runuser; do
	command -v "$c" > /dev/null || fail "$c missing (scripts/deps.sh installs it)"
done
[ -x "$PGBIN/initdb" ] || fail "$PGBIN/initdb missing (package postgresql)"

work=$(mktemp -d /tmp/rp-bench-checkin-XXXXXX)
chmod 755 "$work"
sq_pid=""; pg_pid=""; ng_pid=""; pg_started=""; pg_user=""
cleanup() {
	for p in $sq_pid $pg_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$ng_pid" ]; then
		kill "$ng_pid" 2>/dev/null || true
		wait "$ng_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_started" ]; then
		runuser -u "$pg_user" -- "$PGBIN/pg_ctl" -D "$work/pg/data" -m fast -w stop \
			> /dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The one server certificate (P-256), shared by rampart-server and nginx.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$work/server.key" -out "$work/server.crt" -days 2 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost > /dev/null 2>&1
chmod 644 "$work/server.key"   # nginx's workers run as nobody; a throwaway key

# start_server NAME DBURL: init, serve on a free port with its signer and
# a data directory; sets $port and $pid.
start_server() {
	dir=$work/$1
	mkdir -p "$dir"
	"$server" init --db "$2" --admin-token-out "$dir/owner.token" > "$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; fail "$1: rampart-server init failed"; }
	"$server" serve --db "$2" --cert "$work/server.crt" --key "$work/server.key" \
		--listen 127.0.0.1:0 --keys "$dir/ca-keys" --signer "$signer" \
		--data "$dir/data" --workers "$WORKERS" > "$dir/serve.out" 2> "$dir/server.log" &
	pid=$!
	i=0
	while ! grep -q '^listening ' "$dir/serve.out" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/server.log" >&2
			fail "$1: rampart-server did not start"
		fi
		sleep 0.05
	done
	port=$(awk '/^listening / {print $2; exit}' "$dir/serve.out")
}

# setup NAME DBURL PORT: the tenant, image, deployment and devices.
setup() {
	dir=$work/$1
	mkdir -p "$dir/keys"
	"$load" keygen "$dir/keys" "$CERTS" ed25519
	python3 bench/checkin_setup.py --port "$3" --ca "$work/server.crt" \
		--owner-token "$dir/owner.token" --db "$2" --rampart "$cli" \
		--keys "$dir/keys" --count "$CERTS" --devices "$DEVICES" \
		--work "$dir/setup" --body "$dir/body.json" > "$dir/setup.log" 2>&1 ||
		{ cat "$dir/setup.log" "$dir/server.log" >&2; fail "$1: set-up failed"; }
	sed "s/^/$1: /" "$dir/setup.log"
}

# cpu_ticks PID...: CPU time (clock ticks) used so far by these processes
# and all their descendants (the server's signer, PostgreSQL's backends,
# nginx's workers).
cpu_ticks() {
	python3 - "$@" <<'PY'
import os, sys
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))
todo, seen, total = [int(p) for p in sys.argv[1:]], set(), 0
while todo:
    p = todo.pop()
    if p in seen or p not in procs:
        continue
    seen.add(p)
    total += procs[p][1]
    todo += [c for c, (pp, _) in procs.items() if pp == p]
print(total)
PY
}
hz=$(getconf CLK_TCK)

# measure NAME PORT "SERVER PIDS" ARGS...: one load run; the figures in
# $work/NAME.out, plus the servers' CPU use during it (cpu_pct: percent of
# one core, over the warm-up and the measurement). With PERF_OUT set (a
# directory), rampart-server is profiled during its runs (perf record -g).
measure() {
	name=$1; p=$2; pids=$3; shift 3
	c0=$(cpu_ticks $pids)
	perf_pid=""
	if [ -n "${PERF_OUT:-}" ] && [ "$name" != nginx ]; then
		mkdir -p "$PERF_OUT"
		perf record -F 499 -g -p "${pids%% *}" -o "$PERF_OUT/$name.data" \
			-- sleep "$((DURATION + 1))" > /dev/null 2>&1 &
		perf_pid=$!
	fi
	t0=$(date +%s%N)
	"$load" run --port "$p" --ca "$work/server.crt" --conns "$CONNS" \
		--seconds "$DURATION" --threads "$THREADS" --reconnect "$RECONNECT" "$@" \
		> "$work/$name.out" 2> "$work/$name.err" || {
		cat "$work/$name.err" >&2
		fail "$name: the load generator failed"
	}
	t1=$(date +%s%N)
	c1=$(cpu_ticks $pids)
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid" || true
		perf report -i "$PERF_OUT/$name.data" --no-children --sort dso,symbol \
			--stdio > "$PERF_OUT/$name.txt" 2>/dev/null || true
	fi
	awk -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" \
		'BEGIN {printf "cpu_pct %.0f\n", 100 * c / hz / (ns / 1e9)}' >> "$work/$name.out"
	if [ -s "$work/$name.err" ]; then
		echo "$name: first errors reported by the load generator:"
		head -n 5 "$work/$name.err" | sed 's/^/  /'
	fi
}
get() { awk -v k="$2" '$1 == k {print $2}' "$work/$1.out"; }

# --- rampart-server on SQLite --------------------------------------------
echo "checkin: setting up rampart-server on SQLite ($DEVICES devices, $CERTS with certificates)"
start_server sqlite "sqlite:$work/sqlite/rampart.db"
sq_pid=$pid; sq_port=$port
setup sqlite "sqlite:$work/sqlite/rampart.db" "$sq_port"

# --- rampart-server on PostgreSQL (a private cluster) --------------------
echo "checkin: setting up PostgreSQL and rampart-server on it"
for u in rampart-pgtest postgres; do
	if id -u "$u" > /dev/null 2>&1; then pg_user=$u; break; fi
done
if [ -z "$pg_user" ]; then
	useradd -r -M -s /usr/sbin/nologin rampart-pgtest
	pg_user=rampart-pgtest
fi
mkdir -p "$work/pg"
chown "$pg_user" "$work/pg"
pg_port=$(free_port)
runuser -u "$pg_user" -- "$PGBIN/initdb" -D "$work/pg/data" -A trust -U rampart \
	> "$work/pg/initdb.log" 2>&1 || { cat "$work/pg/initdb.log" >&2; fail "initdb failed"; }
pg_started=1
# shellcheck disable=SC2086
runuser -u "$pg_user" -- "$PGBIN/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" \
	-o "-k $work/pg -p $pg_port -h 127.0.0.1 $PG_OPTS" start > /dev/null 2>&1 ||
	{ cat "$work/pg/log" >&2; fail "PostgreSQL did not start"; }
pg_url="postgresql://rampart@127.0.0.1:$pg_port/postgres"
start_server postgresql "$pg_url"
pg_pid=$pid; pg_srv_port=$port
setup postgresql "$pg_url" "$pg_srv_port"

# --- nginx: a 200-byte file over TLS 1.3 ---------------------------------
ng_port=$(free_port)
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
chmod 755 "$work/nginx" "$work/nginx/www"
head -c 200 /dev/zero | tr '\0' 'x' > "$work/nginx/www/checkin.json"
chmod 644 "$work/nginx/www/checkin.json"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ng_port ssl;
        ssl_certificate $work/server.crt;
        ssl_certificate_key $work/server.key;
        ssl_protocols TLSv1.3;
        root $work/nginx/www;
    }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
ng_pid=$!
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $ng_port), 1)" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$ng_pid" 2>/dev/null; then
		cat "$work/nginx/error.log" >&2
		fail "nginx did not start"
	fi
	sleep 0.05
done

# --- the three measurements, back to back --------------------------------
echo "checkin: measuring, $DURATION s each: $CONNS connections, $THREADS load thread(s), reconnect every $RECONNECT requests"
measure nginx "$ng_port" "$ng_pid" --get /checkin.json
measure sqlite "$sq_port" "$sq_pid" --post /v1/device/checkin --body "$work/sqlite/body.json" \
	--devices "$work/sqlite/keys" --count "$CERTS"
measure postgresql "$pg_srv_port" "$pg_pid $(head -n 1 "$work/pg/data/postmaster.pid")" --post /v1/device/checkin \
	--body "$work/postgresql/body.json" --devices "$work/postgresql/keys" --count "$CERTS"

for n in sqlite postgresql nginx; do
	printf '%-11s %8s req/s  p50 %6s ms  p99 %6s ms  max %6s ms  errors %s  handshakes %s  server CPU %s%%  client CPU %ss\n' \
		"$n" "$(get $n rate)" "$(get $n p50_ms)" "$(get $n p99_ms)" "$(get $n max_ms)" \
		"$(get $n errors)" "$(get $n handshakes)" "$(get $n cpu_pct)" "$(get $n client_cpu_s)"
done
awk -v s="$(get sqlite rate)" -v sp="$(get sqlite p99_ms)" \
	-v g="$(get postgresql rate)" -v gp="$(get postgresql p99_ms)" \
	-v n="$(get nginx rate)" 'BEGIN {
	printf "checkin: %.2fx nginx (sqlite %.0f/s p99 %.1fms, postgresql %.0f/s p99 %.1fms, nginx %.0f/s) (target >= 0.50)\n",
		(n > 0 ? s / n : 0), s, sp, g, gp, n }'
