/* cgroup v2: one hierarchy, at /sys/fs/cgroup (unified) or
 * /sys/fs/cgroup/unified (hybrid), used only when it offers memory and
 * pids. The child is born in its group (CLONE_INTO_CGROUP). */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static int has_ctrls(const char *root, const char *need1, const char *need2)
{
	char path[300], buf[512];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Space-separated words: match whole words. */
	{
		const char *need[2] = { need1, need2 };
		int i, found = 0;

		for (i = 0; i < 2; i++) {
			const char *p = buf;
			size_t l = strlen(need[i]);

			while ((p = strstr(p, need[i]))) {
				if ((p == buf || p[-1] == ' ') &&
				    (p[l] == ' ' || p[l] == '\n' || p[l] == '\0')) {
					found++;
					break;
				}
				p += l;
			}
		}
		return found == 2;
	}
}

int sb_cg2_detect(char *root, size_t cap)
{
	static const char *const cands[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified",
					     NULL };
	struct statfs sf;
	size_t i;

	for (i = 0; cands[i]; i++) {
		if (statfs(cands[i], &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
			continue;
		if (!has_ctrls(cands[i], "memory", "pids"))
			continue;
		if ((size_t)snprintf(root, cap, "%s", cands[i]) >= cap)
			return -1;
		return 0;
	}
	return -1;
}

int sb_cg2_create(const char *root, const struct rp_sandbox_spec *s,
		  const char *rel, int *dirfd, struct rp_err *e)
{
	char dir[512], parent[512], val[32], *slash;
	int cpu, rc;

	*dirfd = -1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, rel) >= sizeof(dir))
		return rp_err_set(e, RP_ERANGE, "cgroup: path too long");
	memcpy(parent, dir, sizeof(parent));
	slash = strrchr(parent, '/');
	*slash = '\0';
	cpu = has_ctrls(root, "cpu", "cpu");
	/* Delegate the controllers down to our parent group, then to its
	 * children (v2's no-internal-processes rule: the parent holds none). */
	if ((rc = sb_cg_write(root, "cgroup.subtree_control",
			      cpu ? "+memory +pids +cpu" : "+memory +pids", e)) ||
	    (rc = sb_cg_mkdir(parent, e)) ||
	    (rc = sb_cg_write(parent, "cgroup.subtree_control",
			      cpu ? "+memory +pids +cpu" : "+memory +pids", e)))
		return rc;
	/* An empty group left by a crash goes; a busy one means this name
	 * is running: refuse rather than kill it. */
	if (rmdir(dir) < 0 && errno != ENOENT)
		return rp_err_errno(e, errno, "cgroup: %s (already running?)", dir);
	if (mkdir(dir, 0755) < 0 &&
	    (errno != ENOENT || sb_cg_mkdir(parent, e) ||
	     sb_cg_write(parent, "cgroup.subtree_control",
			 cpu ? "+memory +pids +cpu" : "+memory +pids", e) ||
	     mkdir(dir, 0755) < 0))
		return rp_err_errno(e, errno, "cgroup: mkdir %s", dir);
	(void)snprintf(val, sizeof(val), "%llu", (unsigned long long)s->memory_kb * 1024);
	if ((rc = sb_cg_write(dir, "memory.max", val, e)))
		goto fail;
	if ((rc = sb_cg_write(dir, "memory.swap.max", "0", e)) && rc != -ENOENT)
		goto fail;
	(void)snprintf(val, sizeof(val), "%llu", (unsigned long long)s->max_pids);
	if ((rc = sb_cg_write(dir, "pids.max", val, e)))
		goto fail;
	if (cpu) {
		(void)snprintf(val, sizeof(val), "%llu", (unsigned long long)s->cpu_weight);
		if ((rc = sb_cg_write(dir, "cpu.weight", val, e)))
			goto fail;
	}
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0) {
		rc = rp_err_errno(e, errno, "cgroup: open %s", dir);
		goto fail;
	}
	return 0;
fail:
	sb_cg_kill_rmdir(dir, 1);
	return rc;
}

void sb_cg2_remove(const char *root, const char *rel)
{
	char dir[512];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, rel) < sizeof(dir))
		sb_cg_kill_rmdir(dir, 1);
}

void sb_cg2_remove_parent(const char *root, const char *parent)
{
	char dir[512];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, parent) < sizeof(dir))
		(void)rmdir(dir); /* EBUSY: still has groups */
}
