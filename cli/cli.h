/* The rampart CLI: shared plumbing for the command groups. */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "base/err.h"

/* Exit codes, documented in docs/cli.md. */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* input is invalid, tampered or untrusted */
	EXIT_USAGE = 2,   /* the command line is wrong */
	EXIT_IO = 3,      /* a file could not be read or written */
	EXIT_INTERNAL = 4 /* out of memory, crypto library failure */
};

struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Dispatch argv[1] among cmds; prints group help for -h/--help/none. */
int cli_dispatch(const char *group, const struct cli_cmd *cmds, int argc,
		 char **argv);

/* Print "rampart: <msg>" for e and map its code to an exit code. */
int cli_fail(const struct rp_err *e);
/* Print a usage error ("rampart <cmd>: <msg>; see --help") and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cli_exit_code(int rc);

/* Print a JSON value to stdout, indented, with a newline; frees it. */
int cli_print_json(json_t *v);

int cmd_key(int argc, char **argv);
int cmd_package(int argc, char **argv);
/* rampart package build (cmd_build.c). */
int cmd_package_build(int argc, char **argv);
int cmd_board(int argc, char **argv);
int cmd_device(int argc, char **argv);
/* The security service's API (cmd_remote.c). */
int cmd_login(int argc, char **argv);
int cmd_tenant(int argc, char **argv);
int cmd_product(int argc, char **argv);
int cmd_device_group(int argc, char **argv);
int cmd_role(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_audit(int argc, char **argv);

#endif
