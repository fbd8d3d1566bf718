/* The service's model, in Azure Sphere's shape: tenants -> products ->
 * device groups -> devices, per-tenant roles on users, API tokens, and an
 * audit log of every change.
 *
 * Every call is made on behalf of a principal (the owner of an API token)
 * and checks its access first: a principal of another tenant gets -ENOENT
 * exactly as for something that does not exist, never its data; a Reader
 * that tries a change gets -EPERM. The service owner (made by
 * rp_model_bootstrap) creates tenants and acts as Administrator in each.
 *
 * Results are the API's JSON representation (json_t, owned by the caller,
 * json_decref), so the HTTP layer adds nothing but transport.
 *
 * Error codes, and the HTTP status they become:
 *   RP_EINVAL / RP_EFORMAT  400  a value is not valid (e names the field)
 *   -EACCES                 401  no, unknown or revoked token
 *   -EPERM                  403  the role does not allow this
 *   -ENOENT                 404  no such thing in the caller's view
 *   -EEXIST                 409  the name is taken
 *   RP_EVERIFY              422  a package is refused (images.h)
 *   -ENOSYS                 503  no certificate authority (no signer) or
 *                                no data directory
 *   others                  500
 */
#ifndef RP_SERVICE_MODEL_H
#define RP_SERVICE_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "service/db.h"

#define RP_NAME_MAX 50         /* tenant and product names */
#define RP_USER_MAX 64         /* user names */
#define RP_DESC_MAX 512        /* descriptions, bytes */
#define RP_ID_LEN 36           /* GUID text */
#define RP_TOKEN_PREFIX "rpt_"
#define RP_TOKEN_TEXT_LEN 68   /* "rpt_" + 64 hex digits */
#define RP_AUDIT_LIST_MAX 1000 /* newest entries returned by one listing */

enum rp_role {
	RP_ROLE_NONE = 0,
	RP_ROLE_READER = 1,
	RP_ROLE_CONTRIBUTOR = 2,
	RP_ROLE_ADMIN = 3,
};

/* Who is calling: filled by rp_model_authenticate. */
struct rp_principal {
	char user_id[RP_ID_LEN + 1];
	char tenant_id[RP_ID_LEN + 1]; /* "" for the service owner */
	char name[RP_USER_MAX + 1];
	int owner;
	enum rp_role role; /* in tenant_id; RP_ROLE_ADMIN for the owner */
};

struct rp_signer_client;
struct rp_tenant_cache;

/* The model borrows a migrated database and (for device identity,
 * lib/service/identity.h) a signer client; it owns nothing. Without a
 * signer the identity calls answer -ENOSYS (503). */
struct rp_model {
	struct rp_db *db;
	struct rp_signer_client *signer; /* NULL: no certificate authority */
	int64_t cert_validity;           /* device certificates, s; 0: 24 h */
	const char *data_dir;            /* images (lib/service/images.h); NULL: none */
	uint64_t image_max;              /* upload bound, bytes; 0: the default */
	/* Devices (lib/service/device.h): the per-tenant cache of CA
	 * certificates and targets keys (NULL: fetched on every call), the
	 * check-in interval suggested to devices and the targets lifetime,
	 * in seconds (0: the defaults), and for how long a device's last
	 * targets document is served again while nothing it names changed
	 * (0: half the lifetime; -1: never, a new document every check-in). */
	struct rp_tenant_cache *cache;
	int64_t checkin_interval;
	int64_t targets_lifetime;
	int64_t targets_reissue;
};

/* "Administrator" / "Contributor" / "Reader"; NULL otherwise. */
const char *rp_role_name(enum rp_role r);
int rp_role_parse(const char *s, enum rp_role *out) RP_WUR;

/* Name rules, shared with the request decoders. Tenant and product names:
 * 1 to RP_NAME_MAX of A-Z a-z 0-9 space . _ -, starting with a letter or
 * digit, not ending in a space. User names: 1 to RP_USER_MAX of a-z 0-9
 * . _ @ -, starting with a letter or digit. Descriptions: at most
 * RP_DESC_MAX bytes without control characters (stored verbatim). */
int rp_model_check_name(const char *field, const char *s, struct rp_err *e) RP_WUR;
int rp_model_check_user(const char *field, const char *s, struct rp_err *e) RP_WUR;
int rp_model_check_desc(const char *field, const char *s, struct rp_err *e) RP_WUR;
/* 1 if s is a GUID in canonical lower-case text. */
int rp_model_is_id(const char *s);

/* Create the service owner `name` and its first token, written to token
 * (RP_TOKEN_TEXT_LEN + 1 bytes; shown once, stored only as its SHA-256).
 * Refused with -EEXIST when an owner exists. */
int rp_model_bootstrap(struct rp_model *m, const char *name, char *token,
		       struct rp_err *e) RP_WUR;

/* Resolve `rpt_...` to its principal; -EACCES if unknown or malformed. */
int rp_model_authenticate(struct rp_model *m, const char *token,
			  struct rp_principal *p, struct rp_err *e) RP_WUR;

int rp_model_tenant_create(struct rp_model *m, const struct rp_principal *p,
			   const char *name, json_t **out, struct rp_err *e) RP_WUR;
int rp_model_tenant_list(struct rp_model *m, const struct rp_principal *p,
			 json_t **out, struct rp_err *e) RP_WUR;
int rp_model_tenant_get(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, json_t **out, struct rp_err *e) RP_WUR;

/* Contributor or Administrator; creates the five default device groups
 * in the same transaction. */
int rp_model_product_create(struct rp_model *m, const struct rp_principal *p,
			    const char *tenant, const char *name,
			    const char *description, json_t **out,
			    struct rp_err *e) RP_WUR;
int rp_model_product_list(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, json_t **out, struct rp_err *e) RP_WUR;
int rp_model_product_get(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, const char *product, json_t **out,
			 struct rp_err *e) RP_WUR;
int rp_model_group_list(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, const char *product, json_t **out,
			struct rp_err *e) RP_WUR;

/* Administrator: give user (created in the tenant if new) a role. */
int rp_model_role_set(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *user, enum rp_role role,
		      json_t **out, struct rp_err *e) RP_WUR;
int rp_model_role_list(struct rp_model *m, const struct rp_principal *p,
		       const char *tenant, json_t **out, struct rp_err *e) RP_WUR;
/* Administrator: the user keeps existing but its tokens stop working. */
int rp_model_role_remove(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, const char *user,
			 struct rp_err *e) RP_WUR;

/* Administrator: a new token for a user of the tenant that has a role.
 * The result holds the token text, shown this once. */
int rp_model_token_create(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, const char *user, json_t **out,
			  struct rp_err *e) RP_WUR;

/* Administrator: the tenant's audit log, newest first. */
int rp_model_audit_list(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, json_t **out, struct rp_err *e) RP_WUR;

#endif
