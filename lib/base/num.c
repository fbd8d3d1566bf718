#include "base/num.h"

#include <string.h>

int rp_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || len == 0)
		return RP_EINVAL;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return RP_EINVAL;
	if (len > 20)
		return RP_ERANGE;
	/* "0" alone is fine; "007" is refused so one value has one spelling. */
	if (len > 1 && s[0] == '0')
		return RP_EINVAL;
	for (i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return RP_ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return RP_ERANGE;
	*out = v;
	return 0;
}

int rp_parse_u64z(const char *s, uint64_t max, uint64_t *out)
{
	if (!s)
		return RP_EINVAL;
	return rp_parse_u64(s, strnlen(s, 64), max, out);
}
