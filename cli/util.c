#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_exit_code(int rc)
{
	switch (rc) {
	case 0:
		return EXIT_OK;
	case RP_EFORMAT:
	case RP_EVERIFY:
	case RP_EUNTRUSTED:
	case RP_EPOLICY:
	case RP_ERANGE:
	case RP_EINVAL:
		return EXIT_REFUSED;
	case RP_EUSAGE:
		return EXIT_USAGE;
	case RP_ENOMEM:
	case RP_ECRYPTO:
		return EXIT_INTERNAL;
	default:
		return rc < 0 && rc > -4096 ? EXIT_IO : EXIT_INTERNAL;
	}
}

int cli_fail(const struct rp_err *e)
{
	fprintf(stderr, "rampart: %s\n", e->msg[0] ? e->msg : rp_code_name(e->code));
	return cli_exit_code(e->code);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rampart %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'rampart %s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_print_json(json_t *v)
{
	int rc;

	if (!v) {
		fprintf(stderr, "rampart: out of memory\n");
		return EXIT_INTERNAL;
	}
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (rc != 0 || fputc('\n', stdout) == EOF) {
		fprintf(stderr, "rampart: writing output failed\n");
		return EXIT_IO;
	}
	return EXIT_OK;
}

static void group_help(const char *group, const struct cli_cmd *cmds, FILE *f)
{
	const struct cli_cmd *c;

	fprintf(f, "usage: rampart %s <command> [options]\n\ncommands:\n", group);
	for (c = cmds; c->name; c++)
		fprintf(f, "  %-17s %s\n", c->name, c->summary);
	fprintf(f, "\n'rampart %s <command> --help' describes a command.\n", group);
}

int cli_dispatch(const char *group, const struct cli_cmd *cmds, int argc,
		 char **argv)
{
	const struct cli_cmd *c;

	if (argc < 2) {
		group_help(group, cmds, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		group_help(group, cmds, stdout);
		return EXIT_OK;
	}
	for (c = cmds; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "rampart %s: unknown command '%s'\n\n", group, argv[1]);
	group_help(group, cmds, stderr);
	return EXIT_USAGE;
}

#include <stdlib.h>

#include "hwpath.h"

void hwpath_init(struct hwpath *p)
{
	memset(p, 0, sizeof(*p));
}

int hwpath_add(struct hwpath *p, const char *dir)
{
	if (p->n >= HWPATH_MAX)
		return -1;
	p->dirs[p->n++] = dir;
	p->dirs[p->n] = NULL;
	return 0;
}

void hwpath_finish(struct hwpath *p)
{
	const char *env = getenv("RAMPART_HW_PATH");
	char *s, *save = NULL;

	if (env && strlen(env) < sizeof(p->env)) {
		memcpy(p->env, env, strlen(env) + 1);
		for (s = p->env; s && *s; s = save) {
			save = strchr(s, ':');
			if (save)
				*save++ = '\0';
			if (*s)
				(void)hwpath_add(p, s);
		}
	}
	(void)hwpath_add(p, RP_BOARDS_DIR);
}
