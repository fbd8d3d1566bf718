/* rampart-cloud's commands: set up the cloud connection, get and renew
 * the device certificate (enrollment token or claim), check in, and
 * verify and accept the targets document the service answers with.
 * Protocol and files: cloud.h; behaviour: docs/runtime.md, "Cloud". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/json.h"
#include "cloud.h"
#include "cloud_http.h"
#include "crypto/base64.h"
#include "crypto/devkey.h"
#include "crypto/x509.h"
#include "format/manifest.h"
#include "format/targets.h"

#define CONFIG_MAX 4096
#define PEM_BUNDLE_MAX (RP_CHAIN_CAS_MAX * RP_CERT_PEM_MAX)

struct cfg {
	char url[RPC_URL_MAX + 1];
	char tenant[RPC_TENANT_MAX + 1];
	uint8_t tenant_id[16];
};

/* STATEDIR/cloud/<name> */
static int cpath(const char *state, const char *name, char out[PATH_MAX],
		 struct rp_err *e)
{
	if (snprintf(out, PATH_MAX, "%s/cloud/%s", state, name) >= PATH_MAX)
		return rp_err_set(e, RP_ERANGE, "state path too long");
	return 0;
}

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static int get_text(json_t *o, const char *key, size_t max, int required,
		    const char **out, struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!v)
		return rp_err_set(e, RP_EFORMAT, "%s: missing", key);
	return rp_json_text(v, key, max, 0, out, e);
}

/* PEM text: printable ASCII and line breaks only. */
static int get_pem(json_t *o, const char *key, size_t max, const char **out,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n, i;

	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "%s: %s", key,
				  v ? "must be a string" : "missing");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max)
		return rp_err_set(e, RP_EFORMAT, "%s: must be 1 to %zu bytes", key, max);
	for (i = 0; i < n; i++)
		if (!((s[i] >= ' ' && s[i] <= '~') || s[i] == '\n' || s[i] == '\r' ||
		      s[i] == '\t'))
			return rp_err_set(e, RP_EFORMAT, "%s: not PEM text", key);
	*out = s;
	return 0;
}

static int check_tenant(const char *t, uint8_t id[16], struct rp_err *e)
{
	char back[37];

	if (rp_guid_parse(t, strlen(t), id))
		return rp_err_set(e, RP_EINVAL, "tenant: not a tenant id (a GUID)");
	rp_guid_format(id, back);
	if (strcmp(back, t) != 0)
		return rp_err_set(e, RP_EINVAL, "tenant: write the GUID in lower case");
	return 0;
}

static int load_cfg(const char *state, struct cfg *c, struct rp_err *e)
{
	static const char *const keys[] = { "url", "tenant", NULL };
	char p[PATH_MAX];
	struct rp_buf b;
	json_t *o = NULL;
	const char *url, *tenant;
	int rc;

	memset(c, 0, sizeof(*c));
	rp_buf_init(&b, 0);
	if ((rc = cpath(state, "config.json", p, e)))
		return rc;
	if (!exists(p)) {
		rc = rp_err_set(e, RP_EINVAL, "the cloud connection is not set up "
				"(rampart device cloud setup)");
		goto out;
	}
	if ((rc = rp_file_read(p, CONFIG_MAX, &b, e)) ||
	    (rc = rp_json_parse(b.data, b.len, CONFIG_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "not an object");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, keys, "", e)) ||
	    (rc = get_text(o, "url", RPC_URL_MAX, 1, &url, e)) ||
	    (rc = get_text(o, "tenant", RPC_TENANT_MAX, 1, &tenant, e)) ||
	    (rc = rpc_http_check_url(url, e)) ||
	    (rc = check_tenant(tenant, c->tenant_id, e)))
		goto out;
	memcpy(c->url, url, strlen(url) + 1);
	memcpy(c->tenant, tenant, strlen(tenant) + 1);
