/* The signer's request and response codec: pure, strict, fuzzed
 * (fuzz/fuzz_signer.c). */
#include "ca/signer.h"

#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"

static const char *const op_names[] = {
	[RP_SIGNER_CREATE_CA] = "create-ca",
	[RP_SIGNER_ISSUE] = "issue",
	[RP_SIGNER_CA_CERT] = "ca-cert",
	[RP_SIGNER_REVOKE] = "revoke",
	[RP_SIGNER_CRL] = "crl",
	[RP_SIGNER_IMAGE_KEY] = "image-key",
	[RP_SIGNER_SIGN_IMAGE] = "sign-image",
	[RP_SIGNER_TARGETS_KEY] = "targets-key",
	[RP_SIGNER_SIGN_TARGETS] = "sign-targets",
};

#define OP_LAST RP_SIGNER_SIGN_TARGETS

const char *rp_signer_op_name(enum rp_signer_op op)
{
	if ((int)op < RP_SIGNER_CREATE_CA || (int)op > OP_LAST)
		return NULL;
	return op_names[op];
}

int rp_tenant_check(const char *s, size_t len, struct rp_err *e)
{
	size_t i;

	if (len == 0 || len > RP_TENANT_MAX)
		return rp_err_set(e, RP_EINVAL, "tenant: 1 to %d characters",
				  RP_TENANT_MAX);
	if (s[0] == '-')
		return rp_err_set(e, RP_EINVAL, "tenant: starts with '-'");
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return rp_err_set(e, RP_EINVAL,
					  "tenant: only a-z, 0-9 and '-' allowed");
	}
	return 0;
}

static int get_time(json_t *obj, const char *key, int64_t *out,
		    struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return rp_err_set(e, RP_EINVAL, "%s: missing", key);
	if (!json_is_integer(v))
		return rp_err_set(e, RP_EINVAL, "%s: not an integer", key);
	n = json_integer_value(v);
	if (n < 0 || n > RP_SIGNER_TIME_MAX)
		return rp_err_set(e, RP_ERANGE, "%s: out of range", key);
	*out = (int64_t)n;
	return 0;
}

