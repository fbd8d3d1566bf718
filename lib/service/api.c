/* Strict decoders for the API's request bodies (consume known keys, refuse
 * the rest, check each value before it reaches the model). */
#include <string.h>

#include "base/json.h"
#include "service/api.h"

/* Parse buf as one object with only `keys`. *out owned by the caller. */
static int object(const uint8_t *buf, size_t len, const char *const *keys,
		  json_t **out, struct rp_err *e)
{
	json_t *v = NULL;
	int rc;

	rc = rp_json_parse(buf, len, RP_API_BODY_MAX, &v, e);
	if (rc)
		return rp_err_prefix(e, "body");
	if (!json_is_object(v)) {
		rc = rp_err_set(e, RP_EFORMAT, "body: must be a JSON object, not %s",
				rp_json_type_name(v));
		json_decref(v);
		return rc;
	}
	rc = rp_json_only_keys(v, keys, "", e);
	if (rc) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Copy string field key into out (cap bytes with the NUL). */
static int string(json_t *obj, const char *key, int required, char *out,
		  size_t cap, struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);
	size_t n;

	out[0] = '\0';
	if (!v) {
		if (required)
			return rp_err_set(e, RP_EFORMAT, "%s: missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "%s: must be a string, not %s", key,
				  rp_json_type_name(v));
	n = json_string_length(v);
	if (n >= cap)
		return rp_err_set(e, RP_EINVAL, "%s: at most %zu bytes", key, cap - 1);
	if (memchr(json_string_value(v), '\0', n))
		return rp_err_set(e, RP_EINVAL, "%s: contains a NUL", key);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

int rp_api_decode_tenant(const uint8_t *buf, size_t len,
			 struct rp_api_tenant_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "name", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "name", 1, out->name, sizeof(out->name), e);
	if (rc == 0)
		rc = rp_model_check_name("name", out->name, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_product(const uint8_t *buf, size_t len,
			  struct rp_api_product_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "name", "description", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "name", 1, out->name, sizeof(out->name), e);
	if (rc == 0)
		rc = rp_model_check_name("name", out->name, e);
	if (rc == 0)
		rc = string(o, "description", 0, out->description,
			    sizeof(out->description), e);
	if (rc == 0)
		rc = rp_model_check_desc("description", out->description, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_role(const uint8_t *buf, size_t len,
		       struct rp_api_role_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "user", "role", NULL };
	char role[16];
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "user", 1, out->user, sizeof(out->user), e);
	if (rc == 0)
		rc = rp_model_check_user("user", out->user, e);
	if (rc == 0)
		rc = string(o, "role", 1, role, sizeof(role), e);
	if (rc == 0 && rp_role_parse(role, &out->role))
		rc = rp_err_set(e, RP_EINVAL,
				"role: must be Administrator, Contributor or Reader");
	json_decref(o);
	return rc;
}

int rp_api_decode_token(const uint8_t *buf, size_t len,
			struct rp_api_token_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "user", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "user", 1, out->user, sizeof(out->user), e);
	if (rc == 0)
		rc = rp_model_check_user("user", out->user, e);
	json_decref(o);
	return rc;
}