out:
	if (rc)
		rp_err_prefix(e, "%s", p);
	json_decref(o);
	rp_buf_free(&b);
	return rc;
}

/* Split a PEM bundle into certificates (at most RP_CHAIN_CAS_MAX). */
static int load_bundle(const uint8_t *pem, size_t len, struct rp_cert **cas,
		       size_t *n, struct rp_err *e)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = (const char *)pem, *stop = p + len;
	int rc;

	*n = 0;
	while (p < stop) {
		const char *b, *x;

		while (p < stop && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
			p++;
		if (p == stop)
			break;
		b = p;
		x = memmem(b, (size_t)(stop - b), end, sizeof(end) - 1);
		if (!x)
			return rp_err_set(e, RP_EFORMAT, "certificate %zu: no END line", *n + 1);
		p = x + sizeof(end) - 1;
		if (*n >= RP_CHAIN_CAS_MAX)
			return rp_err_set(e, RP_ERANGE, "more than %d certificates",
					  RP_CHAIN_CAS_MAX);
		if ((rc = rp_cert_load_pem((const uint8_t *)b, (size_t)(p - b),
					   &cas[*n], e)))
			return rp_err_prefix(e, "certificate %zu", *n + 1);
		(*n)++;
	}
	if (*n == 0)
		return rp_err_set(e, RP_EFORMAT, "no certificate");
	return 0;
}

static void free_bundle(struct rp_cert **cas, size_t n)
{
	while (n)
		rp_cert_free(cas[--n]);
}

/* --- setup ------------------------------------------------------------- */

int rpc_setup(const char *state, json_t *in, json_t **out, struct rp_err *e)
{
	static const char *const keys[] = {
		"url", "tenant", "server_ca", "enroll_token", NULL,
	};
	struct rp_cert *cas[RP_CHAIN_CAS_MAX];
	struct rp_devkey *k = NULL;
	struct cfg old;
	const char *url, *tenant, *ca, *tok;
	uint8_t tid[16];
	char p[PATH_MAX], id[65];
	json_t *c = NULL;
	char *text = NULL;
	size_t ncas = 0, i;
	int rc, same;

	*out = NULL;
	if ((rc = rp_json_only_keys(in, keys, "setup", e)) ||
	    (rc = get_text(in, "url", RPC_URL_MAX, 1, &url, e)) ||
	    (rc = get_text(in, "tenant", RPC_TENANT_MAX, 1, &tenant, e)) ||
	    (rc = get_pem(in, "server_ca", RPC_CA_PEM_MAX, &ca, e)) ||
	    (rc = get_text(in, "enroll_token", RPC_TOKEN_MAX, 0, &tok, e)) ||
	    (rc = rpc_http_check_url(url, e)) || (rc = check_tenant(tenant, tid, e)))
		goto out;
	for (i = 0; tok && tok[i]; i++)
		if (tok[i] <= ' ' || tok[i] > '~') {
			rc = rp_err_set(e, RP_EINVAL, "enroll_token: unexpected character");
			goto out;
		}
	if ((rc = load_bundle((const uint8_t *)ca, strlen(ca), cas, &ncas, e))) {
		rp_err_prefix(e, "server CA");
		goto out;
	}
	if (snprintf(p, sizeof(p), "%s/device.key", state) >= (int)sizeof(p)) {
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	if ((rc = rp_devkey_open(p, &k, e)))
		goto out;
	rp_devkey_id_hex(k, id);
	/* Another service or tenant: the identity issued by the old one
	 * means nothing there. The targets state stays (anti-rollback). */
	same = load_cfg(state, &old, NULL) == 0 && strcmp(old.url, url) == 0 &&
	       strcmp(old.tenant, tenant) == 0;
	if (!same) {
		static const char *const stale[] = {
			"cert.pem", "tenant-ca.pem", "targets-key.pem", "enroll-token", NULL,
		};
		const char *const *s;

		for (s = stale; *s; s++) {
			if ((rc = cpath(state, *s, p, e)))
				goto out;
			if (unlink(p) < 0 && errno != ENOENT) {
				rc = rp_err_errno(e, errno, "%s", p);
				goto out;
			}
		}
	}
	if ((rc = cpath(state, "server-ca.pem", p, e)) ||
	    (rc = rp_file_write(p, ca, strlen(ca), 0644, 0, e)))
		goto out;
	if (tok && ((rc = cpath(state, "enroll-token", p, e)) ||
		    (rc = rp_file_write(p, tok, strlen(tok), 0600, 0, e))))
		goto out;
	/* Provisioning creates the targets state, once (docs/formats/
	 * targets.md: a missing state is never silently recreated later). */
	if ((rc = cpath(state, "targets.state", p, e)))
		goto out;
	if (!exists(p) && (rc = rp_targets_state_create(p, e)))
		goto out;
	c = json_pack("{s:s, s:s}", "url", url, "tenant", tenant);
	text = c ? json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = cpath(state, "config.json", p, e)) ||
	    (rc = rp_file_write(p, text, strlen(text), 0644, 0, e)))
		goto out;
	*out = json_pack("{s:s, s:s, s:s}", "url", url, "tenant", tenant,
			 "device_id", id);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(c);
	free_bundle(cas, ncas);
	rp_devkey_free(k);
	return rc;
}

