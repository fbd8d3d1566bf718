/* Strict decoders for the API's request bodies (consume known keys, refuse
 * the rest, check each value before it reaches the model). */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/num.h"
#include "format/manifest.h"
#include "service/api.h"

/* Parse buf (at most cap bytes) as one object with only `keys`. *out
 * owned by the caller. */
static int object_cap(const uint8_t *buf, size_t len, size_t cap,
		      const char *const *keys, json_t **out, struct rp_err *e)
{
	json_t *v = NULL;
	int rc;

	rc = rp_json_parse(buf, len, cap, &v, e);
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

static int object(const uint8_t *buf, size_t len, const char *const *keys,
		  json_t **out, struct rp_err *e)
{
	return object_cap(buf, len, RP_API_BODY_MAX, keys, out, e);
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

/* ---- check-in ---------------------------------------------------------- */

static int version_text(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > RP_VERSION_TEXT_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* A required or optional member of obj; path is "<prefix>.<key>". */
static json_t *member(json_t *obj, const char *key, int required, const char *prefix,
		      char *path, size_t cap, struct rp_err *e, int *rc)
{
	json_t *v = json_object_get(obj, key);

	snprintf(path, cap, "%s%s%s", prefix, prefix[0] ? "." : "", key);
	*rc = 0;
	if (!v && required)
		*rc = rp_err_set(e, RP_EFORMAT, "%s: missing", path);
	return v;
}

/* A GUID in either case, stored lower-case. */
static int guid_field(json_t *obj, const char *key, const char *prefix,
		      char out[RP_ID_LEN + 1], struct rp_err *e)
{
	char path[96];
	const char *t;
	uint8_t g[16];
	int rc;
	json_t *v = member(obj, key, 1, prefix, path, sizeof(path), e, &rc);

	if (rc)
		return rc;
	rc = rp_json_text(v, path, RP_ID_LEN, 0, &t, e);
	if (rc == RP_ERANGE)
		return rp_err_set(e, RP_EINVAL, "%s: not a GUID", path);
	if (rc)
		return rc;
	if (strlen(t) != RP_ID_LEN || rp_guid_parse(t, RP_ID_LEN, g))
		return rp_err_set(e, RP_EINVAL, "%s: not a GUID", path);
	rp_guid_format(g, out);
	return 0;
}

/* Version text [0-9A-Za-z.+~-], 1..32; optional ones may be absent. */
static int version_field(json_t *obj, const char *key, int required,
			 const char *prefix, char out[RP_VERSION_TEXT_MAX + 1],
			 struct rp_err *e)
{
	char path[96];
	int rc;
	json_t *v = member(obj, key, required, prefix, path, sizeof(path), e, &rc);

	out[0] = '\0';
	if (rc || !v)
		return rc;
	if (!json_is_string(v))
		return rp_json_type_err(e, path, "a string", v);
	if (!version_text(json_string_value(v), json_string_length(v)) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return rp_err_set(e, RP_EINVAL,
				  "%s: must be 1 to %d characters of [0-9A-Za-z.+~-]",
				  path, RP_VERSION_TEXT_MAX);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int uint_field(json_t *obj, const char *key, int required, const char *prefix,
		      uint64_t min, uint64_t max, uint64_t *out, struct rp_err *e)
{
	char path[96];
	int rc;
	json_t *v = member(obj, key, required, prefix, path, sizeof(path), e, &rc);

	*out = 0;
	if (rc || !v)
		return rc;
	rc = rp_json_uint(v, path, min, max, out, e);
	return rc ? (rc == RP_ERANGE ? RP_EINVAL : rc) : 0;
}

static int int_field(json_t *obj, const char *key, const char *prefix,
		     long long min, long long max, int64_t *out, struct rp_err *e)
{
	char path[96];
	long long x = 0;
	int rc;
	json_t *v = member(obj, key, 0, prefix, path, sizeof(path), e, &rc);

	*out = 0;
	if (!v)
		return 0;
	rc = rp_json_int(v, path, min, max, &x, e);
	if (rc)
		return rc == RP_ERANGE ? RP_EINVAL : rc;
	*out = (int64_t)x;
	return 0;
}

/* Text of at most max bytes without control characters (UTF-8 as jansson
 * checked it); ascii: printable ASCII only. Optional; "" when absent. */
static int text_field(json_t *obj, const char *key, const char *prefix, size_t max,
		      int ascii, char *out, struct rp_err *e)
{
	char path[96];
	const char *t;
	size_t i, n;
	int rc;
	json_t *v = member(obj, key, 0, prefix, path, sizeof(path), e, &rc);

	out[0] = '\0';
	if (!v)
		return 0;
	rc = rp_json_text(v, path, max, RP_JSON_EMPTY_OK, &t, e);
	if (rc)
		return rc == RP_ERANGE ? RP_EINVAL : rc;
	n = strlen(t);
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] == 0x7f ||
		    (ascii && ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)))
			return rp_err_set(e, RP_EINVAL, "%s: must be printable%s", path,
					  ascii ? " ASCII" : " text");
	memcpy(out, t, n + 1);
	return 0;
}

static int enum_field(json_t *obj, const char *key, const char *prefix,
		      const char *const *names, const char **out, struct rp_err *e)
{
	char path[96];
	size_t i;
	int rc;
	json_t *v = member(obj, key, 1, prefix, path, sizeof(path), e, &rc);

	if (rc)
		return rc;
	if (!json_is_string(v))
		return rp_json_type_err(e, path, "a string", v);
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == json_string_length(v) &&
		    strcmp(names[i], json_string_value(v)) == 0) {
			*out = names[i];
			return 0;
		}
	return rp_err_set(e, RP_EINVAL, "%s: unknown value", path);
}

/* An array member of at most max items; absent is an empty array. */
static int array_field(json_t *obj, const char *key, size_t max, json_t **out,
		       struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);

	*out = v;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return rp_json_type_err(e, key, "an array", v);
	if (json_array_size(v) > max)
		return rp_err_set(e, RP_EINVAL, "%s: at most %zu entries", key, max);
	return 0;
}

