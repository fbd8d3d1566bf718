/* Devices' own API: client-certificate authentication against the
 * calling device's tenant CA, check-in with error reports and a signed
 * targets document, downloads of the group's deployed images, and the
 * tenant's targets key. The targets key never comes near this file: the
 * signed region goes to rampart-signer and its signature comes back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "ca/client.h"
#include "crypto/crypto.h"
#include "format/manifest.h"
#include "format/package.h"
#include "format/sigblock.h"
#include "format/targets.h"
#include "service/device.h"
#include "service/identity.h"
#include "service/images.h"
#include "service/model_priv.h"

#define REFUSED "client certificate refused"
#define TENANT_TEXT 65

/* ---- the per-tenant cache ------------------------------------------------ */

struct tentry {
	char tenant[TENANT_TEXT];      /* "" when the slot is free */
	uint64_t used;                 /* last use, for eviction */
	int64_t cas_at;                /* when cas were fetched; 0: never */
	size_t ncas;
	struct rp_cert *cas[RP_CHAIN_CAS_MAX];
	int64_t key_at;                /* when the targets key was fetched */
	struct rp_key *key;
	char key_id[2 * RP_KEYID_LEN + 1];
	struct rp_buf pem;
};

struct rp_tenant_cache {
	uint64_t tick;
	struct tentry t[RP_TENANT_CACHE_MAX];
};

static void drop_cas(struct tentry *t)
{
	size_t i;

	for (i = 0; i < t->ncas; i++)
		rp_cert_free(t->cas[i]);
	t->ncas = 0;
	t->cas_at = 0;
}

static void drop_key(struct tentry *t)
{
	rp_key_free(t->key);
	t->key = NULL;
	rp_buf_free(&t->pem);
	t->key_id[0] = '\0';
	t->key_at = 0;
}

static void entry_clear(struct tentry *t)
{
	drop_cas(t);
	drop_key(t);
	memset(t, 0, sizeof(*t));
}

int rp_tenant_cache_new(struct rp_tenant_cache **out, struct rp_err *e)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : rp_err_set(e, RP_ENOMEM, "out of memory");
}

void rp_tenant_cache_free(struct rp_tenant_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < RP_TENANT_CACHE_MAX; i++)
		entry_clear(&c->t[i]);
	free(c);
}

static struct tentry *find(struct rp_tenant_cache *c, const char *tenant)
{
	size_t i;

	for (i = 0; i < RP_TENANT_CACHE_MAX; i++)
		if (c->t[i].tenant[0] && strcmp(c->t[i].tenant, tenant) == 0)
			return &c->t[i];
	return NULL;
}

void rp_tenant_cache_forget(struct rp_tenant_cache *c, const char *tenant)
{
	struct tentry *t = c ? find(c, tenant) : NULL;

	if (t)
		entry_clear(t);
}

/* The tenant's entry: the cached one, a free or the least recently used
 * slot, or (without a cache) tmp, which the caller releases with put(). */
static struct tentry *get(struct rp_model *m, const char *tenant, struct tentry *tmp)
{
	struct rp_tenant_cache *c = m->cache;
	struct tentry *t, *old = NULL;
	size_t i;

	if (!c) {
		memset(tmp, 0, sizeof(*tmp));
		snprintf(tmp->tenant, sizeof(tmp->tenant), "%s", tenant);
		return tmp;
	}
	t = find(c, tenant);
	for (i = 0; !t && i < RP_TENANT_CACHE_MAX; i++) {
		if (!c->t[i].tenant[0]) {
			t = &c->t[i];
			break;
		}
		if (!old || c->t[i].used < old->used)
			old = &c->t[i];
	}
	if (!t) {
		t = old;
		entry_clear(t);
	}
	if (!t->tenant[0])
		snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	t->used = ++c->tick;
	return t;
}

static void put(struct rp_model *m, struct tentry *t)
{
	if (!m->cache)
		entry_clear(t);
}

/* The tenant's valid CA certificates, parsed, fetched again when older
 * than RP_TENANT_CACHE_TTL (or when force). */
static int load_cas(struct rp_model *m, struct tentry *t, int64_t now, int force,
		    struct rp_err *e)
{
	struct rp_signer_ca cas[RP_CHAIN_CAS_MAX];
	struct rp_cert *parsed[RP_CHAIN_CAS_MAX];
	size_t n = 0, i, ok = 0;
	int rc;

	if (!force && t->cas_at && now - t->cas_at < RP_TENANT_CACHE_TTL && now >= t->cas_at)
		return 0;
	memset(cas, 0, sizeof(cas));
	memset(parsed, 0, sizeof(parsed));
	rc = rp_signer_ca_cert(m->signer, t->tenant, cas, &n, e);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = rp_cert_load_pem(cas[i].pem.data, cas[i].pem.len, &parsed[i], e);
		if (rc == 0)
			ok++;
	}
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);
	if (rc) {
		for (i = 0; i < ok; i++)
			rp_cert_free(parsed[i]);
		return rp_err_prefix(e, "tenant CA");
	}
	drop_cas(t);
	memcpy(t->cas, parsed, sizeof(parsed));
	t->ncas = n;
	t->cas_at = now;
	return 0;
}

