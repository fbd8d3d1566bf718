/* Unit tests for lib/sandbox/plan.c: manifest + device defaults -> spec.
 * Pure: no root, no system calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "format/manifest.h"
#include "sandbox/sandbox.h"

#define HEAD "{\"SchemaVersion\":1,\"Name\":\"plan\"," \
	     "\"ComponentId\":\"CD359CC1-4AAC-414E-8D26-8ACB71DDBA6D\"," \
	     "\"EntryPoint\":\"/bin/app\",\"ApplicationType\":\"Default\"," \
	     "\"Capabilities\":{}"

static struct rp_manifest *parse(const char *json)
{
	struct rp_manifest *m = NULL;
	struct rp_err e;

	rp_err_clear(&e);
	if (rp_manifest_parse((const uint8_t *)json, strlen(json), &m, &e))
		fail_msg("%s: %s", json, e.msg);
	return m;
}

static void test_defaults(void **state)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m = parse(HEAD "}");
	struct rp_err e;

	(void)state;
	rp_sandbox_defaults_init(&d);
	assert_int_equal(d.memory_kb, 65536);
	assert_int_equal(d.max_pids, 32);
	assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), 0);
	assert_int_equal(s.memory_kb, 65536);
	assert_int_equal(s.max_pids, 32);
	assert_int_equal(s.tmp_kb, 1024);
	assert_int_equal(s.max_files, 256);
	assert_int_equal(s.cpu_weight, 100);
	assert_string_equal(s.name, "cd359cc1-4aac-414e-8d26-8acb71ddba6d");
	assert_string_equal(s.cgroup_parent, "rampart");
	assert_string_equal(s.argv[0], "/bin/app");
	assert_null(s.argv[1]);
	assert_int_equal(s.stdin_fd, -1);
	assert_int_equal(s.stdout_fd, -1);
	assert_int_equal(s.stderr_fd, -1);
	assert_int_equal(s.net_notify, 0);
	assert_null(s.root_dir);
	assert_null(s.storage_dir);
	rp_manifest_free(m);
}

static void test_overrides(void **state)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m = parse(HEAD ",\"Rampart\":{\"MemoryLimitKB\":2048,"
				      "\"MaxProcesses\":4,\"TmpSizeKB\":64,"
				      "\"MaxOpenFiles\":16,\"CpuWeight\":10000}}");
	struct rp_err e;

	(void)state;
	rp_sandbox_defaults_init(&d);
	assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), 0);
	assert_int_equal(s.memory_kb, 2048);
	assert_int_equal(s.max_pids, 4);
	assert_int_equal(s.tmp_kb, 64);
	assert_int_equal(s.max_files, 16);
	assert_int_equal(s.cpu_weight, 10000);
	rp_manifest_free(m);
}

static void test_partial_override(void **state)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m = parse(HEAD ",\"Rampart\":{\"MaxProcesses\":100}}");
	struct rp_err e;

	(void)state;
	rp_sandbox_defaults_init(&d);
	d.memory_kb = 4096; /* a device default, not the built-in one */
	assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), 0);
	assert_int_equal(s.max_pids, 100);
	assert_int_equal(s.memory_kb, 4096);
	assert_int_equal(s.tmp_kb, 1024);
	rp_manifest_free(m);
}

static void test_cmdargs(void **state)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m = parse(HEAD ",\"CmdArgs\":[\"--port\",\"8080\",\"\"]}");
	struct rp_err e;

	(void)state;
	rp_sandbox_defaults_init(&d);
	assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), 0);
	assert_string_equal(s.argv[0], "/bin/app");
	assert_string_equal(s.argv[1], "--port");
	assert_string_equal(s.argv[2], "8080");
	assert_string_equal(s.argv[3], "");
	assert_null(s.argv[4]);
	rp_manifest_free(m);
}

/* Exactly RP_SANDBOX_ARGS_MAX arguments fit; one more is refused. */
static void test_cmdargs_bound(void **state)
{
	char json[4096];
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m;
	struct rp_err e;
	size_t len;
	int i, n;

	(void)state;
	rp_sandbox_defaults_init(&d);
	for (n = RP_SANDBOX_ARGS_MAX; n <= RP_SANDBOX_ARGS_MAX + 1; n++) {
		len = (size_t)snprintf(json, sizeof(json), "%s,\"CmdArgs\":[", HEAD);
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(json + len, sizeof(json) - len, "%s\"a%d\"",
						i ? "," : "", i);
		(void)snprintf(json + len, sizeof(json) - len, "]}");
		m = parse(json);
		rp_err_clear(&e);
		if (n == RP_SANDBOX_ARGS_MAX) {
			assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), 0);
			assert_string_equal(s.argv[n], "a63");
			assert_null(s.argv[n + 1]);
		} else {
			assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), RP_ERANGE);
			assert_string_equal(e.msg,
					    "sandbox plan: CmdArgs: 65 arguments, at most 64");
			assert_null(s.argv[0]);
			assert_int_equal(s.stdin_fd, -1);
		}
		rp_manifest_free(m);
	}
}

static void test_bad_defaults(void **state)
{
	struct rp_sandbox_defaults d;
	struct rp_sandbox_spec s;
	struct rp_manifest *m = parse(HEAD "}");
	struct rp_err e;

	(void)state;
	rp_sandbox_defaults_init(&d);
	d.max_pids = 0;
	assert_int_equal(rp_sandbox_plan(m, &d, &s, &e), RP_EUSAGE);
	assert_int_equal(rp_sandbox_plan(NULL, &d, &s, &e), RP_EUSAGE);
	rp_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_partial_override),
		cmocka_unit_test(test_cmdargs),
		cmocka_unit_test(test_cmdargs_bound),
		cmocka_unit_test(test_bad_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
