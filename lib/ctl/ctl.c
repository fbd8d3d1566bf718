#include "ctl/ctl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "format/manifest.h"

/* Which optional keys each operation takes. */
enum {
	K_COMPONENT = 1 << 0,
	K_ALL = 1 << 1,
	K_LINES = 1 << 2,
	K_TRUST = 1 << 3,
	K_CLOUD = 1 << 4, /* url, tenant, server_ca, [enroll_token] */
};

static const struct {
	enum rp_ctl_op op;
	const char *name;
	unsigned keys;
} ops[] = {
	{ RP_CTL_SHOW, "show", 0 },
	{ RP_CTL_ENABLE_DEV, "enable-development", K_TRUST },
	{ RP_CTL_ENABLE_CLOUD_TEST, "enable-cloud-test", 0 },
	{ RP_CTL_DEPLOY, "sideload-deploy", 0 },
	{ RP_CTL_DELETE, "sideload-delete", K_COMPONENT | K_ALL },
	{ RP_CTL_APP_LIST, "app-list", 0 },
	{ RP_CTL_APP_STATUS, "app-status", K_COMPONENT },
	{ RP_CTL_APP_START, "app-start", K_COMPONENT },
	{ RP_CTL_APP_STOP, "app-stop", K_COMPONENT },
	{ RP_CTL_APP_LOGS, "app-logs", K_COMPONENT | K_LINES },
	{ RP_CTL_ERROR_REPORT, "error-report", 0 },
	{ RP_CTL_CLOUD_SETUP, "cloud-setup", K_CLOUD },
	{ RP_CTL_CLOUD_STATUS, "cloud-status", 0 },
	{ RP_CTL_CHECK_UPDATES, "check-for-updates", 0 },
};

/* The cloud-setup text fields: key, offset, capacity. */
static const struct {
	const char *key;
	size_t off, cap;
	int optional;
} cloud_keys[] = {
	{ "url", offsetof(struct rp_ctl_req, url), RP_CTL_URL_MAX + 1, 0 },
	{ "tenant", offsetof(struct rp_ctl_req, tenant), RP_CTL_TENANT_MAX + 1, 0 },
	{ "server_ca", offsetof(struct rp_ctl_req, server_ca), RP_CTL_CA_MAX + 1, 0 },
	{ "enroll_token", offsetof(struct rp_ctl_req, enroll_token),
	  RP_CTL_TOKEN_MAX + 1, 1 },
};

#define NCLOUD (sizeof(cloud_keys) / sizeof(cloud_keys[0]))

static const char *cloud_field(const struct rp_ctl_req *r, size_t i)
{
	return (const char *)r + cloud_keys[i].off;
}

#define NOPS (sizeof(ops) / sizeof(ops[0]))

const char *rp_ctl_op_name(enum rp_ctl_op op)
{
	size_t i;

	for (i = 0; i < NOPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return NULL;
}

static unsigned op_keys(enum rp_ctl_op op)
{
	size_t i;

	for (i = 0; i < NOPS; i++)
		if (ops[i].op == op)
			return ops[i].keys;
	return 0;
}

void rp_ctl_req_init(struct rp_ctl_req *r, enum rp_ctl_op op)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->lines = RP_CTL_LINES_DEFAULT;
}

/* The semantic rules shared by encode and decode. */
static int check_req(const struct rp_ctl_req *r, int code, struct rp_err *e)
{
	if (r->op == RP_CTL_DELETE && r->has_component == r->all)
		return rp_err_set(e, code, "sideload-delete: give exactly one of "
				  "component_id and all");
	if (r->op == RP_CTL_CLOUD_SETUP) {
		size_t i;

		for (i = 0; i < NCLOUD; i++) {
			const char *v = cloud_field(r, i);

			if (!memchr(v, '\0', cloud_keys[i].cap))
				return rp_err_set(e, code, "%s: not terminated",
						  cloud_keys[i].key);
			if (!cloud_keys[i].optional && !v[0])
				return rp_err_set(e, code, "cloud-setup: %s is required",
						  cloud_keys[i].key);
		}
	}
	if (r->lines < 1 || r->lines > RP_CTL_LINES_MAX)
		return rp_err_set(e, code, "lines: must be from 1 to %u",
				  RP_CTL_LINES_MAX);
	return 0;
}

