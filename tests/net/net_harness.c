/* Test-only: run a command the way rampartd runs an app's network, without
 * the rest of the compartment, and guard it with lib/net.
 *
 *   net_harness MANIFEST [--host NAME=ADDR]... [--slow NAME=MS]...
 *               [--resolve-timeout MS] -- CMD [ARG]...
 *
 * --slow makes resolving NAME take MS milliseconds (a slow host resolver);
 * --resolve-timeout sets the guard's resolve_timeout_ms.
 *
 * The child enters new mount and network namespaces (only loopback),
 * sees /etc/resolv.conf pointing at the guard's stub on 127.0.0.1, and
 * installs a seccomp filter that sends connect, bind, listen, sendmsg,
 * sendmmsg and sendto-with-an-address to a user-notification listener --
 * the rules lib/sandbox installs for net_notify. The parent takes the
 * listener with pidfd_getfd, runs rp_netguard over it until the child
 * exits, prints the guard's counters to stderr and exits with the child's
 * status. Host names resolve only through the --host table (so tests
 * never touch a real resolver); needs root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"
#include "format/manifest.h"
#include "net/net.h"

#define HOSTS_MAX 16

struct host {
	const char *name;
	struct rp_netaddr a;
};

struct slow {
	const char *name;
	uint64_t ms;
};

struct table {
	struct host h[HOSTS_MAX];
	size_t n;
	struct slow s[HOSTS_MAX];
	size_t ns;
};

static int table_resolve(void *ctx, const char *name, int family,
			 struct rp_netaddr *out, size_t cap, size_t *n)
{
	const struct table *t = ctx;
	size_t i;

	*n = 0;
	for (i = 0; i < t->ns; i++)
		if (strcasecmp(t->s[i].name, name) == 0) {
			struct timespec ts = {
				.tv_sec = (time_t)(t->s[i].ms / 1000),
				.tv_nsec = (long)(t->s[i].ms % 1000) * 1000000L,
			};

			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
	for (i = 0; i < t->n && *n < cap; i++)
		if (strcasecmp(t->h[i].name, name) == 0 &&
		    t->h[i].a.family == family)
			out[(*n)++] = t->h[i].a;
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "net_harness: %s: %s\n", what, strerror(errno));
	_exit(125);
}

/* In the child: namespaces, resolv.conf, the filter; then tell the parent
 * the listener's number and wait for it to be ready. */
static void child(const char *resolv, int tell, int wait_go, char **argv)
{
	scmp_filter_ctx ctx;
	char go;
	int fd;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		die("unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("mount private");
	if (mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		die("bind resolv.conf");
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		die("seccomp_init");
	if (seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0) ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(bind), 0) ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(listen), 0) ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmsg), 0) ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmmsg), 0) ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1,
			     SCMP_A4(SCMP_CMP_NE, 0)))
		die("seccomp_rule_add");
	if (seccomp_load(ctx))
		die("seccomp_load");
	fd = seccomp_notify_fd(ctx);
	if (fd < 0)
		die("seccomp_notify_fd");
	if (write(tell, &fd, sizeof(fd)) != (ssize_t)sizeof(fd))
		die("write");
	if (read(wait_go, &go, 1) != 1)
		_exit(125);
	close(tell);
	close(wait_go);
	close(fd);
	execvp(argv[0], argv);
	die(argv[0]);
}

static int load_policy(const char *path, struct rp_netpolicy **p,
		       struct rp_err *e)
{
	struct rp_manifest *m = NULL;
	struct rp_buf b;
	int rc;

	if ((rc = rp_file_read(path, RP_MANIFEST_MAX, &b, e)))
		return rc;
	rc = rp_manifest_parse(b.data, b.len, &m, e);
	rp_buf_free(&b);
	if (rc == 0)
		rc = rp_netpolicy_from_manifest(m, p, e);
	rp_manifest_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	static struct table t;
	char resolv[] = "/tmp/rp-net-resolv-XXXXXX";
	static const char conf[] =
		"nameserver 127.0.0.1\noptions timeout:2 attempts:2\n";
	struct rp_netguard_config c;
	struct rp_netguard_stats st;
	struct rp_netpolicy *p = NULL;
	struct rp_netguard *g = NULL;
	struct rp_err e;
	int tell[2], go[2], i, rfd, nfd, status = 0, pidfd, lfd = -1, nsfd;
	char path[64];
	unsigned timeout_ms = 0;
	uint64_t ms;
	pid_t pid;