/* The tenant's targets public key (the signer makes it on first use). */
static int load_key(struct rp_model *m, struct tentry *t, int64_t now, int force,
		    struct rp_err *e)
{
	struct rp_signer_image_key k;
	struct rp_key *key = NULL;
	int rc;

	if (!force && t->key && now - t->key_at < RP_TENANT_CACHE_TTL && now >= t->key_at)
		return 0;
	memset(&k, 0, sizeof(k));
	rc = rp_signer_targets_key(m->signer, t->tenant, &k, e);
	if (rc == 0)
		rc = rp_key_load_pem(k.pem.data, k.pem.len, 0, &key, e);
	if (rc == 0 && rp_key_type(key) != RP_KEY_ED25519)
		rc = rp_err_set(e, RP_EFORMAT, "not an Ed25519 key");
	if (rc) {
		rp_key_free(key);
		rp_signer_image_key_free(&k);
		return rp_err_prefix(e, "targets key");
	}
	drop_key(t);
	t->key = key;
	memcpy(t->key_id, k.key_id, sizeof(t->key_id));
	t->pem = k.pem;
	t->key_at = now;
	return 0;
}

/* ---- authentication ------------------------------------------------------ */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* 0 a row (st open; the caller frees), 1 none, <0 error. */
static int query(struct rp_model *m, const char *sql, const char *const *params,
		 int n, struct rp_stmt **st, struct rp_err *e)
{
	int rc, i;

	*st = NULL;
	rc = rp_db_prepare(m->db, sql, st, e);
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		if (rp_stmt_bind_text(*st, i + 1, params[i]))
			return rp_err_set(e, RP_ENOMEM, "binding failed");
	return rp_stmt_step(*st, e);
}

static int refuse(struct rp_err *e, const char *why)
{
	return rp_err_set(e, -EACCES, REFUSED ": %s", why);
}

/* Verify leaf against the tenant's CAs; a refusal by a cached CA set older
 * than RP_TENANT_CACHE_RETRY is tried once more with a fresh one (a new
 * CA generation). */
static int verify_chain(struct rp_model *m, const char *tenant,
			const struct rp_cert *leaf, int64_t now,
			char id[RP_DEVICE_ID_HEX], struct rp_err *e)
{
	struct tentry tmp, *t = get(m, tenant, &tmp);
	int rc, pass;

	for (pass = 0; pass < 2; pass++) {
		rc = load_cas(m, t, now, pass == 1, e);
		if (rc)
			break;
		if (t->ncas == 0)
			rc = refuse(e, "the tenant has no CA");
		else
			rc = rp_cert_verify_device(leaf, t->cas, t->ncas, NULL, 0, now, id, e);
		/* A cached "no CA" is retried like a refusal: with several
		 * workers, the CA may have been made by another one, whose
		 * rp_tenant_cache_forget does not reach this cache. */
		if ((rc != RP_EUNTRUSTED && t->ncas != 0) || !m->cache ||
		    now - t->cas_at < RP_TENANT_CACHE_RETRY)
			break;
	}
	put(m, t);
	return rc;
}

int rp_device_authenticate(struct rp_model *m, const uint8_t *der, size_t len,
			   int64_t now, struct rp_device_principal *out,
			   struct rp_err *e)
{
	struct rp_device_principal d;
	struct rp_cert *leaf = NULL;
	struct rp_stmt *st = NULL;
	uint8_t serial[RP_SERIAL_LEN];
	char claimed[RP_DEVICE_ID_HEX], id[RP_DEVICE_ID_HEX], sh[RP_SERIAL_HEX];
	const char *params[3];
	int64_t revoked;
	int rc;

