/* Starting an app in its compartment.
 *
 * The parent prepares what needs allocation or host privilege (the seccomp
 * program, the cgroup), then clone3()s the child into new user, mount,
 * PID, IPC, UTS and network namespaces, fork-style (no CLONE_VM, no new
 * stack: the child runs on a copy of our memory, which also keeps ASan
 * consistent). The two talk over two pipes:
 *
 *   parent                               child
 *   write uid_map, gid_map               (blocked on "go")
 *   "go" ------------------------------> hostname, mounts, uid, rlimits
 *   v1: move the child into its cgroups
 *   "go" ------------------------------> cgroup ns, caps, nnp, landlock,
 *                                        seccomp
 *             <------------------------- record {0, listener fd number}
 *   pidfd_getfd(listener)                 (blocked on "go")
 *   "go" ------------------------------> close everything but 0-2, exec
 *   EOF (exec happened) <--------------- or record {error} and _exit
 *
 * The seccomp listener cannot travel by SCM_RIGHTS: once the filter is
 * loaded, sendmsg itself is trapped and would wait on the very listener
 * being sent. The parent takes it with pidfd_getfd() (it may: it is root
 * in an ancestor namespace), and the child closes its copy at exec.
 *
 * uid/gid: one id is mapped, RP_SANDBOX_APP_ID -> host_uid/host_gid.
 * "setgroups" stays "allow" so that the child can clear the supplementary
 * groups it inherited from rampartd (root's group 0 would otherwise keep
 * granting group access to host files); the app can never call setgroups
 * itself: no CAP_SETGID, and seccomp denies it. */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* The one message the child sends: an error, or readiness. */
struct rec {
	int code;        /* 0: ready */
	int notify_fd;   /* the listener's number in the child, or -1 */
	char msg[RP_ERR_MSG_MAX];
};

struct ctx {
	const struct rp_sandbox_spec *s;
	struct sb_filter filter;
	struct sb_mounts *mounts; /* allocated by the parent: large */
	int null_fd;
	int to_child[2], to_parent[2];
};

static const char *const app_env[] = {
	"PATH=/bin", "HOME=/mnt/config", "TMPDIR=/tmp", "LANG=C.UTF-8",
	"USER=app", "LOGNAME=app", NULL,
};

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? -EIO : (r == 0 ? 1 : -errno);
		got += (size_t)r;
	}
	return 0;
}

static void send_rec(int fd, int code, int notify_fd, const char *msg)
{
	struct rec r;
	ssize_t w;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.notify_fd = notify_fd;
	(void)snprintf(r.msg, sizeof(r.msg), "%s", msg ? msg : "");
	do
		w = write(fd, &r, sizeof(r));
	while (w < 0 && errno == EINTR);
}

static int wait_go(int fd, struct rp_err *e)
{
	char c;

	if (read_full(fd, &c, 1) != 0 || c != 'g')
		return rp_err_set(e, RP_EIO, "parent went away");
	return 0;
}

/* Put the app's stdio on 0, 1, 2 without clobbering a source that already
 * sits on one of those numbers. */
