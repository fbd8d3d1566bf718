/* The service model over lib/service/db. Each public call checks access
 * first, then does its work in one transaction together with its audit
 * entry, so a change is never made without being recorded. */
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/file.h"
#include "crypto/crypto.h"
#include "format/manifest.h"
#include "service/model.h"
#include "service/model_priv.h"

static const char *const role_names[] = {
	[RP_ROLE_READER] = "Reader",
	[RP_ROLE_CONTRIBUTOR] = "Contributor",
	[RP_ROLE_ADMIN] = "Administrator",
};

/* Azure Sphere's five groups of a new product. Development takes no cloud
 * app updates; the OS Evaluation groups follow the RetailEval feed. */
static const struct {
	const char *name, *feed, *policy;
} default_groups[] = {
	{ "Development", "Retail", "NoThirdPartyAppUpdates" },
	{ "Field Test", "Retail", "UpdateAll" },
	{ "Production", "Retail", "UpdateAll" },
	{ "Production OS Evaluation", "RetailEval", "UpdateAll" },
	{ "Field Test OS Evaluation", "RetailEval", "UpdateAll" },
};

const char *rp_role_name(enum rp_role r)
{
	if (r < RP_ROLE_READER || r > RP_ROLE_ADMIN)
		return NULL;
	return role_names[r];
}

int rp_role_parse(const char *s, enum rp_role *out)
{
	int r;

	for (r = RP_ROLE_READER; r <= RP_ROLE_ADMIN; r++)
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum rp_role)r;
			return 0;
		}
	return RP_EINVAL;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int rp_model_check_name(const char *field, const char *s, struct rp_err *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > RP_NAME_MAX)
		return rp_err_set(e, RP_EINVAL, "%s: must be 1 to %d characters",
				  field, RP_NAME_MAX);
	if (!is_alnum(s[0]) || s[n - 1] == ' ')
		return rp_err_set(e, RP_EINVAL,
				  "%s: must start with a letter or digit and not end in a space",
				  field);
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(" ._-", s[i]))
			return rp_err_set(e, RP_EINVAL,
					  "%s: only letters, digits, space, '.', '_' and '-' are allowed",
					  field);
	return 0;
}

int rp_model_check_user(const char *field, const char *s, struct rp_err *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > RP_USER_MAX)
		return rp_err_set(e, RP_EINVAL, "%s: must be 1 to %d characters",
				  field, RP_USER_MAX);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && strchr("._@-", c))
			continue;
		return rp_err_set(e, RP_EINVAL,
				  "%s: only a-z, 0-9, '.', '_', '@' and '-' are allowed, starting with a letter or digit",
				  field);
	}
	return 0;
}

