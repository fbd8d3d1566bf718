/* Signed image packages. Byte layout and the reasons for it:
 * docs/formats/image-package.md.
 *
 * Verification follows MCUboot and RAUC: find the signature block from
 * the trailer, check a trusted signature over the raw header, and only then
 * read the header's fields. The manifest is opaque here (the caller parses
 * it); the payload is hashed in one sequential pass, then its archive
 * entry headers are walked. */
#include "format/package.h"
#include "format/sigblock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file.h"
#include "base/rd.h"
#include "format/archive.h"

/* Header field offsets. */
#define H_MAGIC 0
#define H_FORMAT 8
#define H_HDRLEN 10
#define H_TYPE 12
#define H_PAYFMT 13
#define H_FLAGS 14
#define H_COMPONENT 16
#define H_IMAGE 32
#define H_VERSION 48
#define H_SECVER 80
#define H_RSV1 84
#define H_MLEN 88
#define H_MSHA 96
#define H_PLEN 128
#define H_PSHA 136
#define H_BUILD 168
#define H_RSV2 176

#define PKG_MAGIC "RAMPIMG\0"
#define END_MAGIC "RAMPEND\0"
#define PKG_FORMAT 1
#define PAYLOAD_ARCHIVE_V1 1
#define MANIFEST_MAX (64u * 1024)

#define TRAILER_LEN RP_SIGBLOCK_TRAILER_LEN
#define SB_MIN RP_SIGBLOCK_MIN
#define PKG_MIN ((uint64_t)RP_PKG_HEADER_LEN + SB_MIN)
#define PKG_MAX ((uint64_t)RP_PKG_HEADER_LEN + MANIFEST_MAX + \
		 RP_PKG_PAYLOAD_MAX + RP_PKG_SIGBLOCK_MAX)

#define HASH_BUF (1u << 20)
#define WINDOW (64u * 1024)

_Static_assert(sizeof(PKG_MAGIC) - 1 == 8, "magic is 8 bytes");
_Static_assert(sizeof(END_MAGIC) - 1 == 8, "magic is 8 bytes");
_Static_assert(H_RSV2 + 80 == RP_PKG_HEADER_LEN, "header is 256 bytes");
_Static_assert(H_BUILD + 8 == H_RSV2, "header layout");
_Static_assert(H_PSHA + RP_SHA256_LEN == H_BUILD, "header layout");
_Static_assert(H_MSHA + RP_SHA256_LEN == H_PLEN, "header layout");
_Static_assert(H_VERSION + RP_PKG_VERSION_LEN == H_SECVER, "header layout");
_Static_assert(RP_SIGBLOCK_MAX <= RP_PKG_SIGBLOCK_MAX, "a full block fits the cap");
_Static_assert(RP_PKG_SIGS_MAX <= RP_SIGBLOCK_SIGS_MAX, "signature count");
_Static_assert(RP_KEY_ED25519 == 1 && RP_KEY_P256 == 2,
	       "algorithm bytes are the key type values");

/* The package bytes: whole in memory, or an open file. */
struct src {
	const uint8_t *mem;
	int fd;
	uint64_t size;
};

static int src_read(const struct src *s, void *buf, size_t n, uint64_t off,
		    struct rp_err *e)
{
	if (off > s->size || n > s->size - off)
		return rp_err_set(e, RP_EFORMAT, "truncated");
	if (s->mem) {
		if (n)
			memcpy(buf, s->mem + off, n);
		return 0;
	}
	return rp_pread_full(s->fd, buf, n, off, e);
}

const char *rp_image_type_name(enum rp_image_type t)
{
	switch (t) {
	case RP_IMAGE_APP: return "application";
	case RP_IMAGE_BOARD: return "board";
	case RP_IMAGE_RUNTIME: return "runtime";
	case RP_IMAGE_FIRMWARE: return "firmware";
	}
	return NULL;
}