static int setup_stdio(const struct ctx *x, struct rp_err *e)
{
	int src[3] = { x->s->stdin_fd, x->s->stdout_fd, x->s->stderr_fd };
	int tmp[3], i;

	for (i = 0; i < 3; i++) {
		tmp[i] = fcntl(src[i] >= 0 ? src[i] : x->null_fd, F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			return rp_err_errno(e, errno, "stdio");
	}
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return rp_err_errno(e, errno, "stdio");
	return 0;
}

/* Everything from here runs in the child. Each step's failure is sent to
 * the parent; the child never returns. */
static __attribute__((noreturn)) void child_main(struct ctx *x)
{
	const struct rp_sandbox_spec *s = x->s;
	const gid_t id = RP_SANDBOX_APP_ID;
	int wfd = x->to_parent[1], rfd = x->to_child[0];
	int listener = -1, rc;
	struct rp_err e;
	const char *step = "";

	rp_err_clear(&e);
	close(x->to_parent[0]);
	close(x->to_child[1]);
	/* Die with rampartd rather than outlive it unsupervised. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		rc = rp_err_errno(&e, errno, "pdeathsig");
		goto fail;
	}
	if ((rc = setup_stdio(x, &e)))
		goto fail;
	/* From now on every fd but 0-2 closes at exec (rampartd's included). */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		rc = rp_err_errno(&e, errno, "close_range");
		goto fail;
	}
	if ((rc = wait_go(rfd, &e)))
		goto fail;

	step = "namespaces";
	if (sethostname(s->name, strnlen(s->name, 64)) < 0) {
		rc = rp_err_errno(&e, errno, "hostname");
		goto fail;
	}
	step = "mounts";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		rc = rp_err_errno(&e, errno, "private propagation");
		goto fail;
	}
	if ((rc = sb_mounts_collect(s, x->mounts, &e)))
		goto fail;
	step = "user";
	if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 ||
	    setresuid(id, id, id) < 0) {
		rc = rp_err_errno(&e, errno, "switch to uid %u", id);
		goto fail;
	}
	/* Changing credentials clears the parent-death signal: set it again.
	 * Should rampartd have died in between, the next wait_go sees EOF. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		rc = rp_err_errno(&e, errno, "pdeathsig");
		goto fail;
	}
	step = "mounts";
	if ((rc = sb_mounts_build(s, x->mounts, &e)))
		goto fail;
	step = "limits";
	if ((rc = sb_rlimits_apply(s, &e)))
		goto fail;
	/* The parent has moved us into our cgroup by now: root the cgroup
	 * namespace there. */
	step = "cgroup";
	if ((rc = wait_go(rfd, &e)))
		goto fail;
	if (unshare(CLONE_NEWCGROUP) < 0) {
		rc = rp_err_errno(&e, errno, "cgroup namespace");
		goto fail;
	}
	step = "privileges";
	if ((rc = sb_caps_drop(&e)))
		goto fail;
	step = "landlock";
	if ((rc = sb_landlock_apply(s, x->mounts, &e)))
		goto fail;
	step = "seccomp";
	listener = sb_seccomp_install(&x->filter, &e);
	if (listener < 0) {
		rc = listener;
		goto fail;
	}
	/* Only read, write, close and execve from here: all allowed. */
	send_rec(wfd, 0, x->filter.notify ? listener : -1, NULL);
	if ((rc = wait_go(rfd, &e)))
		goto fail;
	step = "exec";
	execve(s->argv[0], (char *const *)(uintptr_t)s->argv,
	       (char *const *)(uintptr_t)app_env);
	rc = rp_err_errno(&e, errno, "%s", s->argv[0]);
fail:
	rp_err_prefix(&e, "%s", step[0] ? step : "setup");
	send_rec(wfd, rc ? rc : RP_EIO, -1, e.msg);
	_exit(127);
}

static int write_map(pid_t pid, const char *file, unsigned inside, unsigned host,
		     struct rp_err *e)
{
	char path[64], line[64];
	int fd, n, rc = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(line, sizeof(line), "%u %u 1\n", inside, host);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return rp_err_errno(e, errno, "spawn: %s", path);
	if (write(fd, line, (size_t)n) != n)
		rc = rp_err_errno(e, errno ? errno : EIO, "spawn: %s", path);
	close(fd);
	return rc;
}

/* Tell the child to go on. If it is gone, its own report says why. */
static int send_go(const struct ctx *x, struct rp_err *e)
{
	struct rec r;

	if (send(x->to_child[1], "g", 1, MSG_NOSIGNAL) == 1)
		return 0;
	if (read_full(x->to_parent[0], &r, sizeof(r)) == 0 && r.code) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		return rp_err_set(e, r.code < 0 ? r.code : RP_EIO, "compartment: %s", r.msg);
	}
	return rp_err_errno(e, errno ? errno : EPIPE, "spawn: the child went away");
}

static int check_spec(const struct rp_sandbox_spec *s, struct rp_err *e)
{
	size_t n;

	if (!s->name || !(n = strlen(s->name)) || n > 64 || strchr(s->name, '/') ||
	    s->name[0] == '.')
		return rp_err_set(e, RP_EUSAGE, "spec: bad name");
	if (!s->root_dir || s->root_dir[0] != '/' || !s->argv[0] ||
	    s->argv[0][0] != '/')
		return rp_err_set(e, RP_EUSAGE, "spec: root_dir and argv[0] must be absolute");
	if (!s->host_uid || !s->host_gid || s->host_uid == (uid_t)-1 ||
	    s->host_gid == (gid_t)-1)
		return rp_err_set(e, RP_EUSAGE, "spec: the app needs its own non-root ids");
	if (!s->memory_kb || !s->max_pids || !s->tmp_kb || !s->max_files ||
	    !s->cpu_weight || s->memory_kb > UINT64_MAX / 1024)
		return rp_err_set(e, RP_EUSAGE, "spec: a limit is 0");
	return 0;
}

static void reap(pid_t pid, int pidfd)
{
	siginfo_t si;

	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	(void)pid;
}

int rp_sandbox_spawn(const struct rp_sandbox_spec *s,
		     struct rp_sandbox_child *out, struct rp_err *e)
{
	struct rp_sandbox_child c;
	struct clone3_args ca;
	struct ctx x;
	struct rec r;
	char path[64];
	int pidfd = -1, cg_fd = -1, rc;
	long pid;

	memset(&c, 0, sizeof(c));
	c.pid = -1;
	c.pidfd = c.notify_fd = c.netns_fd = -1;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.null_fd = -1;
	x.to_child[0] = x.to_child[1] = x.to_parent[0] = x.to_parent[1] = -1;
	x.mounts = MAP_FAILED;