int rp_ctl_req_encode(const struct rp_ctl_req *r, struct rp_buf *out,
		      struct rp_err *e)
{
	const char *name = rp_ctl_op_name(r->op);
	unsigned keys = op_keys(r->op);
	json_t *o = NULL;
	char *text = NULL;
	int rc;

	rp_buf_init(out, RP_CTL_REQ_MAX);
	if (!name) {
		rc = rp_err_set(e, RP_EUSAGE, "unknown operation %d", (int)r->op);
		goto out;
	}
	if ((rc = check_req(r, RP_EUSAGE, e)))
		goto out;
	if (memchr(r->trust_key, '\0', sizeof(r->trust_key)) == NULL) {
		rc = rp_err_set(e, RP_EUSAGE, "trust_key: not terminated");
		goto out;
	}
	o = json_object();
	if (!o || json_object_set_new(o, "v", json_integer(RP_CTL_VERSION)) ||
	    json_object_set_new(o, "op", json_string(name)))
		goto nomem;
	if ((keys & K_COMPONENT) && r->has_component) {
		char t[37];

		rp_guid_format(r->component_id, t);
		if (json_object_set_new(o, "component_id", json_string(t)))
			goto nomem;
	}
	if ((keys & K_ALL) && r->all &&
	    json_object_set_new(o, "all", json_true()))
		goto nomem;
	if ((keys & K_LINES) &&
	    json_object_set_new(o, "lines", json_integer((json_int_t)r->lines)))
		goto nomem;
	if ((keys & K_TRUST) && r->trust_key[0] &&
	    json_object_set_new(o, "trust_key", json_string(r->trust_key)))
		goto nomem;
	if (keys & K_CLOUD) {
		size_t i;

		for (i = 0; i < NCLOUD; i++)
			if (cloud_field(r, i)[0] &&
			    json_object_set_new(o, cloud_keys[i].key,
						json_string(cloud_field(r, i))))
				goto nomem;
	}
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto nomem;
	rc = rp_buf_append(out, text, strlen(text));
	if (rc) {
		rp_err_set(e, rc, "request is over %d bytes", RP_CTL_REQ_MAX);
		goto out;
	}
	goto out;
nomem:
	rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(o);
	if (rc)
		rp_buf_free(out);
	return rc;
}

static int get_version(json_t *o, struct rp_err *e)
{
	json_t *v = json_object_get(o, "v");

	if (!v)
		return rp_err_set(e, RP_EFORMAT, "v: missing");
	if (!json_is_integer(v) || json_integer_value(v) != RP_CTL_VERSION)
		return rp_err_set(e, RP_EFORMAT, "v: protocol version %d is required",
				  RP_CTL_VERSION);
	return 0;
}

static int get_guid(json_t *v, const char *key, uint8_t id[16], char text[37],
		    struct rp_err *e)
{
	const char *s;

	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "%s: must be a string", key);
	s = json_string_value(v);
	if (rp_guid_parse(s, json_string_length(v), id))
		return rp_err_set(e, RP_EFORMAT, "%s: not a GUID (8-4-4-4-12 hex digits)",
				  key);
	if (text)
		rp_guid_format(id, text);
	return 0;
}

int rp_ctl_req_decode(const uint8_t *buf, size_t len, struct rp_ctl_req *r,
		      struct rp_err *e)
{
	static const char *const allowed[] = {
		"v", "op", "component_id", "all", "lines", "trust_key", "url",
		"tenant", "server_ca", "enroll_token", NULL,
	};
	json_t *o = NULL, *v;
	const char *name;
	unsigned keys = 0;
	size_t i;
	int rc;

