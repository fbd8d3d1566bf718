/* Builds the golden image-package vectors. TEST-ONLY: the keys it signs
 * with are committed to the repository and trust nothing real.
 *
 *   mkvectors VECTORS_DIR [ARCHIVE_CORPUS_DIR]   write the vectors
 *   mkvectors --check VECTORS_DIR                rebuild in memory and
 *                                                compare with the files
 *
 * good.rpk comes from rp_pkg_pack. Everything else is written here from
 * the byte layout in docs/formats/image-package.md with its own encoder:
 * bad archives the packer refuses to make, and a cross-check that this
 * independent encoder reproduces good.rpk byte for byte. Inputs are fixed
 * (image id, build time, modes, Ed25519 is deterministic), so the output
 * is too. */
#include <errno.h>
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
#include "format/archive.h"
#include "format/package.h"

#define CAP (1u << 20)

static const char manifest_text[] =
	"{\"ApplicationType\":\"Default\",\"Capabilities\":{},\"CmdArgs\":[],"
	"\"ComponentId\":\"6d2f6c1a-7c1b-4d8e-9a3f-5b0e1c2d3e4f\","
	"\"EntryPoint\":\"/bin/app\",\"Name\":\"vector-app\",\"SchemaVersion\":1}";
static const uint8_t component_id[16] = {
	0x6d, 0x2f, 0x6c, 0x1a, 0x7c, 0x1b, 0x4d, 0x8e,
	0x9a, 0x3f, 0x5b, 0x0e, 0x1c, 0x2d, 0x3e, 0x4f,
};
static const uint8_t image_id[16] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
#define BUILD_TIME UINT64_C(1700000000)
#define VERSION "1.0.0"
#define SECVER 1

struct ctx {
	struct rp_key *dev, *untrusted;
	const char *outdir;
	const char *ardir;
	int check;
	int bad;
};

static void die(const char *what, const struct rp_err *e)
{
	fprintf(stderr, "mkvectors: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static void add(struct rp_buf *b, const void *p, size_t n)
{
	if (rp_buf_append(b, p, n))
		die("buffer", NULL);
}

static void add16(struct rp_buf *b, uint16_t v)
{
	uint8_t x[2];

	rp_enc16le(x, v);
	add(b, x, 2);
}

static void add32(struct rp_buf *b, uint32_t v)
{
	uint8_t x[4];

	rp_enc32le(x, v);
	add(b, x, 4);
}

static void add64(struct rp_buf *b, uint64_t v)
{
	uint8_t x[8];

	rp_enc64le(x, v);
	add(b, x, 8);
}

/* ---- Archive v1 by hand ---------------------------------------------- */

static void ar_entry(struct rp_buf *b, uint8_t type, uint16_t mode,
		     const char *path)
{
	add(b, &type, 1);
	add(b, "\0", 1);
	add16(b, mode);
	add16(b, (uint16_t)strlen(path));
	add(b, path, strlen(path));
}

static void ar_file(struct rp_buf *b, const char *path, uint16_t mode,
		    const char *data)
{
	ar_entry(b, RP_AR_FILE, mode, path);
	add64(b, strlen(data));
	add(b, data, strlen(data));
}

static void ar_start(struct rp_buf *b, uint32_t count)
{
	rp_buf_init(b, CAP);
	add(b, RP_ARCHIVE_MAGIC, 8);
	add16(b, RP_ARCHIVE_VERSION);
	add16(b, 0);
	add32(b, count);
}

/* ---- Package by hand -------------------------------------------------- */

static void header(uint8_t *h, const uint8_t *man, size_t mlen,
		   const uint8_t *pay, size_t plen)
{
	memset(h, 0, RP_PKG_HEADER_LEN);
	memcpy(h, "RAMPIMG\0", 8);
	rp_enc16le(h + 8, 1);
	rp_enc16le(h + 10, RP_PKG_HEADER_LEN);
	h[12] = RP_IMAGE_APP;
	h[13] = 1;
	memcpy(h + 16, component_id, 16);
	memcpy(h + 32, image_id, 16);
	memcpy(h + 48, VERSION, strlen(VERSION));
	rp_enc32le(h + 80, SECVER);
	rp_enc64le(h + 88, mlen);
	if (rp_sha256(man, mlen, h + 96))
		die("sha256", NULL);
	rp_enc64le(h + 128, plen);
	if (rp_sha256(pay, plen, h + 136))
		die("sha256", NULL);
	rp_enc64le(h + 168, BUILD_TIME);
}

static void sigblock(struct rp_buf *b, const uint8_t *hdr,
		     const struct rp_key *k)
{
	uint8_t sig[RP_SIG_MAX];
	size_t siglen = 0, start = b->len;
	struct rp_err e;
	enum rp_key_type t = rp_key_type(k);
	uint8_t alg = (uint8_t)t;

	if (rp_sign(k, hdr, RP_PKG_HEADER_LEN, sig, &siglen, &e))
		die("sign", &e);
	add(b, "RAMPSIG\0", 8);
	add16(b, 1);
	add16(b, 1);
	add32(b, 0);
	add(b, &alg, 1);
	add(b, "\0", 1);
	add16(b, (uint16_t)siglen);
	add(b, rp_key_id(k), RP_KEYID_LEN);
	add(b, sig, siglen);
	add32(b, (uint32_t)(b->len - start + 12));
	add(b, "RAMPEND\0", 8);
}

static void package(struct rp_buf *out, const uint8_t *man, size_t mlen,
		    const uint8_t *pay, size_t plen, const struct rp_key *k)
{
	uint8_t h[RP_PKG_HEADER_LEN];

	header(h, man, mlen, pay, plen);
	rp_buf_init(out, CAP);
	add(out, h, sizeof(h));
	add(out, man, mlen);
	add(out, pay, plen);
	sigblock(out, h, k);
}

/* ---- Output ----------------------------------------------------------- */

static void emit(struct ctx *c, const char *dir, const char *name,
		 const uint8_t *p, size_t n)
{
	char path[4096];
	struct rp_buf old;
	struct rp_err e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (c->check) {
		if (rp_file_read(path, CAP, &old, &e)) {
			fprintf(stderr, "mkvectors: %s\n", e.msg);
			c->bad = 1;
			return;
		}
		if (old.len != n || memcmp(old.data, p, n) != 0) {
			fprintf(stderr, "mkvectors: %s differs from a fresh build "
				"(run tests/vectors/regen.sh)\n", path);
			c->bad = 1;
		}
		rp_buf_free(&old);
		return;
	}
	(void)unlink(path);
	if (rp_file_write(path, p, n, 0644, 0, &e))
		die(path, &e);
	printf("wrote %s (%zu bytes)\n", path, n);
}

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
	char p[4096];
	struct rp_err e;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (rp_file_write(p, data, strlen(data), mode, 1, &e))
		die(p, &e);
	if (chmod(p, mode) < 0)
		die(p, NULL);
}

static void mkd(const char *dir, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0)
		die(p, NULL);
}

