/* libFuzzer target for the app-socket requests rampartd decodes from apps
 * (lib/ctl/appreq.h): connect, open, sysevent, power, deviceauth,
 * storage. A request that decodes must re-encode and decode to the same
 * request, and its encoding must fit one app-socket line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/appreq.h"
#include "ctl/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_appreq r, back;
	char buf[RP_CTL_CHAN_MAX + 1];
	struct rp_err e;
	size_t n;

	if (rp_appreq_decode(data, size, &r, &e)) {
		if (e.code != RP_EINVAL)
			abort(); /* every refusal is EINVAL for the app */
		return 0;
	}
	if (rp_appreq_encode(&r, buf, sizeof(buf), &n, &e))
		abort(); /* decoded requests always re-encode */
	if (n == 0 || n > RP_CTL_CHAN_MAX || buf[n - 1] != '\n')
		abort();
	if (rp_appreq_decode((const uint8_t *)buf, n - 1, &back, &e) ||
	    memcmp(&r, &back, sizeof(r)) != 0)
		abort();
	return 0;
}