	rp_err_clear(&e);
	if (argc < 4) {
		fprintf(stderr, "usage: net_harness MANIFEST [--host NAME=ADDR]... -- CMD...\n");
		return 2;
	}
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char *eq;

		if (strcmp(argv[i], "--resolve-timeout") == 0 && i + 1 < argc) {
			if (rp_parse_u64z(argv[i + 1], 600000, &ms)) {
				fprintf(stderr, "net_harness: bad timeout\n");
				return 2;
			}
			timeout_ms = (unsigned)ms;
			i++;
			continue;
		}
		if (strcmp(argv[i], "--slow") == 0 && i + 1 < argc &&
		    (eq = strchr(argv[i + 1], '=')) && t.ns < HOSTS_MAX) {
			*eq = '\0';
			t.s[t.ns].name = argv[i + 1];
			if (rp_parse_u64z(eq + 1, 600000, &t.s[t.ns].ms)) {
				fprintf(stderr, "net_harness: bad delay\n");
				return 2;
			}
			t.ns++;
			i++;
			continue;
		}

		if (strcmp(argv[i], "--host") != 0 || i + 1 >= argc ||
		    !(eq = strchr(argv[i + 1], '=')) || t.n >= HOSTS_MAX) {
			fprintf(stderr, "net_harness: bad argument '%s'\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		t.h[t.n].name = argv[i + 1];
		if (rp_netaddr_parse(eq + 1, strlen(eq + 1), &t.h[t.n].a)) {
			fprintf(stderr, "net_harness: bad address '%s'\n", eq + 1);
			return 2;
		}
		t.n++;
		i++;
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "net_harness: no command\n");
		return 2;
	}
	if (load_policy(argv[1], &p, &e)) {
		fprintf(stderr, "net_harness: %s\n", e.msg);
		return 2;
	}
	rfd = mkstemp(resolv);
	if (rfd < 0 || write(rfd, conf, sizeof(conf) - 1) != sizeof(conf) - 1)
		die("resolv.conf");
	close(rfd);
	if (pipe2(tell, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child(resolv, tell[1], go[0], argv + i + 1);
	close(tell[1]);
	close(go[0]);
	if (read(tell[0], &nfd, sizeof(nfd)) != (ssize_t)sizeof(nfd)) {
		fprintf(stderr, "net_harness: child failed to start\n");
		waitpid(pid, &status, 0);
		unlink(resolv);
		return 125;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		die("pidfd_open");
	lfd = (int)syscall(SYS_pidfd_getfd, pidfd, nfd, 0);
	if (lfd < 0)
		die("pidfd_getfd");
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die("netns");
	memset(&c, 0, sizeof(c));
	c.policy = p;
	c.notify_fd = lfd;
	c.netns_fd = nsfd;
	c.resolve = table_resolve;
	c.resolve_ctx = &t;
	c.resolve_timeout_ms = timeout_ms;
	if (rp_netguard_start(&c, &g, &e)) {
		fprintf(stderr, "net_harness: %s\n", e.msg);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		unlink(resolv);
		return 125;
	}
	close(lfd);
	close(nsfd);
	if (write(go[1], "g", 1) != 1)
		die("write");
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = rp_netguard_fd(g), .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pf[0].revents && rp_netguard_dispatch(g, &e)) {
			fprintf(stderr, "net_harness: %s\n", e.msg);
			break;
		}
		if (pf[1].revents)
			break;
	}
	waitpid(pid, &status, 0);
	rp_netguard_stats(g, &st);
	fprintf(stderr,
		"net_harness: allowed=%llu refused=%llu dns_answered=%llu "
		"dns_refused=%llu last_refused='%s'\n",
		(unsigned long long)st.allowed, (unsigned long long)st.refused,
		(unsigned long long)st.dns_answered,
		(unsigned long long)st.dns_refused, st.last_refused);
	rp_netguard_free(g);
	rp_netpolicy_free(p);
	unlink(resolv);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