	rp_ctl_req_init(r, RP_CTL_SHOW);
	if ((rc = rp_json_parse(buf, len, RP_CTL_REQ_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "a request must be a JSON object");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, allowed, "", e)) || (rc = get_version(o, e)))
		goto out;
	v = json_object_get(o, "op");
	if (!json_is_string(v)) {
		rc = rp_err_set(e, RP_EFORMAT, "op: %s",
				v ? "must be a string" : "missing");
		goto out;
	}
	name = json_string_value(v);
	for (i = 0; i < NOPS; i++)
		if (strcmp(ops[i].name, name) == 0)
			break;
	if (i == NOPS || strlen(name) != json_string_length(v)) {
		rc = rp_err_set(e, RP_EFORMAT, "op: unknown operation");
		goto out;
	}
	r->op = ops[i].op;
	keys = ops[i].keys;

	if ((v = json_object_get(o, "component_id"))) {
		if (!(keys & K_COMPONENT)) {
			rc = rp_err_set(e, RP_EFORMAT, "component_id: not used by %s", name);
			goto out;
		}
		if ((rc = get_guid(v, "component_id", r->component_id,
				   r->component_text, e)))
			goto out;
		r->has_component = 1;
	}
	if ((v = json_object_get(o, "all"))) {
		if (!(keys & K_ALL)) {
			rc = rp_err_set(e, RP_EFORMAT, "all: not used by %s", name);
			goto out;
		}
		if (!json_is_boolean(v)) {
			rc = rp_err_set(e, RP_EFORMAT, "all: must be a boolean");
			goto out;
		}
		r->all = json_is_true(v);
	}
	if ((v = json_object_get(o, "lines"))) {
		json_int_t n;

		if (!(keys & K_LINES)) {
			rc = rp_err_set(e, RP_EFORMAT, "lines: not used by %s", name);
			goto out;
		}
		if (!json_is_integer(v)) {
			rc = rp_err_set(e, RP_EFORMAT, "lines: must be an integer");
			goto out;
		}
		n = json_integer_value(v);
		if (n < 1 || n > RP_CTL_LINES_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "lines: must be from 1 to %u",
					RP_CTL_LINES_MAX);
			goto out;
		}
		r->lines = (uint32_t)n;
	}
	if ((v = json_object_get(o, "trust_key"))) {
		size_t n;

		if (!(keys & K_TRUST)) {
			rc = rp_err_set(e, RP_EFORMAT, "trust_key: not used by %s", name);
			goto out;
		}
		if (!json_is_string(v)) {
			rc = rp_err_set(e, RP_EFORMAT, "trust_key: must be a string");
			goto out;
		}
		n = json_string_length(v);
		if (n == 0 || n > RP_CTL_PEM_MAX ||
		    memchr(json_string_value(v), '\0', n)) {
			rc = rp_err_set(e, RP_EFORMAT, "trust_key: must be 1 to %d bytes "
					"of PEM text", RP_CTL_PEM_MAX);
			goto out;
		}
		memcpy(r->trust_key, json_string_value(v), n);
		r->trust_key[n] = '\0';
	}
	for (i = 0; i < NCLOUD; i++) {
		size_t n;

		if (!(v = json_object_get(o, cloud_keys[i].key)))
			continue;
		if (!(keys & K_CLOUD)) {
			rc = rp_err_set(e, RP_EFORMAT, "%s: not used by %s",
					cloud_keys[i].key, name);
			goto out;
		}
		if (!json_is_string(v)) {
			rc = rp_err_set(e, RP_EFORMAT, "%s: must be a string",
					cloud_keys[i].key);
			goto out;
		}
		n = json_string_length(v);
		if (n == 0 || n >= cloud_keys[i].cap ||
		    memchr(json_string_value(v), '\0', n)) {
			rc = rp_err_set(e, RP_EFORMAT, "%s: must be 1 to %zu bytes",
					cloud_keys[i].key, cloud_keys[i].cap - 1);
			goto out;
		}
		memcpy((char *)r + cloud_keys[i].off, json_string_value(v), n + 1);
	}
	rc = check_req(r, RP_EFORMAT, e);
out:
	json_decref(o);
	if (rc) {
		rp_err_prefix(e, "control request");
		rp_ctl_req_init(r, RP_CTL_SHOW);
	}
	return rc;
}