int rp_model_check_desc(const char *field, const char *s, struct rp_err *e)
{
	size_t i, n = strlen(s);

	if (n > RP_DESC_MAX)
		return rp_err_set(e, RP_EINVAL, "%s: at most %d bytes", field, RP_DESC_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return rp_err_set(e, RP_EINVAL,
					  "%s: control characters are not allowed", field);
	return 0;
}

int rp_model_is_id(const char *s)
{
	uint8_t g[16];
	char back[RP_ID_LEN + 1];
	size_t n = strlen(s);

	if (n != RP_ID_LEN || rp_guid_parse(s, n, g))
		return 0;
	rp_guid_format(g, back);
	return strcmp(back, s) == 0;
}

static int new_id(char out[RP_ID_LEN + 1], struct rp_err *e)
{
	uint8_t g[16];

	if (rp_random(g, sizeof(g)))
		return rp_err_set(e, RP_ECRYPTO, "random id failed");
	g[6] = (uint8_t)((g[6] & 0x0f) | 0x40); /* version 4 */
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	rp_guid_format(g, out);
	return 0;
}

static json_t *time_json(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_string("");
	return json_string(buf);
}

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Append an audit entry (inside the caller's transaction). */
static int audit(struct rp_model *m, const struct rp_principal *p,
		 const char *tenant, const char *action, const char *target,
		 const char *detail, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	char id[RP_ID_LEN + 1];
	int rc;

	rc = new_id(id, e);
	if (rc)
		return rc;
	rc = rp_db_prepare(m->db, "INSERT INTO audit (id, at, tenant_id, actor, action,"
			   " target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", &st, e);
	if (rc)
		goto out;
	if (rp_stmt_bind_text(st, 1, id) || rp_stmt_bind_int(st, 2, now_us()) ||
	    rp_stmt_bind_text(st, 3, tenant) || rp_stmt_bind_text(st, 4, p->name) ||
	    rp_stmt_bind_text(st, 5, action) || rp_stmt_bind_text(st, 6, target) ||
	    rp_stmt_bind_text(st, 7, detail ? detail : "")) {
		rc = rp_err_set(e, RP_ENOMEM, "audit: binding failed");
		goto out;
	}
	rc = rp_stmt_step(st, e);
	if (rc > 0)
		rc = 0;
out:
	rp_stmt_free(st);
	return rc;
}

/* Access to a tenant: -ENOENT unless the tenant exists and the principal
 * belongs to it (or is the owner); -EPERM below the needed role. */
static int access_tenant(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, enum rp_role need, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int rc;

	if (!rp_model_is_id(tenant) ||
	    (!p->owner && strcmp(p->tenant_id, tenant) != 0))
		return rp_err_set(e, -ENOENT, "tenant not found");
	rc = rp_db_prepare(m->db, "SELECT id FROM tenants WHERE id = ?", &st, e);
	if (rc)
		goto out;
	if (rp_stmt_bind_text(st, 1, tenant)) {
		rc = rp_err_set(e, RP_ENOMEM, "binding failed");
		goto out;
	}
	rc = rp_stmt_step(st, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = rp_err_set(e, -ENOENT, "tenant not found");
		goto out;
	}
	if (!p->owner && p->role < need) {
		rc = rp_err_set(e, -EPERM, "the %s role does not allow this (needs %s)",
				rp_role_name(p->role) ? rp_role_name(p->role) : "(no)",
				rp_role_name(need));
		goto out;
	}
	rc = 0;
out:
	rp_stmt_free(st);
	return rc;
}

/* Run a query with text parameters and turn each row into an object with
 * the given keys; columns named in time_cols (bitmask) become times. */
static int query_rows(struct rp_model *m, const char *sql,
		      const char *const *params, int n, const char *const *keys,
		      unsigned time_cols, json_t **out, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	json_t *arr = json_array(), *o = NULL;
	int rc, i, k;

	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = rp_db_prepare(m->db, sql, &st, e);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		if (rp_stmt_bind_text(st, i + 1, params[i])) {
			rc = rp_err_set(e, RP_ENOMEM, "binding failed");
			goto out;
		}
	while ((rc = rp_stmt_step(st, e)) == 0) {
		o = json_object();
		if (!o)
			goto oom;
		for (k = 0; keys[k]; k++) {
			json_t *v = (time_cols >> k) & 1
				    ? time_json(rp_stmt_int(st, k))
				    : json_string(rp_stmt_text(st, k));

			if (json_object_set_new(o, keys[k], v))
				goto oom;
		}
		if (json_array_append_new(arr, o)) {
			o = NULL;
			goto oom;
		}
		o = NULL;
	}
	if (rc < 0)
		goto out;
	*out = arr;
	arr = NULL;
	rc = 0;
	goto out;
oom:
	json_decref(o);
	rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_stmt_free(st);
	json_decref(arr);
	return rc;
}

/* The single row of a query, or -ENOENT with `what not found`. */
static int query_one(struct rp_model *m, const char *sql,
		     const char *const *params, int n, const char *const *keys,
		     unsigned time_cols, const char *what, json_t **out,
		     struct rp_err *e)
{
	json_t *arr = NULL;
	int rc;

	rc = query_rows(m, sql, params, n, keys, time_cols, &arr, e);
	if (rc)
		return rc;
	if (json_array_size(arr) != 1) {
		json_decref(arr);
		return rp_err_set(e, -ENOENT, "%s not found", what);
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

static int insert_token(struct rp_model *m, const char *user_id, char *token,
			char *token_id, struct rp_err *e)
{
	uint8_t raw[32], digest[RP_SHA256_LEN];
	char hash[2 * RP_SHA256_LEN + 1], when[24];
	const char *params[4];
	int rc;

	if (rp_random(raw, sizeof(raw)))
		return rp_err_set(e, RP_ECRYPTO, "token: random failed");
	memcpy(token, RP_TOKEN_PREFIX, 4);
	rp_hex(raw, sizeof(raw), token + 4);
	rp_wipe(raw, sizeof(raw));
	if (rp_sha256(token, RP_TOKEN_TEXT_LEN, digest)) {
		rc = rp_err_set(e, RP_ECRYPTO, "token: hashing failed");
		goto out;
	}
	rp_hex(digest, sizeof(digest), hash);
	rc = new_id(token_id, e);
	if (rc)
		goto out;
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	params[0] = token_id;
	params[1] = user_id;
	params[2] = hash;
	params[3] = when;
	rc = rp_db_exec(m->db, "INSERT INTO tokens (id, user_id, hash, created_at)"
			" VALUES (?, ?, ?, ?)", params, 4, NULL, e);
out:
	if (rc)
		rp_wipe(token, RP_TOKEN_TEXT_LEN + 1);
	return rc;
}

int rp_model_bootstrap(struct rp_model *m, const char *name, char *token,
		       struct rp_err *e)
{
	struct rp_principal p;
	struct rp_stmt *st = NULL;
	char uid[RP_ID_LEN + 1], tid[RP_ID_LEN + 1], when[24];
	const char *params[3];
	int rc;

	rc = rp_model_check_user("name", name, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	rc = rp_db_prepare(m->db, "SELECT id FROM users WHERE is_owner = 1", &st, e);
	if (rc)
		goto out;
	rc = rp_stmt_step(st, e);
	if (rc == 0)
		rc = rp_err_set(e, -EEXIST, "the service already has an owner");
	if (rc < 0)
		goto out;
	rc = new_id(uid, e);
	if (rc)
		goto out;
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	params[0] = uid;
	params[1] = name;
	params[2] = when;
	rc = rp_db_exec(m->db, "INSERT INTO users (id, tenant_id, name, is_owner,"
			" created_at) VALUES (?, NULL, ?, 1, ?)", params, 3, NULL, e);
	if (rc)
		goto out;
	rc = insert_token(m, uid, token, tid, e);
	if (rc)
		goto out;
	memset(&p, 0, sizeof(p));
	memcpy(p.name, name, strlen(name) + 1);
	rc = audit(m, &p, NULL, "service.bootstrap", name, "owner and first token", e);
	if (rc)
		goto out;
	rc = rp_db_commit(m->db, e);
out:
	rp_stmt_free(st);
	if (rc) {
		rp_db_rollback(m->db);
		rp_wipe(token, RP_TOKEN_TEXT_LEN + 1);
	}
	return rc;
}

int rp_model_authenticate(struct rp_model *m, const char *token,
			  struct rp_principal *p, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	uint8_t digest[RP_SHA256_LEN], raw[32];
	char hash[2 * RP_SHA256_LEN + 1];
	const char *t;
	int rc;

	memset(p, 0, sizeof(*p));
	if (strlen(token) != RP_TOKEN_TEXT_LEN ||
	    strncmp(token, RP_TOKEN_PREFIX, 4) != 0 ||
	    rp_unhex(token + 4, RP_TOKEN_TEXT_LEN - 4, raw, sizeof(raw)))
		return rp_err_set(e, -EACCES, "not a Rampart API token");
	rp_wipe(raw, sizeof(raw));
	/* Only the digest reaches the database; its lookup time says nothing
	 * useful about any stored token. */
	if (rp_sha256(token, RP_TOKEN_TEXT_LEN, digest))
		return rp_err_set(e, RP_ECRYPTO, "token: hashing failed");
	rp_hex(digest, sizeof(digest), hash);
	rc = rp_db_prepare(m->db,
			   "SELECT u.id, COALESCE(u.tenant_id, ''), u.name, u.is_owner,"
			   " COALESCE(r.role, '')"
			   " FROM tokens t JOIN users u ON u.id = t.user_id"
			   " LEFT JOIN roles r ON r.user_id = u.id AND r.tenant_id = u.tenant_id"
			   " WHERE t.hash = ?", &st, e);
	if (rc)
		goto out;
	if (rp_stmt_bind_text(st, 1, hash)) {
		rc = rp_err_set(e, RP_ENOMEM, "binding failed");
		goto out;
	}
	rc = rp_stmt_step(st, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = rp_err_set(e, -EACCES, "unknown or revoked token");
		goto out;
	}
	snprintf(p->user_id, sizeof(p->user_id), "%s", rp_stmt_text(st, 0));
	snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", rp_stmt_text(st, 1));
	snprintf(p->name, sizeof(p->name), "%s", rp_stmt_text(st, 2));
	p->owner = rp_stmt_int(st, 3) == 1;
	t = rp_stmt_text(st, 4);
	if (p->owner) {
		p->role = RP_ROLE_ADMIN;
	} else if (rp_role_parse(t, &p->role)) {
		rc = rp_err_set(e, -EACCES, "the token's user has no role");
		goto out;
	}
	rc = 0;
out:
	rp_stmt_free(st);
	if (rc)
		memset(p, 0, sizeof(*p));
	return rc;
}

static const char *const tenant_keys[] = { "id", "name", "created_at", NULL };

int rp_model_tenant_create(struct rp_model *m, const struct rp_principal *p,
			   const char *name, json_t **out, struct rp_err *e)
{
	char id[RP_ID_LEN + 1], when[24];
	const char *params[3];
	int rc;

	if (!p->owner)
		return rp_err_set(e, -EPERM, "only the service owner creates tenants");
	rc = rp_model_check_name("name", name, e);
	if (rc)
		return rc;
	rc = new_id(id, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	params[0] = id;
	params[1] = name;
	params[2] = when;
	rc = rp_db_exec(m->db, "INSERT INTO tenants (id, name, created_at)"
			" VALUES (?, ?, ?)", params, 3, NULL, e);
	if (rc == -EEXIST)
		rp_err_set(e, rc, "a tenant named '%s' exists", name);
	if (rc == 0)
		rc = audit(m, p, id, "tenant.create", id, name, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	return query_one(m, "SELECT id, name, created_at FROM tenants WHERE id = ?",
			 params, 1, tenant_keys, 4, "tenant", out, e);
}

int rp_model_tenant_list(struct rp_model *m, const struct rp_principal *p,
			 json_t **out, struct rp_err *e)
{
	const char *params[1] = { p->tenant_id };

	if (p->owner)
		return query_rows(m, "SELECT id, name, created_at FROM tenants ORDER BY name",
				  NULL, 0, tenant_keys, 4, out, e);
	return query_rows(m, "SELECT id, name, created_at FROM tenants WHERE id = ?",
			  params, 1, tenant_keys, 4, out, e);
}

int rp_model_tenant_get(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, json_t **out, struct rp_err *e)
{
	const char *params[1] = { tenant };
	int rc = access_tenant(m, p, tenant, RP_ROLE_READER, e);

	if (rc)
		return rc;
	return query_one(m, "SELECT id, name, created_at FROM tenants WHERE id = ?",
			 params, 1, tenant_keys, 4, "tenant", out, e);
}

static const char *const product_keys[] = {
	"id", "tenant_id", "name", "description", "created_at", NULL
};
#define PRODUCT_COLS "SELECT id, tenant_id, name, description, created_at FROM products"

int rp_model_product_create(struct rp_model *m, const struct rp_principal *p,
			    const char *tenant, const char *name,
			    const char *description, json_t **out,
			    struct rp_err *e)
{
	char id[RP_ID_LEN + 1], gid[RP_ID_LEN + 1], when[24], pos[8];
	const char *params[8];
	size_t i;
	int rc;

	rc = access_tenant(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (rc)
		return rc;
	rc = rp_model_check_name("name", name, e);
	if (rc == 0)
		rc = rp_model_check_desc("description", description, e);
	if (rc == 0)
		rc = new_id(id, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	params[0] = id;
	params[1] = tenant;
	params[2] = name;
	params[3] = description;
	params[4] = when;
	rc = rp_db_exec(m->db, "INSERT INTO products (id, tenant_id, name, description,"
			" created_at) VALUES (?, ?, ?, ?, ?)", params, 5, NULL, e);
	if (rc == -EEXIST)
		rp_err_set(e, rc, "a product named '%s' exists in this tenant", name);
	for (i = 0; rc == 0 && i < sizeof(default_groups) / sizeof(default_groups[0]); i++) {
		rc = new_id(gid, e);
		if (rc)
			break;
		params[0] = gid;
		params[1] = tenant;
		params[2] = id;
		params[3] = default_groups[i].name;
		params[4] = default_groups[i].feed;
		params[5] = default_groups[i].policy;
		params[6] = when;
		snprintf(pos, sizeof(pos), "%zu", i);
		params[7] = pos;
		rc = rp_db_exec(m->db, "INSERT INTO device_groups (id, tenant_id, product_id,"
				" name, os_feed, update_policy, created_at, position)"
				" VALUES (?, ?, ?, ?, ?, ?, ?, ?)", params, 8, NULL, e);
	}
	if (rc == 0)
		rc = audit(m, p, tenant, "product.create", id, name, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	params[0] = id;
	return query_one(m, PRODUCT_COLS " WHERE id = ?", params, 1, product_keys,
			 1u << 4, "product", out, e);
}

int rp_model_product_list(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, json_t **out, struct rp_err *e)
{
	const char *params[1] = { tenant };
	int rc = access_tenant(m, p, tenant, RP_ROLE_READER, e);

	if (rc)
		return rc;
	return query_rows(m, PRODUCT_COLS " WHERE tenant_id = ? ORDER BY name",
			  params, 1, product_keys, 1u << 4, out, e);
}

int rp_model_product_get(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, const char *product, json_t **out,
			 struct rp_err *e)
{
	const char *params[2] = { product, tenant };
	int rc = access_tenant(m, p, tenant, RP_ROLE_READER, e);

	if (rc)
		return rc;
	return query_one(m, PRODUCT_COLS " WHERE id = ? AND tenant_id = ?", params, 2,
			 product_keys, 1u << 4, "product", out, e);
}

int rp_model_group_list(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, const char *product, json_t **out,
			struct rp_err *e)
{
	static const char *const keys[] = {
		"id", "product_id", "name", "os_feed", "update_policy", "created_at", NULL
	};
	json_t *prod = NULL;
	const char *params[2] = { product, tenant };
	int rc;

	rc = rp_model_product_get(m, p, tenant, product, &prod, e);
	json_decref(prod);
	if (rc)
		return rc;
	return query_rows(m, "SELECT id, product_id, name, os_feed, update_policy,"
			  " created_at FROM device_groups"
			  " WHERE product_id = ? AND tenant_id = ? ORDER BY position",
			  params, 2, keys, 1u << 5, out, e);
}

static const char *const role_keys[] = { "user", "role", NULL };

int rp_model_role_set(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *user, enum rp_role role,
		      json_t **out, struct rp_err *e)
{
	char uid[RP_ID_LEN + 1], when[24];
	const char *params[4];
	int rc;

	rc = access_tenant(m, p, tenant, RP_ROLE_ADMIN, e);
	if (rc)
		return rc;
	rc = rp_model_check_user("user", user, e);
	if (rc)
		return rc;
	if (!rp_role_name(role))
		return rp_err_set(e, RP_EINVAL, "role: not a role");
	rc = new_id(uid, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	params[0] = uid;
	params[1] = tenant;
	params[2] = user;
	params[3] = when;
	rc = rp_db_exec(m->db, "INSERT INTO users (id, tenant_id, name, is_owner,"
			" created_at) VALUES (?, ?, ?, 0, ?)"
			" ON CONFLICT (tenant_id, name) DO NOTHING", params, 4, NULL, e);
	if (rc)
		goto out;
	params[0] = tenant;
	params[1] = rp_role_name(role);
	params[2] = tenant;
	params[3] = user;
	rc = rp_db_exec(m->db, "INSERT INTO roles (tenant_id, user_id, role)"
			" SELECT ?, id, ? FROM users WHERE tenant_id = ? AND name = ?"
			" ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role",
			params, 4, NULL, e);
	if (rc)
		goto out;
	rc = audit(m, p, tenant, "role.set", user, rp_role_name(role), e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
out:
	if (rc) {
		rp_db_rollback(m->db);
		return rc;
	}
	*out = json_pack("{s:s, s:s}", "user", user, "role", rp_role_name(role));
	return *out ? 0 : rp_err_set(e, RP_ENOMEM, "out of memory");
}

int rp_model_role_list(struct rp_model *m, const struct rp_principal *p,
		       const char *tenant, json_t **out, struct rp_err *e)
{
	const char *params[1] = { tenant };
	int rc = access_tenant(m, p, tenant, RP_ROLE_READER, e);

	if (rc)
		return rc;
	return query_rows(m, "SELECT u.name, r.role FROM roles r"
			  " JOIN users u ON u.id = r.user_id"
			  " WHERE r.tenant_id = ? ORDER BY u.name",
			  params, 1, role_keys, 0, out, e);
}

int rp_model_role_remove(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, const char *user, struct rp_err *e)
{
	const char *params[3] = { tenant, tenant, user };
	int rc, changed = 0;

	rc = access_tenant(m, p, tenant, RP_ROLE_ADMIN, e);
	if (rc)
		return rc;
	if (rp_model_check_user("user", user, e))
		return rp_err_set(e, -ENOENT, "role not found");
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	rc = rp_db_exec(m->db, "DELETE FROM roles WHERE tenant_id = ? AND user_id ="
			" (SELECT id FROM users WHERE tenant_id = ? AND name = ?)",
			params, 3, &changed, e);
	if (rc == 0 && !changed)
		rc = rp_err_set(e, -ENOENT, "user '%s' has no role in this tenant", user);
	if (rc == 0)
		rc = audit(m, p, tenant, "role.remove", user, NULL, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc)
		rp_db_rollback(m->db);
	return rc;
}

int rp_model_token_create(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, const char *user, json_t **out,
			  struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	char uid[RP_ID_LEN + 1], tid[RP_ID_LEN + 1], token[RP_TOKEN_TEXT_LEN + 1];
	int rc;

	rc = access_tenant(m, p, tenant, RP_ROLE_ADMIN, e);
	if (rc)
		return rc;
	rc = rp_model_check_user("user", user, e);
	if (rc)
		return rc;
	rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	rc = rp_db_prepare(m->db, "SELECT u.id FROM users u JOIN roles r"
			   " ON r.user_id = u.id AND r.tenant_id = u.tenant_id"
			   " WHERE u.tenant_id = ? AND u.name = ?", &st, e);
	if (rc)
		goto out;
	if (rp_stmt_bind_text(st, 1, tenant) || rp_stmt_bind_text(st, 2, user)) {
		rc = rp_err_set(e, RP_ENOMEM, "binding failed");
		goto out;
	}
	rc = rp_stmt_step(st, e);
	if (rc == 1)
		rc = rp_err_set(e, -ENOENT, "user '%s' has no role in this tenant", user);
	if (rc)
		goto out;
	snprintf(uid, sizeof(uid), "%s", rp_stmt_text(st, 0));
	rp_stmt_free(st);
	st = NULL;
	rc = insert_token(m, uid, token, tid, e);
	if (rc == 0)
		rc = audit(m, p, tenant, "token.create", user, tid, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc)
		goto out;
	*out = json_pack("{s:s, s:s, s:s}", "id", tid, "user", user, "token", token);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_stmt_free(st);
	rp_wipe(token, sizeof(token));
	if (rc)
		rp_db_rollback(m->db);
	return rc;
}

int rp_model_audit_list(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, json_t **out, struct rp_err *e)
{
	static const char *const keys[] = {
		"id", "time", "actor", "action", "target", "detail", NULL
	};
	const char *params[1] = { tenant };
	int rc;

	rc = access_tenant(m, p, tenant, RP_ROLE_ADMIN, e);
	if (rc)
		return rc;
	/* `at` is in microseconds for ordering; shown in seconds. */
	return query_rows(m, "SELECT id, at / 1000000, actor, action, target, detail"
			  " FROM audit WHERE tenant_id = ? ORDER BY at DESC, id LIMIT 1000",
			  params, 1, keys, 1u << 1, out, e);
}

/* For identity.c (model_priv.h): the same checks and audit trail. */
int rp_model_access(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, enum rp_role need, struct rp_err *e)
{
	return access_tenant(m, p, tenant, need, e);
}

int rp_model_audit(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, const char *action, const char *target,
		   const char *detail, struct rp_err *e)
{
	return audit(m, p, tenant, action, target, detail, e);
}

int rp_model_new_id(char out[RP_ID_LEN + 1], struct rp_err *e)
{
	return new_id(out, e);
}

json_t *rp_model_time_json(int64_t t)
{
	return time_json(t);
}
