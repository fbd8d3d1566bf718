/* Between model.c and identity.c: access checks, the audit trail and ids,
 * so that every module of the model checks and records the same way. */
#ifndef RP_SERVICE_MODEL_PRIV_H
#define RP_SERVICE_MODEL_PRIV_H

#include <jansson.h>
#include <stdint.h>

#include "service/model.h"

/* -ENOENT unless tenant exists and p belongs to it (or is the owner);
 * -EPERM below need. */
int rp_model_access(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, enum rp_role need, struct rp_err *e) RP_WUR;
/* Append an audit row inside the caller's transaction. */
int rp_model_audit(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, const char *action, const char *target,
		   const char *detail, struct rp_err *e) RP_WUR;
int rp_model_new_id(char out[RP_ID_LEN + 1], struct rp_err *e) RP_WUR;
/* "YYYY-MM-DDTHH:MM:SSZ" (owned by the caller). */
json_t *rp_model_time_json(int64_t t);

#endif