int rp_ctl_resp_ok(json_t *result, struct rp_buf *out, struct rp_err *e)
{
	json_t *o = NULL;
	char *text = NULL;
	int rc = 0;

	rp_buf_init(out, RP_CTL_MSG_MAX);
	if (!result)
		result = json_object();
	if (!result || !json_is_object(result)) {
		json_decref(result);
		return rp_err_set(e, result ? RP_EUSAGE : RP_ENOMEM,
				  "response result must be an object");
	}
	o = json_object();
	if (!o || json_object_set_new(o, "v", json_integer(RP_CTL_VERSION)) ||
	    json_object_set_new(o, "ok", json_true())) {
		json_decref(result);
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (json_object_set_new(o, "result", result)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (rp_buf_append(out, text, strlen(text)))
		rc = rp_err_set(e, RP_ERANGE, "response is over %d bytes",
				RP_CTL_MSG_MAX);
out:
	free(text);
	json_decref(o);
	if (rc)
		rp_buf_free(out);
	return rc;
}

/* Append s to out as JSON string contents; stops silently at cap. */
static void put_escaped(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[6];
		size_t k = 0, i;

		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Non-ASCII bytes are escaped one by one: the message may
			 * have been truncated inside a UTF-8 sequence. */
			tmp[k++] = '\\';
			tmp[k++] = 'u';
			tmp[k++] = '0';
			tmp[k++] = '0';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		if (cap - *n < k + 1)
			return;
		for (i = 0; i < k; i++)
			out[(*n)++] = tmp[i];
	}
}

static void put_raw(char *out, size_t cap, size_t *n, const char *s)
{
	size_t k = strlen(s);

	if (cap - *n < k + 1)
		return;
	memcpy(out + *n, s, k);
	*n += k;
}

static void put_int(char *out, size_t cap, size_t *n, int v)
{
	char tmp[16];
	size_t k = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && k < sizeof(tmp));
	if (v < 0 && k < sizeof(tmp))
		tmp[k++] = '-';
	while (k > 0 && cap - *n > 1)
		out[(*n)++] = tmp[--k];
}

void rp_ctl_resp_err(const struct rp_err *err, char *out, size_t cap,
		     size_t *len)
{
	size_t n = 0;

	*len = 0;
	if (cap == 0)
		return;
	put_raw(out, cap, &n, "{\"v\":1,\"ok\":false,\"code\":");
	put_int(out, cap, &n, err->code < 0 ? err->code : RP_EIO);
	put_raw(out, cap, &n, ",\"error\":\"");
	if (cap > 3)
		put_escaped(out, cap - 3, &n,
			    err->msg[0] ? err->msg : rp_code_name(err->code));
	put_raw(out, cap, &n, "\"}");
	out[n] = '\0';
	*len = n;
}

/* A code from the other side: keep known ones, map the rest to RP_EIO. */
static int clamp_code(json_int_t c)
{
	switch (c) {
	case RP_EINVAL: case RP_ENOMEM: case RP_EIO: case RP_ERANGE:
	case RP_EFORMAT: case RP_EVERIFY: case RP_EUNTRUSTED: case RP_ECRYPTO:
	case RP_EPOLICY: case RP_EUSAGE:
		return (int)c;
	default:
		return c < 0 && c > -4096 ? (int)c : RP_EIO;
	}
}

static void set_remote(struct rp_err *remote, json_int_t code, const char *msg)
{
	size_t n = strlen(msg);

	remote->code = clamp_code(code);
	if (n >= sizeof(remote->msg))
		n = sizeof(remote->msg) - 1;
	memcpy(remote->msg, msg, n);
	remote->msg[n] = '\0';
}

static int get_error(json_t *o, struct rp_err *remote, struct rp_err *e)
{
	json_t *c = json_object_get(o, "code"), *m = json_object_get(o, "error");

	if (!json_is_integer(c) || !json_is_string(m))
		return rp_err_set(e, RP_EFORMAT, "an error needs an integer code "
				  "and a string error");
	set_remote(remote, json_integer_value(c), json_string_value(m));
	return 0;
}

int rp_ctl_resp_decode(const uint8_t *buf, size_t len, json_t **result,
		       struct rp_err *remote, struct rp_err *e)
{
	static const char *const ok_keys[] = { "v", "ok", "result", NULL };
	static const char *const err_keys[] = { "v", "ok", "code", "error", NULL };
	json_t *o = NULL, *ok, *res;
	int rc;

