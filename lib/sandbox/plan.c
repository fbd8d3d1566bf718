/* Manifest + device defaults -> compartment spec. Pure: no system calls,
 * so it is unit-tested without root (tests/unit/test_sandbox_plan.c). */
#include "sandbox/sandbox.h"

#include <jansson.h>
#include <string.h>

#include "format/manifest.h"

void rp_sandbox_defaults_init(struct rp_sandbox_defaults *d)
{
	d->memory_kb = 65536;
	d->max_pids = 32;
	d->tmp_kb = 1024;
	d->max_files = 256;
	d->cpu_weight = 100;
}

static void spec_zero(struct rp_sandbox_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->stdin_fd = -1;
	s->stdout_fd = -1;
	s->stderr_fd = -1;
}

static uint64_t pick(uint64_t manifest_value, uint64_t dflt)
{
	return manifest_value ? manifest_value : dflt;
}

int rp_sandbox_plan(const struct rp_manifest *m,
		    const struct rp_sandbox_defaults *d,
		    struct rp_sandbox_spec *out, struct rp_err *e)
{
	struct rp_sandbox_spec s;
	json_t *args;
	size_t n = 0, i;
	int rc = 0;

	spec_zero(&s);
	if (!m || !d || !m->entry_point || m->entry_point[0] != '/') {
		rc = rp_err_set(e, RP_EUSAGE, "sandbox plan: no absolute EntryPoint");
		goto out;
	}
	if (!d->memory_kb || !d->max_pids || !d->tmp_kb || !d->max_files ||
	    !d->cpu_weight) {
		rc = rp_err_set(e, RP_EUSAGE, "sandbox plan: a device default is 0");
		goto out;
	}
	s.name = m->component_id_text;
	s.cgroup_parent = "rampart";
	s.memory_kb = pick(m->limits.memory_limit_kb, d->memory_kb);
	s.max_pids = pick(m->limits.max_processes, d->max_pids);
	s.tmp_kb = pick(m->limits.tmp_size_kb, d->tmp_kb);
	s.max_files = pick(m->limits.max_open_files, d->max_files);
	s.cpu_weight = pick(m->limits.cpu_weight, d->cpu_weight);

	s.argv[0] = m->entry_point;
	args = m->root ? json_object_get(m->root, "CmdArgs") : NULL;
	if (args) {
		if (!json_is_array(args)) {
			rc = rp_err_set(e, RP_EFORMAT, "sandbox plan: CmdArgs is not an array");
			goto out;
		}
		n = json_array_size(args);
	}
	if (n > RP_SANDBOX_ARGS_MAX) {
		rc = rp_err_set(e, RP_ERANGE,
				"sandbox plan: CmdArgs: %zu arguments, at most %d",
				n, RP_SANDBOX_ARGS_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *a = json_string_value(json_array_get(args, i));

		if (!a) {
			rc = rp_err_set(e, RP_EFORMAT,
					"sandbox plan: CmdArgs[%zu] is not a string", i);
			goto out;
		}
		s.argv[i + 1] = a;
	}
	s.argv[n + 1] = NULL;
out:
	if (rc)
		spec_zero(&s);
	*out = s;
	return rc;
}
