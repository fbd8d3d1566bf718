/* The API's routes: decode the body, call the model, hand back JSON. */
#include <errno.h>

#include "service/api.h"
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

const struct route rp_routes[] = {
	{ "GET", "/v1/health", 0, health },
	{ "POST", "/v1/tenants", 1, tenant_create },
	{ "GET", "/v1/tenants", 1, tenant_list },
	{ "GET", "/v1/tenants/{tenant}", 1, tenant_get },
	{ "POST", "/v1/tenants/{tenant}/products", 1, product_create },
	{ "GET", "/v1/tenants/{tenant}/products", 1, product_list },
	{ "GET", "/v1/tenants/{tenant}/products/{product}", 1, product_get },
	{ "GET", "/v1/tenants/{tenant}/products/{product}/device-groups", 1, group_list },
	{ "POST", "/v1/tenants/{tenant}/roles", 1, role_set },
	{ "GET", "/v1/tenants/{tenant}/roles", 1, role_list },
	{ "DELETE", "/v1/tenants/{tenant}/roles/{user}", 1, role_remove },
	{ "POST", "/v1/tenants/{tenant}/tokens", 1, token_create },
	{ "GET", "/v1/tenants/{tenant}/audit", 1, audit_list },
};

const size_t rp_routes_count = sizeof(rp_routes) / sizeof(rp_routes[0]);
