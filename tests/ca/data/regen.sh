#!/bin/sh
# Regenerates the CSR vectors that lib/crypto must refuse (tests/unit/test_x509.c).
# Each is a real CSR made by the openssl CLI, then damaged where needed.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# A good P-256 CSR, then the same with one byte of its signature flipped.
openssl ecparam -name prime256v1 -genkey -noout -out "$t/p256.key"
openssl req -new -key "$t/p256.key" -subj /CN=device -out good-p256.csr
openssl req -in good-p256.csr -outform DER -out "$t/good.der"
python3 - "$t/good.der" "$t/bad.der" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[-3] ^= 0x01  # inside the ECDSA signature's last INTEGER
open(sys.argv[2], 'wb').write(d)
PY
openssl req -inform DER -in "$t/bad.der" -out bad-signature.csr
# Wrong key types: RSA-2048 and P-384.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$t/rsa.key"
openssl req -new -key "$t/rsa.key" -subj /CN=device -out rsa.csr
openssl ecparam -name secp384r1 -genkey -noout -out "$t/p384.key"
openssl req -new -key "$t/p384.key" -subj /CN=device -sha256 -out p384.csr
# P-256 key signed with SHA-1 instead of SHA-256.
openssl req -new -key "$t/p256.key" -subj /CN=device -sha1 -out sha1.csr
