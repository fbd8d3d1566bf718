#include "store/logring.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file.h"
#include "store/reports.h"

#define L_MAGIC "RPLOG\0\0\1"

static void enc_header(const struct rp_logring *r, uint8_t h[RP_LOGRING_HEADER_LEN])
{
	memset(h, 0, RP_LOGRING_HEADER_LEN);
	memcpy(h, L_MAGIC, 8);
	rp_enc64le(h + 8, r->cap);
	rp_enc64le(h + 16, r->head);
	rp_enc32le(h + 24, rp_crc32(h, 24));
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off,
		      struct rp_err *e)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return rp_err_errno(e, errno, "log: write");
		}
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int write_header(struct rp_logring *r, struct rp_err *e)
{
	uint8_t h[RP_LOGRING_HEADER_LEN];

	enc_header(r, h);
	return pwrite_all(r->fd, h, sizeof(h), 0, e);
}

int rp_logring_open(const char *path, uint64_t cap, struct rp_logring *out,
		    struct rp_err *e)
{
	uint8_t h[RP_LOGRING_HEADER_LEN];
	struct rp_err ignore;
	struct stat st;
	int fd = -1, rc = 0, valid = 0;

	out->fd = -1;
	out->cap = cap;
	out->head = 0;
	if (cap < RP_LOGRING_CAP_MIN || cap > RP_LOGRING_CAP_MAX)
		return rp_err_set(e, RP_ERANGE, "log: capacity %llu is out of range",
				  (unsigned long long)cap);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "log: %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EINVAL, "log: %s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size == RP_LOGRING_HEADER_LEN + cap &&
	    rp_pread_full(fd, h, sizeof(h), 0, &ignore) == 0 &&
	    memcmp(h, L_MAGIC, 8) == 0 && rp_dec32le(h + 24) == rp_crc32(h, 24) &&
	    rp_dec64le(h + 8) == cap && rp_dec32le(h + 28) == 0)
		valid = 1;
	out->fd = fd;
	fd = -1;
	if (valid) {
		out->head = rp_dec64le(h + 16);
		goto out;
	}
	if (ftruncate(out->fd, 0) < 0 ||
	    ftruncate(out->fd, (off_t)(RP_LOGRING_HEADER_LEN + cap)) < 0) {
		rc = rp_err_errno(e, errno, "log: %s", path);
		goto out;
	}
	rc = write_header(out, e);
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		rp_logring_close(out);
	return rc;
}

int rp_logring_append(struct rp_logring *r, const void *p, size_t n,
		      struct rp_err *e)
{
	const uint8_t *b = p;
	int rc;

	if (r->fd < 0)
		return rp_err_set(e, RP_EUSAGE, "log: not open");
	/* Only the last cap bytes of a large write can survive. */
	if (n > r->cap) {
		r->head += n - r->cap;
		b += n - r->cap;
		n = (size_t)r->cap;
	}
	while (n > 0) {
		uint64_t pos = r->head % r->cap;
		size_t k = (size_t)(r->cap - pos);

		if (k > n)
			k = n;
		if ((rc = pwrite_all(r->fd, b, k, RP_LOGRING_HEADER_LEN + pos, e)))
			return rc;
		r->head += k;
		b += k;
		n -= k;
	}
	return write_header(r, e);
}

int rp_logring_read(struct rp_logring *r, struct rp_buf *out, struct rp_err *e)
{
	uint64_t len, start, pos;
	size_t first;
	int rc;

	rp_buf_init(out, (size_t)r->cap);
	if (r->fd < 0)
		return rp_err_set(e, RP_EUSAGE, "log: not open");
	len = r->head < r->cap ? r->head : r->cap;
	if (len == 0)
		return rp_buf_cstr(out) ? rp_err_set(e, RP_ENOMEM, "out of memory") : 0;
	start = r->head - len;
	pos = start % r->cap;
	first = (size_t)(r->cap - pos < len ? r->cap - pos : len);
	rc = rp_buf_append(out, NULL, 0);
	if (rc || (rc = rp_buf_cstr(out)))
		goto nomem;
	/* Grow to len, then read into place. */
	{
		uint8_t zero[256];
		uint64_t left = len;

		memset(zero, 0, sizeof(zero));
		while (left > 0) {
			size_t k = left > sizeof(zero) ? sizeof(zero) : (size_t)left;

			if ((rc = rp_buf_append(out, zero, k)))
				goto nomem;
			left -= k;
		}
	}
	if ((rc = rp_pread_full(r->fd, out->data, first,
				RP_LOGRING_HEADER_LEN + pos, e)))
		goto fail;
	if (first < len &&
	    (rc = rp_pread_full(r->fd, out->data + first, (size_t)len - first,
				RP_LOGRING_HEADER_LEN, e)))
		goto fail;
	return 0;
nomem:
	rc = rp_err_set(e, RP_ENOMEM, "out of memory");
fail:
	rp_buf_free(out);
	return rc;
}

void rp_logring_close(struct rp_logring *r)
{
	if (r->fd >= 0) {
		(void)fdatasync(r->fd);
		close(r->fd);
	}
	r->fd = -1;
}

size_t rp_log_tail(const uint8_t *buf, size_t len, uint32_t lines)
{
	size_t i = len;
	uint32_t seen = 0;

	if (len == 0 || lines == 0)
		return len;
	/* A trailing newline ends the last line; it does not start one. */
	if (buf[len - 1] == '\n')
		i--;
	while (i > 0) {
		if (buf[i - 1] == '\n' && ++seen == lines)
			return i;
		i--;
	}
	return 0;
}
