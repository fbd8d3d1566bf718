/* Growable byte buffer with a hard cap fixed at creation.
 *
 * Appends that would take the buffer past its cap fail with RP_ERANGE and
 * leave it unchanged. The buffer owns its memory: release it with
 * rp_buf_free(), which accepts a zeroed or already-freed buffer. */
#ifndef RP_BASE_BUF_H
#define RP_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct rp_buf {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t cap; /* hard upper bound on len */
};

/* Start an empty buffer that may grow to at most cap bytes. */
void rp_buf_init(struct rp_buf *b, size_t cap);
int rp_buf_append(struct rp_buf *b, const void *p, size_t n) RP_WUR;
/* printf-style append; the text is not NUL-counted in len, but a NUL
 * always follows data[len] after a successful call. */
int rp_buf_printf(struct rp_buf *b, const char *fmt, ...) RP_PRINTF(2, 3) RP_WUR;
/* Ensure data[len] == '\0' (within the allocation) so data is a C string. */
int rp_buf_cstr(struct rp_buf *b) RP_WUR;
/* Drop contents, keep the allocation. */
void rp_buf_reset(struct rp_buf *b);
/* Release memory; wipes it first when wipe is nonzero (for secrets). */
void rp_buf_free(struct rp_buf *b);
void rp_buf_free_wipe(struct rp_buf *b);

#endif
