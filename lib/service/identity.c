/* Device admission: claims, enrollment tokens, certificates from the
 * tenant's CA in rampart-signer, revocation. The CA keys never come near
 * this file: it sends the signer checked CSRs and gets certificates. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "base/json.h"
#include "ca/client.h"
#include "crypto/crypto.h"
#include "service/device.h"
#include "service/identity.h"
#include "service/model_priv.h"

#define NO_DEVICE "no device with this key is claimed by this tenant"
#define BAD_TOKEN "unknown, used or expired enrollment token"

int rp_identity_is_device_id(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
	}
	return s[64] == '\0';
}

static void lower(const char *s, char out[RP_DEVICE_ID_HEX])
{
	size_t i;

	for (i = 0; i < RP_DEVICE_ID_HEX - 1; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[RP_DEVICE_ID_HEX - 1] = '\0';
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int no_signer(const struct rp_model *m, struct rp_err *e)
{
	if (m->signer)
		return 0;
	return rp_err_set(e, -ENOSYS, "the server has no certificate authority (serve --keys)");
}

/* The first column of the first row as text: 0 found, 1 none, <0 error. */
static int one_text(struct rp_model *m, const char *sql, const char *const *params,
		    int n, char *out, size_t cap, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int rc, i;

	rc = rp_db_prepare(m->db, sql, &st, e);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		if (rp_stmt_bind_text(st, i + 1, params[i])) {
			rc = rp_err_set(e, RP_ENOMEM, "binding failed");
			goto out;
		}
	rc = rp_stmt_step(st, e);
	if (rc == 0 && out)
		snprintf(out, cap, "%s", rp_stmt_text(st, 0));
out:
	rp_stmt_free(st);
	return rc;
}

/* Make the tenant's CA unless it has a valid one. */
static int ensure_ca(struct rp_model *m, const char *tenant, struct rp_err *e)
{
	struct rp_signer_ca cas[RP_CHAIN_CAS_MAX], ca;
	size_t n = 0, i;
	int rc;

	memset(cas, 0, sizeof(cas));
	memset(&ca, 0, sizeof(ca));
	rc = rp_signer_ca_cert(m->signer, tenant, cas, &n, e);
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);
	if (rc == 0 && n > 0)
		return 0;
	if (rc && rc != RP_EPOLICY)
		return rc;
	rp_err_clear(e);
	rc = rp_signer_create_ca(m->signer, tenant, &ca, e);
	rp_signer_ca_free(&ca);
	rp_tenant_cache_forget(m->cache, tenant);
	return rc;
}

/* Product and group ids of the tenant, checked; the group's product is
 * written to product_out. "" stays "". */
static int check_placement(struct rp_model *m, const char *tenant,
			   const char *product, const char *group,
			   char product_out[RP_ID_LEN + 1], struct rp_err *e)
{
	char gp[RP_ID_LEN + 1];
	const char *params[2];
	int rc;

	product_out[0] = '\0';
	if (product[0]) {
		params[0] = product;
		params[1] = tenant;
		if (!rp_model_is_id(product))
			return rp_err_set(e, -ENOENT, "product not found");
		rc = one_text(m, "SELECT id FROM products WHERE id = ? AND tenant_id = ?",
			      params, 2, NULL, 0, e);
		if (rc == 1)
			return rp_err_set(e, -ENOENT, "product not found");
		if (rc)
			return rc;
		snprintf(product_out, RP_ID_LEN + 1, "%s", product);
	}
	if (group[0]) {
		params[0] = group;
		params[1] = tenant;
		if (!rp_model_is_id(group))
			return rp_err_set(e, -ENOENT, "device group not found");
		rc = one_text(m, "SELECT product_id FROM device_groups WHERE id = ?"
			      " AND tenant_id = ?", params, 2, gp, sizeof(gp), e);
		if (rc == 1)
			return rp_err_set(e, -ENOENT, "device group not found");
		if (rc)
			return rc;
		if (product[0] && strcmp(gp, product) != 0)
			return rp_err_set(e, RP_EINVAL,
					  "device_group: not a group of that product");
		snprintf(product_out, RP_ID_LEN + 1, "%s", gp);
	}
	return 0;
}

