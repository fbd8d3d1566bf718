/* The confinement both helpers apply to themselves (confine.h). */
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "confine.h"

int rpd_confine(const int *allow, size_t n,
		int (*extra)(scmp_filter_ctx ctx, void *arg), void *arg,
		struct rp_err *e)
{
	scmp_filter_ctx ctx = NULL;
	size_t i;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		rc = rp_err_errno(e, errno, "confine: no_new_privs");
		goto out;
	}
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx) {
		rc = rp_err_set(e, RP_ENOMEM, "confine: seccomp_init");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (allow[i] < 0)
			continue; /* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0))) {
			rp_err_errno(e, -rc, "confine: seccomp rule %d", allow[i]);
			goto out;
		}
	}
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) ||
	    (extra && (rc = extra(ctx, arg)))) {
		rp_err_errno(e, -rc, "confine: seccomp rule");
		goto out;
	}
	if ((rc = seccomp_load(ctx))) {
		rp_err_errno(e, -rc, "confine: seccomp_load");
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}