static int decode_installed(json_t *v, size_t i, struct rp_api_installed *out,
			    struct rp_err *e)
{
	static const char *const keys[] = { "component_id", "image_id", "version",
		"security_version", "name", NULL };
	char prefix[48];
	uint64_t sv = 0;
	int rc;

	snprintf(prefix, sizeof(prefix), "installed[%zu]", i);
	if (!json_is_object(v))
		return rp_json_type_err(e, prefix, "an object", v);
	rc = rp_json_only_keys(v, keys, prefix, e);
	if (!rc)
		rc = guid_field(v, "component_id", prefix, out->component_id, e);
	if (!rc)
		rc = guid_field(v, "image_id", prefix, out->image_id, e);
	if (!rc)
		rc = version_field(v, "version", 1, prefix, out->version, e);
	if (!rc)
		rc = uint_field(v, "security_version", 1, prefix, 0, UINT32_MAX, &sv, e);
	if (!rc)
		rc = text_field(v, "name", prefix, RP_APP_NAME_MAX, 0, out->name, e);
	out->security_version = (uint32_t)sv;
	return rc;
}

static int decode_report(json_t *v, size_t i, struct rp_api_report *out,
			 struct rp_err *e)
{
	static const char *const keys[] = { "seq", "time", "component_id", "app_name",
		"event_type", "event_class", "exit_code", "signal", "description",
		"image_version", "security_version", NULL };
	static const char *const types[] = { "AppExit", "AppCrash", "AppStartFailed",
		NULL };
	static const char *const classes[] = { "Planned", "Unplanned", NULL };
	char prefix[48];
	uint64_t sv = 0;
	int rc;