/* Parse and verify the CSR; its key's id is the device ID. */
static int csr_device_id(const uint8_t *csr, size_t len, char id[RP_DEVICE_ID_HEX],
			 struct rp_err *e)
{
	struct rp_csr *c = NULL;
	int rc;

	if (len == 0 || len > RP_CSR_PEM_MAX)
		return rp_err_set(e, RP_EINVAL, "csr: must be 1 to %d bytes of PEM",
				  RP_CSR_PEM_MAX);
	rc = rp_csr_parse(csr, len, &c, e);
	if (rc) {
		rp_err_prefix(e, "csr");
		return rc == RP_ENOMEM ? rc : RP_EINVAL;
	}
	rp_hex(rp_key_id(rp_csr_key(c)), RP_KEYID_LEN, id);
	rp_csr_free(c);
	return 0;
}

static const struct rp_principal device_actor = { .name = "device" };

/* Issue a certificate for a checked CSR of device id in tenant. */
static int issue(struct rp_model *m, const char *tenant, const char *id,
		 const uint8_t *csr, size_t len, json_t **out, struct rp_err *e)
{
	struct rp_signer_cert cert;
	char nb[24], na[24], gen[16];
	const char *params[6];
	int64_t now = now_s(), life = m->cert_validity > 0 ? m->cert_validity
							   : RP_CERT_VALIDITY_DEFAULT;
	int rc, issued = 0, began = 0;

	memset(&cert, 0, sizeof(cert));
	rc = ensure_ca(m, tenant, e);
	if (rc == 0)
		rc = rp_signer_issue(m->signer, tenant, (const char *)csr, len, now,
				     now + life, &cert, e);
	if (rc) {
		rp_err_prefix(e, "issuing the certificate");
		goto out;
	}
	issued = 1;
	if (strcmp(cert.device_id, id) != 0) {
		rc = rp_err_set(e, RP_EIO, "signer: certificate for another key");
		goto out;
	}
	snprintf(nb, sizeof(nb), "%lld", (long long)cert.not_before);
	snprintf(na, sizeof(na), "%lld", (long long)cert.not_after);
	snprintf(gen, sizeof(gen), "%u", cert.generation);
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	began = 1;
	params[0] = cert.serial;
	params[1] = id;
	params[2] = tenant;
	params[3] = gen;
	params[4] = nb;
	params[5] = na;
	rc = rp_db_exec(m->db, "INSERT INTO device_certs (serial, device_id, tenant_id,"
			" generation, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?)",
			params, 6, NULL, e);
	if (rc == 0)
		rc = rp_model_audit(m, &device_actor, tenant, "device.certificate", id,
				    cert.serial, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc)
		goto out;
	began = 0;
	issued = 0;
	if (rp_buf_cstr(&cert.pem)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	*out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "device_id", id,
			 "serial", cert.serial, "certificate", (const char *)cert.pem.data,
			 "not_before", rp_model_time_json(cert.not_before),
			 "not_after", rp_model_time_json(cert.not_after),
			 "renew_after", rp_model_time_json(cert.not_before +
				(cert.not_after - cert.not_before) * 2 / 3));
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	/* What the device pins: the tenant's CAs and targets key. */
	if (rc == 0)
		rc = rp_device_trust_json(m, tenant, *out, e);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
out:
	if (began)
		rp_db_rollback(m->db);
	if (issued) {
		struct rp_err e2;

		/* Unrecorded, so revoke it: no certificate exists that the
		 * service does not know of. */
		rp_err_clear(&e2);
		if (rp_signer_revoke(m->signer, tenant, cert.serial, NULL, &e2))
			fprintf(stderr, "rampart-server: revoking unrecorded %s: %s\n",
				cert.serial, e2.msg);
	}
	rp_signer_cert_free(&cert);
	return rc;
}

static int pem_bundle(struct rp_signer_ca *cas, size_t n, struct rp_buf *pem,
		      json_t *list)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o;

		if (rp_buf_append(pem, cas[i].pem.data, cas[i].pem.len) ||
		    rp_buf_cstr(&cas[i].pem))
			return RP_ENOMEM;
		o = json_pack("{s:i, s:o, s:o, s:s}", "generation", (json_int_t)cas[i].generation,
			      "not_before", rp_model_time_json(cas[i].not_before),
			      "not_after", rp_model_time_json(cas[i].not_after),
			      "pem", (const char *)cas[i].pem.data);
		if (!o || json_array_append_new(list, o))
			return RP_ENOMEM;
	}
	return rp_buf_cstr(pem) ? RP_ENOMEM : 0;
}

