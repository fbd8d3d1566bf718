#!/bin/sh
# Interop of Rampart's device certificates with the openssl CLI, on
# loopback only. Run by tests/unit/test_ca_signer.c with a directory that
# holds: ca.pem (the tenant CA), crl.pem (its CRL), good.pem/good.key (a
# device), revoked.pem/revoked.key (a revoked device), other.pem/other.key
# (a device of another tenant's CA). Exit 0 when every check holds.
set -u
d=$1
fail() { echo "interop: $*" >&2; exit 1; }

openssl verify -CAfile "$d/ca.pem" "$d/good.pem" >/dev/null 2>&1 ||
	fail "openssl verify refused a good device certificate"
openssl verify -purpose sslclient -x509_strict -CAfile "$d/ca.pem" \
	"$d/good.pem" >/dev/null 2>&1 ||
	fail "openssl verify -purpose sslclient refused it"
openssl verify -crl_check -CAfile "$d/ca.pem" -CRLfile "$d/crl.pem" \
	"$d/good.pem" >/dev/null 2>&1 ||
	fail "openssl verify -crl_check refused a good certificate"
openssl verify -crl_check -CAfile "$d/ca.pem" -CRLfile "$d/crl.pem" \
	"$d/revoked.pem" >/dev/null 2>&1 &&
	fail "openssl verify -crl_check accepted a revoked certificate"
openssl verify -CAfile "$d/ca.pem" "$d/other.pem" >/dev/null 2>&1 &&
	fail "openssl verify accepted another CA's certificate"

# A throwaway server certificate (the client does not check it here).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$d/srv.key" -out "$d/srv.pem" -subj /CN=127.0.0.1 -days 1 \
	>/dev/null 2>&1 || fail "making a server certificate"

# One mutual-TLS connection: s_server demands a client certificate from
# the tenant CA (and checks the CRL); prints 0 if the request got a page.
mtls() {
	cert=$1
	key=$2
	rm -f "$d/srv.out"
	openssl s_server -accept 127.0.0.1:0 -cert "$d/srv.pem" -key "$d/srv.key" \
		-Verify 1 -verify_return_error -CAfile "$d/ca.pem" \
		-CRL "$d/crl.pem" -crl_check -naccept 1 -www \
		>"$d/srv.out" 2>&1 &
	spid=$!
	port=
	i=0
	while [ $i -lt 100 ] && [ -z "$port" ]; do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$d/srv.out")
		[ -n "$port" ] || sleep 0.05
		i=$((i + 1))
	done
	[ -n "$port" ] || { kill $spid 2>/dev/null; fail "s_server did not start"; }
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -quiet \
		-cert "$cert" -key "$key" >"$d/cli.out" 2>&1
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	grep -q '^HTTP/1.0 200' "$d/cli.out"
}

mtls "$d/good.pem" "$d/good.key" ||
	{ cat "$d/srv.out" "$d/cli.out" >&2; fail "mutual TLS refused a good device"; }
mtls "$d/revoked.pem" "$d/revoked.key" &&
	fail "mutual TLS accepted a revoked device"
mtls "$d/other.pem" "$d/other.key" &&
	fail "mutual TLS accepted another CA's device"
echo "interop: ok"
exit 0
