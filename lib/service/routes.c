/* The API's routes: decode the body, call the model, hand back JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"

#include "service/api.h"
#include "service/device.h"
#include "service/identity.h"
#include "service/images.h"
#include "service/http_priv.h"

static int health(struct call *c)
{
	c->result = json_pack("{s:s}", "status", "ok");
	return c->result ? 0 : rp_err_set(&c->e, RP_ENOMEM, "out of memory");
}

static int tenant_create(struct call *c)
{
	struct rp_api_tenant_req r;
	int rc = rp_api_decode_tenant(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_model_tenant_create(c->model, c->who, r.name, &c->result, &c->e);
}

static int tenant_list(struct call *c)
{
	return rp_model_tenant_list(c->model, c->who, &c->result, &c->e);
}

static int tenant_get(struct call *c)
{
	return rp_model_tenant_get(c->model, c->who, c->param[0], &c->result, &c->e);
}

static int product_create(struct call *c)
{
	struct rp_api_product_req r;
	int rc = rp_api_decode_product(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_model_product_create(c->model, c->who, c->param[0], r.name,
				       r.description, &c->result, &c->e);
}

static int product_list(struct call *c)
{
	return rp_model_product_list(c->model, c->who, c->param[0], &c->result, &c->e);
}

static int product_get(struct call *c)
{
	return rp_model_product_get(c->model, c->who, c->param[0], c->param[1],
				    &c->result, &c->e);
}

static int group_list(struct call *c)
{
	return rp_model_group_list(c->model, c->who, c->param[0], c->param[1],
				   &c->result, &c->e);
}

static int role_set(struct call *c)
{
	struct rp_api_role_req r;
	int rc = rp_api_decode_role(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	return rp_model_role_set(c->model, c->who, c->param[0], r.user, r.role,
				 &c->result, &c->e);
}

static int role_list(struct call *c)
{
	return rp_model_role_list(c->model, c->who, c->param[0], &c->result, &c->e);
}

static int role_remove(struct call *c)
{
	int rc = rp_model_role_remove(c->model, c->who, c->param[0], c->param[1], &c->e);

	if (rc)
		return rc;
	c->result = json_pack("{s:s}", "removed", c->param[1]);
	return c->result ? 0 : rp_err_set(&c->e, RP_ENOMEM, "out of memory");
}

static int token_create(struct call *c)
{
	struct rp_api_token_req r;
	int rc = rp_api_decode_token(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_model_token_create(c->model, c->who, c->param[0], r.user,
				     &c->result, &c->e);
}

static int audit_list(struct call *c)
{
	return rp_model_audit_list(c->model, c->who, c->param[0], &c->result, &c->e);
}

/* Answer with pem as the raw body when the client asked for PEM
 * (Accept: application/x-pem-file); otherwise drop it (the JSON result
 * already carries it). Takes ownership of pem. Returns 1 if it answered
 * with PEM, 0 if not. */
static int answer_pem(struct call *c, struct rp_buf *pem)
{
	if (c->want_pem) {
		rp_buf_free(&c->raw);
		c->raw = *pem;
		c->raw_type = "application/x-pem-file";
		return 1;
	}
	rp_buf_free(pem);
	return 0;
}

static int ca_certs(struct call *c)
{
	struct rp_buf pem;
	int rc = rp_identity_ca_certs(c->model, c->who, c->param[0], &c->result,
				      &pem, &c->e);

	if (rc)
		return rc;
	(void)answer_pem(c, &pem);
	return 0;
}

static int crl(struct call *c)
{
	struct rp_buf pem;
	int rc = rp_identity_crl(c->model, c->who, c->param[0], &pem, &c->e);

	if (rc)
		return rc;
	if (!c->want_pem)
		c->result = json_pack("{s:s%}", "pem",
				      pem.data ? (const char *)pem.data : "", pem.len);
	if (answer_pem(c, &pem))
		return 0;
	return c->result ? 0 : rp_err_set(&c->e, RP_ENOMEM, "out of memory");
}

