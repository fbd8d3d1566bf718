/* Shared by the CLI's remote verbs (the security service's API): the
 * session, calls, output, name resolution and one option parser.
 * cmd_remote.c holds the config and login; remote.c the rest. */
#ifndef RP_CLI_REMOTE_H
#define RP_CLI_REMOTE_H

#include <jansson.h>

#include "base/err.h"
#include "http.h"

#define REMOTE_ID_MAX 72 /* a GUID (36) or a device id (64), NUL */

/* A session from the config: server, CA and the token read from its file
 * now (cmd_remote.c). Release with cli_http_close, also after a failure. */
int remote_session(struct cli_http *h, struct rp_err *e) RP_WUR;

/* The server's error for a non-2xx answer: "<message> (HTTP <status>)";
 * RP_EPOLICY for 4xx (exit 1), RP_EIO otherwise (exit 3). */
int remote_status_err(long status, json_t *doc, struct rp_err *e);

/* One call expecting 2xx with a JSON body; *out is it (json_decref). */
int remote_request(struct cli_http *h, const char *method, const char *path,
		   json_t *body, json_t **out, struct rp_err *e) RP_WUR;

/* Build a request path from fmt, where each "%s" takes the next argument
 * percent-escaped as one path segment; no other conversion exists. */
int remote_path(char *out, size_t outsz, struct rp_err *e, const char *fmt, ...) RP_WUR;

/* ---- output -------------------------------------------------------------- */

struct remote_col {
	const char *key;
	const char *head;
	unsigned width; /* widest cell before "..."; 0 means 40 */
};

/* Aligned columns; cells are sanitised (control bytes as '?'). Arrays
 * show their strings or their objects' "id"s, comma-separated. */
int remote_print_table(json_t *arr, const struct remote_col *cols) RP_WUR;
/* "key  value" lines; nested values as compact JSON. */
int remote_print_object(json_t *obj) RP_WUR;

/* ---- names ----------------------------------------------------------------- */

/* Each takes an id or a name and writes the id. A GUID-shaped argument is
 * taken as an id as is (the server checks it); a name is looked up: exact
 * first, else ignoring case. No match: RP_EINVAL; several: RP_EUSAGE
 * naming them. */

/* arg NULL: the only tenant the token sees (RP_EUSAGE when it sees
 * several, naming them). */
int remote_tenant(struct cli_http *h, const char *arg, char out[REMOTE_ID_MAX],
		  struct rp_err *e) RP_WUR;
int remote_product(struct cli_http *h, const char *tenant, const char *arg,
		   char out[REMOTE_ID_MAX], struct rp_err *e) RP_WUR;
/* product NULL: search every product of the tenant; prod_out gets the
 * group's product. */
int remote_group(struct cli_http *h, const char *tenant, const char *product,
		 const char *arg, char prod_out[REMOTE_ID_MAX],
		 char group_out[REMOTE_ID_MAX], struct rp_err *e) RP_WUR;

/* ---- verbs with one option parser ------------------------------------------- */

enum {
	RO_TENANT = 1 << 0,
	RO_PRODUCT = 1 << 1,
	RO_GROUP = 1 << 2,
	RO_DEVICE = 1 << 3,
	RO_SINCE = 1 << 4,
	RO_UNTIL = 1 << 5,
	RO_OUT = 1 << 6,
	RO_FORMAT = 1 << 7,
	RO_JSON = 1 << 8,
	RO_CSV = 1 << 9,
	RO_PROGRESS = 1 << 10,
	RO_FORCE = 1 << 11,
};

struct remote_args {
	const char *tenant_arg, *product, *group, *device, *since, *until;
	const char *out, *format;
	int json, csv, progress, force;
	char **pos;
	int npos;
	char tenant[REMOTE_ID_MAX]; /* resolved before run */
	char cmd[64];               /* "image add", for messages */
};

struct remote_verb {
	const char *group, *name;
	unsigned opts;  /* accepted; RO_TENANT and --help always */
	unsigned need;  /* required among opts */
	int minpos, maxpos;
	const char *usage, *help;
	/* Called with the session open and a->tenant resolved. Returns 0 or a
	 * negative code with e set; prints its own output. */
	int (*run)(struct cli_http *h, struct remote_args *a, struct rp_err *e);
};

/* Parse argv (argv[0] is the verb's name), open the session, resolve the
 * tenant, run, and print a failure as "rampart: <group verb>: <message>".
 * Returns the exit code. */
int remote_run(const struct remote_verb *v, int argc, char **argv);

/* Find argv[1] among the verbs of group (a NULL-name terminated array)
 * and run it; help for -h/--help/help/none. */
int remote_dispatch(const char *group, const struct remote_verb *verbs,
		    int argc, char **argv);

/* The progress display: a bar on a terminal, lines with --progress
 * elsewhere, nothing otherwise. */
enum cli_progress remote_progress(int forced);

/* Print doc (--json) or a table / object; consumes doc. */
int remote_output(json_t *doc, int json, const struct remote_col *cols,
		  struct rp_err *e) RP_WUR;

/* Verbs of the groups, for main.c. */
int cmd_image(int argc, char **argv);
int cmd_deployment(int argc, char **argv);
int cmd_error_report(int argc, char **argv);
int cmd_ca_certificate(int argc, char **argv);
/* "device": the remote verbs, else cmd_device (rampartd). */
int cmd_device_any(int argc, char **argv);

#endif
