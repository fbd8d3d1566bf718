/* Memory and PID limits with cgroups (parent side).
 *
 * The variant is picked at run time: cgroup v2 (cgroup_v2.c) when a
 * cgroup2 hierarchy offers both the memory and pids controllers, else the
 * v1 controllers (cgroup_v1.c). A compartment's group is
 * <controller root>/<cgroup_parent>/<name>; it is created and limited
 * before the clone, and the child is in it before it runs any setup step
 * (v2: CLONE_INTO_CGROUP; v1: the parent writes its pid, then releases it).
 * No limit is set "best effort": a missing memory or pids controller is an
 * error, so an app never runs unbounded. */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/num.h"

int sb_cg_write(const char *dir, const char *file, const char *val,
		struct rp_err *e)
{
	char path[512];
	size_t len = strlen(val);
	ssize_t w;
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return rp_err_set(e, RP_ERANGE, "cgroup: path too long");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return rp_err_errno(e, errno, "cgroup: %s", path);
	w = write(fd, val, len);
	if (w != (ssize_t)len) {
		int err = w < 0 ? errno : EIO;

		close(fd);
		return rp_err_errno(e, err, "cgroup: write '%s' to %s", val, path);
	}
	close(fd);
	return 0;
}

int sb_cg_mkdir(const char *path, struct rp_err *e)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return rp_err_errno(e, errno, "cgroup: mkdir %s", path);
	return 0;
}

/* Kill what is left in the group and remove it. Processes of a dead PID
 * namespace are killed by the kernel, but asynchronously: retry briefly. */
void sb_cg_kill_rmdir(const char *dir, int has_kill)
{
	char path[512], buf[4096];
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int tries, n;

	for (tries = 0; tries < 250; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		if (has_kill) {
			/* Before 5.14 there is no cgroup.kill: just wait. */
			int rc = sb_cg_write(dir, "cgroup.kill", "1", NULL);

			(void)rc;
		} else {
			ssize_t len;
			int fd;

			n = snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
			if (n < 0 || (size_t)n >= sizeof(path))
				return;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				len = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				if (len > 0) {
					char *p = buf, *nl;

					buf[len] = '\0';
					while ((nl = strchr(p, '\n'))) {
						uint64_t pid;

						if (!rp_parse_u64(p, (size_t)(nl - p),
								  INT32_MAX, &pid) && pid > 1)
							(void)kill((pid_t)pid, SIGKILL);
						p = nl + 1;
					}
				}
			}
		}
		(void)nanosleep(&ts, NULL);
	}
}

static int rel_path(const struct rp_sandbox_spec *s, char *out, size_t cap,
		    struct rp_err *e)
{
	int n;

	if (!s->cgroup_parent || !s->cgroup_parent[0] || strstr(s->cgroup_parent, "..") ||
	    s->cgroup_parent[0] == '/')
		return rp_err_set(e, RP_EUSAGE, "cgroup: bad parent");
	n = snprintf(out, cap, "%s/%s", s->cgroup_parent, s->name);
	if (n < 0 || (size_t)n >= cap)
		return rp_err_set(e, RP_ERANGE, "cgroup: name too long");
	return 0;
}

int sb_cgroup_create(const struct rp_sandbox_spec *s, struct rp_sandbox_child *c,
		     int *clone_fd, struct rp_err *e)
{
	char root[256], rel[sizeof(c->cgroup)];
	int rc;

	*clone_fd = -1;
	if ((rc = rel_path(s, rel, sizeof(rel), e)))
		return rc;
	if (sb_cg2_detect(root, sizeof(root)) == 0) {
		if ((rc = sb_cg2_create(root, s, rel, clone_fd, e)))
			return rc;
		c->cgroup_version = 2;
	} else {
		if ((rc = sb_cg1_create(s, rel, e)))
			return rc;
		c->cgroup_version = 1;
	}
	memcpy(c->cgroup, rel, sizeof(c->cgroup));
	return 0;
}

int sb_cgroup_join(const struct rp_sandbox_child *c, pid_t pid, struct rp_err *e)
{
	if (c->cgroup_version == 1)
		return sb_cg1_join(c->cgroup, pid, e);
	return 0; /* v2: CLONE_INTO_CGROUP put it there */
}

void sb_cgroup_remove(struct rp_sandbox_child *c)
{
	char root[256];

	if (c->cgroup_version == 2 && sb_cg2_detect(root, sizeof(root)) == 0)
		sb_cg2_remove(root, c->cgroup);
	else if (c->cgroup_version == 1)
		sb_cg1_remove(c->cgroup);
	c->cgroup_version = 0;
	c->cgroup[0] = '\0';
}

void rp_sandbox_cgroup_parent_remove(const char *parent)
{
	char root[256];

	if (!parent || !parent[0] || strchr(parent, '/') ||
	    !strcmp(parent, ".") || !strcmp(parent, ".."))
		return;
	if (sb_cg2_detect(root, sizeof(root)) == 0)
		sb_cg2_remove_parent(root, parent);
	sb_cg1_remove_parent(parent);
}