	memset(&d, 0, sizeof(d));
	if (!m->signer)
		return rp_err_set(e, -ENOSYS,
				  "the server has no certificate authority (serve --keys)");
	if (!der || len == 0)
		return refuse(e, "no client certificate");
	rc = rp_cert_load_der(der, len, &leaf, e);
	if (rc) {
		rc = refuse(e, "not a certificate");
		goto out;
	}
	/* The key's id only finds the tenant whose CA must have signed it;
	 * nothing else is believed before the chain verifies. */
	rc = rp_cert_device_id(leaf, claimed, e);
	if (rc) {
		rc = refuse(e, "no usable key");
		goto out;
	}
	params[0] = claimed;
	rc = query(m, "SELECT tenant_id, revoked_at, COALESCE(product_id, ''),"
		   " COALESCE(group_id, '') FROM devices WHERE id = ?", params, 1, &st, e);
	if (rc == 1)
		rc = refuse(e, "no claimed device has this key");
	if (rc)
		goto out;
	snprintf(d.tenant, sizeof(d.tenant), "%s", rp_stmt_text(st, 0));
	revoked = rp_stmt_int(st, 1);
	snprintf(d.product, sizeof(d.product), "%s", rp_stmt_text(st, 2));
	snprintf(d.group, sizeof(d.group), "%s", rp_stmt_text(st, 3));
	rp_stmt_free(st);
	st = NULL;
	rc = verify_chain(m, d.tenant, leaf, now, id, e);
	if (rc == RP_EUNTRUSTED || rc == RP_EPOLICY || rc == RP_EFORMAT) {
		/* The reason only goes to the log, always in one shape. */
		if (strncmp(e->msg, REFUSED, strlen(REFUSED)) != 0)
			rp_err_prefix(e, REFUSED);
		e->code = -EACCES;
		rc = -EACCES;
	}
	if (rc)
		goto out;
	if (strcmp(id, claimed) != 0) {
		rc = refuse(e, "subject does not match the key");
		goto out;
	}
	if (revoked) {
		rc = refuse(e, "the device is revoked");
		goto out;
	}
	rc = rp_cert_serial(leaf, serial, e);
	if (rc) {
		rc = refuse(e, "serial");
		goto out;
	}
	rp_hex(serial, RP_SERIAL_LEN, sh);
	params[0] = sh;
	params[1] = id;
	params[2] = d.tenant;
	rc = query(m, "SELECT revoked_at FROM device_certs WHERE serial = ?"
		   " AND device_id = ? AND tenant_id = ?", params, 3, &st, e);
	if (rc == 1)
		rc = refuse(e, "a certificate the service did not issue to this device");
	else if (rc == 0 && rp_stmt_int(st, 0) != 0)
		rc = refuse(e, "the certificate is revoked");
	if (rc)
		goto out;
	rc = rp_cert_validity(leaf, &d.not_before, &d.not_after, e);
	if (rc)
		goto out;
	memcpy(d.id, id, sizeof(d.id));
	memcpy(d.serial, sh, sizeof(d.serial));
	*out = d;
out:
	rp_stmt_free(st);
	rp_cert_free(leaf);
	return rc;
}

int rp_device_reauthenticate(struct rp_model *m,
			     const struct rp_device_principal *verified,
			     int64_t verified_at, int64_t now,
			     struct rp_device_principal *out,
			     struct rp_err *e)
{
	struct rp_device_principal d = *verified;
	struct rp_stmt *st = NULL;
	const char *params[3] = { verified->serial, verified->id, verified->tenant };
	int rc;

	if (now < verified_at || now - verified_at >= RP_TENANT_CACHE_TTL)
		return 1;
	/* rp_cert_verify_device checked the whole chain at verified_at; the
	 * leaf's own period is checked here at every request. */
	if (now < d.not_before || now > d.not_after)
		return refuse(e, "the certificate is not valid now");
	rc = query(m, "SELECT d.revoked_at, c.revoked_at, COALESCE(d.product_id, ''),"
		   " COALESCE(d.group_id, '') FROM device_certs c"
		   " JOIN devices d ON d.id = c.device_id AND d.tenant_id = c.tenant_id"
		   " WHERE c.serial = ? AND c.device_id = ? AND c.tenant_id = ?",
		   params, 3, &st, e);
	if (rc == 1)
		rc = refuse(e, "the device or its certificate is no longer recorded");
	else if (rc == 0 && rp_stmt_int(st, 0) != 0)
		rc = refuse(e, "the device is revoked");
	else if (rc == 0 && rp_stmt_int(st, 1) != 0)
		rc = refuse(e, "the certificate is revoked");
	if (rc == 0) {
		snprintf(d.product, sizeof(d.product), "%s", rp_stmt_text(st, 2));
		snprintf(d.group, sizeof(d.group), "%s", rp_stmt_text(st, 3));
		*out = d;
	}
	rp_stmt_free(st);
	return rc;
}

/* ---- check-in ------------------------------------------------------------ */

/* What the device says it runs, as our own compact JSON (never its bytes). */
static char *installed_json(const struct rp_api_checkin_req *r)
{
	json_t *arr = json_array(), *o;
	char *text = NULL;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < r->ninstalled; i++) {
		const struct rp_api_installed *in = &r->installed[i];

		o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "component_id", in->component_id,
			      "image_id", in->image_id, "version", in->version,
			      "security_version", (json_int_t)in->security_version,
			      "name", in->name);
		if (!o || json_array_append_new(arr, o))
			goto out;
	}
	text = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return text;
}

