#include "base/rd.h"

#include <string.h>

#include "base/bytes.h"

int rp_rd_view(struct rp_rd *r, const uint8_t **out, size_t n)
{
	/* off <= len always holds, so len - off cannot wrap. */
	if (n > r->len - r->off)
		return RP_EFORMAT;
	*out = r->buf + r->off;
	r->off += n;
	return 0;
}

int rp_rd_skip(struct rp_rd *r, size_t n)
{
	const uint8_t *p;

	return rp_rd_view(r, &p, n);
}

int rp_rd_copy(struct rp_rd *r, void *out, size_t n)
{
	const uint8_t *p;
	int rc = rp_rd_view(r, &p, n);

	if (rc == 0 && n > 0)
		memcpy(out, p, n);
	return rc;
}

int rp_rd_u8(struct rp_rd *r, uint8_t *out)
{
	const uint8_t *p;
	int rc = rp_rd_view(r, &p, 1);

	if (rc == 0)
		*out = p[0];
	return rc;
}

int rp_rd_u16(struct rp_rd *r, uint16_t *out)
{
	const uint8_t *p;
	int rc = rp_rd_view(r, &p, 2);

	if (rc == 0)
		*out = rp_dec16le(p);
	return rc;
}

int rp_rd_u32(struct rp_rd *r, uint32_t *out)
{
	const uint8_t *p;
	int rc = rp_rd_view(r, &p, 4);

	if (rc == 0)
		*out = rp_dec32le(p);
	return rc;
}

int rp_rd_u64(struct rp_rd *r, uint64_t *out)
{
	const uint8_t *p;
	int rc = rp_rd_view(r, &p, 8);

	if (rc == 0)
		*out = rp_dec64le(p);
	return rc;
}