/* --- targets ----------------------------------------------------------- */

static json_t *summary(const struct rp_targets *t, int accepted)
{
	json_t *imgs = json_array(), *o;
	char a[37], b[37], c[37], sha[65];
	size_t i;

	if (!imgs)
		return NULL;
	for (i = 0; i < t->nimages; i++) {
		const struct rp_targets_image *m = &t->images[i];

		rp_guid_format(m->component_id, a);
		rp_guid_format(m->image_id, b);
		rp_hex(m->sha256, sizeof(m->sha256), sha);
		if (json_array_append_new(imgs, json_pack(
			"{s:s, s:s, s:s, s:I, s:s, s:I, s:s}", "component_id", a,
			"image_id", b, "version", m->version,
			"security_version", (json_int_t)m->security_version,
			"type", rp_image_type_name(m->type), "size", (json_int_t)m->size,
			"sha256", sha))) {
			json_decref(imgs);
			return NULL;
		}
	}
	rp_guid_format(t->tenant, a);
	rp_guid_format(t->product, b);
	rp_guid_format(t->group, c);
	o = json_pack("{s:b, s:I, s:I, s:I, s:s, s:s, s:s, s:o}",
		      "accepted", accepted, "version", (json_int_t)t->version,
		      "issued_at", (json_int_t)t->issued_at,
		      "expires", (json_int_t)t->expires, "tenant", a, "product", b,
		      "device_group", c, "images", imgs);
	return o;
}

/* Verify buf with the pinned targets key, check it against the persisted
 * state, and only then accept it: state first (atomically), then the
 * document. A refused document changes nothing. */