	snprintf(prefix, sizeof(prefix), "error_reports[%zu]", i);
	if (!json_is_object(v))
		return rp_json_type_err(e, prefix, "an object", v);
	rc = rp_json_only_keys(v, keys, prefix, e);
	if (!rc)
		rc = uint_field(v, "seq", 1, prefix, 1, RP_JSON_INT_MAX, &out->seq, e);
	if (!rc)
		rc = uint_field(v, "time", 1, prefix, 0, RP_JSON_INT_MAX, &out->time, e);
	if (!rc)
		rc = guid_field(v, "component_id", prefix, out->component_id, e);
	if (!rc)
		rc = text_field(v, "app_name", prefix, RP_APP_NAME_MAX, 0, out->app_name, e);
	if (!rc)
		rc = enum_field(v, "event_type", prefix, types, &out->event_type, e);
	if (!rc)
		rc = enum_field(v, "event_class", prefix, classes, &out->event_class, e);
	if (!rc)
		rc = int_field(v, "exit_code", prefix, INT32_MIN, INT32_MAX, &out->exit_code, e);
	if (!rc)
		rc = int_field(v, "signal", prefix, 0, 255, &out->signal, e);
	if (!rc)
		rc = text_field(v, "description", prefix, RP_REPORT_DESC_MAX, 1,
				out->description, e);
	if (!rc)
		rc = version_field(v, "image_version", 0, prefix, out->image_version, e);
	if (!rc)
		rc = uint_field(v, "security_version", 0, prefix, 0, UINT32_MAX, &sv, e);
	out->security_version = (uint32_t)sv;
	return rc;
}

int rp_api_decode_checkin(const uint8_t *buf, size_t len,
			  struct rp_api_checkin_req *out, struct rp_err *e)
{
	static const char *const keys[] = { "runtime_version", "time", "targets_version",
		"installed", "error_reports", NULL };
	json_t *o = NULL, *arr, *v;
	size_t i;
	int rc;

	out->ninstalled = 0;
	out->nreports = 0;
	rc = object_cap(buf, len, RP_API_CHECKIN_MAX, keys, &o, e);
	if (rc)
		return rc;
	rc = version_field(o, "runtime_version", 1, "", out->runtime_version, e);
	if (!rc)
		rc = uint_field(o, "time", 1, "", 0, RP_JSON_INT_MAX, &out->time, e);
	if (!rc)
		rc = uint_field(o, "targets_version", 1, "", 0, RP_JSON_INT_MAX,
				&out->targets_version, e);
	if (!rc)
		rc = array_field(o, "installed", RP_CHECKIN_INSTALLED_MAX, &arr, e);
	if (!rc && arr)
		json_array_foreach(arr, i, v) {
			rc = decode_installed(v, i, &out->installed[i], e);
			if (rc)
				break;
			out->ninstalled = i + 1;
		}
	if (!rc)
		rc = array_field(o, "error_reports", RP_CHECKIN_REPORTS_MAX, &arr, e);
	if (!rc && arr)
		json_array_foreach(arr, i, v) {
			rc = decode_report(v, i, &out->reports[i], e);
			if (rc)
				break;
			out->nreports = i + 1;
		}
	if (rc) {
		out->ninstalled = 0;
		out->nreports = 0;
	}
	json_decref(o);
	return rc;
}

int rp_api_decode_device_group(const uint8_t *buf, size_t len,
			       struct rp_api_device_group_req *out,
			       struct rp_err *e)
{
	static const char *const keys[] = { "product", "device_group", NULL };
	json_t *o = NULL;
	int rc;

	rc = object(buf, len, keys, &o, e);
	if (rc)
		return rc;
	rc = opt_id(o, "product", out->product, e);
	if (!rc)
		rc = opt_id(o, "device_group", out->device_group, e);
	if (!rc && !out->device_group[0])
		rc = rp_err_set(e, RP_EFORMAT, "device_group: missing");
	json_decref(o);
	return rc;
}

/* ---- error report query -------------------------------------------------- */

static int query_value(const char *key, const char *v, size_t n,
		       struct rp_api_report_query *out, struct rp_err *e)
{
	char buf[RP_DEVICE_ID_HEX];
	uint64_t x;
	size_t i;