static int get_str(json_t *obj, const char *key, const char **s, size_t *len,
		   struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return rp_err_set(e, RP_EINVAL, "%s: missing", key);
	if (!json_is_string(v))
		return rp_err_set(e, RP_EINVAL, "%s: not a string", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

int rp_signer_req_decode(const uint8_t *buf, size_t len,
			 struct rp_signer_req *r, struct rp_err *e)
{
	static const char *const k_tenant[] = { "v", "op", "tenant", NULL };
	static const char *const k_issue[] = { "v", "op", "tenant", "csr",
		"not_before", "not_after", NULL };
	static const char *const k_revoke[] = { "v", "op", "tenant", "serial",
		NULL };
	static const char *const k_sign[] = { "v", "op", "tenant", "header",
		NULL };
	static const char *const k_targets[] = { "v", "op", "tenant", "region",
		NULL };
	const char *const *allowed;
	json_t *root = NULL, *v;
	const char *s;
	size_t slen;
	int rc, op;

	memset(r, 0, sizeof(*r));
	rc = rp_json_parse(buf, len, RP_SIGNER_REQ_MAX, &root, e);
	if (rc)
		goto out;
	if (!json_is_object(root)) {
		rc = rp_err_set(e, RP_EINVAL, "request is not an object");
		goto out;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != RP_SIGNER_VERSION) {
		rc = rp_err_set(e, RP_EINVAL, "v: must be %d", RP_SIGNER_VERSION);
		goto out;
	}
	rc = get_str(root, "op", &s, &slen, e);
	if (rc)
		goto out;
	for (op = RP_SIGNER_CREATE_CA; op <= OP_LAST; op++)
		if (strlen(op_names[op]) == slen && memcmp(op_names[op], s, slen) == 0)
			break;
	if (op > OP_LAST) {
		rc = rp_err_set(e, RP_EINVAL, "op: unknown operation");
		goto out;
	}
	r->op = (enum rp_signer_op)op;
	allowed = r->op == RP_SIGNER_ISSUE ? k_issue :
		  r->op == RP_SIGNER_REVOKE ? k_revoke :
		  r->op == RP_SIGNER_SIGN_IMAGE ? k_sign :
		  r->op == RP_SIGNER_SIGN_TARGETS ? k_targets : k_tenant;
	rc = rp_json_only_keys(root, allowed, "", e);
	if (rc)
		goto out;
	rc = get_str(root, "tenant", &s, &slen, e);
	if (!rc)
		rc = rp_tenant_check(s, slen, e);
	if (rc)
		goto out;
	memcpy(r->tenant, s, slen);
	r->tenant[slen] = 0;
	if (r->op == RP_SIGNER_ISSUE) {
		rc = get_str(root, "csr", &s, &slen, e);
		if (rc)
			goto out;
		if (slen == 0 || slen > RP_CSR_PEM_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "csr: 1 to %d bytes",
					RP_CSR_PEM_MAX);
			goto out;
		}
		memcpy(r->csr, s, slen);
		r->csr[slen] = 0;
		r->csr_len = slen;
		rc = get_time(root, "not_before", &r->not_before, e);
		if (!rc)
			rc = get_time(root, "not_after", &r->not_after, e);
		if (rc)
			goto out;
	} else if (r->op == RP_SIGNER_REVOKE) {
		rc = get_str(root, "serial", &s, &slen, e);
		if (rc)
			goto out;
		/* Lower-case only, so one serial has one spelling. */
		if (slen != RP_SERIAL_LEN * 2 ||
		    strspn(s, "0123456789abcdef") != slen ||
		    rp_unhex(s, slen, r->serial, RP_SERIAL_LEN)) {
			rc = rp_err_set(e, RP_EINVAL,
					"serial: not %d lower-case hex digits",
					RP_SERIAL_LEN * 2);
			goto out;
		}
	} else if (r->op == RP_SIGNER_SIGN_IMAGE) {
		rc = get_str(root, "header", &s, &slen, e);
		if (rc)
			goto out;
		if (slen != RP_SIGNER_HEADER_LEN * 2 ||
		    strspn(s, "0123456789abcdef") != slen ||
		    rp_unhex(s, slen, r->header, RP_SIGNER_HEADER_LEN)) {
			rc = rp_err_set(e, RP_EINVAL,
					"header: not %d lower-case hex digits",
					RP_SIGNER_HEADER_LEN * 2);
			goto out;
		}
	} else if (r->op == RP_SIGNER_SIGN_TARGETS) {
		rc = get_str(root, "region", &s, &slen, e);
		if (rc)
			goto out;
		if (slen == 0 || slen % 2 || slen > RP_SIGNER_REGION_MAX * 2 ||
		    strspn(s, "0123456789abcdef") != slen ||
		    rp_unhex(s, slen, r->region, slen / 2)) {
			rc = rp_err_set(e, RP_EINVAL,
					"region: not 2 to %d lower-case hex digits",
					RP_SIGNER_REGION_MAX * 2);
			goto out;
		}
		r->region_len = slen / 2;
	}
	rc = 0;
out:
	if (rc)
		memset(r, 0, sizeof(*r));
	json_decref(root);
	return rc;
}

int rp_signer_req_encode(const struct rp_signer_req *r, struct rp_buf *out,
			 struct rp_err *e)
{
	const char *name = rp_signer_op_name(r->op);
	char hex[RP_SERIAL_HEX], hhex[RP_SIGNER_HEADER_LEN * 2 + 1];
	json_t *o = NULL;
	char *text = NULL;
	struct rp_err tmp;
	size_t tlen;
	int rc = RP_ENOMEM;

	if (!name || rp_tenant_check(r->tenant, strnlen(r->tenant,
			sizeof(r->tenant)), &tmp))
		return rp_err_set(e, RP_EUSAGE, "signer request: bad op or tenant");
	o = json_object();
	if (!o || json_object_set_new(o, "v", json_integer(RP_SIGNER_VERSION)) ||
	    json_object_set_new(o, "op", json_string(name)) ||
	    json_object_set_new(o, "tenant", json_string(r->tenant)))
		goto nomem;
	if (r->op == RP_SIGNER_ISSUE) {
		if (r->csr_len == 0 || r->csr_len > RP_CSR_PEM_MAX ||
		    memchr(r->csr, 0, r->csr_len) ||
		    r->not_before < 0 || r->not_before > RP_SIGNER_TIME_MAX ||
		    r->not_after < 0 || r->not_after > RP_SIGNER_TIME_MAX) {
			rc = rp_err_set(e, RP_EUSAGE,
					"signer request: bad CSR or times");
			goto out;
		}
		if (json_object_set_new(o, "csr",
				json_stringn(r->csr, r->csr_len)) ||
		    json_object_set_new(o, "not_before",
				json_integer((json_int_t)r->not_before)) ||
		    json_object_set_new(o, "not_after",
				json_integer((json_int_t)r->not_after)))
			goto nomem;
	} else if (r->op == RP_SIGNER_REVOKE) {
		rp_hex(r->serial, RP_SERIAL_LEN, hex);
		if (json_object_set_new(o, "serial", json_string(hex)))
			goto nomem;
	} else if (r->op == RP_SIGNER_SIGN_IMAGE) {
		rp_hex(r->header, RP_SIGNER_HEADER_LEN, hhex);
		if (json_object_set_new(o, "header", json_string(hhex)))
			goto nomem;
	} else if (r->op == RP_SIGNER_SIGN_TARGETS) {
		char *rhex;

		if (r->region_len == 0 || r->region_len > RP_SIGNER_REGION_MAX) {
			rc = rp_err_set(e, RP_EUSAGE, "signer request: bad region");
			goto out;
		}
		rhex = malloc(r->region_len * 2 + 1);
		if (!rhex)
			goto nomem;
		rp_hex(r->region, r->region_len, rhex);
		if (json_object_set_new(o, "region", json_stringn(rhex, r->region_len * 2))) {
			free(rhex);
			goto nomem;
		}
		free(rhex);
	}
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto nomem;
	tlen = strlen(text);
	rp_buf_init(out, RP_SIGNER_REQ_MAX);
	if (rp_buf_append(out, text, tlen)) {
		rp_buf_free(out);
		rc = rp_err_set(e, RP_EUSAGE, "signer request: too large");
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(o);
	return rc;
}

int rp_signer_resp_decode(const uint8_t *buf, size_t len, json_t **result,
			  struct rp_err *e)
{
	static const char *const k_ok[] = { "v", "ok", "result", NULL };
	static const char *const k_err[] = { "v", "ok", "code", "error", NULL };
	json_t *root = NULL, *v, *ok;
	json_int_t code;
	int rc;

	*result = NULL;
	rc = rp_json_parse(buf, len, RP_SIGNER_RESP_MAX, &root, e);
	if (rc) {
		rc = rp_err_set(e, RP_EFORMAT, "signer response: not JSON");
		goto out;
	}
	v = json_object_get(root, "v");
	ok = json_object_get(root, "ok");
	if (!json_is_object(root) || !json_is_integer(v) ||
	    json_integer_value(v) != RP_SIGNER_VERSION || !json_is_boolean(ok)) {
		rc = rp_err_set(e, RP_EFORMAT, "signer response: malformed");
		goto out;
	}
	if (json_is_true(ok)) {
		v = json_object_get(root, "result");
		if (rp_json_only_keys(root, k_ok, "", e) || !json_is_object(v)) {
			rc = rp_err_set(e, RP_EFORMAT, "signer response: malformed");
			goto out;
		}
		*result = json_incref(v);
		rc = 0;
		goto out;
	}
	v = json_object_get(root, "code");
	if (rp_json_only_keys(root, k_err, "", e) || !json_is_integer(v) ||
	    !json_is_string(json_object_get(root, "error"))) {
		rc = rp_err_set(e, RP_EFORMAT, "signer response: malformed");
		goto out;
	}
	code = json_integer_value(v);
	/* The signer's code, if it is one of ours; never 0 or positive. */
	rc = (code < 0 && code >= -4095) || (code <= RP_EFORMAT && code >= RP_EUSAGE) ?
	     (int)code : RP_EIO;
	rp_err_set(e, rc, "signer: %s",
		   json_string_value(json_object_get(root, "error")));
out:
	json_decref(root);
	return rc;
}