static int accept_targets(const char *state, const struct cfg *c,
			  const uint8_t device[RP_KEYID_LEN],
			  const uint8_t *buf, size_t len, json_t **out,
			  struct rp_err *e)
{
	struct rp_targets *t = NULL;
	struct rp_targets_state *st = NULL;
	struct rp_targets_expect x;
	struct rp_key *key = NULL;
	char p[PATH_MAX];
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	st = calloc(1, sizeof(*st));
	if (!t || !st) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = cpath(state, "targets-key.pem", p, e)))
		goto out;
	if (!exists(p)) {
		rc = rp_err_set(e, RP_EUNTRUSTED, "targets: no pinned targets key "
				"(cloud/targets-key.pem): accepting no targets");
		goto out;
	}
	if ((rc = rp_key_load_file(p, 0, &key, e))) {
		rp_err_prefix(e, "targets: pinned key");
		goto out;
	}
	if ((rc = rp_targets_verify(buf, len, (const struct rp_key *const *)&key, 1,
				    t, e)))
		goto out;
	if ((rc = cpath(state, "targets.state", p, e)))
		goto out;
	if ((rc = rp_targets_state_load(p, st, e))) {
		rp_err_prefix(e, "targets: state missing or damaged, accepting no "
			      "targets");
		goto out;
	}
	if (st->accepted && memcmp(st->digest, t->digest, RP_SHA256_LEN) == 0) {
		*out = summary(t, 0); /* the same document again: nothing to do */
		goto done;
	}
	memset(&x, 0, sizeof(x));
	x.tenant = c->tenant_id;
	x.device = device;
	x.now = (uint64_t)time(NULL);
	if ((rc = rp_targets_check(t, st, &x, e)))
		goto out;
	rp_targets_state_accept(st, t);
	if ((rc = rp_targets_state_save(p, st, e)) ||
	    (rc = cpath(state, "targets.rpt", p, e)) ||
	    (rc = rp_file_write(p, buf, len, 0644, 0, e)))
		goto out;
	*out = summary(t, 1);
done:
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_key_free(key);
	free(t);
	free(st);
	return rc;
}

static int open_key(const char *state, struct rp_devkey **k, struct rp_err *e)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/device.key", state) >= (int)sizeof(p))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	return rp_devkey_open(p, k, e);
}

int rpc_verify_targets(const char *state, const char *file, json_t **out,
		       struct rp_err *e)
{
	struct rp_devkey *k = NULL;
	struct rp_buf b;
	struct cfg c;
	int rc;

	rp_buf_init(&b, 0);
	if ((rc = load_cfg(state, &c, e)) || (rc = open_key(state, &k, e)))
		goto out;
	if ((rc = rp_file_read(file, RP_TARGETS_MAX, &b, e))) {
		if (rc == RP_ERANGE)
			rc = rp_err_set(e, RP_EFORMAT, "targets: %s: over %d bytes", file,
					(int)RP_TARGETS_MAX);
		goto out;
	}
	rc = accept_targets(state, &c, rp_devkey_id(k), b.data, b.len, out, e);
out:
	rp_buf_free(&b);
	rp_devkey_free(k);
	return rc;
}

/* --- step: certificate, check-in -------------------------------------- */

struct step {
	const char *state;
	struct cfg cfg;
	struct rp_devkey *key;
	char id[65];
	struct rpc_http http;
	struct rp_buf cert;           /* cloud/cert.pem, or empty */
	int64_t nb, na, renew_after;
	char serial[RP_SERIAL_HEX];
	json_t *res;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Parse cert[0..len): ours (its key is the device key) and, when the
 * tenant's CAs are known, chaining to them at now. */
static int check_cert(struct step *s, const uint8_t *pem, size_t len,
		      const uint8_t *bundle, size_t blen, int64_t *nb,
		      int64_t *na, char serial[RP_SERIAL_HEX], struct rp_err *e)
{
	struct rp_cert *c = NULL, *cas[RP_CHAIN_CAS_MAX];
	uint8_t kid[RP_KEYID_LEN], ser[RP_SERIAL_LEN];
	size_t ncas = 0;
	int rc;

	if ((rc = rp_cert_load_pem(pem, len, &c, e)) ||
	    (rc = rp_cert_key_id(c, kid, e)) ||
	    (rc = rp_cert_validity(c, nb, na, e)) ||
	    (rc = rp_cert_serial(c, ser, e)))
		goto out;
	if (memcmp(kid, rp_devkey_id(s->key), RP_KEYID_LEN) != 0) {
		rc = rp_err_set(e, RP_EPOLICY, "the certificate is for another key");
		goto out;
	}
	rp_hex(ser, RP_SERIAL_LEN, serial);
	if (bundle && blen) {
		if ((rc = load_bundle(bundle, blen, cas, &ncas, e))) {
			rp_err_prefix(e, "tenant CA certificates");
			goto out;
		}
		rc = rp_cert_verify_device(c, cas, ncas, NULL, 0, now_s(), NULL, e);
	}
out:
	free_bundle(cas, ncas);
	rp_cert_free(c);
	return rc;
}

static void set_cert_json(struct step *s)
{
	json_object_set_new(s->res, "certificate", s->cert.len ? json_pack(
		"{s:s, s:I, s:I, s:I}", "serial", s->serial,
		"not_before", (json_int_t)s->nb, "not_after", (json_int_t)s->na,
		"renew_after", (json_int_t)s->renew_after) : json_null());
}

static int load_cert(struct step *s, struct rp_err *e)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct rp_buf bundle;
	int rc;

