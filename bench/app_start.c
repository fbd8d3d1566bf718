/* app_start: time from "start the app" to the app's first write, for a
 * Rampart compartment (rp_sandbox_spawn) and for a bubblewrap sandbox of
 * the same binary, alternating, N times each. Prints the medians in
 * microseconds: "rampart <us>" and "bwrap <us>".
 *
 * usage: app_start N APPDIR   (APPDIR/bin/app is the trivial app) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/num.h"
#include "sandbox/sandbox.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Wait for the first byte on fd; -1 on failure. */
static int first_byte(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 10000) != 1)
		return -1;
	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static int run_rampart(const char *dir, double *us)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_sandbox_child c;
	struct rp_err e;
	int p[2], rc = -1, st;
	double t0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	rp_sandbox_defaults_init(&d);
	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	c.pidfd = c.notify_fd = c.netns_fd = -1;
	s.name = "bench-app-start";
	s.host_uid = 299999;
	s.host_gid = 299999;
	s.root_dir = dir;
	s.cgroup_parent = "rampart-bench";
	s.memory_kb = d.memory_kb;
	s.max_pids = d.max_pids;
	s.tmp_kb = d.tmp_kb;
	s.max_files = d.max_files;
	s.cpu_weight = d.cpu_weight;
	s.argv[0] = "/bin/app";
	s.stdin_fd = -1;
	s.stdout_fd = p[1];
	s.stderr_fd = -1;
	t0 = now_us();
	if (rp_sandbox_spawn(&s, &c, &e)) {
		fprintf(stderr, "app_start: spawn: %s\n", e.msg);
		goto out;
	}
	close(p[1]);
	p[1] = -1;
	if (first_byte(p[0]) == 0) {
		*us = now_us() - t0;
		rc = 0;
	}
	(void)waitpid(c.pid, &st, __WALL);
	rp_sandbox_cleanup(&c);
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return rc;
}

static int run_bwrap(const char *dir, double *us)
{
	char bin[4096];
	const char *argv[] = {
		"bwrap", "--unshare-all", "--die-with-parent",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64",
		"--ro-bind", bin, "/bin",
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"/bin/app", NULL,
	};
	/* posix_spawn's argv is not const-qualified; it does not write. */
	union { const char **c; char *const *m; } args = { .c = argv };
	posix_spawn_file_actions_t fa;
	int p[2], rc = -1, st, w;
	pid_t pid;
	double t0;

	w = snprintf(bin, sizeof(bin), "%s/bin", dir);
	if (w < 0 || (size_t)w >= sizeof(bin) || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	t0 = now_us();
	if (posix_spawnp(&pid, "bwrap", &fa, NULL, args.m, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (first_byte(p[0]) == 0) {
		*us = now_us() - t0;
		rc = 0;
	}
	(void)waitpid(pid, &st, 0);
	close(p[0]);
	return rc;
}

int main(int argc, char **argv)
{
	double *a = NULL, *b = NULL;
	uint64_t n;
	size_t i;
	int ex = 1;

	if (argc != 3 || rp_parse_u64z(argv[1], 10000, &n) || n == 0) {
		fprintf(stderr, "usage: app_start N APPDIR\n");
		return 2;
	}
	a = calloc(n, sizeof(*a));
	b = calloc(n, sizeof(*b));
	if (!a || !b)
		goto out;
	for (i = 0; i < n; i++) {
		if (run_rampart(argv[2], &a[i]) || run_bwrap(argv[2], &b[i])) {
			fprintf(stderr, "app_start: run %zu failed\n", i);
			goto out;
		}
	}
	qsort(a, n, sizeof(*a), cmp);
	qsort(b, n, sizeof(*b), cmp);
	printf("rampart %.0f\nbwrap %.0f\n", a[n / 2], b[n / 2]);
	ex = 0;
out:
	free(a);
	free(b);
	return ex;
}