	if (n >= sizeof(buf))
		return rp_err_set(e, RP_EINVAL, "%s: too long", key);
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (strcmp(key, "product") == 0 || strcmp(key, "device_group") == 0) {
		if (!rp_model_is_id(buf))
			return rp_err_set(e, RP_EINVAL, "%s: not an id", key);
		memcpy(key[0] == 'p' ? out->product : out->device_group, buf, n + 1);
		return 0;
	}
	if (strcmp(key, "device") == 0) {
		if (n != RP_DEVICE_ID_HEX - 1)
			return rp_err_set(e, RP_EINVAL, "device: must be 64 hex digits");
		for (i = 0; i < n; i++) {
			char c = buf[i];

			if (c >= 'A' && c <= 'F')
				c = (char)(c - 'A' + 'a');
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return rp_err_set(e, RP_EINVAL, "device: must be 64 hex digits");
			out->device[i] = c;
		}
		out->device[n] = '\0';
		return 0;
	}
	if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		if (rp_parse_u64(buf, n, (uint64_t)RP_JSON_INT_MAX, &x))
			return rp_err_set(e, RP_EINVAL, "%s: must be Unix seconds", key);
		if (key[0] == 's')
			out->since = (int64_t)x;
		else
			out->until = (int64_t)x;
		return 0;
	}
	if (strcmp(key, "format") == 0) {
		if (strcmp(buf, "csv") == 0)
			out->csv = 1;
		else if (strcmp(buf, "json") != 0)
			return rp_err_set(e, RP_EINVAL, "format: must be csv or json");
		return 0;
	}
	return rp_err_set(e, RP_EINVAL, "%s: unknown query parameter", key);
}

int rp_api_decode_report_query(const char *q, struct rp_api_report_query *out,
			       struct rp_err *e)
{
	static const char *const names[] = { "product", "device_group", "device", "since",
		"until", "format", NULL };
	unsigned seen = 0;
	const char *p, *end;
	size_t len, i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->since = -1;
	out->until = -1;
	if (!q)
		return 0;
	len = strnlen(q, RP_API_QUERY_MAX + 1);
	if (len > RP_API_QUERY_MAX)
		return rp_err_set(e, RP_EINVAL, "query: over %d bytes", RP_API_QUERY_MAX);
	for (p = q; p < q + len; p = end + 1) {
		const char *eq;
		char key[16];
		size_t kl;

		end = memchr(p, '&', (size_t)(q + len - p));
		if (!end)
			end = q + len;
		eq = memchr(p, '=', (size_t)(end - p));
		if (end == p)
			return rp_err_set(e, RP_EINVAL, "query: empty parameter");
		if (!eq)
			return rp_err_set(e, RP_EINVAL, "query: parameter without a value");
		kl = (size_t)(eq - p);
		if (kl == 0 || kl >= sizeof(key))
			return rp_err_set(e, RP_EINVAL, "query: unknown parameter");
		memcpy(key, p, kl);
		key[kl] = '\0';
		for (i = 0; names[i] && strcmp(names[i], key) != 0; i++)
			;
		if (!names[i]) {
			/* Name it only if it is printable: it is echoed back. */
			for (i = 0; i < kl; i++)
				if (!((key[i] >= 'a' && key[i] <= 'z') || key[i] == '_'))
					return rp_err_set(e, RP_EINVAL, "query: unknown parameter");
			return rp_err_set(e, RP_EINVAL, "%s: unknown query parameter", key);
		}
		if (seen & (1u << i))
			return rp_err_set(e, RP_EINVAL, "%s: given twice", key);
		seen |= 1u << i;
		rc = query_value(key, eq + 1, (size_t)(end - eq - 1), out, e);
		if (rc)
			return rc;
		if (end == q + len)
			break;
	}
	if (out->since >= 0 && out->until >= 0 && out->until < out->since)
		return rp_err_set(e, RP_EINVAL, "until: before since");
	return 0;
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
