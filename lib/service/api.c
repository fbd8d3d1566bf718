/* Strict decoders for the API's request bodies (consume known keys, refuse
 * the rest, check each value before it reaches the model). */
#include <string.h>

#include "base/json.h"
#include "base/num.h"
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

/* An optional id field: "" or a canonical GUID. */
static int opt_id(json_t *o, const char *key, char out[RP_ID_LEN + 1],
		  struct rp_err *e)
{
	int rc = string(o, key, 0, out, RP_ID_LEN + 1, e);

	if (rc == 0 && out[0] && !rp_model_is_id(out))
		rc = rp_err_set(e, RP_EINVAL, "%s: not an id", key);
	return rc;
}

int rp_api_decode_claim(const uint8_t *buf, size_t len,
			struct rp_api_claim_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "device_id", "product", "device_group", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "device_id", 1, out->device_id, sizeof(out->device_id), e);
	if (rc == 0 && strlen(out->device_id) != RP_DEVICE_ID_HEX - 1)
		rc = rp_err_set(e, RP_EINVAL, "device_id: must be 64 hex digits");
	if (rc == 0)
		rc = opt_id(o, "product", out->product, e);
	if (rc == 0)
		rc = opt_id(o, "device_group", out->device_group, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_enroll_token(const uint8_t *buf, size_t len,
			       struct rp_api_enroll_token_req *out,
			       struct rp_err *e)
{
	static const char *const keys[] = { "product", "device_group", "expires_in", NULL };
	json_t *o = NULL, *v;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = opt_id(o, "product", out->product, e);
	if (rc == 0)
		rc = opt_id(o, "device_group", out->device_group, e);
	out->expires_in = 3600;
	v = json_object_get(o, "expires_in");
	if (rc == 0 && v) {
		if (!json_is_integer(v))
			rc = rp_err_set(e, RP_EFORMAT, "expires_in: must be an integer");
		else if (json_integer_value(v) < 1 || json_integer_value(v) > 30 * 86400)
			rc = rp_err_set(e, RP_EINVAL, "expires_in: must be 1 to %d seconds",
					30 * 86400);
		else
			out->expires_in = (int64_t)json_integer_value(v);
	}
	json_decref(o);
	return rc;
}

/* The csr field: PEM text, at most RP_CSR_PEM_MAX bytes. */
static int csr_field(json_t *o, char *out, size_t cap, size_t *len, struct rp_err *e)
{
	int rc = string(o, "csr", 1, out, cap, e);

	*len = rc ? 0 : strlen(out);
	if (rc == 0 && *len == 0)
		rc = rp_err_set(e, RP_EINVAL, "csr: empty");
	return rc;
}

int rp_api_decode_enroll(const uint8_t *buf, size_t len,
			 struct rp_api_enroll_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "token", "csr", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "token", 1, out->token, sizeof(out->token), e);
	if (rc == 0)
		rc = csr_field(o, out->csr, sizeof(out->csr), &out->csr_len, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_cert(const uint8_t *buf, size_t len,
		       struct rp_api_cert_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "tenant", "csr", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "tenant", 1, out->tenant, sizeof(out->tenant), e);
	if (rc == 0)
		rc = csr_field(o, out->csr, sizeof(out->csr), &out->csr_len, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_empty(const uint8_t *buf, size_t len, struct rp_err *e)
{
	static const char *const keys[] = { NULL };
	json_t *o = NULL;
	int rc;

	if (len == 0)
		return 0;
	rc = object(buf, len, keys, &o, e);
	json_decref(o);
	return rc;
}

int rp_api_decode_signing_key(const uint8_t *buf, size_t len,
			      struct rp_api_signing_key_req *out,
			      struct rp_err *e)
{
	static const char *const keys[] = { "public_key", NULL };
	json_t *o = NULL;
	int rc;

	out->len = 0;
	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = string(o, "public_key", 1, out->public_key, sizeof(out->public_key), e);
	if (rc == 0)
		out->len = strlen(out->public_key);
	if (rc == 0 && out->len == 0)
		rc = rp_err_set(e, RP_EINVAL, "public_key: empty");
	json_decref(o);
	return rc;
}

int rp_api_decode_deployment(const uint8_t *buf, size_t len,
			     struct rp_api_deployment_req *out,
			     struct rp_err *e)
{
	static const char *const keys[] = { "images", NULL };
	json_t *o = NULL, *arr, *v;
	size_t i, j;
	int rc;

	out->n = 0;
	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	arr = json_object_get(o, "images");
	if (!arr) {
		rc = rp_err_set(e, RP_EFORMAT, "images: missing");
		goto out;
	}
	if (!json_is_array(arr)) {
		rc = rp_err_set(e, RP_EFORMAT, "images: must be an array, not %s",
				rp_json_type_name(arr));
		goto out;
	}
	if (json_array_size(arr) > RP_API_DEPLOY_IMAGES_MAX) {
		rc = rp_err_set(e, RP_EINVAL, "images: at most %d",
				RP_API_DEPLOY_IMAGES_MAX);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) != RP_ID_LEN ||
		    !rp_model_is_id(json_string_value(v))) {
			rc = rp_err_set(e, RP_EINVAL, "images[%zu]: not an id", i);
			goto out;
		}
		memcpy(out->images[i], json_string_value(v), RP_ID_LEN + 1);
		for (j = 0; j < i; j++)
			if (strcmp(out->images[j], out->images[i]) == 0) {
				rc = rp_err_set(e, RP_EINVAL, "images[%zu]: repeated", i);
				goto out;
			}
		out->n = i + 1;
	}
out:
	if (rc)
		out->n = 0;
	json_decref(o);
	return rc;
}

/* Digits only, no sign or space; at most 19 of them (fits in 63 bits). */
static int range_num(const char *s, size_t n, uint64_t *out)
{
	size_t i;

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return rp_parse_u64(s, n, UINT64_MAX / 2, out) ? -1 : 0;
}

int rp_api_range(const char *hdr, uint64_t size, uint64_t *off, uint64_t *len)
{
	const char *spec, *dash;
	uint64_t a, b;
	size_t n;

	if (!hdr || strncmp(hdr, "bytes=", 6) != 0)
		return 0;
	spec = hdr + 6;
	n = strlen(spec);
	dash = memchr(spec, '-', n);
	if (!dash || memchr(spec, ',', n))
		return 0; /* malformed or several ranges: the whole file */
	if (dash == spec) {
		/* "-n": the last n bytes */
		if (range_num(dash + 1, n - 1, &b))
			return 0;
		if (b == 0 || size == 0)
			return RP_ERANGE;
		*len = b < size ? b : size;
		*off = size - *len;
		return 1;
	}
	if (range_num(spec, (size_t)(dash - spec), &a))
		return 0;
	if (dash[1] == '\0') {
		b = UINT64_MAX / 2;
	} else if (range_num(dash + 1, n - (size_t)(dash - spec) - 1, &b) || b < a) {
		return 0;
	}
	if (a >= size)
		return RP_ERANGE;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}