	*result = NULL;
	rp_err_clear(remote);
	if ((rc = rp_json_parse(buf, len, RP_CTL_MSG_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "a response must be a JSON object");
		goto out;
	}
	if ((rc = get_version(o, e)))
		goto out;
	ok = json_object_get(o, "ok");
	if (!json_is_boolean(ok)) {
		rc = rp_err_set(e, RP_EFORMAT, "ok: must be a boolean");
		goto out;
	}
	if (json_is_false(ok)) {
		if (!(rc = rp_json_only_keys(o, err_keys, "", e)))
			rc = get_error(o, remote, e);
		goto out;
	}
	if ((rc = rp_json_only_keys(o, ok_keys, "", e)))
		goto out;
	res = json_object_get(o, "result");
	if (!json_is_object(res)) {
		rc = rp_err_set(e, RP_EFORMAT, "result: must be an object");
		goto out;
	}
	*result = json_incref(res);
out:
	json_decref(o);
	if (rc)
		rp_err_prefix(e, "control response");
	return rc;
}

int rp_ctl_chan_decode(const uint8_t *buf, size_t len, uint8_t id[16],
		       struct rp_err *e)
{
	static const char *const allowed[] = { "connect", NULL };
	json_t *o = NULL, *v;
	int rc;

	memset(id, 0, 16);
	if ((rc = rp_json_parse(buf, len, RP_CTL_CHAN_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "must be a JSON object");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, allowed, "", e)))
		goto out;
	v = json_object_get(o, "connect");
	if (!v) {
		rc = rp_err_set(e, RP_EFORMAT, "connect: missing");
		goto out;
	}
	rc = get_guid(v, "connect", id, NULL, e);
out:
	json_decref(o);
	if (rc)
		rp_err_prefix(e, "channel request");
	return rc;
}

int rp_ctl_chan_encode(const char *kind, const uint8_t id[16], char *out,
		       size_t cap, size_t *len, struct rp_err *e)
{
	char t[37];
	size_t n = 0;

	*len = 0;
	if (strcmp(kind, "connect") != 0 && strcmp(kind, "connected") != 0 &&
	    strcmp(kind, "incoming") != 0)
		return rp_err_set(e, RP_EUSAGE, "unknown channel message '%s'", kind);
	if (cap < 64)
		return rp_err_set(e, RP_ERANGE, "buffer too small");
	rp_guid_format(id, t);
	put_raw(out, cap, &n, "{\"");
	put_raw(out, cap, &n, kind);
	put_raw(out, cap, &n, "\":\"");
	put_raw(out, cap, &n, t);
	put_raw(out, cap, &n, "\"}\n");
	out[n] = '\0';
	*len = n;
	return 0;
}

int rp_ctl_chan_encode_err(const struct rp_err *err, char *out, size_t cap,
			   size_t *len, struct rp_err *e)
{
	size_t n = 0;

	*len = 0;
	if (cap < 64)
		return rp_err_set(e, RP_ERANGE, "buffer too small");
	put_raw(out, cap, &n, "{\"code\":");
	put_int(out, cap, &n, err->code < 0 ? err->code : RP_EIO);
	put_raw(out, cap, &n, ",\"error\":\"");
	/* Leave room for the closing bytes whatever the message. */
	put_escaped(out, cap - 4, &n, err->msg);
	put_raw(out, cap, &n, "\"}\n");
	out[n] = '\0';
	*len = n;
	return 0;
}

int rp_ctl_chan_decode_reply(const uint8_t *buf, size_t len,
			     const char **kind_out, uint8_t id[16],
			     struct rp_err *remote, struct rp_err *e)
{
	static const char *const err_keys[] = { "code", "error", NULL };
	static const char *const kinds[] = { "connected", "incoming", NULL };
	json_t *o = NULL, *v;
	size_t i;
	int rc;

	*kind_out = NULL;
	memset(id, 0, 16);
	rp_err_clear(remote);
	if ((rc = rp_json_parse(buf, len, RP_CTL_CHAN_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "must be a JSON object");
		goto out;
	}
	if (json_object_get(o, "error")) {
		if (!(rc = rp_json_only_keys(o, err_keys, "", e)) &&
		    !(rc = get_error(o, remote, e)))
			*kind_out = "error";
		goto out;
	}
	if (json_object_size(o) != 1) {
		rc = rp_err_set(e, RP_EFORMAT, "expected one key");
		goto out;
	}
	for (i = 0; kinds[i]; i++) {
		v = json_object_get(o, kinds[i]);
		if (!v)
			continue;
		if (!(rc = get_guid(v, kinds[i], id, NULL, e)))
			*kind_out = kinds[i];
		goto out;
	}
	rc = rp_err_set(e, RP_EFORMAT, "unknown message");
out:
	json_decref(o);
	if (rc)
		rp_err_prefix(e, "channel reply");
	return rc;
}