	rp_buf_init(&bundle, 0);
	rp_buf_reset(&s->cert);
	if ((rc = cpath(s->state, "cert.pem", p, e)) ||
	    (rc = cpath(s->state, "tenant-ca.pem", q, e)))
		return rc;
	if (!exists(p))
		return 0;
	if ((rc = rp_file_read(p, RP_CERT_PEM_MAX, &s->cert, e)))
		goto out;
	if (exists(q) && (rc = rp_file_read(q, PEM_BUNDLE_MAX, &bundle, e)))
		goto out;
	/* An expired or foreign certificate is as good as none: ask again. */
	if (check_cert(s, s->cert.data, s->cert.len, NULL, 0, &s->nb, &s->na,
		       s->serial, e)) {
		rp_buf_reset(&s->cert);
		rc = 0;
		goto out;
	}
	s->renew_after = s->nb + (s->na - s->nb) * 2 / 3;
out:
	rp_buf_free(&bundle);
	return rc;
}

static const char *json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *api_error(json_t *doc)
{
	const char *m = json_str(json_object_get(doc, "error"), "message");

	return m ? m : "no message";
}

/* POST the CSR (enroll with the token, else certificate) and store what
 * comes back. 1: refused (not claimed, token refused). */
static int obtain(struct step *s, int *enrolled, struct rp_err *e)
{
	struct rp_buf csr, tok;
	json_t *body = NULL, *resp = NULL;
	char tp[PATH_MAX], p[PATH_MAX];
	const char *cert, *bundle, *tkey;
	int64_t nb, na;
	char serial[RP_SERIAL_HEX];
	long status = 0;
	int rc, use_token;

	rp_buf_init(&tok, 0);
	*enrolled = 0;
	if ((rc = rp_devkey_csr(s->key, &csr, e)) || (rc = rp_buf_cstr(&csr)))
		return rc ? rc : rp_err_set(e, RP_ENOMEM, "out of memory");
	if ((rc = cpath(s->state, "enroll-token", tp, e)))
		goto out;
	use_token = exists(tp) && s->cert.len == 0;
	if (use_token) {
		if ((rc = rp_file_read(tp, RPC_TOKEN_MAX, &tok, e)) ||
		    (rc = rp_buf_cstr(&tok)))
			goto out;
		body = json_pack("{s:s, s:s}", "token", (const char *)tok.data,
				 "csr", (const char *)csr.data);
		if (!body) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = rpc_http_call(&s->http, "POST", "/v1/device/enroll", body,
					&status, &resp, e)))
			goto out;
		json_decref(body);
		body = NULL;
		if (status == 201 || status == 200) {
			*enrolled = 1;
		} else if (status == 401 || status == 403) {
			/* Used, expired or unknown: maybe the operator claimed
			 * the device instead; the claim path decides. */
			(void)unlink(tp);
			json_decref(resp);
			resp = NULL;
		} else {
			rc = rp_err_set(e, RP_EIO, "enroll: HTTP %ld: %s", status,
					api_error(resp));
			goto out;
		}
	}
	if (!*enrolled) {
		body = json_pack("{s:s, s:s}", "tenant", s->cfg.tenant,
				 "csr", (const char *)csr.data);
		if (!body) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = rpc_http_call(&s->http, "POST", "/v1/device/certificate",
					body, &status, &resp, e)))
			goto out;
		if (status == 403) {
			rc = 1;
			goto out;
		}
		if (status != 201 && status != 200) {
			rc = rp_err_set(e, RP_EIO, "certificate: HTTP %ld: %s", status,
					api_error(resp));
			goto out;
		}
	}
	cert = json_str(resp, "certificate");
	bundle = json_str(resp, "ca_certificates");
	tkey = json_str(resp, "targets_key");
	if (!cert || strlen(cert) > RP_CERT_PEM_MAX ||
	    (bundle && strlen(bundle) > PEM_BUNDLE_MAX) ||
	    (tkey && strlen(tkey) > 4096)) {
		rc = rp_err_set(e, RP_EFORMAT, "certificate response: certificate, "
				"ca_certificates or targets_key missing or too long");
		goto out;
	}
	if ((rc = check_cert(s, (const uint8_t *)cert, strlen(cert),
			     (const uint8_t *)bundle, bundle ? strlen(bundle) : 0,
			     &nb, &na, serial, e))) {
		rp_err_prefix(e, "the issued certificate");
		goto out;
	}
	if (bundle && ((rc = cpath(s->state, "tenant-ca.pem", p, e)) ||
		       (rc = rp_file_write(p, bundle, strlen(bundle), 0644, 0, e))))
		goto out;
	/* The targets key is pinned with the first certificate and never
	 * replaced by a later answer (a rotation is an explicit setup). */
	if (tkey && (rc = cpath(s->state, "targets-key.pem", p, e)) == 0 &&
	    !exists(p)) {
		struct rp_key *k = NULL;

		if ((rc = rp_key_load_pem((const uint8_t *)tkey, strlen(tkey), 0, &k, e))) {
			rp_err_prefix(e, "targets_key");
			goto out;
		}
		rp_key_free(k);
		if ((rc = rp_file_write(p, tkey, strlen(tkey), 0644, 0, e)))
			goto out;
	}
	if (rc || (rc = cpath(s->state, "cert.pem", p, e)) ||
	    (rc = rp_file_write(p, cert, strlen(cert), 0644, 0, e)))
		goto out;
	if (*enrolled)
		(void)unlink(tp);
	rp_buf_reset(&s->cert);
	if ((rc = rp_buf_append(&s->cert, cert, strlen(cert)))) {
		rp_err_set(e, rc, "out of memory");
		goto out;
	}
	s->nb = nb;
	s->na = na;
	s->renew_after = nb + (na - nb) * 2 / 3;
	memcpy(s->serial, serial, sizeof(serial));