int rp_identity_ca_certs(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, json_t **out, struct rp_buf *pem,
			 struct rp_err *e)
{
	struct rp_signer_ca cas[RP_CHAIN_CAS_MAX];
	json_t *list = NULL;
	size_t n = 0, i;
	int rc;

	memset(cas, 0, sizeof(cas));
	rp_buf_init(pem, RP_PEM_BUNDLE_MAX);
	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (rc == 0)
		rc = no_signer(m, e);
	if (rc == 0)
		rc = ensure_ca(m, tenant, e);
	if (rc == 0)
		rc = rp_signer_ca_cert(m->signer, tenant, cas, &n, e);
	if (rc)
		goto out;
	list = json_array();
	if (!list || pem_bundle(cas, n, pem, list)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	*out = json_pack("{s:O, s:s}", "certificates", list, "pem", (const char *)pem->data);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);
	json_decref(list);
	if (rc)
		rp_buf_free(pem);
	return rc;
}

int rp_identity_crl(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, struct rp_buf *pem, struct rp_err *e)
{
	int rc;

	rp_buf_init(pem, RP_PEM_BUNDLE_MAX);
	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (rc == 0)
		rc = no_signer(m, e);
	if (rc == 0)
		rc = ensure_ca(m, tenant, e);
	if (rc)
		return rc;
	/* rp_signer_crl initialises its own buffer. */
	rp_buf_free(pem);
	rc = rp_signer_crl(m->signer, tenant, pem, e);
	if (rc == 0 && rp_buf_cstr(pem))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc)
		rp_buf_free(pem);
	return rc;
}

#define DEVICE_COLS \
	"SELECT d.id, COALESCE(d.product_id, ''), COALESCE(d.group_id, ''),"   \
	" d.claimed_at, d.revoked_at,"                                           \
	" COALESCE((SELECT c.serial FROM device_certs c WHERE c.device_id = d.id" \
	"  ORDER BY c.not_after DESC, c.serial LIMIT 1), ''),"                   \
	" COALESCE((SELECT MAX(c.not_after) FROM device_certs c"                 \
	"  WHERE c.device_id = d.id), 0),"                                       \
	" d.last_checkin, d.runtime_version, d.installed"                        \
	" FROM devices d"

static json_t *device_json(struct rp_stmt *st)
{
	const char *serial = rp_stmt_text(st, 5), *inst = rp_stmt_text(st, 9);
	int64_t revoked = rp_stmt_int(st, 4), seen = rp_stmt_int(st, 7);
	json_t *cert = serial[0]
		? json_pack("{s:s, s:o}", "serial", serial, "not_after",
			    rp_model_time_json(rp_stmt_int(st, 6)))
		: json_null();
	json_t *installed = NULL;
	struct rp_err ignored;

	/* Our own JSON text (device.c wrote it); anything else reads as []. */
	if (rp_json_parse((const uint8_t *)inst, strlen(inst), 64 * 1024, &installed,
			  &ignored) || !json_is_array(installed)) {
		json_decref(installed);
		installed = json_array();
	}
	return json_pack("{s:s, s:s?, s:s?, s:o, s:b, s:o, s:o, s:o, s:s?, s:o}",
			 "id", rp_stmt_text(st, 0),
			 "product_id", rp_stmt_text(st, 1)[0] ? rp_stmt_text(st, 1) : NULL,
			 "device_group_id", rp_stmt_text(st, 2)[0] ? rp_stmt_text(st, 2) : NULL,
			 "claimed_at", rp_model_time_json(rp_stmt_int(st, 3)),
			 "revoked", revoked != 0,
			 "revoked_at", revoked ? rp_model_time_json(revoked) : json_null(),
			 "certificate", cert,
			 "last_checkin", seen ? rp_model_time_json(seen) : json_null(),
			 "runtime_version", rp_stmt_text(st, 8)[0] ? rp_stmt_text(st, 8) : NULL,
			 "installed", installed ? installed : json_array());
}