/* good.rpk from the real packer; returns its bytes. */
static void make_good(struct ctx *c, struct rp_buf *out)
{
	char dir[64], pkg[128];
	const struct rp_key *keys[1] = { c->dev };
	struct rp_pkg_pack_opts o;
	struct rp_err e;

	snprintf(dir, sizeof(dir), "/tmp/rp-vectors-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	snprintf(pkg, sizeof(pkg), "%s.rpk", dir);
	mkd(dir, "bin");
	put(dir, "bin/app", "#!/bin/sh\necho hello from rampart\n", 0755);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/bin/current", dir);
		if (symlink("app", p) < 0)
			die(p, NULL);
	}
	mkd(dir, "etc");
	put(dir, "etc/config.json", "{\"greeting\": \"hello\"}\n", 0644);

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.manifest = (const uint8_t *)manifest_text;
	o.manifest_len = strlen(manifest_text);
	o.type = RP_IMAGE_APP;
	o.component_id = component_id;
	o.image_id = image_id;
	o.version = VERSION;
	o.security_version = SECVER;
	o.build_time = BUILD_TIME;
	o.keys = keys;
	o.nkeys = 1;
	if (rp_pkg_pack(&o, pkg, &e))
		die("pack", &e);
	if (rp_file_read(pkg, CAP, out, &e))
		die(pkg, &e);
	(void)unlink(pkg);
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
	struct ctx c;
	struct rp_buf good, mine, v, ar;
	struct rp_err e;
	char path[4096];
	size_t mlen = strlen(manifest_text), plen, poff;
	const uint8_t *man, *pay;
	int ai = 1;

	memset(&c, 0, sizeof(c));
	umask(022);
	if (argc > 1 && strcmp(argv[1], "--check") == 0) {
		c.check = 1;
		ai = 2;
	}
	if (argc - ai < 1 || argc - ai > 2 || (c.check && argc - ai != 1)) {
		fprintf(stderr, "usage: mkvectors [--check] VECTORS_DIR [ARCHIVE_CORPUS_DIR]\n");
		return 2;
	}
	c.outdir = argv[ai];
	c.ardir = argc - ai == 2 ? argv[ai + 1] : NULL;

	snprintf(path, sizeof(path), "%s/keys/test-dev.key", c.outdir);
	if (rp_key_load_file(path, 1, &c.dev, &e))
		die(path, &e);
	snprintf(path, sizeof(path), "%s/keys/untrusted.key", c.outdir);
	if (rp_key_load_file(path, 1, &c.untrusted, &e))
		die(path, &e);

	make_good(&c, &good);
	poff = RP_PKG_HEADER_LEN + mlen;
	plen = (size_t)rp_dec64le(good.data + 128);
	man = good.data + RP_PKG_HEADER_LEN;
	pay = good.data + poff;
	if (good.len < poff + plen || memcmp(man, manifest_text, mlen) != 0)
		die("good.rpk does not have the expected layout", NULL);

	/* The independent encoder must agree with the packer exactly. */
	package(&mine, man, mlen, pay, plen, c.dev);
	if (mine.len != good.len || memcmp(mine.data, good.data, good.len) != 0) {
		fprintf(stderr, "mkvectors: rp_pkg_pack and the spec encoder disagree\n");
		return 1;
	}
	rp_buf_free(&mine);
	emit(&c, c.outdir, "good.rpk", good.data, good.len);

	/* Cut in the middle of the payload. */
	emit(&c, c.outdir, "truncated.rpk", good.data, poff + plen / 2);

	rp_buf_init(&v, CAP);
	add(&v, good.data, good.len);
	add(&v, "\0", 1);
	emit(&c, c.outdir, "extended.rpk", v.data, v.len);
	rp_buf_free(&v);

	/* Same header, manifest and payload; the signature replaced. */
	package(&v, man, mlen, pay, plen, c.untrusted);
	emit(&c, c.outdir, "resigned-untrusted.rpk", v.data, v.len);
	rp_buf_free(&v);

	rp_buf_init(&v, CAP);
	add(&v, good.data, good.len);
	v.data[poff + plen - 2] ^= 0x01; /* in etc/config.json's data */
	emit(&c, c.outdir, "payload-flipped.rpk", v.data, v.len);
	rp_buf_reset(&v);
	add(&v, good.data, good.len);
	/* "vector-app" -> "vector-apq": still JSON, still a manifest. */
	{
		const char *at = strstr(manifest_text, "vector-app");

		v.data[RP_PKG_HEADER_LEN + (size_t)(at - manifest_text) + 9] ^= 0x01;
	}
	emit(&c, c.outdir, "manifest-flipped.rpk", v.data, v.len);
	rp_buf_free(&v);

	/* Correctly signed packages whose archives must be refused. */
	ar_start(&ar, 2);
	ar_entry(&ar, RP_AR_DIR, 0755, "dev");
	ar_entry(&ar, 4, 0600, "dev/sda"); /* type 4: a device node */
	package(&v, man, mlen, ar.data, ar.len, c.dev);
	emit(&c, c.outdir, "devnode.rpk", v.data, v.len);
	if (c.ardir)
		emit(&c, c.ardir, "devnode.rpar", ar.data, ar.len);
	rp_buf_free(&v);
	rp_buf_free(&ar);

	ar_start(&ar, 2);
	ar_entry(&ar, RP_AR_DIR, 0755, "bin");
	ar_file(&ar, "bin/su", 04755, "#!/bin/sh\nexec /bin/sh\n");
	package(&v, man, mlen, ar.data, ar.len, c.dev);
	emit(&c, c.outdir, "setuid.rpk", v.data, v.len);
	if (c.ardir)
		emit(&c, c.ardir, "setuid.rpar", ar.data, ar.len);
	rp_buf_free(&v);
	rp_buf_free(&ar);

	ar_start(&ar, 2);
	ar_entry(&ar, RP_AR_DIR, 0755, "lib");
	ar_entry(&ar, RP_AR_SYMLINK, 0, "lib/x");
	add16(&ar, (uint16_t)strlen("../../etc/passwd"));
	add(&ar, "../../etc/passwd", strlen("../../etc/passwd"));
	package(&v, man, mlen, ar.data, ar.len, c.dev);
	emit(&c, c.outdir, "escaping-symlink.rpk", v.data, v.len);
	if (c.ardir) {
		emit(&c, c.ardir, "escaping-symlink.rpar", ar.data, ar.len);
		emit(&c, c.ardir, "good.rpar", pay, plen);
	}
	rp_buf_free(&v);
	rp_buf_free(&ar);

	rp_buf_free(&good);
	rp_key_free(c.dev);
	rp_key_free(c.untrusted);
	if (c.bad)
		return 1;
	if (c.check)
		printf("mkvectors: the committed vectors match a fresh build\n");
	return 0;
}