out:
	json_decref(body);
	json_decref(resp);
	rp_buf_free(&csr);
	rp_buf_free_wipe(&tok);
	return rc;
}

/* Pin the targets key over mutual TLS when the certificate answer did
 * not carry it. */
static int fetch_targets_key(struct step *s, struct rp_err *e)
{
	char p[PATH_MAX];
	json_t *resp = NULL;
	const char *pem;
	struct rp_key *k = NULL;
	long status = 0;
	int rc;

	if ((rc = cpath(s->state, "targets-key.pem", p, e)) || exists(p))
		return rc;
	if ((rc = rpc_http_call(&s->http, "GET", "/v1/device/targets-key", NULL,
				&status, &resp, e)))
		return rc;
	pem = json_str(resp, "pem");
	if (status != 200 || !pem || strlen(pem) > 4096) {
		rc = rp_err_set(e, RP_EIO, "targets-key: HTTP %ld: %s", status,
				status == 200 ? "no pem" : api_error(resp));
		goto out;
	}
	if ((rc = rp_key_load_pem((const uint8_t *)pem, strlen(pem), 0, &k, e))) {
		rp_err_prefix(e, "targets-key");
		goto out;
	}
	rc = rp_file_write(p, pem, strlen(pem), 0644, 0, e);
out:
	rp_key_free(k);
	json_decref(resp);
	return rc;
}