static int device_claim(struct call *c)
{
	struct rp_api_claim_req r;
	int rc = rp_api_decode_claim(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_identity_claim(c->model, c->who, c->param[0], r.device_id, r.product,
				 r.device_group, &c->result, &c->e);
}

static int device_list(struct call *c)
{
	return rp_identity_device_list(c->model, c->who, c->param[0], &c->result, &c->e);
}

static int device_get(struct call *c)
{
	return rp_identity_device_get(c->model, c->who, c->param[0], c->param[1],
				      &c->result, &c->e);
}

static int device_revoke(struct call *c)
{
	int rc = rp_api_decode_empty(c->body, c->body_len, &c->e);

	if (rc)
		return rc;
	return rp_identity_device_revoke(c->model, c->who, c->param[0], c->param[1],
					 &c->result, &c->e);
}

static int enroll_token_create(struct call *c)
{
	struct rp_api_enroll_token_req r;
	int rc = rp_api_decode_enroll_token(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_identity_enroll_token_create(c->model, c->who, c->param[0], r.product,
					       r.device_group, r.expires_in,
					       &c->result, &c->e);
}

static int device_enroll(struct call *c)
{
	struct rp_api_enroll_req r;
	int rc = rp_api_decode_enroll(c->body, c->body_len, &r, &c->e);

	if (rc == 0) {
		c->status = 201;
		rc = rp_identity_enroll(c->model, r.token, (const uint8_t *)r.csr,
					r.csr_len, &c->result, &c->e);
	}
	rp_wipe(r.token, sizeof(r.token));
	return rc;
}

static int device_certificate(struct call *c)
{
	struct rp_api_cert_req r;
	int rc = rp_api_decode_cert(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_identity_certificate(c->model, r.tenant, (const uint8_t *)r.csr,
				       r.csr_len, &c->result, &c->e);
}

static int signing_key_add(struct call *c)
{
	struct rp_api_signing_key_req r;
	int rc = rp_api_decode_signing_key(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_images_key_add(c->model, c->who, c->param[0], c->param[1],
				 r.public_key, r.len, &c->result, &c->e);
}

static int signing_key_list(struct call *c)
{
	return rp_images_key_list(c->model, c->who, c->param[0], c->param[1],
				  &c->result, &c->e);
}

static int image_key(struct call *c)
{
	struct rp_buf pem;
	int rc = rp_images_production_key(c->model, c->who, c->param[0], &c->result,
					  &pem, &c->e);

	if (rc)
		return rc;
	(void)answer_pem(c, &pem);
	return 0;
}

static int image_upload(struct call *c)
{
	c->status = 201;
	return rp_images_upload(c->model, c->who, c->param[0], c->param[1], c->body,
				c->body_len, &c->result, &c->e);
}

static int image_list(struct call *c)
{
	return rp_images_list(c->model, c->who, c->param[0], &c->result, &c->e);
}

static int image_get(struct call *c)
{
	return rp_images_get(c->model, c->who, c->param[0], c->param[1], &c->result,
			     &c->e);
}

static int image_content(struct call *c)
{
	char sha[65];
	int rc = rp_images_open(c->model, c->who, c->param[0], c->param[1], &c->file_fd,
				&c->file_size, sha, &c->e);

	if (rc == 0)
		snprintf(c->etag, sizeof(c->etag), "\"%s\"", sha);
	return rc;
}

static int deployment_create(struct call *c)
{
	struct rp_api_deployment_req r;
	int rc = rp_api_decode_deployment(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	c->status = 201;
	return rp_images_deploy(c->model, c->who, c->param[0], c->param[1], c->param[2],
				(const char (*)[RP_ID_LEN + 1])r.images, r.n, &c->result,
				&c->e);
}

static int deployment_list(struct call *c)
{
	return rp_images_deployments(c->model, c->who, c->param[0], c->param[1],
				     c->param[2], &c->result, &c->e);
}

/* ---- devices (client certificate) ---------------------------------------- */

static int device_checkin(struct call *c)
{
	struct rp_api_checkin_req *r = malloc(sizeof(*r));
	int rc;

	if (!r)
		return rp_err_set(&c->e, RP_ENOMEM, "out of memory");
	rc = rp_api_decode_checkin(c->body, c->body_len, r, &c->e);
	if (rc == 0)
		rc = rp_device_checkin(c->model, c->dev, r, &c->result, &c->e);
	free(r);
	return rc;
}

static int device_targets_key(struct call *c)
{
	struct rp_buf pem;
	int rc = rp_device_targets_key(c->model, c->dev, &c->result, &pem, &c->e);

	if (rc)
		return rc;
	(void)answer_pem(c, &pem);
	return 0;
}

static int device_image_content(struct call *c)
{
	char sha[65];
	int rc = rp_device_image_open(c->model, c->dev, c->param[0], &c->file_fd,
				      &c->file_size, sha, &c->e);

	if (rc == 0)
		snprintf(c->etag, sizeof(c->etag), "\"%s\"", sha);
	return rc;
}

/* ---- operators: targets key, placement, error reports --------------------- */

static int tenant_targets_key(struct call *c)
{
	struct rp_buf pem;
	int rc = rp_tenant_targets_key(c->model, c->who, c->param[0], &c->result, &pem,
				       &c->e);

	if (rc)
		return rc;
	(void)answer_pem(c, &pem);
	return 0;
}

static int device_group_set(struct call *c)
{
	struct rp_api_device_group_req r;
	int rc = rp_api_decode_device_group(c->body, c->body_len, &r, &c->e);

	if (rc)
		return rc;
	return rp_device_set_group(c->model, c->who, c->param[0], c->param[1], r.product,
				   r.device_group, &c->result, &c->e);
}

static int error_reports(struct call *c)
{
	struct rp_api_report_query q;
	struct rp_buf csv;
	int rc = rp_api_decode_report_query(c->query, &q, &c->e);

	if (rc)
		return rc;
	q.csv = q.csv || c->want_csv;
	rc = rp_reports_list(c->model, c->who, c->param[0], &q, &c->result, &csv, &c->e);
	if (rc)
		return rc;
	if (q.csv) {
		rp_buf_free(&c->raw);
		c->raw = csv;
		c->raw_type = "text/csv; charset=us-ascii";
	} else {
		rp_buf_free(&csv);
	}
	return 0;
}

const struct route rp_routes[] = {
	{ "GET", "/v1/health", AUTH_NONE, health, 0, 0 },
	{ "POST", "/v1/tenants", AUTH_TOKEN, tenant_create, 0, 0 },
	{ "GET", "/v1/tenants", AUTH_TOKEN, tenant_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}", AUTH_TOKEN, tenant_get, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/products", AUTH_TOKEN, product_create, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/products", AUTH_TOKEN, product_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/products/{product}", AUTH_TOKEN, product_get, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/products/{product}/device-groups", AUTH_TOKEN, group_list, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/roles", AUTH_TOKEN, role_set, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/roles", AUTH_TOKEN, role_list, 0, 0 },
	{ "DELETE", "/v1/tenants/{tenant}/roles/{user}", AUTH_TOKEN, role_remove, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/tokens", AUTH_TOKEN, token_create, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/audit", AUTH_TOKEN, audit_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/ca-certificates", AUTH_TOKEN, ca_certs, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/crl", AUTH_TOKEN, crl, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/devices/claim", AUTH_TOKEN, device_claim, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/devices", AUTH_TOKEN, device_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/devices/{device}", AUTH_TOKEN, device_get, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/devices/{device}/revoke", AUTH_TOKEN, device_revoke, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/enrollment-tokens", AUTH_TOKEN, enroll_token_create, 0, 0 },
	{ "POST", "/v1/device/enroll", AUTH_NONE, device_enroll, 0, 0 },
	{ "POST", "/v1/device/certificate", AUTH_NONE, device_certificate, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/products/{product}/signing-keys", AUTH_TOKEN,
	  signing_key_add, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/products/{product}/signing-keys", AUTH_TOKEN,
	  signing_key_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/image-key", AUTH_TOKEN, image_key, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/products/{product}/images", AUTH_TOKEN, image_upload, 1, 0 },
	{ "GET", "/v1/tenants/{tenant}/images", AUTH_TOKEN, image_list, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/images/{image}", AUTH_TOKEN, image_get, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/images/{image}/content", AUTH_TOKEN, image_content, 0, 0 },
	{ "POST", "/v1/tenants/{tenant}/products/{product}/device-groups/{group}/deployments",
	  AUTH_TOKEN, deployment_create, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/products/{product}/device-groups/{group}/deployments",
	  AUTH_TOKEN, deployment_list, 0, 0 },
	{ "POST", "/v1/device/checkin", AUTH_DEVICE, device_checkin, 0,
	  RP_API_CHECKIN_MAX },
	{ "GET", "/v1/device/targets-key", AUTH_DEVICE, device_targets_key, 0, 0 },
	{ "GET", "/v1/device/images/{image}/content", AUTH_DEVICE, device_image_content, 0, 0 },
	{ "GET", "/v1/tenants/{tenant}/targets-key", AUTH_TOKEN, tenant_targets_key, 0, 0 },
	{ "PUT", "/v1/tenants/{tenant}/devices/{device}/device-group", AUTH_TOKEN, device_group_set,
	  0, 0 },
	{ "GET", "/v1/tenants/{tenant}/error-reports", AUTH_TOKEN, error_reports, 0, 0 },
};

const size_t rp_routes_count = sizeof(rp_routes) / sizeof(rp_routes[0]);
