/* Capabilities and resource limits for the compartment (child side).
 *
 * The child holds every capability of its new user namespace until here.
 * Order matters: securebits need CAP_SETPCAP, so they are locked first;
 * then the bounding set (also needs CAP_SETPCAP), the ambient set, and
 * finally capset() empties permitted, effective and inheritable. With
 * SECBIT_NOROOT locked, even a uid-0 exec could not regain them. */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int sb_caps_drop(struct rp_err *e)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	unsigned long cap;

	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return rp_err_errno(e, errno, "capabilities: securebits");
	/* Drop until the kernel says the number is past its last cap. */
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		return rp_err_errno(e, errno, "capabilities: bounding set %lu", cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return rp_err_errno(e, errno, "capabilities: ambient set");
	if (syscall(SYS_capset, &hdr, data) < 0)
		return rp_err_errno(e, errno, "capabilities: capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return rp_err_errno(e, errno, "no_new_privs");
	return 0;
}

int sb_rlimits_apply(const struct rp_sandbox_spec *s, struct rp_err *e)
{
	struct {
		int res;
		const char *name;
		rlim_t val;
	} lim[] = {
		{ RLIMIT_NOFILE, "NOFILE", (rlim_t)s->max_files },
		{ RLIMIT_NPROC, "NPROC", (rlim_t)s->max_pids },
		{ RLIMIT_CORE, "CORE", 0 },
		{ RLIMIT_MEMLOCK, "MEMLOCK", 64 * 1024 },
		{ RLIMIT_MSGQUEUE, "MSGQUEUE", 0 },
		{ RLIMIT_RTPRIO, "RTPRIO", 0 },
		{ RLIMIT_NICE, "NICE", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit r;

		/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial
		 * namespace, which the child lacks: never ask above it. */
		if (getrlimit((__rlimit_resource_t)lim[i].res, &r) < 0)
			return rp_err_errno(e, errno, "rlimit %s", lim[i].name);
		if (lim[i].val < r.rlim_max || r.rlim_max == RLIM_INFINITY)
			r.rlim_max = lim[i].val;
		r.rlim_cur = r.rlim_max;
		if (setrlimit((__rlimit_resource_t)lim[i].res, &r) < 0)
			return rp_err_errno(e, errno, "rlimit %s", lim[i].name);
	}
	return 0;
}
