/* Test tool: run a command in a compartment and return its exit status.
 *
 *   sandbox_run [options] PKGDIR ENTRY [ARGS...]
 *     --state DIR       state directory for storage (default: none)
 *     --storage-kb N    MutableStorage.SizeKB (needs --state)
 *     --memory-kb N --pids N --tmp-kb N --files N   limits
 *     --uid N           host uid and gid (default 61000)
 *     --run-dir DIR     mounted at /run/rampart
 *     --leak-fd N       leave fd N open without close-on-exec (the app
 *                       must not see it)
 *     --net-notify 1    trap network calls (nobody answers them: use only
 *                       with actions that make none); checks the listener
 *     --times N         spawn N times, print the median spawn-to-exec
 *                       time in microseconds (benchmark)
 *
 * Exit: the app's exit code; 128+signal if killed; 125 if the spawn
 * failed (message on stderr). Links exactly the library rampartd uses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/num.h"
#include "sandbox/sandbox.h"

static int num(const char *s, uint64_t max, uint64_t *out)
{
	if (rp_parse_u64z(s, max, out)) {
		fprintf(stderr, "sandbox_run: bad number '%s'\n", s);
		return -1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int run_once(const struct rp_sandbox_spec *s, uint64_t *us)
{
	struct rp_sandbox_child c;
	struct rp_err e;
	siginfo_t si;
	uint64_t t0;
	int status;

	rp_err_clear(&e);
	t0 = now_us();
	if (rp_sandbox_spawn(s, &c, &e)) {
		fprintf(stderr, "sandbox_run: %s\n", e.msg);
		return 125;
	}
	if (us)
		*us = now_us() - t0;
	if (s->net_notify && c.notify_fd < 0) {
		fprintf(stderr, "sandbox_run: no seccomp listener\n");
		return 125;
	}
	memset(&si, 0, sizeof(si));
	while (waitid(P_PIDFD, (id_t)c.pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	rp_sandbox_cleanup(&c);
	rp_sandbox_cgroup_parent_remove(s->cgroup_parent);
	if (si.si_code == CLD_EXITED)
		status = si.si_status;
	else
		status = 128 + si.si_status;
	return status;
}

int main(int argc, char **argv)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	const char *state = NULL;
	char storage[4096];
	uint64_t v, storage_kb = 0, uid = 61000, times = 0, leak = 0;
	uint64_t *samples = NULL;
	struct rp_err e;
	int i, j, rc = 125;

	rp_sandbox_defaults_init(&d);
	memset(&s, 0, sizeof(s));
	s.memory_kb = d.memory_kb;
	s.max_pids = d.max_pids;
	s.tmp_kb = d.tmp_kb;
	s.max_files = d.max_files;
	s.cpu_weight = d.cpu_weight;
	s.cgroup_parent = "rampart-test";
	s.stdin_fd = 0;
	s.stdout_fd = 1;
	s.stderr_fd = 2;

	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		const char *o = argv[i];

		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(o, "--state"))
			state = argv[i + 1];
		else if (!strcmp(o, "--run-dir"))
			s.run_dir = argv[i + 1];
		else if (num(argv[i + 1], UINT32_MAX, &v))
			return 2;
		else if (!strcmp(o, "--storage-kb"))
			storage_kb = v;
		else if (!strcmp(o, "--memory-kb"))
			s.memory_kb = v;
		else if (!strcmp(o, "--pids"))
			s.max_pids = v;
		else if (!strcmp(o, "--tmp-kb"))
			s.tmp_kb = v;
		else if (!strcmp(o, "--files"))
			s.max_files = v;
		else if (!strcmp(o, "--uid"))
			uid = v;
		else if (!strcmp(o, "--leak-fd"))
			leak = v;
		else if (!strcmp(o, "--net-notify"))
			s.net_notify = v ? 1 : 0;
		else if (!strcmp(o, "--times"))
			times = v;
		else
			goto usage;
	}
	if (argc - i < 2 || argc - i - 1 > RP_SANDBOX_ARGS_MAX + 1)
		goto usage;
	s.root_dir = argv[i];
	for (j = 0; i + 1 + j < argc; j++)
		s.argv[j] = argv[i + 1 + j];
	s.host_uid = (uid_t)uid;
	s.host_gid = (gid_t)uid;
	/* A name per uid: tests may run compartments side by side. */
	{
		static char name[32];

		snprintf(name, sizeof(name), "test-%llu", (unsigned long long)uid);
		s.name = name;
	}
	if (leak) {
		int fd = open("/etc/hostname", O_RDONLY);

		if (fd < 0 || dup2(fd, (int)leak) < 0) {
			perror("sandbox_run: leak");
			return 125;
		}
	}
	rp_err_clear(&e);
	if (storage_kb) {
		if (!state)
			goto usage;
		if (rp_storage_prepare(state, s.name, storage_kb, s.host_uid, s.host_gid,
				       storage, sizeof(storage), &e)) {
			fprintf(stderr, "sandbox_run: %s\n", e.msg);
			return 125;
		}
		s.storage_dir = storage;
	}
	if (times) {
		samples = calloc(times, sizeof(*samples));
		if (!samples)
			return 125;
		for (v = 0; v < times; v++)
			if ((rc = run_once(&s, &samples[v])))
				break;
		if (!rc) {
			qsort(samples, times, sizeof(*samples), cmp_u64);
			printf("%llu\n", (unsigned long long)samples[times / 2]);
		}
		free(samples);
	} else {
		rc = run_once(&s, NULL);
	}
	if (storage_kb && rp_storage_release(state, s.name, &e)) {
		fprintf(stderr, "sandbox_run: %s\n", e.msg);
		rc = 125;
	}
	return rc;
usage:
	fprintf(stderr, "usage: sandbox_run [options] PKGDIR ENTRY [ARGS...]\n");
	return 2;
}