static int store_report(struct rp_model *m, const struct rp_device_principal *d,
			const struct rp_api_report *rep, const char *now,
			int *changed, struct rp_err *e)
{
	char seq[24], t[24], code[24], sig[24], sv[24];
	const char *params[14];

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)rep->seq);
	snprintf(t, sizeof(t), "%llu", (unsigned long long)rep->time);
	snprintf(code, sizeof(code), "%lld", (long long)rep->exit_code);
	snprintf(sig, sizeof(sig), "%lld", (long long)rep->signal);
	snprintf(sv, sizeof(sv), "%u", rep->security_version);
	params[0] = d->id;
	params[1] = seq;
	params[2] = d->tenant;
	params[3] = t;
	params[4] = rep->component_id;
	params[5] = rep->app_name;
	params[6] = rep->event_type;
	params[7] = rep->event_class;
	params[8] = code;
	params[9] = sig;
	params[10] = rep->description;
	params[11] = rep->image_version;
	params[12] = sv;
	params[13] = now;
	return rp_db_exec(m->db, "INSERT INTO error_reports (device_id, seq, tenant_id,"
			  " event_time, component_id, app_name, event_type, event_class,"
			  " exit_code, exit_signal, description, image_version,"
			  " security_version, received_at)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			  " ON CONFLICT (device_id, seq) DO NOTHING", params, 14, changed, e);
}

/* What the database holds for the device before this check-in: what it
 * reported last, the highest report seq, its group's current deployment,
 * and the targets document last issued to it. */
struct before {
	int64_t last_checkin, targets_version, acked, deployment;
	char runtime[64];
	char *installed;       /* owned */
	int have_doc;
	char doc_group[RP_ID_LEN + 1];
	int64_t doc_deployment, doc_version, doc_issued, doc_expires;
	char *doc;             /* base64, owned */
};

static void before_free(struct before *b)
{
	free(b->installed);
	free(b->doc);
}

/* One read for all of it: the device row, MAX(seq) on the report primary
 * key, MAX(version) on the deployments' UNIQUE (group_id, version), and
 * the device_targets row by primary key. */
static int read_before(struct rp_model *m, const struct rp_device_principal *d,
		       struct before *b, struct rp_err *e)
{
	const char *params[3] = { d->group, d->id, d->tenant };
	struct rp_stmt *st = NULL;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = query(m, "SELECT d.last_checkin, d.runtime_version, d.targets_version,"
		   " d.installed,"
		   " (SELECT COALESCE(MAX(seq), 0) FROM error_reports WHERE device_id = d.id),"
		   " (SELECT COALESCE(MAX(version), 0) FROM deployments WHERE group_id = ?),"
		   " CASE WHEN t.device_id IS NULL THEN 0 ELSE 1 END, t.group_id,"
		   " t.deployment_version, t.version, t.issued_at, t.expires, t.doc"
		   " FROM devices d LEFT JOIN device_targets t"
		   " ON t.device_id = d.id AND t.tenant_id = d.tenant_id"
		   " WHERE d.id = ? AND d.tenant_id = ?", params, 3, &st, e);
	if (rc == 1)
		rc = rp_err_set(e, -EACCES, REFUSED ": the device is gone");
	if (rc)
		goto out;
	b->last_checkin = rp_stmt_int(st, 0);
	snprintf(b->runtime, sizeof(b->runtime), "%s", rp_stmt_text(st, 1));
	b->targets_version = rp_stmt_int(st, 2);
	b->installed = strdup(rp_stmt_text(st, 3));
	b->acked = rp_stmt_int(st, 4);
	b->deployment = rp_stmt_int(st, 5);
	b->have_doc = rp_stmt_int(st, 6) == 1;
	if (b->have_doc) {
		snprintf(b->doc_group, sizeof(b->doc_group), "%s", rp_stmt_text(st, 7));
		b->doc_deployment = rp_stmt_int(st, 8);
		b->doc_version = rp_stmt_int(st, 9);
		b->doc_issued = rp_stmt_int(st, 10);
		b->doc_expires = rp_stmt_int(st, 11);
		b->doc = strdup(rp_stmt_text(st, 12));
	}
	if (!b->installed || (b->have_doc && !b->doc))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_stmt_free(st);
	if (rc)
		before_free(b);
	return rc;
}

/* Record what the check-in reports, in one transaction committed before
 * the answer. Nothing is written when nothing changed: no reports, the
 * same runtime version, targets version and installed list, and
 * last_checkin less than RP_CHECKIN_RESOLUTION old (its resolution). */
