/* The signing process: the key directory, its operations, and the
 * request loop. Everything a request names is re-validated here; nothing
 * read from a key file is ever put in a response. */
#include "ca/signer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"
#include "crypto/crypto.h"
#include "format/manifest.h"
#include "format/targets.h"

#define REVOKED_LINE_MAX (RP_SERIAL_LEN * 2 + 1 + 20 + 1)
#define REVOKED_FILE_MAX (RP_REVOKED_MAX * REVOKED_LINE_MAX)

struct gens {
	unsigned highest;                   /* newest generation on disk */
	size_t count;                       /* valid ones, newest first */
	unsigned gen[RP_CHAIN_CAS_MAX];
	struct rp_cert *cert[RP_CHAIN_CAS_MAX];
	int64_t nb[RP_CHAIN_CAS_MAX], na[RP_CHAIN_CAS_MAX];
};

struct revoked {
	size_t n;
	uint8_t serial[RP_REVOKED_MAX][RP_SERIAL_LEN];
	int64_t at[RP_REVOKED_MAX];
};

static void gens_free(struct gens *g)
{
	size_t i;

	for (i = 0; i < g->count; i++)
		rp_cert_free(g->cert[i]);
	memset(g, 0, sizeof(*g));
}

static int64_t now_of(const struct rp_signer *s)
{
	return s->cfg.fixed_now ? s->cfg.fixed_now : (int64_t)time(NULL);
}

/* A directory private to us: ours, a real directory, no group/other bits. */
static int private_dir(const char *path, int create, struct rp_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT || !create)
			return rp_err_errno(e, errno, "%s", path);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "%s", path);
		if (lstat(path, &st) < 0)
			return rp_err_errno(e, errno, "%s", path);
	}
	if (!S_ISDIR(st.st_mode))
		return rp_err_set(e, RP_EPOLICY, "%s: not a directory", path);
	if (st.st_uid != geteuid())
		return rp_err_set(e, RP_EPOLICY, "%s: not owned by us", path);
	if (st.st_mode & 077)
		return rp_err_set(e, RP_EPOLICY,
				  "%s: mode %03o, group or others have access",
				  path, (unsigned)(st.st_mode & 0777));
	return 0;
}

int rp_signer_open(struct rp_signer *s, const struct rp_signer_cfg *cfg,
		   struct rp_err *e)
{
	int n;

	memset(s, 0, sizeof(*s));
	if (!cfg->keydir || !*cfg->keydir)
		return rp_err_set(e, RP_EUSAGE, "signer: no key directory");
	n = snprintf(s->keydir, sizeof(s->keydir), "%s", cfg->keydir);
	if (n < 0 || (size_t)n >= sizeof(s->keydir) - RP_TENANT_MAX - 32)
		return rp_err_set(e, RP_ERANGE, "signer: key directory path too long");
	s->cfg = *cfg;
	s->cfg.keydir = s->keydir;
	if (!s->cfg.max_validity)
		s->cfg.max_validity = RP_SIGNER_MAX_VALIDITY;
	if (!s->cfg.ca_lifetime)
		s->cfg.ca_lifetime = RP_SIGNER_CA_LIFETIME;
	if (!s->cfg.rollover)
		s->cfg.rollover = RP_SIGNER_ROLLOVER;
	if (!s->cfg.crl_lifetime)
		s->cfg.crl_lifetime = RP_SIGNER_CRL_LIFETIME;
	if (s->cfg.max_validity < 60 || s->cfg.max_validity > 366 * 86400LL ||
	    s->cfg.ca_lifetime < 2 * 86400LL ||
	    s->cfg.ca_lifetime > 20 * 366 * 86400LL ||
	    s->cfg.rollover <= 0 || s->cfg.rollover >= s->cfg.ca_lifetime / 2 ||
	    s->cfg.max_validity >= s->cfg.rollover ||
	    s->cfg.crl_lifetime < 60 || s->cfg.crl_lifetime > 366 * 86400LL ||
	    s->cfg.fixed_now < 0 || s->cfg.fixed_now > RP_SIGNER_TIME_MAX / 2)
		return rp_err_set(e, RP_EUSAGE,
				  "signer: inconsistent lifetimes (need max_validity < rollover < ca_lifetime / 2)");
	return private_dir(s->keydir, 1, e);
}