	if ((rc = check_spec(s, e)))
		goto out;
	if ((rc = sb_seccomp_build(s->net_notify, &x.filter, e)))
		goto out;
	/* mmap, not malloc: the child writes it without touching the heap. */
	x.mounts = mmap(NULL, sizeof(*x.mounts), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x.mounts == MAP_FAILED) {
		rc = rp_err_errno(e, errno, "spawn: memory");
		goto out;
	}
	x.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (x.null_fd < 0) {
		rc = rp_err_errno(e, errno, "spawn: /dev/null");
		goto out;
	}
	/* Parent -> child is a socket so that writing to a child that died
	 * is EPIPE (MSG_NOSIGNAL), never a SIGPIPE that kills rampartd. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x.to_child) < 0 ||
	    pipe2(x.to_parent, O_CLOEXEC) < 0) {
		rc = rp_err_errno(e, errno, "spawn: pipe");
		goto out;
	}
	if ((rc = sb_cgroup_create(s, &c, &cg_fd, e)))
		goto out;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
		   CLONE_NEWUTS | CLONE_NEWNET | CLONE_PIDFD;
	if (cg_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cg_fd;
	}
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		rc = rp_err_errno(e, errno, "spawn: clone3");
		goto out;
	}
	if (pid == 0)
		child_main(&x);

	c.pid = (pid_t)pid;
	c.pidfd = pidfd;
	close(x.to_child[0]);
	close(x.to_parent[1]);
	x.to_child[0] = x.to_parent[1] = -1;

	if ((rc = write_map(c.pid, "uid_map", RP_SANDBOX_APP_ID, s->host_uid, e)) ||
	    (rc = write_map(c.pid, "gid_map", RP_SANDBOX_APP_ID, s->host_gid, e)))
		goto fail;
	(void)snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c.pid);
	c.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.netns_fd < 0) {
		rc = rp_err_errno(e, errno, "spawn: %s", path);
		goto fail;
	}
	if ((rc = send_go(&x, e)))
		goto fail;
	/* v1 has no CLONE_INTO_CGROUP, and moving a task costs an RCU grace
	 * period (~10 ms): do it while the child builds its root. The child
	 * waits for the second "go" before exec, so the app's first
	 * instruction runs inside its limits. */
	if ((rc = sb_cgroup_join(&c, c.pid, e)))
		goto fail;
	if ((rc = send_go(&x, e)))
		goto fail;
	rc = read_full(x.to_parent[0], &r, sizeof(r));
	if (rc) {
		rc = rp_err_set(e, RP_EIO, "compartment: setup ended without a word");
		goto fail;
	}
	if (r.code) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		rc = rp_err_set(e, r.code < 0 ? r.code : RP_EIO, "compartment: %s", r.msg);
		goto fail;
	}
	if (r.notify_fd >= 0) {
		c.notify_fd = (int)syscall(SYS_pidfd_getfd, c.pidfd, r.notify_fd, 0);
		if (c.notify_fd < 0) {
			rc = rp_err_errno(e, errno, "spawn: seccomp listener");
			goto fail;
		}
		/* pidfd_getfd does not set close-on-exec. */
		(void)fcntl(c.notify_fd, F_SETFD, FD_CLOEXEC);
	}
	if ((rc = send_go(&x, e)))
		goto fail;
	/* EOF: the exec closed the pipe. A record: exec failed. */
	rc = read_full(x.to_parent[0], &r, sizeof(r));
	if (rc == 0) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		rc = rp_err_set(e, r.code < 0 ? r.code : RP_EIO, "compartment: %s", r.msg);
		goto fail;
	}
	rc = 0;
	*out = c;
	goto out;
fail:
	reap(c.pid, c.pidfd);
	rp_sandbox_cleanup(&c);
out:
	if (rc && c.cgroup_version)
		sb_cgroup_remove(&c);
	if (cg_fd >= 0)
		close(cg_fd);
	if (x.null_fd >= 0)
		close(x.null_fd);
	for (int i = 0; i < 2; i++) {
		if (x.to_child[i] >= 0)
			close(x.to_child[i]);
		if (x.to_parent[i] >= 0)
			close(x.to_parent[i]);
	}
	if (x.mounts != MAP_FAILED)
		munmap(x.mounts, sizeof(*x.mounts));
	sb_filter_free(&x.filter);
	return rc;
}

void rp_sandbox_cleanup(struct rp_sandbox_child *c)
{
	if (!c)
		return;
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	if (c->netns_fd >= 0)
		close(c->netns_fd);
	c->pidfd = c->notify_fd = c->netns_fd = -1;
	if (c->cgroup_version)
		sb_cgroup_remove(c);
}