static int record(struct rp_model *m, const struct rp_device_principal *d,
		  const struct rp_api_checkin_req *r, const struct before *b,
		  int64_t now, int *accepted, int64_t *acked, struct rp_err *e)
{
	char when[24], tv[24];
	const char *params[6];
	struct rp_stmt *st = NULL;
	char *inst = installed_json(r);
	size_t i;
	int rc, changed;

	*accepted = 0;
	*acked = b->acked;
	if (!inst)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (r->nreports == 0 && strcmp(b->runtime, r->runtime_version) == 0 &&
	    b->targets_version >= 0 && (uint64_t)b->targets_version == r->targets_version &&
	    strcmp(b->installed, inst) == 0 && now >= b->last_checkin &&
	    now - b->last_checkin < RP_CHECKIN_RESOLUTION) {
		free(inst);
		return 0;
	}
	snprintf(when, sizeof(when), "%lld", (long long)now);
	snprintf(tv, sizeof(tv), "%llu", (unsigned long long)r->targets_version);
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	params[0] = when;
	params[1] = r->runtime_version;
	params[2] = tv;
	params[3] = inst;
	params[4] = d->id;
	params[5] = d->tenant;
	rc = rp_db_exec(m->db, "UPDATE devices SET last_checkin = ?, runtime_version = ?,"
			" targets_version = ?, installed = ? WHERE id = ? AND tenant_id = ?",
			params, 6, &changed, e);
	if (rc == 0 && !changed)
		rc = rp_err_set(e, -EACCES, REFUSED ": the device is gone");
	for (i = 0; rc == 0 && i < r->nreports; i++) {
		rc = store_report(m, d, &r->reports[i], when, &changed, e);
		if (rc == 0 && changed)
			(*accepted)++;
	}
	/* The per-device cap: drop the oldest (lowest seq) beyond it. Only
	 * when something was added, so a quiet check-in never scans. */
	if (rc == 0 && *accepted) {
		params[0] = d->id;
		params[1] = d->id;
		rc = rp_db_exec(m->db, "DELETE FROM error_reports WHERE device_id = ? AND"
				" seq <= (SELECT seq FROM error_reports WHERE device_id = ?"
				" ORDER BY seq DESC LIMIT 1 OFFSET " RP_REPORTS_PER_DEVICE_TEXT ")",
				params, 2, NULL, e);
	}
	if (rc == 0 && *accepted) {
		params[0] = d->id;
		rc = query(m, "SELECT COALESCE(MAX(seq), 0) FROM error_reports"
			   " WHERE device_id = ?", params, 1, &st, e);
		if (rc == 0)
			*acked = rp_stmt_int(st, 0);
		rp_stmt_free(st);
		st = NULL;
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
out:
	if (rc)
		rp_db_rollback(m->db);
	free(inst);
	return rc;
}

/* The images of the group's deployment number version. */
static int deployed(struct rp_model *m, const struct rp_device_principal *d,
		    int64_t version, struct rp_targets *t, struct rp_err *e)
{
	char v[24];
	const char *params[3] = { d->group, d->tenant, v };
	struct rp_stmt *st = NULL;
	int rc;

	t->nimages = 0;
	if (!d->group[0] || version < 1)
		return 0;
	snprintf(v, sizeof(v), "%lld", (long long)version);
	rc = query(m, "SELECT i.component_id, i.id, i.version, i.security_version,"
		   " i.image_type, i.size, i.sha256 FROM deployments dp"
		   " JOIN deployment_images di ON di.deployment_id = dp.id"
		   " JOIN images i ON i.tenant_id = di.tenant_id AND i.id = di.image_id"
		   " WHERE dp.group_id = ? AND dp.tenant_id = ? AND dp.version = ?"
		   " ORDER BY i.component_id", params, 3, &st, e);
	for (; rc == 0; rc = rp_stmt_step(st, e)) {
		struct rp_targets_image *im;
		const char *sha = rp_stmt_text(st, 6), *ver = rp_stmt_text(st, 2);

		if (t->nimages >= RP_TARGETS_IMAGES_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "deployment: more than %d images",
					RP_TARGETS_IMAGES_MAX);
			break;
		}
		im = &t->images[t->nimages];
		if (rp_guid_parse(rp_stmt_text(st, 0), strlen(rp_stmt_text(st, 0)),
				  im->component_id) ||
		    rp_guid_parse(rp_stmt_text(st, 1), strlen(rp_stmt_text(st, 1)),
				  im->image_id) ||
		    strlen(ver) >= sizeof(im->version) ||
		    rp_image_type_parse(rp_stmt_text(st, 4), &im->type) ||
		    rp_unhex(sha, strlen(sha), im->sha256, RP_SHA256_LEN) ||
		    rp_stmt_int(st, 3) < 0 || rp_stmt_int(st, 3) > (int64_t)UINT32_MAX ||
		    rp_stmt_int(st, 5) < 1) {
			rc = rp_err_set(e, RP_EIO, "image %s: bad row", rp_stmt_text(st, 1));
			break;
		}
		memcpy(im->version, ver, strlen(ver) + 1);
		im->security_version = (uint32_t)rp_stmt_int(st, 3);
		im->size = (uint64_t)rp_stmt_int(st, 5);
		t->nimages++;
	}
	rp_stmt_free(st);
	return rc < 0 ? rc : 0;
}