static int tpath(const struct rp_signer *s, const char *tenant,
		 const char *name, char out[PATH_MAX], struct rp_err *e)
{
	int n = name ? snprintf(out, PATH_MAX, "%s/%s/%s", s->keydir, tenant, name)
		     : snprintf(out, PATH_MAX, "%s/%s", s->keydir, tenant);

	if (n < 0 || n >= PATH_MAX)
		return rp_err_set(e, RP_ERANGE, "path too long");
	return 0;
}

static int gen_path(const struct rp_signer *s, const char *tenant,
		    unsigned gen, const char *ext, char out[PATH_MAX],
		    struct rp_err *e)
{
	char name[32];

	(void)snprintf(name, sizeof(name), "ca-%u.%s", gen, ext);
	return tpath(s, tenant, name, out, e);
}

/* The tenant's directory; RP_EPOLICY "no CA" if missing and !create. */
static int tenant_dir(const struct rp_signer *s, const char *tenant,
		      int create, struct rp_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = tpath(s, tenant, NULL, path, e);

	if (rc)
		return rc;
	if (!create && lstat(path, &st) < 0 && errno == ENOENT)
		return rp_err_set(e, RP_EPOLICY, "tenant '%s' has no CA", tenant);
	return private_dir(path, create, e);
}

/* A regular file of ours that only we can read. */
static int private_file(const char *path, struct rp_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return rp_err_errno(e, errno, "%s", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return rp_err_set(e, RP_EPOLICY,
				  "%s: not a private regular file of ours", path);
	return 0;
}

static int load_cert(const char *path, struct rp_cert **out, struct rp_err *e)
{
	struct rp_buf b = { 0 };
	int rc = private_file(path, e);

	if (!rc)
		rc = rp_file_read(path, RP_CERT_PEM_MAX, &b, e);
	if (!rc)
		rc = rp_cert_load_pem(b.data, b.len, out, e);
	rp_buf_free(&b);
	return rc;
}

/* Find the newest generation and load the still-valid ones (newest
 * first; generations are made in order, so the first expired one ends
 * the walk). */
static int load_gens(const struct rp_signer *s, const char *tenant,
		     int64_t now, struct gens *g, struct rp_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned gen;
	int rc;

	memset(g, 0, sizeof(*g));
	for (gen = 1; gen <= RP_SIGNER_GEN_MAX; gen++) {
		rc = gen_path(s, tenant, gen, "pem", path, e);
		if (rc)
			return rc;
		if (lstat(path, &st) < 0) {
			if (errno != ENOENT)
				return rp_err_errno(e, errno, "%s", path);
			break;
		}
		g->highest = gen;
	}
	for (gen = g->highest; gen >= 1 && g->count < RP_CHAIN_CAS_MAX; gen--) {
		struct rp_cert *c = NULL;
		int64_t nb, na;

		rc = gen_path(s, tenant, gen, "pem", path, e);
		if (!rc)
			rc = load_cert(path, &c, e);
		if (!rc)
			rc = rp_cert_validity(c, &nb, &na, e);
		if (rc) {
			rp_cert_free(c);
			gens_free(g);
			return rp_err_prefix(e, "tenant '%s' CA %u", tenant, gen);
		}
		if (na <= now) {
			rp_cert_free(c);
			break;
		}
		g->gen[g->count] = gen;
		g->cert[g->count] = c;
		g->nb[g->count] = nb;
		g->na[g->count] = na;
		g->count++;
	}
	return 0;
}

static int load_key(const struct rp_signer *s, const char *tenant,
		    unsigned gen, const struct rp_cert *ca, struct rp_key **out,
		    struct rp_err *e)
{
	char path[PATH_MAX];
	struct rp_key *k = NULL;
	int rc = gen_path(s, tenant, gen, "key", path, e);

	if (!rc)
		rc = private_file(path, e);
	if (!rc)
		rc = rp_key_load_file(path, 1, &k, e);
	if (rc)
		return rp_err_prefix(e, "tenant '%s' CA %u key", tenant, gen);
	if (!rp_cert_matches_key(ca, k)) {
		rp_key_free(k);
		return rp_err_set(e, RP_EPOLICY,
				  "tenant '%s' CA %u: key does not match certificate",
				  tenant, gen);
	}
	*out = k;
	return 0;
}

static int set_pem(json_t *o, const char *key, const struct rp_cert *c,
		   struct rp_err *e)
{
	struct rp_buf pem;
	int rc = rp_cert_pem(c, &pem, 0, e);

	if (rc)
		return rc;
	if (json_object_set_new(o, key, json_stringn((char *)pem.data, pem.len)))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	rp_buf_free(&pem);
	return rc;
}

static int set_int(json_t *o, const char *key, int64_t v, struct rp_err *e)
{
	if (json_object_set_new(o, key, json_integer((json_int_t)v)))
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	return 0;
}

static int set_str(json_t *o, const char *key, const char *v, struct rp_err *e)
{
	if (json_object_set_new(o, key, json_string(v)))
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	return 0;
}

static int op_create_ca(struct rp_signer *s, const struct rp_signer_req *r,
			json_t *res, struct rp_err *e)
{
	char path[PATH_MAX], cn[RP_CA_NAME_MAX];
	int64_t now = now_of(s), nb = now - RP_SIGNER_SKEW;
	int64_t na = now + s->cfg.ca_lifetime;
	struct rp_buf priv = { 0 }, pem = { 0 };
	struct rp_cert *c = NULL;
	struct rp_key *k = NULL;
	struct gens g;
	unsigned gen;
	int rc;

	rc = tenant_dir(s, r->tenant, 1, e);
	if (rc)
		return rc;
	rc = load_gens(s, r->tenant, now, &g, e);
	if (rc)
		return rc;
	/* Rollover: a new generation only once the newest valid one is
	 * within the rollover window of its end; at most two overlap. */
	if (g.count > 0 && g.na[0] - now > s->cfg.rollover) {
		rc = rp_err_set(e, RP_EPOLICY,
				"tenant '%s': CA %u is valid until %lld; the next generation may be made from %lld",
				r->tenant, g.gen[0], (long long)g.na[0],
				(long long)(g.na[0] - s->cfg.rollover));
		goto out;
	}
	if (g.count > 1) {
		rc = rp_err_set(e, RP_EPOLICY,
				"tenant '%s': two CA generations are already valid",
				r->tenant);
		goto out;
	}
	if (g.highest >= RP_SIGNER_GEN_MAX) {
		rc = rp_err_set(e, RP_ERANGE, "tenant '%s': too many CA generations",
				r->tenant);
		goto out;
	}
	gen = g.highest + 1;
	(void)snprintf(cn, sizeof(cn), "Rampart tenant %s CA %u", r->tenant, gen);
	rc = rp_key_generate(RP_KEY_P256, &k, e);
	if (!rc)
		rc = rp_cert_create_ca(k, cn, nb, na, &c, e);
	if (!rc)
		rc = rp_key_private_pem(k, &priv, e);
	if (!rc)
		rc = rp_cert_pem(c, &pem, 0, e);
	if (rc)
		goto out;
	/* The key first: a certificate on disk always has its key. A key
	 * left without a certificate by a crash is overwritten next time. */
	rc = gen_path(s, r->tenant, gen, "key", path, e);
	if (!rc)
		rc = rp_file_write(path, priv.data, priv.len, 0600, 0, e);
	if (!rc)
		rc = gen_path(s, r->tenant, gen, "pem", path, e);
	if (!rc)
		rc = rp_file_write(path, pem.data, pem.len, 0600, 1, e);
	if (rc)
		goto out;
	if ((rc = set_int(res, "generation", gen, e)) ||
	    (rc = set_pem(res, "certificate", c, e)) ||
	    (rc = set_int(res, "not_before", nb, e)) ||
	    (rc = set_int(res, "not_after", na, e)))
		goto out;
out:
	rp_buf_free_wipe(&priv);
	rp_buf_free(&pem);
	rp_cert_free(c);
	rp_key_free(k);
	gens_free(&g);
	return rc;
}

static int op_issue(struct rp_signer *s, const struct rp_signer_req *r,
		    json_t *res, struct rp_err *e)
{
	char hex[RP_SERIAL_HEX], id[RP_DEVICE_ID_HEX];
	uint8_t serial[RP_SERIAL_LEN];
	int64_t now = now_of(s);
	struct rp_csr *csr = NULL;
	struct rp_cert *c = NULL;
	struct rp_key *k = NULL;
	struct gens g = { 0 };
	size_t i;
	int rc;

	/* The window: starts near our clock, non-empty, at most the max. */
	if (r->not_before < now - RP_SIGNER_SKEW ||
	    r->not_before > now + RP_SIGNER_SKEW)
		return rp_err_set(e, RP_ERANGE,
				  "not_before: more than %lld s from the signer's clock",
				  (long long)RP_SIGNER_SKEW);
	if (r->not_after <= r->not_before ||
	    r->not_after - r->not_before > s->cfg.max_validity)
		return rp_err_set(e, RP_ERANGE,
				  "validity: must be 1 to %lld seconds",
				  (long long)s->cfg.max_validity);
	rc = rp_csr_parse((const uint8_t *)r->csr, r->csr_len, &csr, e);
	if (rc)
		return rc;
	rc = tenant_dir(s, r->tenant, 0, e);
	if (!rc)
		rc = load_gens(s, r->tenant, now, &g, e);
	if (rc)
		goto out;
	/* The newest generation whose life covers the window. */
	for (i = 0; i < g.count; i++)
		if (g.nb[i] <= r->not_before && r->not_after <= g.na[i])
			break;
	if (i == g.count) {
		rc = rp_err_set(e, g.count ? RP_ERANGE : RP_EPOLICY,
				g.count ? "tenant '%s': no CA generation covers the window (make the next one)"
					: "tenant '%s' has no valid CA",
				r->tenant);
		goto out;
	}
	rc = load_key(s, r->tenant, g.gen[i], g.cert[i], &k, e);
	if (!rc)
		rc = rp_cert_issue(g.cert[i], k, csr, r->not_before, r->not_after,
				   serial, &c, e);
	if (!rc)
		rc = rp_cert_device_id(c, id, e);
	if (rc)
		goto out;
	rp_hex(serial, RP_SERIAL_LEN, hex);
	if ((rc = set_pem(res, "certificate", c, e)) ||
	    (rc = set_str(res, "serial", hex, e)) ||
	    (rc = set_str(res, "device_id", id, e)) ||
	    (rc = set_int(res, "generation", g.gen[i], e)) ||
	    (rc = set_int(res, "not_before", r->not_before, e)) ||
	    (rc = set_int(res, "not_after", r->not_after, e)))
		goto out;
out:
	rp_cert_free(c);
	rp_key_free(k);
	rp_csr_free(csr);
	gens_free(&g);
	return rc;
}

static int op_ca_cert(struct rp_signer *s, const struct rp_signer_req *r,
		      json_t *res, struct rp_err *e)
{
	json_t *arr = json_array(), *o;
	struct gens g = { 0 };
	size_t i;
	int rc;

	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = tenant_dir(s, r->tenant, 0, e);
	if (!rc)
		rc = load_gens(s, r->tenant, now_of(s), &g, e);
	if (!rc && g.count == 0)
		rc = rp_err_set(e, RP_EPOLICY, "tenant '%s' has no valid CA",
				r->tenant);
	for (i = 0; !rc && i < g.count; i++) {
		o = json_object();
		if (!o || json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
		if ((rc = set_int(o, "generation", g.gen[i], e)) ||
		    (rc = set_pem(o, "certificate", g.cert[i], e)) ||
		    (rc = set_int(o, "not_before", g.nb[i], e)) ||
		    (rc = set_int(o, "not_after", g.na[i], e)))
			break;
	}
	if (!rc && json_object_set(res, "certificates", arr))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	json_decref(arr);
	gens_free(&g);
	return rc;
}

/* Read the revoked list, dropping entries that can no longer matter: a
 * certificate revoked at t was issued before t with not_before at most
 * SKEW ahead of the clock and a window of at most max_validity, so it is
 * expired by t + max_validity + SKEW. */
static int revoked_read(const struct rp_signer *s, const char *tenant,
			int64_t now, struct revoked *rv, struct rp_err *e)
{
	char path[PATH_MAX];
	struct rp_buf b = { 0 };
	size_t off = 0;
	int rc;

	rv->n = 0;
	rc = tpath(s, tenant, "revoked", path, e);
	if (rc)
		return rc;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	rc = private_file(path, e);
	if (!rc)
		rc = rp_file_read(path, REVOKED_FILE_MAX, &b, e);
	while (!rc && off < b.len) {
		const char *line = (const char *)b.data + off;
		const uint8_t *nl = memchr(b.data + off, '\n', b.len - off);
		size_t llen = nl ? (size_t)(nl - (b.data + off)) : 0;
		uint64_t at;

		if (!nl || llen < RP_SERIAL_LEN * 2 + 2 ||
		    line[RP_SERIAL_LEN * 2] != ' ' || rv->n >= RP_REVOKED_MAX ||
		    rp_unhex(line, RP_SERIAL_LEN * 2, rv->serial[rv->n],
			     RP_SERIAL_LEN) ||
		    rp_parse_u64(line + RP_SERIAL_LEN * 2 + 1,
				 llen - RP_SERIAL_LEN * 2 - 1,
				 (uint64_t)RP_SIGNER_TIME_MAX, &at)) {
			rc = rp_err_set(e, RP_EFORMAT, "%s: malformed at byte %zu",
					path, off);
			break;
		}
		off += llen + 1;
		if ((int64_t)at + s->cfg.max_validity + RP_SIGNER_SKEW < now)
			continue;
		rv->at[rv->n] = (int64_t)at;
		rv->n++;
	}
	rp_buf_free(&b);
	return rc;
}

static int op_revoke(struct rp_signer *s, const struct rp_signer_req *r,
		     json_t *res, struct rp_err *e)
{
	char path[PATH_MAX], hex[RP_SERIAL_HEX];
	int64_t now = now_of(s), at = now;
	struct revoked *rv = NULL;
	struct rp_buf out = { 0 };
	size_t i;
	int rc;

	rc = tenant_dir(s, r->tenant, 0, e);
	if (rc)
		return rc;
	rv = calloc(1, sizeof(*rv));
	if (!rv)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = revoked_read(s, r->tenant, now, rv, e);
	if (rc)
		goto out;
	for (i = 0; i < rv->n; i++)
		if (memcmp(rv->serial[i], r->serial, RP_SERIAL_LEN) == 0)
			break;
	if (i < rv->n) {
		at = rv->at[i]; /* already revoked: idempotent */
	} else {
		if (rv->n >= RP_REVOKED_MAX) {
			rc = rp_err_set(e, RP_ERANGE,
					"tenant '%s': %d revocations pending expiry",
					r->tenant, RP_REVOKED_MAX);
			goto out;
		}
		memcpy(rv->serial[rv->n], r->serial, RP_SERIAL_LEN);
		rv->at[rv->n] = now;
		rv->n++;
	}
	rp_buf_init(&out, REVOKED_FILE_MAX);
	for (i = 0; i < rv->n; i++) {
		rp_hex(rv->serial[i], RP_SERIAL_LEN, hex);
		if (rp_buf_printf(&out, "%s %lld\n", hex, (long long)rv->at[i])) {
			rc = rp_err_set(e, RP_ERANGE, "revoked list too large");
			goto out;
		}
	}
	rc = tpath(s, r->tenant, "revoked", path, e);
	if (!rc)
		rc = rp_file_write(path, out.data, out.len, 0600, 0, e);
	if (rc)
		goto out;
	rp_hex(r->serial, RP_SERIAL_LEN, hex);
	if ((rc = set_str(res, "serial", hex, e)) ||
	    (rc = set_int(res, "revoked_at", at, e)))
		goto out;
out:
	rp_buf_free(&out);
	free(rv);
	return rc;
}

static int op_crl(struct rp_signer *s, const struct rp_signer_req *r,
		  json_t *res, struct rp_err *e)
{
	int64_t now = now_of(s);
	json_t *arr = json_array(), *o;
	struct revoked *rv = NULL;
	struct rp_buf pem = { 0 };
	struct gens g = { 0 };
	size_t i;
	int rc;

	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rv = calloc(1, sizeof(*rv));
	if (!rv) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rc = tenant_dir(s, r->tenant, 0, e);
	if (!rc)
		rc = load_gens(s, r->tenant, now, &g, e);
	if (!rc)
		rc = revoked_read(s, r->tenant, now, rv, e);
	if (!rc && g.count == 0)
		rc = rp_err_set(e, RP_EPOLICY, "tenant '%s' has no valid CA",
				r->tenant);
	/* One CRL per valid generation, each listing every revoked serial:
	 * serials are random, so listing another generation's is harmless. */
	for (i = 0; !rc && i < g.count; i++) {
		struct rp_key *k = NULL;

		rp_buf_init(&pem, RP_SIGNER_RESP_MAX);
		rc = load_key(s, r->tenant, g.gen[i], g.cert[i], &k, e);
		if (!rc)
			rc = rp_crl_create(g.cert[i], k,
					   (const uint8_t (*)[RP_SERIAL_LEN])rv->serial,
					   rv->at, rv->n, now,
					   now + s->cfg.crl_lifetime,
					   (uint64_t)now, &pem, e);
		rp_key_free(k);
		if (rc)
			break;
		o = json_object();
		if (!o || json_array_append_new(arr, o) ||
		    set_int(o, "generation", g.gen[i], e) ||
		    json_object_set_new(o, "crl", json_stringn((char *)pem.data,
							       pem.len))) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
		rp_buf_free(&pem);
	}
	if (!rc && json_object_set(res, "crls", arr))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_buf_free(&pem);
	free(rv);
	json_decref(arr);
	gens_free(&g);
	return rc;
}

void rp_signer_release(struct rp_signer *s)
{
	size_t i;

	for (i = 0; i < RP_SIGNER_KEYCACHE; i++) {
		rp_key_free(s->keys[i].key);
		memset(&s->keys[i], 0, sizeof(s->keys[i]));
	}
}

/* The cached key for (tenant, file) if the file is still the one it was
 * loaded from; otherwise load it and cache it. *out is borrowed (valid
 * until the next call). */
static int cached_key(struct rp_signer *s, const char *tenant, const char *file,
		      const char *path, struct rp_key **out, struct rp_err *e)
{
	struct rp_signer_cached_key *c = NULL;
	struct rp_key *k = NULL;
	struct stat st;
	size_t i;
	int rc;

	if (lstat(path, &st) < 0)
		return rp_err_errno(e, errno, "%s", path);
	for (i = 0; i < RP_SIGNER_KEYCACHE; i++) {
		c = &s->keys[i];
		if (c->key && strcmp(c->tenant, tenant) == 0 && strcmp(c->file, file) == 0)
			break;
	}
	if (i < RP_SIGNER_KEYCACHE) {
		if (c->dev == (uint64_t)st.st_dev && c->ino == (uint64_t)st.st_ino &&
		    c->size == (uint64_t)st.st_size &&
		    c->mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) {
			*out = c->key;
			return 0;
		}
	} else {
		for (i = 0; i < RP_SIGNER_KEYCACHE && s->keys[i].key; i++)
			;
		if (i == RP_SIGNER_KEYCACHE)
			i = s->next_evict++ % RP_SIGNER_KEYCACHE;
		c = &s->keys[i];
	}
	rc = rp_key_load_file(path, 1, &k, e);
	if (!rc && rp_key_type(k) != RP_KEY_ED25519)
		rc = rp_err_set(e, RP_EPOLICY, "not an Ed25519 key");
	if (rc) {
		rp_key_free(k);
		return rc;
	}
	rp_key_free(c->key);
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	(void)snprintf(c->file, sizeof(c->file), "%s", file);
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	c->size = (uint64_t)st.st_size;
	c->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	c->key = k;
	*out = k;
	return 0;
}

/* One of the tenant's Ed25519 keys (file "image.key": the production
 * image key; "targets.key": the targets key), made (0600) on first use.
 * *out is borrowed from the signer's key cache: do not free it. */
static int ed_key(struct rp_signer *s, const char *tenant, const char *file,
		  struct rp_key **out, struct rp_err *e)
{
	char path[PATH_MAX];
	struct rp_buf priv = { 0 };
	struct rp_key *k = NULL;
	int rc;

	rc = tenant_dir(s, tenant, 1, e);
	if (!rc)
		rc = tpath(s, tenant, file, path, e);
	if (rc)
		return rc;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = rp_key_generate(RP_KEY_ED25519, &k, e);
		if (!rc)
			rc = rp_key_private_pem(k, &priv, e);
		if (!rc)
			rc = rp_file_write(path, priv.data, priv.len, 0600, 1, e);
		rp_buf_free_wipe(&priv);
		rp_key_free(k);
		k = NULL;
		if (rc)
			return rp_err_prefix(e, "tenant '%s' %s", tenant, file);
	}
	rc = private_file(path, e);
	if (!rc)
		rc = cached_key(s, tenant, file, path, out, e);
	if (rc)
		return rp_err_prefix(e, "tenant '%s' %s", tenant, file);
	return 0;
}

static int image_key(struct rp_signer *s, const char *tenant, struct rp_key **out,
		     struct rp_err *e)
{
	return ed_key(s, tenant, "image.key", out, e);
}

static int set_key(json_t *res, const struct rp_key *k, struct rp_err *e)
{
	char id[RP_KEYID_LEN * 2 + 1];
	int rc;

	rp_hex(rp_key_id(k), RP_KEYID_LEN, id);
	rc = set_str(res, "key_id", id, e);
	if (!rc)
		rc = set_str(res, "algorithm", "ed25519", e);
	return rc;
}

static int op_image_key(struct rp_signer *s, const struct rp_signer_req *r,
			json_t *res, struct rp_err *e)
{
	struct rp_buf pem = { 0 };
	struct rp_key *k = NULL; /* borrowed from the key cache */
	int rc = ed_key(s, r->tenant, r->op == RP_SIGNER_TARGETS_KEY ? "targets.key"
			: "image.key", &k, e);

	if (!rc)
		rc = rp_key_public_pem(k, &pem, e);
	if (!rc)
		rc = set_key(res, k, e);
	if (!rc && json_object_set_new(res, "public_key",
				       json_stringn((char *)pem.data, pem.len)))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	rp_buf_free(&pem);
	return rc;
}

static int op_sign_image(struct rp_signer *s, const struct rp_signer_req *r,
			 json_t *res, struct rp_err *e)
{
	char hex[RP_SIG_MAX * 2 + 1];
	uint8_t sig[RP_SIG_MAX];
	size_t len = 0;
	struct rp_key *k = NULL; /* borrowed from the key cache */
	int rc;

	/* Only a package header: no signing oracle for other formats. */
	if (memcmp(r->header, RP_SIGNER_HEADER_MAGIC, 8) != 0)
		return rp_err_set(e, RP_EPOLICY, "header: not an image package header");
	rc = image_key(s, r->tenant, &k, e);
	if (!rc)
		rc = rp_sign(k, r->header, RP_SIGNER_HEADER_LEN, sig, &len, e);
	if (!rc && len != 64)
		rc = rp_err_set(e, RP_ECRYPTO, "unexpected signature length");
	if (!rc) {
		rp_hex(sig, len, hex);
		rc = set_key(res, k, e);
	}
	if (!rc)
		rc = set_str(res, "signature", hex, e);
	return rc;
}

static int op_sign_targets(struct rp_signer *s, const struct rp_signer_req *r,
			   json_t *res, struct rp_err *e)
{
	char hex[RP_SIG_MAX * 2 + 1], tenant[37];
	uint8_t sig[RP_SIG_MAX];
	struct rp_targets *t = malloc(sizeof(*t));
	struct rp_key *k = NULL; /* borrowed from the key cache */
	size_t len = 0;
	int rc;

	if (!t)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	/* Only a well-formed targets document of this very tenant: the
	 * targets key is no signing oracle, not even across tenants. */
	rc = rp_targets_parse_region(r->region, r->region_len, t, e);
	if (rc) {
		rc = RP_EPOLICY;
		rp_err_prefix(e, "region");
		e->code = rc;
		goto out;
	}
	rp_guid_format(t->tenant, tenant);
	if (strcmp(tenant, r->tenant) != 0) {
		rc = rp_err_set(e, RP_EPOLICY, "region: the document names another tenant");
		goto out;
	}
	rc = ed_key(s, r->tenant, "targets.key", &k, e);
	if (!rc)
		rc = rp_sign(k, r->region, r->region_len, sig, &len, e);
	if (!rc && len != 64)
		rc = rp_err_set(e, RP_ECRYPTO, "unexpected signature length");
	if (!rc) {
		rp_hex(sig, len, hex);
		rc = set_key(res, k, e);
	}
	if (!rc)
		rc = set_str(res, "signature", hex, e);
out:
	free(t);
	return rc;
}

/* An error response in resp (re-initialised). */
static int err_resp(const struct rp_err *err, struct rp_buf *resp)
{
	json_t *o = json_object();
	char *text = NULL;
	int rc = RP_ENOMEM;

	rp_buf_free(resp);
	rp_buf_init(resp, RP_SIGNER_RESP_MAX);
	if (!o || json_object_set_new(o, "v", json_integer(RP_SIGNER_VERSION)) ||
	    json_object_set_new(o, "ok", json_false()) ||
	    json_object_set_new(o, "code", json_integer(err->code < 0 ? err->code
								       : RP_EIO)) ||
	    json_object_set_new(o, "error", json_string(err->msg)))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (text && rp_buf_append(resp, text, strlen(text)) == 0)
		rc = 0;
out:
	free(text);
	json_decref(o);
	return rc;
}

int rp_signer_handle(struct rp_signer *s, const uint8_t *req, size_t len,
		     struct rp_buf *resp)
{
	struct rp_signer_req *r = NULL;
	json_t *res = NULL, *top = NULL;
	char *text = NULL;
	struct rp_err e;
	int rc;

	rp_err_clear(&e);
	rp_buf_init(resp, RP_SIGNER_RESP_MAX);
	r = malloc(sizeof(*r));
	res = json_object();
	if (!r || !res) {
		rc = rp_err_set(&e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rc = rp_signer_req_decode(req, len, r, &e);
	if (rc) {
		rp_err_prefix(&e, "request");
		goto out;
	}
	switch (r->op) {
	case RP_SIGNER_CREATE_CA: rc = op_create_ca(s, r, res, &e); break;
	case RP_SIGNER_ISSUE: rc = op_issue(s, r, res, &e); break;
	case RP_SIGNER_CA_CERT: rc = op_ca_cert(s, r, res, &e); break;
	case RP_SIGNER_REVOKE: rc = op_revoke(s, r, res, &e); break;
	case RP_SIGNER_CRL: rc = op_crl(s, r, res, &e); break;
	case RP_SIGNER_IMAGE_KEY: rc = op_image_key(s, r, res, &e); break;
	case RP_SIGNER_SIGN_IMAGE: rc = op_sign_image(s, r, res, &e); break;
	case RP_SIGNER_TARGETS_KEY: rc = op_image_key(s, r, res, &e); break;
	case RP_SIGNER_SIGN_TARGETS: rc = op_sign_targets(s, r, res, &e); break;
	}
	if (rc) {
		rp_err_prefix(&e, "%s", rp_signer_op_name(r->op));
		goto out;
	}
	top = json_pack("{s:i, s:b, s:O}", "v", RP_SIGNER_VERSION, "ok", 1,
			"result", res);
	text = top ? json_dumps(top, JSON_COMPACT) : NULL;
	if (!text) {
		rc = rp_err_set(&e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (rp_buf_append(resp, text, strlen(text))) {
		rc = rp_err_set(&e, RP_ERANGE, "response over %d bytes",
				RP_SIGNER_RESP_MAX);
		goto out;
	}
out:
	if (rc)
		rc = err_resp(&e, resp);
	free(text);
	json_decref(top);
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_serve(struct rp_signer *s, int fd, struct rp_err *e)
{
	uint8_t *buf = malloc(RP_SIGNER_REQ_MAX + 1);
	struct rp_buf resp = { 0 };
	int rc = 0;

	if (!buf)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (;;) {
		struct rp_err big;
		ssize_t n = recv(fd, buf, RP_SIGNER_REQ_MAX + 1, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rp_err_errno(e, errno, "signer: recv");
			break;
		}
		if (n == 0)
			break; /* the server closed its end */
		if ((size_t)n > RP_SIGNER_REQ_MAX) {
			rp_err_set(&big, RP_ERANGE, "request: over %d bytes",
				   RP_SIGNER_REQ_MAX);
			rc = err_resp(&big, &resp);
		} else {
			rc = rp_signer_handle(s, buf, (size_t)n, &resp);
		}
		if (rc == 0) {
			ssize_t w;

			do
				w = send(fd, resp.data, resp.len, MSG_NOSIGNAL);
			while (w < 0 && errno == EINTR);
			if (w < 0) {
				rc = rp_err_errno(e, errno, "signer: send");
				break;
			}
		}
		rp_buf_free(&resp);
		rc = 0;
	}
	rp_buf_free(&resp);
	free(buf);
	return rc;
}
