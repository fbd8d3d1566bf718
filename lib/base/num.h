/* The one number parser. Decimal only, no sign, no whitespace, no leading
 * '+', at most `max`; overflow and trailing garbage are errors. Every
 * number read from text goes through here (atoi/strtol are banned). */
#ifndef RP_BASE_NUM_H
#define RP_BASE_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Parse all of s[0..len). Returns 0 or RP_EINVAL (not a number) /
 * RP_ERANGE (above max). */
int rp_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out) RP_WUR;
/* Same on a NUL-terminated string. */
int rp_parse_u64z(const char *s, uint64_t max, uint64_t *out) RP_WUR;

#endif
