/* The seam between the supervisor and the compartment: every app runs
 * through rp_sandbox_spawn (lib/sandbox). */
#include "rampartd.h"

int rpd_spawn(struct rpd *d, const struct rp_sandbox_spec *s,
	      struct rp_sandbox_child *out, struct rp_err *e)
{
	(void)d;
	return rp_sandbox_spawn(s, out, e);
}
