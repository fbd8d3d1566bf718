/* Fuzz the API's request-body decoders (lib/service/api.c): every body a
 * handler reads goes through one of these. */
#include <stddef.h>
#include <stdint.h>

#include "service/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_api_tenant_req t;
	struct rp_api_product_req p;
	struct rp_api_role_req r;
	struct rp_api_token_req k;
	struct rp_err e;
	int ok = 0;

	/* A decoded request must satisfy the model's own rules. */
	if (rp_api_decode_tenant(data, size, &t, &e) == 0)
		ok |= rp_model_check_name("name", t.name, &e) == 0 ? 0 : 1;
	if (rp_api_decode_product(data, size, &p, &e) == 0)
		ok |= rp_model_check_desc("d", p.description, &e) == 0 ? 0 : 2;
	if (rp_api_decode_role(data, size, &r, &e) == 0)
		ok |= rp_role_name(r.role) ? 0 : 4;
	if (rp_api_decode_token(data, size, &k, &e) == 0)
		ok |= rp_model_check_user("user", k.user, &e) == 0 ? 0 : 8;
	if (ok)
		__builtin_trap();
	return 0;
}