static uint64_t targets_version(const char *state)
{
	struct rp_targets_state *st = calloc(1, sizeof(*st));
	char p[PATH_MAX];
	uint64_t v = 0;

	if (st && cpath(state, "targets.state", p, NULL) == 0 &&
	    rp_targets_state_load(p, st, NULL) == 0 && st->accepted)
		v = st->version;
	free(st);
	return v;
}

static int get_count(json_t *o, const char *key, uint64_t *out, struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return rp_err_set(e, RP_EFORMAT, "checkin response: %s: missing", key);
	return rp_json_uint(v, key, 0, RP_TARGETS_INT_MAX, out, e);
}

static int checkin(struct step *s, json_t *in, struct rp_err *e)
{
	json_t *body = NULL, *resp = NULL, *sum = NULL, *ck;
	const char *tb;
	struct rp_buf doc;
	uint64_t accepted, acked, next, tver;
	int64_t now = now_s();
	long status = 0;
	size_t sent;
	int rc;
	struct rp_err te;

	rp_buf_init(&doc, 0);
	body = json_deep_copy(in);
	sent = json_array_size(json_object_get(in, "error_reports"));
	if (!body || json_object_set_new(body, "time", json_integer(now)) ||
	    json_object_set_new(body, "targets_version",
				json_integer((json_int_t)targets_version(s->state)))) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = rpc_http_call(&s->http, "POST", "/v1/device/checkin", body,
				&status, &resp, e)))
		goto out;
	if (status == 401) {
		char p[PATH_MAX];

		/* The service no longer takes this certificate (revoked,
		 * or a CA it dropped): the next step asks for a new one. */
		if (cpath(s->state, "cert.pem", p, NULL) == 0)
			(void)unlink(p);
		rc = rp_err_set(e, RP_EUNTRUSTED, "checkin: the service refused the "
				"device certificate: %s", api_error(resp));
		goto out;
	}
	if (status != 200 || !json_is_object(resp)) {
		rc = rp_err_set(e, RP_EIO, "checkin: HTTP %ld: %s", status,
				api_error(resp));
		goto out;
	}
	tb = json_str(resp, "targets");
	if (!tb) {
		rc = rp_err_set(e, RP_EFORMAT, "checkin response: targets: missing");
		goto out;
	}
	if ((rc = get_count(resp, "reports_accepted", &accepted, e)) ||
	    (rc = get_count(resp, "reports_acked_seq", &acked, e)) ||
	    (rc = get_count(resp, "next_checkin_s", &next, e)) ||
	    (rc = get_count(resp, "targets_version", &tver, e)))
		goto out;
	ck = json_pack("{s:I, s:I, s:I, s:I, s:I}", "time", (json_int_t)now,
		       "reports_sent", (json_int_t)sent,
		       "reports_accepted", (json_int_t)accepted,
		       "reports_acked_seq", (json_int_t)acked,
		       "next_checkin_s", (json_int_t)next);
	if (!ck || json_object_set_new(s->res, "checkin", ck)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	/* The reports were delivered whatever happens to the targets; a
	 * refused document is reported apart and changes nothing. */
	rp_err_clear(&te);
	if (rp_base64_decode(tb, strlen(tb), RP_TARGETS_MAX, &doc, &te) == 0 &&
	    accept_targets(s->state, &s->cfg, rp_devkey_id(s->key), doc.data,
			   doc.len, &sum, &te) == 0 &&
	    (uint64_t)json_integer_value(json_object_get(sum, "version")) != tver) {
		/* Accepted already: the document is what counts; say so. */
		rp_err_set(&te, RP_EPOLICY, "targets: the response says version "
			   "%llu, the signed document %lld", (unsigned long long)tver,
			   (long long)json_integer_value(json_object_get(sum, "version")));
	}
	if (sum)
		json_object_set_new(s->res, "targets", sum);
	if (te.code) {
		if (!strncmp(te.msg, "base64", 6))
			rp_err_prefix(&te, "targets");
		json_object_set_new(s->res, "targets_error", json_string(te.msg));
	}
	rc = 0;
out:
	rp_buf_free(&doc);
	json_decref(body);
	json_decref(resp);
	return rc;
}

