/* The app registry's small per-app state file (apps/<id>/state) and the
 * allocation of host user ids. See docs/runtime.md for the state
 * directory. Everything else about an installed app is re-derived from
 * its package, which rampartd verifies again at every start. */
#ifndef RP_STORE_APPS_H
#define RP_STORE_APPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_APP_STATE_MAX 4096

struct rp_app_state {
	uint32_t uid;   /* host uid and gid of the compartment */
	int enabled;    /* start with rampartd (cleared by `app stop`) */
};

/* {"uid":N,"enabled":true}; strict (unknown keys refused). */
int rp_app_state_decode(const uint8_t *buf, size_t len, struct rp_app_state *st,
			struct rp_err *e) RP_WUR;
/* out is initialised here; free with rp_buf_free. */
int rp_app_state_encode(const struct rp_app_state *st, struct rp_buf *out,
			struct rp_err *e) RP_WUR;

/* Pure: the lowest id in [base, base + count) not in used[0..n). */
int rp_uid_alloc(const uint32_t *used, size_t n, uint32_t base, uint32_t count,
		 uint32_t *out, struct rp_err *e) RP_WUR;

#endif
