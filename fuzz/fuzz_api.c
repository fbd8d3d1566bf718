/* Fuzz the API's request-body decoders (lib/service/api.c): every body a
 * handler reads goes through one of these (the devices' check-in too),
 * the error-report query string and the Range header parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "service/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_api_enroll_req en;
	static struct rp_api_cert_req ce;
	static struct rp_api_signing_key_req sk;
	static struct rp_api_deployment_req dp;
	static struct rp_api_checkin_req ck;
	static char query[RP_API_QUERY_MAX + 2];
	struct rp_api_device_group_req dg;
	struct rp_api_report_query rq;
	struct rp_api_tenant_req t;
	struct rp_api_product_req p;
	struct rp_api_role_req r;
	struct rp_api_token_req k;
	struct rp_api_claim_req cl;
	struct rp_api_enroll_token_req et;
	char hdr[128];
	uint64_t off = 0, len = 0, fsize;
	struct rp_err e;
	size_t i, j;
	int ok = 0, rc;

	/* A decoded request must satisfy the model's own rules. */
	if (rp_api_decode_tenant(data, size, &t, &e) == 0)
		ok |= rp_model_check_name("name", t.name, &e) == 0 ? 0 : 1;
	if (rp_api_decode_product(data, size, &p, &e) == 0)
		ok |= rp_model_check_desc("d", p.description, &e) == 0 ? 0 : 2;
	if (rp_api_decode_role(data, size, &r, &e) == 0)
		ok |= rp_role_name(r.role) ? 0 : 4;
	if (rp_api_decode_token(data, size, &k, &e) == 0)
		ok |= rp_model_check_user("user", k.user, &e) == 0 ? 0 : 8;
	if (rp_api_decode_empty(data, size, &e) == 0)
		ok |= size == 0 || memchr(data, '{', size) ? 0 : 2048;
	if (rp_api_decode_claim(data, size, &cl, &e) == 0)
		ok |= strlen(cl.device_id) == 64 &&
		      (!cl.product[0] || rp_model_is_id(cl.product)) ? 0 : 16;
	if (rp_api_decode_enroll_token(data, size, &et, &e) == 0)
		ok |= et.expires_in >= 1 && et.expires_in <= 30 * 86400 ? 0 : 32;
	if (rp_api_decode_enroll(data, size, &en, &e) == 0)
		ok |= en.csr_len > 0 && en.csr_len == strlen(en.csr) ? 0 : 64;
	if (rp_api_decode_cert(data, size, &ce, &e) == 0)
		ok |= ce.csr_len > 0 && ce.csr_len == strlen(ce.csr) ? 0 : 128;
	if (rp_api_decode_signing_key(data, size, &sk, &e) == 0)
		ok |= sk.len > 0 && sk.len == strlen(sk.public_key) ? 0 : 256;
	if (rp_api_decode_deployment(data, size, &dp, &e) == 0) {
		ok |= dp.n <= RP_API_DEPLOY_IMAGES_MAX ? 0 : 512;
		for (i = 0; i < dp.n; i++) {
			ok |= rp_model_is_id(dp.images[i]) ? 0 : 512;
			for (j = 0; j < i; j++)
				ok |= strcmp(dp.images[i], dp.images[j]) ? 0 : 512;
		}
	}
	/* Check-in: every decoded value within the documented rules. */
	if (rp_api_decode_checkin(data, size, &ck, &e) == 0) {
		ok |= ck.ninstalled <= RP_CHECKIN_INSTALLED_MAX &&
		      ck.nreports <= RP_CHECKIN_REPORTS_MAX &&
		      strlen(ck.runtime_version) >= 1 &&
		      ck.time <= (uint64_t)RP_JSON_INT_MAX ? 0 : 4096;
		for (i = 0; i < ck.ninstalled; i++)
			ok |= rp_model_is_id(ck.installed[i].component_id) &&
			      rp_model_is_id(ck.installed[i].image_id) &&
			      strlen(ck.installed[i].version) >= 1 ? 0 : 4096;
		for (i = 0; i < ck.nreports; i++) {
			const struct rp_api_report *rep = &ck.reports[i];

			ok |= rep->seq >= 1 && rp_model_is_id(rep->component_id) &&
			      rep->event_type && rep->event_class &&
			      rep->signal >= 0 && rep->signal <= 255 ? 0 : 4096;
			for (j = 0; rep->description[j]; j++)
				ok |= rep->description[j] >= 0x20 &&
				      rep->description[j] <= 0x7e ? 0 : 4096;
		}
	}
	if (rp_api_decode_device_group(data, size, &dg, &e) == 0)
		ok |= rp_model_is_id(dg.device_group) &&
		      (!dg.product[0] || rp_model_is_id(dg.product)) ? 0 : 8192;
	/* The error-report query string (text up to the first NUL). */
	if (size <= RP_API_QUERY_MAX + 1) {
		memcpy(query, data, size);
		query[size] = '\0';
		if (rp_api_decode_report_query(query, &rq, &e) == 0)
			ok |= (!rq.product[0] || rp_model_is_id(rq.product)) &&
			      (!rq.device_group[0] || rp_model_is_id(rq.device_group)) &&
			      (!rq.device[0] || strlen(rq.device) == 64) &&
			      (rq.since < 0 || rq.until < 0 || rq.since <= rq.until) ? 0 : 16384;
	}
	/* The Range header: whatever it says, a 206 stays inside the file. */
	if (size < sizeof(hdr) && size >= 1) {
		memcpy(hdr, data + 1, size - 1);
		hdr[size - 1] = '\0';
		fsize = (uint64_t)data[0] * 1000;
		rc = rp_api_range(hdr, fsize, &off, &len);
		if (rc == 1)
			ok |= len > 0 && off < fsize && len <= fsize - off ? 0 : 1024;
		else
			ok |= rc == 0 || rc == RP_ERANGE ? 0 : 1024;
	}
	if (ok)
		__builtin_trap();
	return 0;
}
