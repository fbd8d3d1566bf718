/* cgroup v1: separate memory and pids hierarchies (and cpu, if mounted).
 * Swap is counted with the memory limit when the kernel has memsw. */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define V1_ROOT "/sys/fs/cgroup"

static int dir_of(const char *ctrl, const char *rel, char *out, size_t cap)
{
	int n = snprintf(out, cap, V1_ROOT "/%s/%s", ctrl, rel);

	return n < 0 || (size_t)n >= cap ? RP_ERANGE : 0;
}

static int make(const char *ctrl, const char *rel, char *dir, size_t cap,
		struct rp_err *e)
{
	char parent[512], *slash;
	int rc;

	if (dir_of(ctrl, rel, dir, cap))
		return rp_err_set(e, RP_ERANGE, "cgroup: path too long");
	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return rp_err_set(e, RP_ERANGE, "cgroup: path too long");
	slash = strrchr(parent, '/');
	*slash = '\0';
	if ((rc = sb_cg_mkdir(parent, e)))
		return rc;
	/* An empty group left by a crash goes; a busy one means this name
	 * is running: refuse rather than kill it. */
	if (rmdir(dir) < 0 && errno != ENOENT)
		return rp_err_errno(e, errno, "cgroup: %s (already running?)", dir);
	/* ENOENT: another process's rp_sandbox_cgroup_parent_remove took
	 * the empty parent between the two mkdirs: make it again, once. */
	if (mkdir(dir, 0755) < 0 &&
	    (errno != ENOENT || sb_cg_mkdir(parent, e) || mkdir(dir, 0755) < 0))
		return rp_err_errno(e, errno, "cgroup: mkdir %s", dir);
	return 0;
}

int sb_cg1_create(const struct rp_sandbox_spec *s, const char *rel,
		  struct rp_err *e)
{
	char dir[512], val[32];
	int rc;

	if (access(V1_ROOT "/memory/memory.limit_in_bytes", F_OK) ||
	    access(V1_ROOT "/pids/cgroup.procs", F_OK))
		return rp_err_set(e, RP_EPOLICY,
				  "cgroup: no memory and pids controllers (v1 or v2)");
	if ((rc = make("memory", rel, dir, sizeof(dir), e)))
		goto fail;
	(void)snprintf(val, sizeof(val), "%llu", (unsigned long long)s->memory_kb * 1024);
	if ((rc = sb_cg_write(dir, "memory.limit_in_bytes", val, e)))
		goto fail;
	/* memsw = memory: no swap on top of the limit. */
	if (access(V1_ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0 &&
	    (rc = sb_cg_write(dir, "memory.memsw.limit_in_bytes", val, e)))
		goto fail;
	if ((rc = make("pids", rel, dir, sizeof(dir), e)))
		goto fail;
	(void)snprintf(val, sizeof(val), "%llu", (unsigned long long)s->max_pids);
	if ((rc = sb_cg_write(dir, "pids.max", val, e)))
		goto fail;
	if (access(V1_ROOT "/cpu/cpu.shares", F_OK) == 0) {
		unsigned long long shares = s->cpu_weight * 1024 / 100;

		if ((rc = make("cpu", rel, dir, sizeof(dir), e)))
			goto fail;
		(void)snprintf(val, sizeof(val), "%llu", shares < 2 ? 2 : shares);
		if ((rc = sb_cg_write(dir, "cpu.shares", val, e)))
			goto fail;
	}
	return 0;
fail:
	sb_cg1_remove(rel);
	return rc;
}

int sb_cg1_join(const char *rel, pid_t pid, struct rp_err *e)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu", NULL };
	char dir[512], val[32];
	size_t i;
	int rc;

	(void)snprintf(val, sizeof(val), "%d", (int)pid);
	for (i = 0; ctrls[i]; i++) {
		if (dir_of(ctrls[i], rel, dir, sizeof(dir)))
			return rp_err_set(e, RP_ERANGE, "cgroup: path too long");
		if (i == 2 && access(dir, F_OK))
			continue; /* cpu is optional */
		if ((rc = sb_cg_write(dir, "cgroup.procs", val, e)))
			return rc;
	}
	return 0;
}

void sb_cg1_remove(const char *rel)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu", NULL };
	char dir[512];
	size_t i;

	for (i = 0; ctrls[i]; i++)
		if (!dir_of(ctrls[i], rel, dir, sizeof(dir)))
			sb_cg_kill_rmdir(dir, 0);
}

void sb_cg1_remove_parent(const char *parent)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu", NULL };
	char dir[512];
	size_t i;

	for (i = 0; ctrls[i]; i++)
		if (!dir_of(ctrls[i], parent, dir, sizeof(dir)))
			(void)rmdir(dir); /* EBUSY: another user's groups */
}
