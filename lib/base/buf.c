#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rp_buf_init(struct rp_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

/* Make room for `need` more bytes plus a NUL; respects the cap. */
static int reserve(struct rp_buf *b, size_t need)
{
	size_t want, n;
	uint8_t *p;

	if (need > b->cap - b->len)
		return RP_ERANGE;
	want = b->len + need + 1;
	if (want <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n = n > SIZE_MAX / 2 ? want : n * 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	p = realloc(b->data, n);
	if (!p)
		return RP_ENOMEM;
	b->data = p;
	b->alloc = n;
	return 0;
}

int rp_buf_append(struct rp_buf *b, const void *p, size_t n)
{
	int rc = reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int rp_buf_printf(struct rp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RP_EINVAL;
	rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int rp_buf_cstr(struct rp_buf *b)
{
	int rc = reserve(b, 0);

	if (rc)
		return rc;
	b->data[b->len] = '\0';
	return 0;
}

void rp_buf_reset(struct rp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void rp_buf_free(struct rp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void rp_buf_free_wipe(struct rp_buf *b)
{
	if (b->data) {
		/* volatile-safe wipe lives in crypto; base stays libc-only. */
		explicit_bzero(b->data, b->alloc);
	}
	rp_buf_free(b);
}