/* Encode (rp_targets_encode_region runs the device's decoder over the
 * region first), have the signer sign, assemble. The signature is not
 * verified here again: the signer is our own process, its key is the
 * one devices pinned, and every device verifies the document before it
 * parses it and keeps its current one when it does not verify, so a
 * check here would only repeat, for every document, what the device
 * does anyway (DESIGN.md, "Device check-in"). doc is initialised here. */
static int sign_targets(struct rp_model *m, const char *tenant,
			const struct rp_targets *t, struct rp_buf *doc,
			struct rp_err *e)
{
	struct rp_buf region;
	struct rp_sigblock sb;
	uint8_t sig[RP_SIG_MAX], kid[RP_KEYID_LEN];
	size_t siglen = 0;
	int rc;

	rp_buf_init(&region, 0);
	rp_buf_init(doc, 0);
	memset(&sb, 0, sizeof(sb));
	rc = rp_targets_encode_region(t, &region, e);
	if (rc == 0)
		rc = rp_signer_sign_targets(m->signer, tenant, region.data, region.len, sig,
					    &siglen, kid, e);
	if (rc == 0)
		rc = rp_sigblock_add(&sb, RP_TARGETS_SIGS_MAX, RP_KEY_ED25519, kid, sig,
				     siglen, e);
	if (rc == 0)
		rc = rp_targets_assemble(region.data, region.len, &sb, doc, e);
	if (rc)
		rp_buf_free(doc);
	rp_buf_free(&region);
	return rc;
}

/* A new document for the device: in one transaction, take the group's
 * next version, read the group's current deployment, sign, and record
 * the document as the device's last (so every document a device is sent
 * is the one recorded, and a re-served one is always the newest issued to
 * it). b64 is initialised here. */
static int issue(struct rp_model *m, const struct rp_device_principal *d,
		 int64_t now, int64_t life, struct rp_buf *b64, int64_t *version,
		 struct rp_err *e)
{
	struct rp_targets *t = calloc(1, sizeof(*t));
	struct rp_buf doc;
	struct rp_stmt *st = NULL;
	char dv[24], ver[24], at[24], exp[24];
	const char *params[8];
	int64_t dep = 0;
	int rc;

	rp_buf_init(&doc, 0);
	rp_buf_init(b64, 0);
	if (!t)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rp_guid_parse(d->tenant, strlen(d->tenant), t->tenant) ||
	    rp_guid_parse(d->product[0] ? d->product : RP_NO_GROUP,
			  RP_ID_LEN, t->product) ||
	    rp_guid_parse(d->group[0] ? d->group : RP_NO_GROUP, RP_ID_LEN, t->group) ||
	    rp_unhex(d->id, RP_DEVICE_ID_HEX - 1, t->device, RP_KEYID_LEN)) {
		free(t);
		return rp_err_set(e, RP_EIO, "device %s: bad ids in the database", d->id);
	}
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	/* One counter per group ('' for no group), bumped per document:
	 * strictly increasing whatever the clocks do (checkin.md). */
	params[0] = d->tenant;
	params[1] = d->group;
	rc = query(m, "INSERT INTO targets_versions (tenant_id, group_id, version)"
		   " VALUES (?, ?, 1) ON CONFLICT (tenant_id, group_id)"
		   " DO UPDATE SET version = targets_versions.version + 1"
		   " RETURNING version", params, 2, &st, e);
	if (rc == 1)
		rc = rp_err_set(e, RP_EIO, "targets version: no row");
	if (rc == 0)
		*version = rp_stmt_int(st, 0);
	rp_stmt_free(st);
	st = NULL;
	if (rc == 0 && (*version < 1 || (uint64_t)*version > RP_TARGETS_INT_MAX))
		rc = rp_err_set(e, RP_ERANGE, "targets version exhausted");
	if (rc == 0 && d->group[0]) {
		params[0] = d->group;
		rc = query(m, "SELECT COALESCE(MAX(version), 0) FROM deployments"
			   " WHERE group_id = ?", params, 1, &st, e);
		if (rc == 0)
			dep = rp_stmt_int(st, 0);
		rp_stmt_free(st);
		st = NULL;
		rc = rc < 0 ? rc : 0;
	}
	if (rc)
		goto out;
	t->version = (uint64_t)*version;
	t->issued_at = (uint64_t)now;
	t->expires = (uint64_t)(now + life);
	rc = deployed(m, d, dep, t, e);
	if (rc == 0)
		rc = sign_targets(m, d->tenant, t, &doc, e);
	if (rc == 0 && (rp_base64_encode(doc.data, doc.len, b64) || rp_buf_cstr(b64)))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc)
		goto out;
	snprintf(dv, sizeof(dv), "%lld", (long long)dep);
	snprintf(ver, sizeof(ver), "%lld", (long long)*version);
	snprintf(at, sizeof(at), "%lld", (long long)now);
	snprintf(exp, sizeof(exp), "%lld", (long long)(now + life));
	params[0] = d->id;
	params[1] = d->tenant;
	params[2] = d->group;
	params[3] = dv;
	params[4] = ver;
	params[5] = at;
	params[6] = exp;
	params[7] = (const char *)b64->data;
	rc = rp_db_exec(m->db, "INSERT INTO device_targets (device_id, tenant_id, group_id,"
			" deployment_version, version, issued_at, expires, doc)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
			" tenant_id = excluded.tenant_id, group_id = excluded.group_id,"
			" deployment_version = excluded.deployment_version,"
			" version = excluded.version, issued_at = excluded.issued_at,"
			" expires = excluded.expires, doc = excluded.doc", params, 8, NULL, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
out:
	if (rc) {
		rp_db_rollback(m->db);
		rp_buf_free(b64);
	}
	rp_buf_free(&doc);
	free(t);
	return rc;
}