static int devices(struct rp_model *m, const char *tenant, const char *id,
		   json_t **out, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	json_t *arr = json_array(), *o;
	size_t count = 0;
	int rc;

	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = rp_db_prepare(m->db, id ? DEVICE_COLS " WHERE d.tenant_id = ? AND d.id = ?"
			   : DEVICE_COLS " WHERE d.tenant_id = ? ORDER BY d.id LIMIT 10000",
			   &st, e);
	if (rc)
		goto out;
	if (rp_stmt_bind_text(st, 1, tenant) || (id && rp_stmt_bind_text(st, 2, id))) {
		rc = rp_err_set(e, RP_ENOMEM, "binding failed");
		goto out;
	}
	while ((rc = rp_stmt_step(st, e)) == 0 && count++ < RP_DEVICE_LIST_MAX) {
		o = device_json(st);
		if (!o || json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (id) {
		if (json_array_size(arr) != 1) {
			rc = rp_err_set(e, -ENOENT, "device not found");
			goto out;
		}
		*out = json_incref(json_array_get(arr, 0));
	} else {
		*out = json_incref(arr);
	}
out:
	rp_stmt_free(st);
	json_decref(arr);
	return rc;
}

int rp_identity_device_list(struct rp_model *m, const struct rp_principal *p,
			    const char *tenant, json_t **out, struct rp_err *e)
{
	int rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);

	return rc ? rc : devices(m, tenant, NULL, out, e);
}

int rp_identity_device_get(struct rp_model *m, const struct rp_principal *p,
			   const char *tenant, const char *device_id,
			   json_t **out, struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX];
	int rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);

	if (rc)
		return rc;
	if (!rp_identity_is_device_id(device_id))
		return rp_err_set(e, -ENOENT, "device not found");
	lower(device_id, id);
	return devices(m, tenant, id, out, e);
}

/* Insert the claim (inside the caller's transaction). */
static int insert_device(struct rp_model *m, const char *tenant, const char *id,
			 const char *product, const char *group, struct rp_err *e)
{
	char when[24];
	const char *params[5];
	int rc;

	snprintf(when, sizeof(when), "%lld", (long long)now_s());
	params[0] = id;
	params[1] = tenant;
	params[2] = group[0] ? group : NULL;
	params[3] = product[0] ? product : NULL;
	params[4] = when;
	rc = rp_db_exec(m->db, "INSERT INTO devices (id, tenant_id, group_id, product_id,"
			" claimed_at) VALUES (?, ?, ?, ?, ?)", params, 5, NULL, e);
	if (rc == -EEXIST)
		rp_err_set(e, rc, "device %s is already claimed", id);
	return rc;
}

int rp_identity_claim(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *device_id,
		      const char *product, const char *group, json_t **out,
		      struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX], prod[RP_ID_LEN + 1];
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (rc)
		return rc;
	if (!rp_identity_is_device_id(device_id))
		return rp_err_set(e, RP_EINVAL, "device_id: must be 64 hex digits");
	lower(device_id, id);
	rc = no_signer(m, e);
	if (rc == 0)
		rc = check_placement(m, tenant, product ? product : "", group ? group : "",
				     prod, e);
	if (rc == 0)
		rc = ensure_ca(m, tenant, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	rc = insert_device(m, tenant, id, prod, group ? group : "", e);
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "device.claim", id, prod, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	return devices(m, tenant, id, out, e);
}