int rp_image_type_parse(const char *s, enum rp_image_type *out)
{
	if (!s)
		return RP_EINVAL;
	if (strcmp(s, "application") == 0 || strcmp(s, "app") == 0)
		*out = RP_IMAGE_APP;
	else if (strcmp(s, "board") == 0)
		*out = RP_IMAGE_BOARD;
	else if (strcmp(s, "runtime") == 0 || strcmp(s, "os") == 0)
		*out = RP_IMAGE_RUNTIME;
	else if (strcmp(s, "firmware") == 0)
		*out = RP_IMAGE_FIRMWARE;
	else
		return RP_EINVAL;
	return 0;
}

static int version_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' ||
	       c == '-';
}

/* Non-empty, [0-9A-Za-z.+~-], NUL-padded with nothing after the padding. */
static const char *bad_version(const uint8_t *v, size_t n)
{
	size_t i, len = 0;

	while (len < n && v[len])
		len++;
	if (len == 0)
		return "empty";
	for (i = 0; i < len; i++)
		if (!version_char(v[i]))
			return "has a character outside [0-9A-Za-z.+~-]";
	for (i = len; i < n; i++)
		if (v[i])
			return "has bytes after its NUL padding";
	return NULL;
}

static int valid_image_type(unsigned t)
{
	return t >= RP_IMAGE_APP && t <= RP_IMAGE_FIRMWARE;
}

/* Everything after the signature check: the header's fields. */
static int dec_header(const uint8_t *h, struct rp_pkg_header *out,
		      struct rp_err *e)
{
	const char *why;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->format_version = rp_dec16le(h + H_FORMAT);
	if (out->format_version != PKG_FORMAT)
		return rp_err_set(e, RP_EFORMAT,
				  "header: unsupported format version %u",
				  (unsigned)out->format_version);
	if (rp_dec16le(h + H_HDRLEN) != RP_PKG_HEADER_LEN)
		return rp_err_set(e, RP_EFORMAT,
				  "header: header length %u is not %u",
				  (unsigned)rp_dec16le(h + H_HDRLEN),
				  RP_PKG_HEADER_LEN);
	if (!valid_image_type(h[H_TYPE]))
		return rp_err_set(e, RP_EFORMAT, "header: unknown image type %u",
				  (unsigned)h[H_TYPE]);
	out->type = (enum rp_image_type)h[H_TYPE];
	if (h[H_PAYFMT] != PAYLOAD_ARCHIVE_V1)
		return rp_err_set(e, RP_EFORMAT, "header: unknown payload format %u",
				  (unsigned)h[H_PAYFMT]);
	out->payload_format = h[H_PAYFMT];
	if (rp_dec16le(h + H_FLAGS) != 0)
		return rp_err_set(e, RP_EFORMAT, "header: unknown flags 0x%04x",
				  (unsigned)rp_dec16le(h + H_FLAGS));
	memcpy(out->component_id, h + H_COMPONENT, 16);
	memcpy(out->image_id, h + H_IMAGE, 16);
	why = bad_version(h + H_VERSION, RP_PKG_VERSION_LEN);
	if (why)
		return rp_err_set(e, RP_EFORMAT, "header: version text %s", why);
	memcpy(out->version, h + H_VERSION, RP_PKG_VERSION_LEN);
	out->version[RP_PKG_VERSION_LEN] = '\0';
	out->security_version = rp_dec32le(h + H_SECVER);
	if (rp_dec32le(h + H_RSV1) != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "header: reserved field at offset %d is not zero",
				  H_RSV1);
	out->manifest_len = rp_dec64le(h + H_MLEN);
	if (out->manifest_len == 0 || out->manifest_len > MANIFEST_MAX)
		return rp_err_set(e, RP_EFORMAT,
				  "header: manifest length %llu is out of range (1..%u)",
				  (unsigned long long)out->manifest_len, MANIFEST_MAX);
	memcpy(out->manifest_sha256, h + H_MSHA, RP_SHA256_LEN);
	out->payload_len = rp_dec64le(h + H_PLEN);
	if (out->payload_len > RP_PKG_PAYLOAD_MAX)
		return rp_err_set(e, RP_EFORMAT,
				  "header: payload length %llu is over the limit of %llu",
				  (unsigned long long)out->payload_len,
				  (unsigned long long)RP_PKG_PAYLOAD_MAX);
	memcpy(out->payload_sha256, h + H_PSHA, RP_SHA256_LEN);
	out->build_time = rp_dec64le(h + H_BUILD);
	for (i = H_RSV2; i < RP_PKG_HEADER_LEN; i++)
		if (h[i])
			return rp_err_set(e, RP_EFORMAT,
					  "header: reserved byte at offset %zu is not zero",
					  i);
	return 0;
}