/* Whether b's document may be served again at now: issued for the
 * device's current group and that group's current deployment (the only
 * inputs of a document besides the device's ids and the clock), not in
 * the future, and younger than the re-issue age (at most half its own
 * lifetime, so a device checking in at its interval always holds a
 * document far from expiry). */
static int reusable(const struct rp_model *m, const struct rp_device_principal *d,
		    const struct before *b, int64_t now, int64_t life)
{
	int64_t limit = m->targets_reissue > 0 ? m->targets_reissue : life / 2;

	if (m->targets_reissue < 0 || !b->have_doc || !b->doc || !b->doc[0])
		return 0;
	if (b->doc_expires - b->doc_issued < 2 * limit)
		limit = (b->doc_expires - b->doc_issued) / 2;
	return strcmp(b->doc_group, d->group) == 0 && b->doc_deployment == b->deployment &&
	       b->doc_version >= 1 && b->doc_issued <= now && now - b->doc_issued < limit;
}

int rp_device_checkin(struct rp_model *m, const struct rp_device_principal *d,
		      const struct rp_api_checkin_req *r, json_t **out,
		      struct rp_err *e)
{
	struct before b;
	struct rp_buf b64;
	const char *targets;
	int64_t now = now_s(), acked = 0, version = 0;
	int64_t life = m->targets_lifetime > 0 ? m->targets_lifetime
					       : RP_TARGETS_LIFETIME_DEFAULT;
	int64_t every = m->checkin_interval > 0 ? m->checkin_interval
						: RP_CHECKIN_INTERVAL_DEFAULT;
	int rc, accepted = 0;

	rp_buf_init(&b64, 0);
	rc = read_before(m, d, &b, e);
	if (rc)
		return rc;
	rc = record(m, d, r, &b, now, &accepted, &acked, e);
	if (rc)
		goto out;
	if (reusable(m, d, &b, now, life)) {
		targets = b.doc;
		version = b.doc_version;
	} else {
		rc = issue(m, d, now, life, &b64, &version, e);
		if (rc) {
			rp_err_prefix(e, "targets");
			goto out;
		}
		targets = (const char *)b64.data;
	}
	*out = json_pack("{s:s, s:I, s:i, s:I, s:I, s:I}",
			 "targets", targets,
			 "targets_version", (json_int_t)version,
			 "reports_accepted", accepted,
			 "reports_acked_seq", (json_int_t)acked,
			 "next_checkin_s", (json_int_t)every,
			 "certificate_renew_after", (json_int_t)(d->not_before +
				(d->not_after - d->not_before) * 2 / 3));
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	before_free(&b);
	rp_buf_free(&b64);
	return rc;
}

/* ---- downloads and keys -------------------------------------------------- */

int rp_device_image_open(struct rp_model *m, const struct rp_device_principal *d,
			 const char *image, int *fd, uint64_t *size,
			 char sha256[65], struct rp_err *e)
{
	const char *params[4] = { d->group, d->tenant, d->group, image };
	struct rp_stmt *st = NULL;
	int rc;

	*fd = -1;
	if (!d->group[0] || !rp_model_is_id(image))
		return rp_err_set(e, -ENOENT, "image not found");
	rc = query(m, "SELECT di.image_id FROM deployments dp"
		   " JOIN deployment_images di ON di.deployment_id = dp.id"
		   " WHERE dp.group_id = ? AND dp.tenant_id = ? AND dp.version ="
		   " (SELECT MAX(version) FROM deployments WHERE group_id = ?)"
		   " AND di.image_id = ?", params, 4, &st, e);
	rp_stmt_free(st);
	if (rc == 1)
		return rp_err_set(e, -ENOENT, "image not found");
	if (rc)
		return rc;
	return rp_images_open_file(m, d->tenant, image, fd, size, sha256, e);
}

