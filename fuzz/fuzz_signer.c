/* libFuzzer target for what the signing process and its client decode:
 * signer requests (from rampart-server, which a compromised server fully
 * controls) and signer responses (the client side). The first byte picks
 * the decoder; the rest is the input. A request that decodes must
 * re-encode and decode to the same request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rp_signer_req r, back; /* large: keep off the stack */

static void request(const uint8_t *p, size_t n)
{
	struct rp_buf b;
	struct rp_err e;

	if (rp_signer_req_decode(p, n, &r, &e))
		return;
	if (rp_signer_req_encode(&r, &b, &e))
		abort(); /* decoded requests always re-encode */
	if (rp_signer_req_decode(b.data, b.len, &back, &e) ||
	    memcmp(&r, &back, sizeof(r)) != 0)
		abort();
	rp_buf_free(&b);
}

static void response(const uint8_t *p, size_t n)
{
	struct rp_err e;
	json_t *res = NULL;
	int rc = rp_signer_resp_decode(p, n, &res, &e);

	if ((rc == 0) != (res != NULL) || rc > 0)
		abort();
	json_decref(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		response(data + 1, size - 1);
	else
		request(data + 1, size - 1);
	return 0;
}
