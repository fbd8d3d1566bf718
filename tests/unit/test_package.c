/* Signed image packages: pack and verify with both key types, trust
 * decisions, every-byte tampering, truncation and extension, signature
 * adding, and the committed golden vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "format/package.h"

#define PKG_CAP (16u << 20)

static const char manifest[] = "{\"Name\":\"t\",\"SchemaVersion\":1}";
static const uint8_t cid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
				 14, 15, 16 };
static const uint8_t iid[16] = { 0xaa, 0xbb };

struct fix {
	char dir[64];    /* the app tree */
	char work[64];   /* packages */
	struct rp_key *ed, *p256, *other;
};

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void put(const char *dir, const char *rel, const char *data,
		mode_t mode)
{
	char p[256];
	struct rp_err e;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(rp_file_write(p, data, strlen(data), mode, 1, &e), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct rp_err e;
	char p[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rp-pkg-tree-XXXXXX");
	snprintf(f->work, sizeof(f->work), "/tmp/rp-pkg-work-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(mkdtemp(f->work));
	snprintf(p, sizeof(p), "%s/bin", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put(f->dir, "bin/app", "#!/bin/sh\necho hi\n", 0755);
	put(f->dir, "readme", "hello\n", 0644);
	snprintf(p, sizeof(p), "%s/bin/link", f->dir);
	assert_int_equal(symlink("app", p), 0);
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &f->ed, &e), 0);
	assert_int_equal(rp_key_generate(RP_KEY_P256, &f->p256, &e), 0);
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &f->other, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	(void)nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	(void)nftw(f->work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	rp_key_free(f->ed);
	rp_key_free(f->p256);
	rp_key_free(f->other);
	free(f);
	return 0;
}

static void pack(struct fix *f, const char *name, const struct rp_key **keys,
		 size_t nkeys, char *out, size_t outcap)
{
	struct rp_pkg_pack_opts o;
	struct rp_err e;
	int rc;

	snprintf(out, outcap, "%s/%s", f->work, name);
	memset(&o, 0, sizeof(o));
	o.dir = f->dir;
	o.manifest = (const uint8_t *)manifest;
	o.manifest_len = strlen(manifest);
	o.type = RP_IMAGE_APP;
	o.component_id = cid;
	o.image_id = iid;
	o.version = "1.2.3-rc.1+git~x";
	o.security_version = 7;
	o.build_time = 1700000000;
	o.keys = (const struct rp_key *const *)keys;
	o.nkeys = nkeys;
	rp_err_clear(&e);
	rc = rp_pkg_pack(&o, out, &e);
	if (rc)
		fail_msg("pack: %s", e.msg);
}

static void slurp(const char *path, struct rp_buf *b)
{
	struct rp_err e;

	assert_int_equal(rp_file_read(path, PKG_CAP, b, &e), 0);
}

static int vmem(const struct rp_buf *b, size_t len, const struct rp_key *k,
		struct rp_err *e)
{
	struct rp_pkg_info info;
	const struct rp_key *t[1] = { k };
	int rc;

	rp_err_clear(e);
	rc = rp_pkg_verify_mem(b->data, len, t, k ? 1 : 0, &info, e);
	rp_pkg_info_free(&info);
	return rc;
}

static void expect_ok_file(const char *path, const struct rp_key **t, size_t n,
			   struct rp_pkg_info *info)
{
	struct rp_err e;

	rp_err_clear(&e);
	if (rp_pkg_verify_file(path, (const struct rp_key *const *)t, n, info, &e))
		fail_msg("verify %s: %s", path, e.msg);
}

static void test_pack_verify(void **state)
{
	struct fix *f = *state;
	const struct rp_key *ed[1] = { f->ed }, *p[1] = { f->p256 };
	struct rp_pkg_info info;
	char path[256];
	int fd;

	pack(f, "ed.rpk", ed, 1, path, sizeof(path));
	expect_ok_file(path, ed, 1, &info);
	assert_int_equal(info.nsigs, 1);
	assert_int_equal(info.sigs[0].status, RP_SIG_VALID);
	assert_int_equal(info.sigs[0].alg, RP_KEY_ED25519);
	assert_memory_equal(info.sigs[0].key_id, rp_key_id(f->ed), RP_KEYID_LEN);
	assert_int_equal(info.hdr.type, RP_IMAGE_APP);
	assert_string_equal(info.hdr.version, "1.2.3-rc.1+git~x");
	assert_int_equal(info.hdr.security_version, 7);
	assert_int_equal(info.hdr.build_time, 1700000000);
	assert_memory_equal(info.hdr.component_id, cid, 16);
	assert_memory_equal(info.hdr.image_id, iid, 16);
	assert_int_equal(info.manifest.len, strlen(manifest));
	assert_memory_equal(info.manifest.data, manifest, strlen(manifest));
	assert_int_equal(info.nentries, 4);
	assert_int_equal(info.nbytes, strlen("#!/bin/sh\necho hi\n") + 6);
	assert_int_equal(info.payload_off, RP_PKG_HEADER_LEN + strlen(manifest));
	rp_pkg_info_free(&info);

	/* Show mode: no trust, every signature unchecked. */
	expect_ok_file(path, NULL, 0, &info);
	assert_int_equal(info.sigs[0].status, RP_SIG_UNCHECKED);
	rp_pkg_info_free(&info);

	/* And through an fd. */
	{
		struct rp_err e;

		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(rp_pkg_verify_fd(fd, ed, 1, &info, &e), 0);
		rp_pkg_info_free(&info);
		close(fd);
	}

	pack(f, "p256.rpk", p, 1, path, sizeof(path));
	expect_ok_file(path, p, 1, &info);
	assert_int_equal(info.sigs[0].alg, RP_KEY_P256);
	assert_int_equal(info.sigs[0].status, RP_SIG_VALID);
	rp_pkg_info_free(&info);
}

static void test_trust(void **state)
{
	struct fix *f = *state;
	const struct rp_key *both[2] = { f->ed, f->p256 };
	const struct rp_key *other[1] = { f->other }, *p[1] = { f->p256 };
	const struct rp_key *mixed[2] = { f->other, f->p256 };
	struct rp_pkg_info info;
	struct rp_err e;
	char path[256], hex[17];

	pack(f, "two.rpk", both, 2, path, sizeof(path));
	expect_ok_file(path, both, 2, &info);
	assert_int_equal(info.nsigs, 2);
	assert_int_equal(info.sigs[0].status, RP_SIG_VALID);
	assert_int_equal(info.sigs[1].status, RP_SIG_VALID);
	rp_pkg_info_free(&info);

	/* Either key alone is enough; an unknown key next to it is fine. */
	expect_ok_file(path, p, 1, &info);
	assert_int_equal(info.sigs[0].status, RP_SIG_UNCHECKED);
	assert_int_equal(info.sigs[1].status, RP_SIG_VALID);
	rp_pkg_info_free(&info);
	expect_ok_file(path, mixed, 2, &info);
	rp_pkg_info_free(&info);

	rp_err_clear(&e);
	assert_int_equal(rp_pkg_verify_file(path, other, 1, &info, &e),
			 RP_EUNTRUSTED);
	assert_non_null(strstr(e.msg, "package: signed by no trusted key (signers: "));
	rp_hex(rp_key_id(f->ed), 8, hex);
	assert_non_null(strstr(e.msg, hex));
	rp_hex(rp_key_id(f->p256), 8, hex);
	assert_non_null(strstr(e.msg, hex));
	/* Nothing leaks into info on failure. */
	assert_null(info.manifest.data);
	rp_pkg_info_free(&info);

	/* Packing refuses the same key twice. */
	{
		struct rp_pkg_pack_opts o;
		const struct rp_key *dup[2] = { f->ed, f->ed };

		memset(&o, 0, sizeof(o));
		o.dir = f->dir;
		o.manifest = (const uint8_t *)manifest;
		o.manifest_len = strlen(manifest);
		o.type = RP_IMAGE_APP;
		o.component_id = cid;
		o.version = "1";
		o.keys = dup;
		o.nkeys = 2;
		snprintf(path, sizeof(path), "%s/dup.rpk", f->work);
		assert_int_not_equal(rp_pkg_pack(&o, path, &e), 0);
		assert_non_null(strstr(e.msg, "is the same as key 1"));
		assert_int_not_equal(access(path, F_OK), 0);
		o.keys = both;
		o.version = "1 0";
		assert_int_not_equal(rp_pkg_pack(&o, path, &e), 0);
		assert_non_null(strstr(e.msg, "version '1 0'"));
	}
}

/* Flip every byte of the header and of the signature block (trailer
 * included) in turn: each must be refused. With one signature there is no
 * exception. With several, all trusted, a flip in one signature's key id
 * turns it into a signature by an unknown key, which is ignored by design
 * (the block is unsigned so signatures can be added); then the package
 * still verifies on the other signature, and must say exactly that. */
static int in_key_id(const uint8_t *sb, size_t sblen, size_t off, size_t *which)
{
	size_t p = 16, i, n = rp_dec16le(sb + 10);

	for (i = 0; i < n && p + 36 <= sblen; i++) {
		if (off >= p + 4 && off < p + 36) {
			*which = i;
			return 1;
		}
		p += 36 + rp_dec16le(sb + p + 2);
	}
	return 0;
}

static void flip_all(struct fix *f, const struct rp_key **keys, size_t nkeys)
{
	struct rp_buf b;
	struct rp_err e;
	struct rp_pkg_info info;
	char path[256];
	size_t i, sbstart, mlen, plen, which = 0, j;
	int rc, m;
	static const uint8_t masks[2] = { 0x01, 0x80 };

	pack(f, "flip.rpk", keys, nkeys, path, sizeof(path));
	slurp(path, &b);
	mlen = (size_t)rp_dec64le(b.data + 88);
	plen = (size_t)rp_dec64le(b.data + 128);
	sbstart = RP_PKG_HEADER_LEN + mlen + plen;
	assert_int_equal(rp_dec32le(b.data + b.len - 12), b.len - sbstart);
	for (i = 0; i < b.len; i++) {
		if (i >= RP_PKG_HEADER_LEN && i < sbstart)
			continue;
		for (m = 0; m < 2; m++) {
			b.data[i] ^= masks[m];
			rc = rp_pkg_verify_mem(b.data, b.len,
					       (const struct rp_key *const *)keys,
					       nkeys, &info, &e);
			if (rc == 0) {
				if (nkeys < 2 || i < sbstart ||
				    !in_key_id(b.data + sbstart, b.len - sbstart,
					       i - sbstart, &which))
					fail_msg("flipping byte %zu of %zu was not noticed",
						 i, b.len);
				assert_int_equal(info.nsigs, nkeys);
				for (j = 0; j < nkeys; j++)
					assert_int_equal(info.sigs[j].status,
							 j == which ? RP_SIG_UNCHECKED :
							 RP_SIG_VALID);
			}
			rp_pkg_info_free(&info);
			b.data[i] ^= masks[m];
		}
	}
	assert_int_equal(vmem(&b, b.len, keys[0], &e), 0);
	rp_buf_free(&b);
}

static void test_flip_header_sigblock(void **state)
{
	struct fix *f = *state;
	const struct rp_key *ed[1] = { f->ed };
	const struct rp_key *both[2] = { f->ed, f->p256 };

	flip_all(f, ed, 1);
	flip_all(f, both, 2);
}

static void test_tamper_body(void **state)
{
	struct fix *f = *state;
	const struct rp_key *ed[1] = { f->ed };
	struct rp_buf b;
	struct rp_err e;
	char path[256];
	size_t i, mlen, plen, n;

	pack(f, "body.rpk", ed, 1, path, sizeof(path));
	slurp(path, &b);
	mlen = (size_t)rp_dec64le(b.data + 88);
	plen = (size_t)rp_dec64le(b.data + 128);

	/* Every manifest and payload byte, in show mode too. */
	for (i = RP_PKG_HEADER_LEN; i < RP_PKG_HEADER_LEN + mlen + plen; i++) {
		const char *want = i < RP_PKG_HEADER_LEN + mlen ?
			"package: manifest digest does not match the header" :
			"package: payload digest does not match the header";

		b.data[i] ^= 0x20;
		assert_int_equal(vmem(&b, b.len, f->ed, &e), RP_EVERIFY);
		assert_string_equal(e.msg, want);
		assert_int_equal(vmem(&b, b.len, NULL, &e), RP_EVERIFY);
		b.data[i] ^= 0x20;
	}

	/* Every truncation, and one byte more. */
	for (n = 0; n < b.len; n++)
		assert_int_not_equal(vmem(&b, n, f->ed, &e), 0);
	assert_int_equal(vmem(&b, 100, f->ed, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "package: truncated (file is 100 bytes, smaller than any package)");
	assert_int_not_equal(vmem(&b, b.len - 1, f->ed, &e), 0);
	assert_non_null(strstr(e.msg, "truncated or extended"));
	assert_int_equal(rp_buf_append(&b, "", 1), 0);
	assert_int_not_equal(vmem(&b, b.len, f->ed, &e), 0);
	assert_int_not_equal(vmem(&b, b.len, NULL, &e), 0);

	/* Not a package at all. */
	memcpy(b.data, "MZ\x90\0\3\0\0\0", 8);
	assert_int_equal(vmem(&b, b.len, f->ed, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "package: not a Rampart image package");
	rp_buf_free(&b);
}

static void test_add_signature(void **state)
{
	struct fix *f = *state;
	const struct rp_key *ed[1] = { f->ed }, *p[1] = { f->p256 };
	const struct rp_key *other[1] = { f->other };
	struct rp_pkg_info info;
	struct rp_err e;
	struct rp_key *extra[6] = { NULL };
	char path[256];
	size_t i;

	pack(f, "add.rpk", ed, 1, path, sizeof(path));
	rp_err_clear(&e);
	assert_int_equal(rp_pkg_add_signature(path, f->p256, &e), 0);
	expect_ok_file(path, p, 1, &info);
	assert_int_equal(info.nsigs, 2);
	rp_pkg_info_free(&info);
	expect_ok_file(path, ed, 1, &info);
	rp_pkg_info_free(&info);

	assert_int_not_equal(rp_pkg_add_signature(path, f->ed, &e), 0);
	assert_non_null(strstr(e.msg, "already signed by this key"));
	assert_int_not_equal(rp_pkg_verify_file(path, other, 1, &info, &e), 0);

	assert_int_equal(rp_pkg_add_signature(path, f->other, &e), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(rp_key_generate(i % 2 ? RP_KEY_P256 : RP_KEY_ED25519,
						 &extra[i], &e), 0);
		assert_int_equal(rp_pkg_add_signature(path, extra[i], &e), 0);
	}
	expect_ok_file(path, other, 1, &info);
	assert_int_equal(info.nsigs, RP_PKG_SIGS_MAX);
	rp_pkg_info_free(&info);
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &extra[5], &e), 0);
	assert_int_not_equal(rp_pkg_add_signature(path, extra[5], &e), 0);
	assert_non_null(strstr(e.msg, "already 8 signatures"));
	for (i = 0; i < 6; i++)
		rp_key_free(extra[i]);

	/* A damaged package is not signed. */
	{
		struct rp_buf b;
		char bad[256];

		slurp(path, &b);
		b.data[RP_PKG_HEADER_LEN] ^= 1;
		snprintf(bad, sizeof(bad), "%s/bad.rpk", f->work);
		assert_int_equal(rp_file_write(bad, b.data, b.len, 0644, 0, &e), 0);
		assert_int_not_equal(rp_pkg_add_signature(bad, f->ed, &e), 0);
		assert_non_null(strstr(e.msg, "manifest digest does not match"));
		rp_buf_free(&b);
	}
}

/* ---- Golden vectors ---------------------------------------------------- */

struct vec {
	const char *file;
	int code;
	const char *want;
};

static const struct vec vectors[] = {
	{ "truncated.rpk", RP_EFORMAT, "package: truncated (file is 512 bytes, header says at least " },
	{ "extended.rpk", RP_EFORMAT, "package: no signature block trailer at the end of the file (truncated or extended?)" },
	{ "resigned-untrusted.rpk", RP_EUNTRUSTED, "package: signed by no trusted key (signers: " },
	{ "payload-flipped.rpk", RP_EVERIFY, "package: payload digest does not match the header" },
	{ "manifest-flipped.rpk", RP_EVERIFY, "package: manifest digest does not match the header" },
	{ "devnode.rpk", RP_EPOLICY, "package: payload: entry 'dev/sda': device nodes are not allowed" },
	{ "setuid.rpk", RP_EPOLICY, "package: payload: entry 'bin/su': setuid/setgid/sticky bits are not allowed" },
	{ "escaping-symlink.rpk", RP_EPOLICY, "package: payload: entry 'lib/x': symlink target '../../etc/passwd' escapes the package" },
};

static void vpath(char *out, size_t cap, const char *rel)
{
	const char *src = getenv("RP_SRCDIR");

	snprintf(out, cap, "%s/tests/vectors/%s", src ? src : ".", rel);
}

static struct rp_key *load(const char *rel)
{
	struct rp_key *k = NULL;
	struct rp_err e;
	char p[4096];

	vpath(p, sizeof(p), rel);
	if (rp_key_load_file(p, 0, &k, &e))
		fail_msg("%s", e.msg);
	return k;
}

static void test_vectors(void **state)
{
	struct rp_key *dev = load("keys/test-dev.pub");
	struct rp_key *untrusted = load("keys/untrusted.pub");
	const struct rp_key *t[1] = { dev }, *u[1] = { untrusted };
	struct rp_pkg_info info;
	struct rp_err e;
	char p[4096];
	size_t i;
	int rc;

	(void)state;
	vpath(p, sizeof(p), "good.rpk");
	expect_ok_file(p, t, 1, &info);
	assert_int_equal(info.nentries, 5);
	assert_string_equal(info.hdr.version, "1.0.0");
	assert_int_equal(info.hdr.build_time, 1700000000);
	rp_pkg_info_free(&info);
	rc = rp_pkg_verify_file(p, u, 1, &info, &e);
	assert_int_equal(rc, RP_EUNTRUSTED);

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		vpath(p, sizeof(p), vectors[i].file);
		rp_err_clear(&e);
		rc = rp_pkg_verify_file(p, t, 1, &info, &e);
		if (rc != vectors[i].code || !strstr(e.msg, vectors[i].want))
			fail_msg("%s: expected %d '%s', got %d '%s'", vectors[i].file,
				 vectors[i].code, vectors[i].want, rc, e.msg);
		rp_pkg_info_free(&info);
	}
	/* The resigned one is valid under the key that signed it. */
	vpath(p, sizeof(p), "resigned-untrusted.rpk");
	expect_ok_file(p, u, 1, &info);
	rp_pkg_info_free(&info);

	rp_key_free(dev);
	rp_key_free(untrusted);
}

/* Every-byte flips of header and signature block, generated from
 * good.rpk here rather than committed (see tests/vectors/README.md). */
static void test_vector_flips(void **state)
{
	struct rp_key *dev = load("keys/test-dev.pub");
	struct rp_buf b;
	struct rp_err e;
	char p[4096];
	size_t i, sbstart;

	(void)state;
	vpath(p, sizeof(p), "good.rpk");
	slurp(p, &b);
	sbstart = b.len - rp_dec32le(b.data + b.len - 12);
	for (i = 0; i < b.len; i++) {
		if (i >= RP_PKG_HEADER_LEN && i < sbstart)
			continue;
		b.data[i] ^= 0xff;
		if (vmem(&b, b.len, dev, &e) == 0)
			fail_msg("good.rpk with byte %zu flipped verified", i);
		b.data[i] ^= 0xff;
	}
	assert_int_equal(vmem(&b, b.len, dev, &e), 0);
	rp_buf_free(&b);
	rp_key_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_verify),
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_flip_header_sigblock),
		cmocka_unit_test(test_tamper_body),
		cmocka_unit_test(test_add_signature),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vector_flips),
	};

	umask(022);
	return cmocka_run_group_tests(tests, setup, teardown);
}