static int targets_key(struct rp_model *m, const char *tenant, json_t **out,
		       struct rp_buf *pem, struct rp_err *e)
{
	struct tentry tmp, *t;
	int rc;

	rp_buf_init(pem, RP_PEM_BUNDLE_MAX);
	if (!m->signer)
		return rp_err_set(e, -ENOSYS, "the server has no signer (serve --keys)");
	t = get(m, tenant, &tmp);
	rc = load_key(m, t, now_s(), 0, e);
	if (rc == 0 && (rp_buf_append(pem, t->pem.data, t->pem.len) || rp_buf_cstr(pem)))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc == 0) {
		*out = json_pack("{s:s, s:s, s:s}", "pem", (const char *)pem->data,
				 "key_id", t->key_id, "algorithm", "ed25519");
		if (!*out)
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	put(m, t);
	if (rc)
		rp_buf_free(pem);
	return rc;
}

int rp_device_targets_key(struct rp_model *m, const struct rp_device_principal *d,
			  json_t **out, struct rp_buf *pem, struct rp_err *e)
{
	return targets_key(m, d->tenant, out, pem, e);
}

int rp_tenant_targets_key(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, json_t **out, struct rp_buf *pem,
			  struct rp_err *e)
{
	int rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);

	if (rc) {
		rp_buf_init(pem, 0);
		return rc;
	}
	return targets_key(m, tenant, out, pem, e);
}

int rp_device_trust_json(struct rp_model *m, const char *tenant, json_t *obj,
			 struct rp_err *e)
{
	struct rp_signer_ca cas[RP_CHAIN_CAS_MAX];
	struct rp_buf bundle, pem;
	json_t *key = NULL;
	size_t n = 0, i;
	int rc;

	memset(cas, 0, sizeof(cas));
	rp_buf_init(&bundle, RP_PEM_BUNDLE_MAX);
	rc = targets_key(m, tenant, &key, &pem, e);
	if (rc == 0)
		rc = rp_signer_ca_cert(m->signer, tenant, cas, &n, e);
	for (i = 0; rc == 0 && i < n; i++)
		if (rp_buf_append(&bundle, cas[i].pem.data, cas[i].pem.len))
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc == 0 && rp_buf_cstr(&bundle))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc == 0 &&
	    (json_object_set_new(obj, "targets_key", json_string((const char *)pem.data)) ||
	     json_object_set_new(obj, "ca_certificates",
				 json_string((const char *)bundle.data))))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);
	if (key) {
		json_decref(key);
		rp_buf_free(&pem);
	}
	rp_buf_free(&bundle);
	return rc;
}

/* ---- operators: placement ------------------------------------------------ */

int rp_device_set_group(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, const char *device_id,
			const char *product, const char *group, json_t **out,
			struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX], gp[RP_ID_LEN + 1];
	const char *params[4];
	struct rp_stmt *st = NULL;
	size_t i;
	int rc, changed = 0;

	rc = rp_model_access(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (rc)
		return rc;
	if (!rp_identity_is_device_id(device_id))
		return rp_err_set(e, -ENOENT, "device not found");
	for (i = 0; i < RP_DEVICE_ID_HEX - 1; i++)
		id[i] = (device_id[i] >= 'A' && device_id[i] <= 'F')
			? (char)(device_id[i] - 'A' + 'a') : device_id[i];
	id[RP_DEVICE_ID_HEX - 1] = '\0';
	if (!rp_model_is_id(group))
		return rp_err_set(e, -ENOENT, "device group not found");
	params[0] = group;
	params[1] = tenant;
	rc = query(m, "SELECT product_id FROM device_groups WHERE id = ? AND tenant_id = ?",
		   params, 2, &st, e);
	if (rc == 0)
		snprintf(gp, sizeof(gp), "%s", rp_stmt_text(st, 0));
	rp_stmt_free(st);
	if (rc == 1)
		return rp_err_set(e, -ENOENT, "device group not found");
	if (rc)
		return rc;
	if (product && product[0] && strcmp(product, gp) != 0)
		return rp_err_set(e, RP_EINVAL, "device_group: not a group of that product");
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	params[0] = group;
	params[1] = gp;
	params[2] = id;
	params[3] = tenant;
	rc = rp_db_exec(m->db, "UPDATE devices SET group_id = ?, product_id = ?"
			" WHERE id = ? AND tenant_id = ?", params, 4, &changed, e);
	if (rc == 0 && !changed)
		rc = rp_err_set(e, -ENOENT, "device not found");
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "device.device-group", id, group, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	return rp_identity_device_get(m, p, tenant, id, out, e);
}
