/* Request bodies of the HTTP API, decoded strictly: one JSON object of
 * at most RP_API_BODY_MAX bytes, known keys only (an unknown key is
 * refused naming it), each value of the right type and within the model's
 * name rules. Pure: no I/O; fuzzed by fuzz/fuzz_api.c.
 *
 * Each decoder fills a caller-owned fixed-size struct; on error e names the
 * field ("name: must be 1 to 50 characters", "colour: unknown key"). */
#ifndef RP_SERVICE_API_H
#define RP_SERVICE_API_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "service/model.h"

#define RP_API_BODY_MAX (64 * 1024)

struct rp_api_tenant_req {
	char name[RP_NAME_MAX + 1];
};

struct rp_api_product_req {
	char name[RP_NAME_MAX + 1];
	char description[RP_DESC_MAX + 1]; /* optional; "" when absent */
};

struct rp_api_role_req {
	char user[RP_USER_MAX + 1];
	enum rp_role role;
};

struct rp_api_token_req {
	char user[RP_USER_MAX + 1];
};

/* {"name": NAME} */
int rp_api_decode_tenant(const uint8_t *buf, size_t len,
			 struct rp_api_tenant_req *out, struct rp_err *e) RP_WUR;
/* {"name": NAME, "description"?: TEXT} */
int rp_api_decode_product(const uint8_t *buf, size_t len,
			  struct rp_api_product_req *out, struct rp_err *e) RP_WUR;
/* {"user": USER, "role": "Administrator"|"Contributor"|"Reader"} */
int rp_api_decode_role(const uint8_t *buf, size_t len,
		       struct rp_api_role_req *out, struct rp_err *e) RP_WUR;
/* {"user": USER} */
int rp_api_decode_token(const uint8_t *buf, size_t len,
			struct rp_api_token_req *out, struct rp_err *e) RP_WUR;

#endif