static void set_state(struct step *s, const char *state, const char *err)
{
	json_object_set_new(s->res, "state", json_string(state));
	json_object_set_new(s->res, "error", err ? json_string(err) : json_null());
}

static int check_in_request(json_t *in, struct rp_err *e)
{
	static const char *const keys[] = {
		"runtime_version", "installed", "error_reports", NULL,
	};
	int rc;

	if ((rc = rp_json_only_keys(in, keys, "step", e)))
		return rc;
	if (!json_is_string(json_object_get(in, "runtime_version")) ||
	    !json_is_array(json_object_get(in, "installed")) ||
	    !json_is_array(json_object_get(in, "error_reports")))
		return rp_err_set(e, RP_EFORMAT, "step: runtime_version, installed "
				  "and error_reports are required");
	return 0;
}

int rpc_step(const char *state, json_t *in, json_t **out, struct rp_err *e)
{
	struct step s;
	char ca[PATH_MAX];
	struct rp_err ne;
	int rc, enrolled = 0, renewed = 0, r;
	int64_t now;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.state = state;
	rp_buf_init(&s.cert, RP_CERT_PEM_MAX);
	if ((rc = check_in_request(in, e)) || (rc = load_cfg(state, &s.cfg, e)) ||
	    (rc = open_key(state, &s.key, e)) ||
	    (rc = cpath(state, "server-ca.pem", ca, e)))
		goto out;
	rp_devkey_id_hex(s.key, s.id);
	s.res = json_pack("{s:s, s:b, s:b, s:n, s:n, s:n, s:n}", "device_id", s.id,
			  "enrolled", 0, "renewed", 0, "certificate", "checkin",
			  "targets", "targets_error");
	if (!s.res) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rp_err_clear(&ne);
	/* Resolve, then confine: from here on no exec, no new processes. */
	if (rpc_http_open(&s.http, s.cfg.url, ca, &ne)) {
		set_state(&s, "error", ne.msg);
		goto done;
	}
	if ((rc = rpc_confine(e)) || (rc = load_cert(&s, e)))
		goto out;
	now = now_s();
	if (s.cert.len == 0 || now >= s.renew_after) {
		int had = s.cert.len != 0;

		r = obtain(&s, &enrolled, &ne);
		if (r == 0) {
			renewed = had;
		} else if (r == 1 && !had) {
			char msg[200];

			snprintf(msg, sizeof(msg), "waiting to be claimed: give the "
				 "operator device id %s", s.id);
			set_cert_json(&s);
			set_state(&s, "unclaimed", msg);
			goto done;
		} else if (!had || now >= s.na) {
			set_cert_json(&s);
			set_state(&s, "error", r == 1 ? "certificate: the service "
				  "refused to renew the certificate (revoked?)" : ne.msg);
			goto done;
		}
		/* Renewal failed but the certificate still holds: check in
		 * with it; the next step tries again. */
		rp_err_clear(&ne);
	}
	json_object_set_new(s.res, "enrolled", json_boolean(enrolled));
	json_object_set_new(s.res, "renewed", json_boolean(renewed));
	set_cert_json(&s);
	if (rpc_http_client_cert(&s.http, s.key, s.cert.data, s.cert.len, &ne) ||
	    fetch_targets_key(&s, &ne) || checkin(&s, in, &ne)) {
		set_state(&s, "error", ne.msg);
		goto done;
	}
	set_state(&s, "ok", NULL);
done:
	*out = s.res;
	s.res = NULL;
	rc = 0;
out:
	json_decref(s.res);
	rpc_http_close(&s.http);
	rp_buf_free(&s.cert);
	rp_devkey_free(s.key);
	return rc;
}