int rp_identity_device_revoke(struct rp_model *m, const struct rp_principal *p,
			      const char *tenant, const char *device_id,
			      json_t **out, struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX], serial[RP_SERIAL_HEX], when[24];
	const char *params[3];
	int rc, changed = 0;

	rc = rp_model_access(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (rc)
		return rc;
	if (!rp_identity_is_device_id(device_id))
		return rp_err_set(e, -ENOENT, "device not found");
	lower(device_id, id);
	rc = no_signer(m, e);
	if (rc)
		return rc;
	snprintf(when, sizeof(when), "%lld", (long long)now_s());
	/* First refuse it new certificates, then revoke those it has, one by
	 * one (the signer's revoke is idempotent, so a failure part-way is
	 * finished by calling again). */
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	params[0] = when;
	params[1] = id;
	params[2] = tenant;
	rc = rp_db_exec(m->db, "UPDATE devices SET revoked_at = ? WHERE id = ?"
			" AND tenant_id = ? AND revoked_at = 0", params, 3, &changed, e);
	if (rc == 0 && !changed) {
		params[0] = id;
		params[1] = tenant;
		rc = one_text(m, "SELECT id FROM devices WHERE id = ? AND tenant_id = ?",
			      params, 2, NULL, 0, e);
		if (rc == 1)
			rc = rp_err_set(e, -ENOENT, "device not found");
	}
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "device.revoke", id, NULL, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	for (;;) {
		params[0] = id;
		params[1] = tenant;
		params[2] = when;
		rc = one_text(m, "SELECT serial FROM device_certs WHERE device_id = ?"
			      " AND tenant_id = ? AND revoked_at = 0 AND not_after > ?"
			      " ORDER BY serial LIMIT 1", params, 3, serial, sizeof(serial), e);
		if (rc == 1)
			break;
		if (rc == 0)
			rc = rp_signer_revoke(m->signer, tenant, serial, NULL, e);
		if (rc)
			return rp_err_prefix(e, "revoking");
		params[0] = when;
		params[1] = serial;
		params[2] = tenant;
		rc = rp_db_exec(m->db, "UPDATE device_certs SET revoked_at = ?"
				" WHERE serial = ? AND tenant_id = ?", params, 3, NULL, e);
		if (rc)
			return rc;
	}
	return devices(m, tenant, id, out, e);
}

static int token_hash(const char *token, char hash[2 * RP_SHA256_LEN + 1])
{
	uint8_t d[RP_SHA256_LEN];

	if (rp_sha256(token, strlen(token), d))
		return RP_ECRYPTO;
	rp_hex(d, sizeof(d), hash);
	return 0;
}

int rp_identity_enroll_token_create(struct rp_model *m,
				    const struct rp_principal *p,
				    const char *tenant, const char *product,
				    const char *group, int64_t ttl,
				    json_t **out, struct rp_err *e)
{
	uint8_t raw[32];
	char token[RP_ENROLL_TEXT_LEN + 1], hash[2 * RP_SHA256_LEN + 1];
	char id[RP_ID_LEN + 1], prod[RP_ID_LEN + 1], exp[24], when[24];
	const char *params[8];
	int64_t now = now_s();
	int rc;

	memset(token, 0, sizeof(token));
	rc = rp_model_access(m, p, tenant, RP_ROLE_ADMIN, e);
	if (rc)
		return rc;
	if (ttl < 1 || ttl > RP_ENROLL_TTL_MAX)
		return rp_err_set(e, RP_EINVAL, "expires_in: must be 1 to %lld seconds",
				  (long long)RP_ENROLL_TTL_MAX);
	rc = check_placement(m, tenant, product ? product : "", group ? group : "", prod, e);
	if (rc == 0)
		rc = rp_model_new_id(id, e);
	if (rc)
		return rc;
	if (rp_random(raw, sizeof(raw)))
		return rp_err_set(e, RP_ECRYPTO, "token: random failed");
	memcpy(token, RP_ENROLL_PREFIX, 4);
	rp_hex(raw, sizeof(raw), token + 4);
	rp_wipe(raw, sizeof(raw));
	if (token_hash(token, hash)) {
		rc = rp_err_set(e, RP_ECRYPTO, "token: hashing failed");
		goto out;
	}
	snprintf(exp, sizeof(exp), "%lld", (long long)(now + ttl));
	snprintf(when, sizeof(when), "%lld", (long long)now);
	params[0] = id;
	params[1] = tenant;
	params[2] = hash;
	params[3] = prod[0] ? prod : NULL;
	params[4] = group && group[0] ? group : NULL;
	params[5] = exp;
	params[6] = p->name;
	params[7] = when;
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	rc = rp_db_exec(m->db, "INSERT INTO enrollment_tokens (id, tenant_id, hash,"
			" product_id, group_id, expires_at, created_by, created_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?)", params, 8, NULL, e);
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "enrollment-token.create", id, exp, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		goto out;
	}
	*out = json_pack("{s:s, s:s, s:o, s:s?, s:s?}", "id", id, "token", token,
			 "expires_at", rp_model_time_json(now + ttl),
			 "product_id", prod[0] ? prod : NULL,
			 "device_group_id", group && group[0] ? group : NULL);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_wipe(token, sizeof(token));
	return rc;
}

