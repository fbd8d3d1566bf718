/* libFuzzer target: signed image package verification over memory.
 *
 * An input that starts with the package magic is verified twice: in show
 * mode (no trusted keys) and against the committed test-only key
 * tests/vectors/keys/test-dev.pub, so the signature path runs on mutated
 * signed seeds. The fuzzer cannot forge a signature or a SHA-256, so a
 * third mode makes the code after them reachable: an input starting with
 * 'F' is
 *   'F' | header (256 bytes) | u16 manifest length | manifest | payload
 * and the harness writes the magic, lengths and both digests into the
 * header and appends a well-formed (unchecked) signature block, then
 * verifies in show mode. Header fields, manifest and payload archive are
 * then all the fuzzer's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "crypto/crypto.h"
#include "format/package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_dev_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAC/aSmmAYParVPnXtMxntpnzixI8Ru9CTE8Sjb+qb++k=\n"
	"-----END PUBLIC KEY-----\n";

#define SB_LEN (16 + 36 + 64 + 12)

static void verify(const uint8_t *p, size_t n, const struct rp_key *k)
{
	const struct rp_key *t[1] = { k };
	struct rp_pkg_info info;
	struct rp_err e;

	rp_err_clear(&e);
	if (rp_pkg_verify_mem(p, n, t, k ? 1 : 0, &info, &e) == 0) {
		if (info.manifest.len != info.hdr.manifest_len ||
		    info.payload_off + info.hdr.payload_len > n)
			abort();
	}
	rp_pkg_info_free(&info);
}

static void fixup(const uint8_t *data, size_t size)
{
	uint8_t *pkg;
	size_t mlen, plen, n, off;

	if (size < 256 + 2)
		return;
	mlen = rp_dec16le(data + 256);
	if (mlen > size - 258)
		mlen = size - 258;
	plen = size - 258 - mlen;
	n = 256 + mlen + plen + SB_LEN;
	pkg = malloc(n);
	if (!pkg)
		return;
	memcpy(pkg, data, 256);
	memcpy(pkg + 256, data + 258, mlen + plen);
	memcpy(pkg, "RAMPIMG\0", 8);
	rp_enc64le(pkg + 88, mlen);
	rp_enc64le(pkg + 128, plen);
	if (rp_sha256(pkg + 256, mlen, pkg + 96) ||
	    rp_sha256(pkg + 256 + mlen, plen, pkg + 136)) {
		free(pkg);
		return;
	}
	off = 256 + mlen + plen;
	memset(pkg + off, 0, SB_LEN);
	memcpy(pkg + off, "RAMPSIG\0", 8);
	rp_enc16le(pkg + off + 8, 1);
	rp_enc16le(pkg + off + 10, 1);
	pkg[off + 16] = RP_KEY_ED25519;
	rp_enc16le(pkg + off + 18, 64);
	rp_enc32le(pkg + off + SB_LEN - 12, SB_LEN);
	memcpy(pkg + off + SB_LEN - 8, "RAMPEND\0", 8);
	verify(pkg, n, NULL);
	free(pkg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Loaded once; lives for the whole process (a harness, not a
	 * library: the no-globals rule is about library state). */
	static struct rp_key *key;
	static int loaded;

	if (!loaded) {
		struct rp_err e;

		loaded = 1;
		if (rp_key_load_pem((const uint8_t *)test_dev_pub,
				    strlen(test_dev_pub), 0, &key, &e))
			abort();
	}
	if (size > 0 && data[0] == 'F') {
		fixup(data + 1, size - 1);
		return 0;
	}
	verify(data, size, NULL);
	verify(data, size, key);
	return 0;
}
