/* Bounded reader over a caller-owned byte range.
 *
 * Every read checks the remaining length first, in a form that cannot wrap,
 * and fails without moving when too few bytes remain. The reader never
 * owns or copies the bytes. */
#ifndef RP_BASE_RD_H
#define RP_BASE_RD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct rp_rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

static inline void rp_rd_init(struct rp_rd *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
}

static inline size_t rp_rd_left(const struct rp_rd *r)
{
	return r->len - r->off;
}

/* Each returns 0, or RP_EFORMAT if fewer than the needed bytes remain. */
int rp_rd_u8(struct rp_rd *r, uint8_t *out) RP_WUR;
int rp_rd_u16(struct rp_rd *r, uint16_t *out) RP_WUR;
int rp_rd_u32(struct rp_rd *r, uint32_t *out) RP_WUR;
int rp_rd_u64(struct rp_rd *r, uint64_t *out) RP_WUR;
/* Copy n bytes into out. */
int rp_rd_copy(struct rp_rd *r, void *out, size_t n) RP_WUR;
/* Point *out at the next n bytes (no copy) and skip them. */
int rp_rd_view(struct rp_rd *r, const uint8_t **out, size_t n) RP_WUR;
int rp_rd_skip(struct rp_rd *r, size_t n) RP_WUR;

#endif
