#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rp_pread_full(int fd, void *buf, size_t n, uint64_t off, struct rp_err *e)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r;

		if (off > (uint64_t)LLONG_MAX)
			return rp_err_set(e, RP_ERANGE, "offset out of range");
		r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return rp_err_errno(e, errno, "read");
		}
		if (r == 0)
			return rp_err_set(e, RP_EFORMAT, "truncated");
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int rp_pwrite_full(int fd, const void *buf, size_t n, uint64_t off,
		   struct rp_err *e)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w;

		if (off > (uint64_t)LLONG_MAX)
			return rp_err_set(e, RP_ERANGE, "offset out of range");
		w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return rp_err_errno(e, errno, "write");
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int rp_write_full(int fd, const void *buf, size_t n, struct rp_err *e)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return rp_err_errno(e, errno, "write");
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int rp_file_read(const char *path, size_t cap, struct rp_buf *out,
		 struct rp_err *e)
{
	struct rp_buf b;
	struct stat st;
	int fd = -1, rc;

	rp_buf_init(&b, cap);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = rp_err_set(e, RP_ERANGE, "%s: %lld bytes is over the limit of %zu",
				path, (long long)st.st_size, cap);
		goto out;
	}
	for (;;) {
		uint8_t chunk[8192];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = rp_err_errno(e, errno, "%s", path);
			goto out;
		}
		if (r == 0)
			break;
		rc = rp_buf_append(&b, chunk, (size_t)r);
		if (rc) {
			rp_err_set(e, rc, "%s: grew over the limit of %zu bytes",
				   path, cap);
			goto out;
		}
	}
	rc = rp_buf_cstr(&b);
	if (rc) {
		rp_err_set(e, rc, "%s: out of memory", path);
		goto out;
	}
	*out = b;
	rp_buf_init(&b, 0);
out:
	rp_buf_free(&b);
	if (fd >= 0)
		close(fd);
	return rc;
}

int rp_file_write(const char *path, const void *buf, size_t len, mode_t mode,
		  int excl, struct rp_err *e)
{
	char tmp[PATH_MAX];
	int fd = -1, rc, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return rp_err_set(e, RP_ERANGE, "%s: path too long", path);
	if (excl && access(path, F_OK) == 0)
		return rp_err_set(e, -EEXIST, "%s: already exists (will not overwrite)",
				  path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return rp_err_errno(e, errno, "%s", tmp);
	rc = rp_write_full(fd, buf, len, e);
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = rp_err_errno(e, errno, "%s", tmp);
	if (rc == 0 && fsync(fd) < 0)
		rc = rp_err_errno(e, errno, "%s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = rp_err_errno(e, errno, "%s", tmp);
	fd = -1;
	if (rc == 0) {
		if (excl)
			rc = link(tmp, path) < 0 ? rp_err_errno(e, errno, "%s", path) : 0;
		else
			rc = rename(tmp, path) < 0 ? rp_err_errno(e, errno, "%s", path) : 0;
	}
	(void)unlink(tmp);
	return rc;
}

void rp_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int nib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rp_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	size_t i;

	if (slen != 2 * n)
		return RP_EINVAL;
	for (i = 0; i < n; i++) {
		int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return RP_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