static void enc_header(const struct rp_pkg_header *in, uint8_t *h)
{
	memset(h, 0, RP_PKG_HEADER_LEN);
	memcpy(h + H_MAGIC, PKG_MAGIC, 8);
	rp_enc16le(h + H_FORMAT, PKG_FORMAT);
	rp_enc16le(h + H_HDRLEN, RP_PKG_HEADER_LEN);
	h[H_TYPE] = (uint8_t)in->type;
	h[H_PAYFMT] = PAYLOAD_ARCHIVE_V1;
	rp_enc16le(h + H_FLAGS, 0);
	memcpy(h + H_COMPONENT, in->component_id, 16);
	memcpy(h + H_IMAGE, in->image_id, 16);
	memcpy(h + H_VERSION, in->version, strnlen(in->version, RP_PKG_VERSION_LEN));
	rp_enc32le(h + H_SECVER, in->security_version);
	rp_enc64le(h + H_MLEN, in->manifest_len);
	memcpy(h + H_MSHA, in->manifest_sha256, RP_SHA256_LEN);
	rp_enc64le(h + H_PLEN, in->payload_len);
	memcpy(h + H_PSHA, in->payload_sha256, RP_SHA256_LEN);
	rp_enc64le(h + H_BUILD, in->build_time);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Regions before the signature block, read once, in order. */
static int hash_regions(const struct src *s, const struct rp_pkg_header *h,
			struct rp_buf *manifest, struct rp_err *e)
{
	struct rp_sha256 *mh = NULL, *ph = NULL;
	uint8_t *buf = NULL, md[RP_SHA256_LEN];
	uint64_t off = RP_PKG_HEADER_LEN;
	uint64_t mend = RP_PKG_HEADER_LEN + h->manifest_len;
	uint64_t end = mend + h->payload_len;
	int rc;

	if (rp_sha256_new(&mh) || rp_sha256_new(&ph)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (!s->mem) {
		buf = malloc(HASH_BUF);
		if (!buf) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
		(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	while (off < end) {
		uint64_t left = end - off;
		size_t n = left < HASH_BUF ? (size_t)left : HASH_BUF;
		const uint8_t *p;
		size_t mn = 0;

		if (s->mem) {
			p = s->mem + off;
		} else {
			rc = rp_pread_full(s->fd, buf, n, off, e);
			if (rc)
				goto out;
			p = buf;
		}
		if (off < mend) {
			mn = mend - off < n ? (size_t)(mend - off) : n;
			if (rp_sha256_update(mh, p, mn)) {
				rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
				goto out;
			}
			rc = rp_buf_append(manifest, p, mn);
			if (rc) {
				rp_err_set(e, rc, "manifest: out of memory");
				goto out;
			}
		}
		if (n > mn && rp_sha256_update(ph, p + mn, n - mn)) {
			rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
			goto out;
		}
		off += n;
	}
	if (rp_sha256_final(mh, md)) {
		rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
		goto out;
	}
	if (!rp_ct_equal(md, h->manifest_sha256, RP_SHA256_LEN)) {
		rc = rp_err_set(e, RP_EVERIFY, "manifest digest does not match the header");
		goto out;
	}
	if (rp_sha256_final(ph, md)) {
		rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
		goto out;
	}
	if (!rp_ct_equal(md, h->payload_sha256, RP_SHA256_LEN)) {
		rc = rp_err_set(e, RP_EVERIFY, "payload digest does not match the header");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	rp_sha256_free(mh);
	rp_sha256_free(ph);
	return rc;
}

/* A read-ahead window over the payload of a package file, so the walk
 * over entry headers costs a few large reads, not three syscalls each. */
struct window {
	const struct src *s;
	uint64_t base, len;   /* payload region in the file */
	uint8_t *buf;
	uint64_t woff;        /* payload offset of buf[0] */
	size_t wlen;
};

static int window_read_at(void *ctx, uint8_t *buf, size_t n, uint64_t off,
			  struct rp_err *e)
{
	struct window *w = ctx;
	size_t k;
	int rc;

	if (off > w->len || n > w->len - off)
		return rp_err_set(e, RP_EFORMAT, "truncated");
	if (off >= w->woff && n <= w->wlen && off - w->woff <= w->wlen - n) {
		memcpy(buf, w->buf + (off - w->woff), n);
		return 0;
	}
	if (n > WINDOW)
		return src_read(w->s, buf, n, w->base + off, e);
	k = w->len - off < WINDOW ? (size_t)(w->len - off) : WINDOW;
	w->wlen = 0;
	rc = src_read(w->s, w->buf, k, w->base + off, e);
	if (rc)
		return rc;
	w->woff = off;
	w->wlen = k;
	memcpy(buf, w->buf, n);
	return 0;
}

static int check_payload(const struct src *s, uint64_t base, uint64_t len,
			 struct rp_pkg_info *info, struct rp_err *e)
{
	struct window w;
	int rc;

	if (s->mem) {
		struct rp_mem_src m = { s->mem + base, (size_t)len };

		return rp_archive_check(rp_mem_read_at, &m, len, &info->nentries,
					&info->nbytes, e);
	}
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.base = base;
	w.len = len;
	w.buf = malloc(WINDOW);
	if (!w.buf)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = rp_archive_check(window_read_at, &w, len, &info->nentries,
			      &info->nbytes, e);
	free(w.buf);
	return rc;
}

/* Check the signatures over the header and report each one in info. */
static int check_signatures(const uint8_t *hdr, struct rp_sigblock *sb,
			    const struct rp_key *const *trusted,
			    size_t ntrusted, struct rp_pkg_info *info,
			    struct rp_err *e)
{
	size_t i;
	int rc;

	rc = rp_sigblock_verify(sb, hdr, RP_PKG_HEADER_LEN, trusted, ntrusted, e);
	for (i = 0; i < sb->n; i++) {
		info->sigs[i].alg = (enum rp_key_type)sb->s[i].alg;
		memcpy(info->sigs[i].key_id, sb->s[i].key_id, RP_KEYID_LEN);
		info->sigs[i].status = sb->s[i].valid ? RP_SIG_VALID : RP_SIG_UNCHECKED;
	}
	info->nsigs = sb->n;
	return rc;
}

/* The whole verification; on success also hands back the raw header and
 * the parsed signature block (for rp_pkg_add_signature). */
static int verify_src(const struct src *s, const struct rp_key *const *trusted,
		      size_t ntrusted, struct rp_pkg_info *info,
		      uint8_t *hdr, struct rp_sigblock *sb, struct rp_err *e)
{
	uint8_t tr[TRAILER_LEN], *sbraw = NULL;
	uint64_t size = s->size, sblen, total;
	struct rp_pkg_header h;
	int rc;

	/* Magic first, only to say "not a package" rather than "truncated". */
	if (size >= 8) {
		rc = src_read(s, hdr, 8, 0, e);
		if (rc)
			goto out;
		if (memcmp(hdr, PKG_MAGIC, 8) != 0) {
			rc = rp_err_set(e, RP_EFORMAT, "not a Rampart image package");
			goto out;
		}
	}
	if (size < PKG_MIN) {
		rc = rp_err_set(e, RP_EFORMAT,
				"truncated (file is %llu bytes, smaller than any package)",
				(unsigned long long)size);
		goto out;
	}
	if (size > PKG_MAX) {
		rc = rp_err_set(e, RP_ERANGE, "file is %llu bytes, over the limit",
				(unsigned long long)size);
		goto out;
	}
	rc = src_read(s, hdr, RP_PKG_HEADER_LEN, 0, e);
	if (rc == 0)
		rc = src_read(s, tr, TRAILER_LEN, size - TRAILER_LEN, e);
	if (rc)
		goto out;
	if (memcmp(tr + 4, END_MAGIC, 8) != 0) {
		/* Word the refusal from the (unverified) header lengths; they
		 * decide nothing but the message. */
		uint64_t ml = rp_dec64le(hdr + H_MLEN), pl = rp_dec64le(hdr + H_PLEN);
		uint64_t want = sat_add(sat_add(sat_add(RP_PKG_HEADER_LEN, ml), pl),
					SB_MIN);

		if (want > size)
			rc = rp_err_set(e, RP_EFORMAT,
					"truncated (file is %llu bytes, header says at least %llu)",
					(unsigned long long)size,
					(unsigned long long)want);
		else
			rc = rp_err_set(e, RP_EFORMAT,
					"no signature block trailer at the end of the file (truncated or extended?)");
		goto out;
	}
	sblen = rp_dec32le(tr);
	if (sblen < SB_MIN || sblen > RP_PKG_SIGBLOCK_MAX ||
	    sblen > size - RP_PKG_HEADER_LEN) {
		rc = rp_err_set(e, RP_EFORMAT,
				"signature block: length %llu is out of range",
				(unsigned long long)sblen);
		goto out;
	}
	sbraw = malloc((size_t)sblen);
	if (!sbraw) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rc = src_read(s, sbraw, (size_t)sblen, size - sblen, e);
	if (rc)
		goto out;
	rc = rp_sigblock_parse(sbraw, (size_t)sblen, RP_PKG_SIGS_MAX, sb, e);
	if (rc)
		goto out;
	rc = check_signatures(hdr, sb, trusted, ntrusted, info, e);
	if (rc)
		goto out;

	/* Authenticated (or show mode): now the header may be read. */
	rc = dec_header(hdr, &h, e);
	if (rc)
		goto out;
	total = sat_add(sat_add(sat_add(RP_PKG_HEADER_LEN, h.manifest_len),
				h.payload_len), sblen);
	if (total > size) {
		rc = rp_err_set(e, RP_EFORMAT,
				"truncated (file is %llu bytes, header says %llu)",
				(unsigned long long)size, (unsigned long long)total);
		goto out;
	}
	if (total < size) {
		rc = rp_err_set(e, RP_EFORMAT,
				"%llu unexpected bytes (file is %llu bytes, header says %llu)",
				(unsigned long long)(size - total),
				(unsigned long long)size, (unsigned long long)total);
		goto out;
	}
	rc = hash_regions(s, &h, &info->manifest, e);
	if (rc)
		goto out;
	rc = check_payload(s, RP_PKG_HEADER_LEN + h.manifest_len, h.payload_len,
			   info, e);
	if (rc) {
		rp_err_prefix(e, "payload");
		goto out;
	}
	info->hdr = h;
	info->file_len = size;
	info->payload_off = RP_PKG_HEADER_LEN + h.manifest_len;
out:
	free(sbraw);
	return rc;
}

static void info_init(struct rp_pkg_info *info)
{
	memset(info, 0, sizeof(*info));
	rp_buf_init(&info->manifest, MANIFEST_MAX);
}

void rp_pkg_info_free(struct rp_pkg_info *info)
{
	if (!info)
		return;
	rp_buf_free(&info->manifest);
	memset(info, 0, sizeof(*info));
}

static int verify_common(const struct src *s, const struct rp_key *const *trusted,
			 size_t ntrusted, struct rp_pkg_info *info,
			 uint8_t *hdr, struct rp_sigblock *sb, struct rp_err *e)
{
	int rc;

	info_init(info);
	if (ntrusted > 0 && !trusted)
		return rp_err_set(e, RP_EUSAGE, "package: no trusted key list");
	rc = verify_src(s, trusted, ntrusted, info, hdr, sb, e);
	if (rc) {
		rp_pkg_info_free(info);
		return rp_err_prefix(e, "package");
	}
	return 0;
}

static int fd_src(int fd, struct src *s, struct rp_err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return rp_err_errno(e, errno, "package");
	if (!S_ISREG(st.st_mode))
		return rp_err_set(e, RP_EFORMAT, "package: not a regular file");
	s->mem = NULL;
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	return 0;
}

int rp_pkg_verify_fd(int fd, const struct rp_key *const *trusted,
		     size_t ntrusted, struct rp_pkg_info *info,
		     struct rp_err *e)
{
	uint8_t hdr[RP_PKG_HEADER_LEN];
	struct rp_sigblock sb;
	struct src s;
	int rc;

	info_init(info);
	rc = fd_src(fd, &s, e);
	if (rc)
		return rc;
	return verify_common(&s, trusted, ntrusted, info, hdr, &sb, e);
}

int rp_pkg_verify_file(const char *path, const struct rp_key *const *trusted,
		       size_t ntrusted, struct rp_pkg_info *info,
		       struct rp_err *e)
{
	int fd, rc;

	info_init(info);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rp_err_errno(e, errno, "package: %s", path);
	rc = rp_pkg_verify_fd(fd, trusted, ntrusted, info, e);
	close(fd);
	return rc;
}

int rp_pkg_verify_mem(const uint8_t *buf, size_t len,
		      const struct rp_key *const *trusted, size_t ntrusted,
		      struct rp_pkg_info *info, struct rp_err *e)
{
	static const uint8_t empty[1];
	uint8_t hdr[RP_PKG_HEADER_LEN];
	struct rp_sigblock sb;
	struct src s = { buf ? buf : empty, -1, buf ? (uint64_t)len : 0 };

	return verify_common(&s, trusted, ntrusted, info, hdr, &sb, e);
}

/* ---- Writing ---------------------------------------------------------- */

/* A temporary file next to path, created exclusively. */
static int open_temp(const char *path, char *tmp, size_t cap, struct rp_err *e)
{
	int n, fd;

	n = snprintf(tmp, cap, "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= cap)
		return rp_err_set(e, RP_ERANGE, "%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		tmp[0] = '\0';
		return rp_err_errno(e, errno, "%s", path);
	}
	if (fchmod(fd, 0644) < 0) {
		int err = errno;

		close(fd);
		(void)unlink(tmp);
		tmp[0] = '\0';
		return rp_err_errno(e, err, "%s", path);
	}
	return fd;
}

/* fsync, close and rename tmp over path; then sync the directory. */
static int commit_temp(int fd, const char *tmp, const char *path,
		       struct rp_err *e)
{
	char dir[PATH_MAX];
	const char *slash;
	int dfd;

	if (fsync(fd) < 0)
		return rp_err_errno(e, errno, "%s", path);
	if (rename(tmp, path) < 0)
		return rp_err_errno(e, errno, "%s", path);
	slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if ((size_t)(slash - path) < sizeof(dir)) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = '\0';
	} else {
		return 0;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int check_pack_opts(const struct rp_pkg_pack_opts *o, struct rp_err *e)
{
	const char *why;
	uint8_t v[RP_PKG_VERSION_LEN];
	size_t i, j, vlen;

	if (!o->dir || !o->manifest || !o->component_id || !o->version)
		return rp_err_set(e, RP_EUSAGE,
				  "missing tree, manifest, component id or version");
	if (o->manifest_len == 0 || o->manifest_len > MANIFEST_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "manifest: %zu bytes is out of range (1..%u)",
				  o->manifest_len, MANIFEST_MAX);
	if (!rp_image_type_name(o->type))
		return rp_err_set(e, RP_EUSAGE, "unknown image type %d", (int)o->type);
	vlen = strlen(o->version);
	if (vlen > RP_PKG_VERSION_LEN)
		return rp_err_set(e, RP_ERANGE,
				  "version '%s' is longer than %u bytes",
				  o->version, RP_PKG_VERSION_LEN);
	memset(v, 0, sizeof(v));
	memcpy(v, o->version, vlen);
	why = bad_version(v, sizeof(v));
	if (why)
		return rp_err_set(e, RP_EINVAL, "version '%s' %s", o->version, why);
	if (!o->keys || o->nkeys == 0 || o->nkeys > RP_PKG_SIGS_MAX)
		return rp_err_set(e, RP_EUSAGE, "need 1..%u signing keys",
				  RP_PKG_SIGS_MAX);
	for (i = 0; i < o->nkeys; i++) {
		if (!o->keys[i] || !rp_key_has_private(o->keys[i]))
			return rp_err_set(e, RP_EUSAGE,
					  "signing key %zu has no private key", i + 1);
		for (j = 0; j < i; j++)
			if (memcmp(rp_key_id(o->keys[i]), rp_key_id(o->keys[j]),
				   RP_KEYID_LEN) == 0)
				return rp_err_set(e, RP_EUSAGE,
						  "signing key %zu is the same as key %zu",
						  i + 1, j + 1);
	}
	return 0;
}

int rp_pkg_pack(const struct rp_pkg_pack_opts *o, const char *out_path,
		struct rp_err *e)
{
	char tmp[PATH_MAX];
	uint8_t hdr[RP_PKG_HEADER_LEN], sbraw[RP_PKG_SIGBLOCK_MAX];
	struct rp_pkg_header h;
	struct rp_sigblock sb;
	struct rp_sha256 *ph = NULL;
	uint64_t plen = 0;
	size_t i, sblen;
	int fd = -1, rc;

	tmp[0] = '\0';
	rc = check_pack_opts(o, e);
	if (rc)
		goto out;
	memset(&h, 0, sizeof(h));
	h.type = o->type;
	memcpy(h.component_id, o->component_id, 16);
	if (o->image_id) {
		memcpy(h.image_id, o->image_id, 16);
	} else if (rp_random(h.image_id, 16)) {
		rc = rp_err_set(e, RP_ECRYPTO, "no random image id");
		goto out;
	}
	memcpy(h.version, o->version, strlen(o->version));
	h.security_version = o->security_version;
	h.build_time = o->build_time ? o->build_time : (uint64_t)time(NULL);
	h.manifest_len = o->manifest_len;
	if (rp_sha256(o->manifest, o->manifest_len, h.manifest_sha256) ||
	    rp_sha256_new(&ph)) {
		rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
		goto out;
	}

	fd = open_temp(out_path, tmp, sizeof(tmp), e);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	memset(hdr, 0, sizeof(hdr));
	rc = rp_write_full(fd, hdr, sizeof(hdr), e);
	if (rc == 0)
		rc = rp_write_full(fd, o->manifest, o->manifest_len, e);
	if (rc)
		goto out;
	rc = rp_archive_write_dir(o->dir, fd, ph, &plen, e);
	if (rc) {
		rp_err_prefix(e, "payload: %s", o->dir);
		goto out;
	}
	if (plen > RP_PKG_PAYLOAD_MAX) {
		rc = rp_err_set(e, RP_ERANGE, "payload: %llu bytes is over the limit",
				(unsigned long long)plen);
		goto out;
	}
	h.payload_len = plen;
	if (rp_sha256_final(ph, h.payload_sha256)) {
		rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
		goto out;
	}
	enc_header(&h, hdr);
	rc = rp_pwrite_full(fd, hdr, sizeof(hdr), 0, e);
	if (rc)
		goto out;
	memset(&sb, 0, sizeof(sb));
	for (i = 0; i < o->nkeys; i++) {
		rc = rp_sigblock_sign(&sb, RP_PKG_SIGS_MAX, o->keys[i], hdr,
				      RP_PKG_HEADER_LEN, e);
		if (rc)
			goto out;
	}
	sblen = rp_sigblock_encode(&sb, sbraw);
	rc = rp_pwrite_full(fd, sbraw, sblen,
			 RP_PKG_HEADER_LEN + o->manifest_len + plen, e);
	if (rc)
		goto out;
	rc = commit_temp(fd, tmp, out_path, e);
	if (rc == 0)
		tmp[0] = '\0';
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		(void)unlink(tmp);
	rp_sha256_free(ph);
	if (rc)
		rp_err_prefix(e, "package");
	return rc;
}

/* Sign (key) or append (sig) and rewrite the tail of the package. */
static int resign(const char *path, const struct rp_key *key, uint8_t alg,
		  const uint8_t *key_id, const uint8_t *sig, size_t siglen,
		  struct rp_err *e)
{
	char tmp[PATH_MAX];
	uint8_t hdr[RP_PKG_HEADER_LEN], sbraw[RP_PKG_SIGBLOCK_MAX];
	uint8_t *buf = NULL;
	struct rp_pkg_info info;
	struct rp_sigblock sb;
	struct src s;
	uint64_t off, end;
	size_t sblen;
	int fd = -1, out_fd = -1, rc;

	tmp[0] = '\0';
	info_init(&info);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "package: %s", path);
		goto out;
	}
	rc = fd_src(fd, &s, e);
	if (rc)
		goto out;
	/* Structure, digests and archive; trust is the installer's job. */
	rc = verify_common(&s, NULL, 0, &info, hdr, &sb, e);
	if (rc)
		goto out;
	if (key) {
		if (!rp_key_has_private(key)) {
			rc = rp_err_set(e, RP_EUSAGE, "package: signing needs a private key");
			goto out;
		}
		rc = rp_sigblock_sign(&sb, RP_PKG_SIGS_MAX, key, hdr, RP_PKG_HEADER_LEN, e);
	} else {
		rc = rp_sigblock_add(&sb, RP_PKG_SIGS_MAX, alg, key_id, sig, siglen, e);
	}
	if (rc) {
		rp_err_prefix(e, "package");
		goto out;
	}
	sblen = rp_sigblock_encode(&sb, sbraw);

	buf = malloc(HASH_BUF);
	if (!buf) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	out_fd = open_temp(path, tmp, sizeof(tmp), e);
	if (out_fd < 0) {
		rc = out_fd;
		goto out;
	}
	/* Write the header we verified and signed, not a second read of it. */
	rc = rp_write_full(out_fd, hdr, sizeof(hdr), e);
	off = RP_PKG_HEADER_LEN;
	end = info.payload_off + info.hdr.payload_len;
	while (rc == 0 && off < end) {
		size_t n = end - off < HASH_BUF ? (size_t)(end - off) : HASH_BUF;

		rc = rp_pread_full(fd, buf, n, off, e);
		if (rc == 0)
			rc = rp_write_full(out_fd, buf, n, e);
		off += n;
	}
	if (rc == 0)
		rc = rp_write_full(out_fd, sbraw, sblen, e);
	if (rc == 0)
		rc = commit_temp(out_fd, tmp, path, e);
	if (rc) {
		rp_err_prefix(e, "package: %s", path);
		goto out;
	}
	tmp[0] = '\0';
out:
	if (out_fd >= 0)
		close(out_fd);
	if (tmp[0])
		(void)unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(buf);
	rp_pkg_info_free(&info);
	return rc;
}

int rp_pkg_add_signature(const char *path, const struct rp_key *key,
			 struct rp_err *e)
{
	if (!key)
		return rp_err_set(e, RP_EUSAGE, "package: signing needs a private key");
	return resign(path, key, 0, NULL, NULL, 0, e);
}

int rp_pkg_append_signature(const char *path, enum rp_key_type alg,
			    const uint8_t key_id[RP_KEYID_LEN],
			    const uint8_t *sig, size_t len, struct rp_err *e)
{
	if (!key_id || !sig)
		return rp_err_set(e, RP_EUSAGE, "package: no signature to append");
	return resign(path, NULL, (uint8_t)alg, key_id, sig, len, e);
}
