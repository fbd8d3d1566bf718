/* Explicit little- and big-endian encoding of wire integers. Never cast
 * bytes to a struct: every on-disk and on-wire field is read and written
 * through these. Network protocols (DNS) are big-endian. */
#ifndef RP_BASE_BYTES_H
#define RP_BASE_BYTES_H

#include <stdint.h>

static inline uint16_t rp_dec16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rp_dec32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t rp_dec64le(const uint8_t *p)
{
	return (uint64_t)rp_dec32le(p) | (uint64_t)rp_dec32le(p + 4) << 32;
}

static inline void rp_enc16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void rp_enc32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void rp_enc64le(uint8_t *p, uint64_t v)
{
	rp_enc32le(p, (uint32_t)v);
	rp_enc32le(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t rp_dec16be(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rp_dec32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void rp_enc16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void rp_enc32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