int rp_identity_enroll(struct rp_model *m, const char *token,
		       const uint8_t *csr, size_t len, json_t **out,
		       struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	uint8_t raw[32];
	char hash[2 * RP_SHA256_LEN + 1], id[RP_DEVICE_ID_HEX], nowt[24];
	char tenant[RP_ID_LEN + 1], prod[RP_ID_LEN + 1], group[RP_ID_LEN + 1];
	char owner[RP_ID_LEN + 1];
	const char *params[4];
	int rc, changed = 0, exists;

	rc = no_signer(m, e);
	if (rc)
		return rc;
	if (strlen(token) != RP_ENROLL_TEXT_LEN ||
	    strncmp(token, RP_ENROLL_PREFIX, 4) != 0 ||
	    rp_unhex(token + 4, RP_ENROLL_TEXT_LEN - 4, raw, sizeof(raw)))
		return rp_err_set(e, -EACCES, BAD_TOKEN);
	rp_wipe(raw, sizeof(raw));
	/* The CSR first: a bad one does not use the token up. */
	rc = csr_device_id(csr, len, id, e);
	if (rc)
		return rc;
	if (token_hash(token, hash))
		return rp_err_set(e, RP_ECRYPTO, "token: hashing failed");
	snprintf(nowt, sizeof(nowt), "%lld", (long long)now_s());
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	/* Consume it in one conditional update: of two concurrent uses, one
	 * wins. */
	params[0] = nowt;
	params[1] = id;
	params[2] = hash;
	params[3] = nowt;
	rc = rp_db_exec(m->db, "UPDATE enrollment_tokens SET used_at = ?, used_by = ?"
			" WHERE hash = ? AND used_at = 0 AND expires_at > ?",
			params, 4, &changed, e);
	if (rc == 0 && !changed)
		rc = rp_err_set(e, -EACCES, BAD_TOKEN);
	if (rc)
		goto out;
	rc = rp_db_prepare(m->db, "SELECT tenant_id, COALESCE(product_id, ''),"
			   " COALESCE(group_id, ''), id FROM enrollment_tokens WHERE hash = ?",
			   &st, e);
	if (rc == 0 && rp_stmt_bind_text(st, 1, hash))
		rc = rp_err_set(e, RP_ENOMEM, "binding failed");
	if (rc == 0)
		rc = rp_stmt_step(st, e);
	if (rc == 1)
		rc = rp_err_set(e, -EACCES, BAD_TOKEN);
	if (rc)
		goto out;
	snprintf(tenant, sizeof(tenant), "%s", rp_stmt_text(st, 0));
	snprintf(prod, sizeof(prod), "%s", rp_stmt_text(st, 1));
	snprintf(group, sizeof(group), "%s", rp_stmt_text(st, 2));
	snprintf(owner, sizeof(owner), "%s", rp_stmt_text(st, 3));
	rp_stmt_free(st);
	st = NULL;
	/* Already ours and not revoked: enrolling again only reissues. */
	params[0] = id;
	params[1] = tenant;
	rc = one_text(m, "SELECT id FROM devices WHERE id = ? AND tenant_id = ?"
		      " AND revoked_at = 0", params, 2, NULL, 0, e);
	if (rc < 0)
		goto out;
	exists = rc == 0;
	rc = exists ? 0 : insert_device(m, tenant, id, prod, group, e);
	if (rc == 0)
		rc = rp_model_audit(m, &device_actor, tenant, "device.enroll", id, owner, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
out:
	rp_stmt_free(st);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	return issue(m, tenant, id, csr, len, out, e);
}

int rp_identity_certificate(struct rp_model *m, const char *tenant,
			    const uint8_t *csr, size_t len, json_t **out,
			    struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX];
	const char *params[2];
	int rc;

	rc = no_signer(m, e);
	if (rc)
		return rc;
	rc = csr_device_id(csr, len, id, e);
	if (rc)
		return rc;
	if (!rp_model_is_id(tenant))
		return rp_err_set(e, -EPERM, NO_DEVICE);
	params[0] = id;
	params[1] = tenant;
	rc = one_text(m, "SELECT id FROM devices WHERE id = ? AND tenant_id = ?"
		      " AND revoked_at = 0", params, 2, NULL, 0, e);
	if (rc == 1)
		return rp_err_set(e, -EPERM, NO_DEVICE);
	if (rc)
		return rc;
	return issue(m, tenant, id, csr, len, out, e);
}
