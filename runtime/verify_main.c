/* rampart-verify: thin main around runtime/verify.c. A one-shot tool run
 * by rampartd (never by hand in normal use): parse the arguments, run one
 * command, print its JSON on stdout or one error line on stderr, exit with
 * a status that encodes the error code. The protocol is in verify.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

static int usage(void)
{
	fputs("usage: rampart-verify image [--production DIR | --development DIR]... PKG\n"
	      "       rampart-verify extract [--production DIR | --development DIR]... PKG DEST\n"
	      "       rampart-verify device-key STATEDIR\n"
	      "       rampart-verify key-id PEMFILE\n"
	      "rampartd's package verification helper (docs/runtime.md).\n", stderr);
	return rpv_exit_status(RP_EUSAGE);
}

/* Parse the trust options; *next is the first operand. */
static int trust_args(int argc, char **argv, struct rpv_trust_dir *dirs,
		      size_t *n, int *next)
{
	int i = 2;

	*n = 0;
	while (i + 1 < argc && argv[i][0] == '-') {
		if (*n >= RPV_TRUST_DIRS_MAX)
			return -1;
		if (strcmp(argv[i], "--production") == 0)
			dirs[*n].trust = RPV_PRODUCTION;
		else if (strcmp(argv[i], "--development") == 0)
			dirs[*n].trust = RPV_DEVELOPMENT;
		else
			return -1;
		dirs[(*n)++].dir = argv[i + 1];
		i += 2;
	}
	*next = i;
	return 0;
}

int main(int argc, char **argv)
{
	struct rpv_trust_dir dirs[RPV_TRUST_DIRS_MAX];
	const char *cmd = argc > 1 ? argv[1] : "";
	struct rp_err e;
	json_t *out = NULL;
	size_t ndirs = 0;
	char *text = NULL;
	int rc, i = 2;

	rp_err_clear(&e);
	/* Confined before any command reads a byte of its input. */
	if ((rc = rpv_confine(&e))) {
		fprintf(stderr, "rampart-verify: %s\n", e.msg);
		return rpv_exit_status(rc);
	}
	if (strcmp(cmd, "image") == 0 || strcmp(cmd, "extract") == 0) {
		int want = strcmp(cmd, "image") == 0 ? 1 : 2;

		if (trust_args(argc, argv, dirs, &ndirs, &i) || argc - i != want ||
		    argv[i][0] == '-')
			return usage();
		rc = want == 1 ? rpv_image(dirs, ndirs, argv[i], &out, &e) :
		     rpv_extract(dirs, ndirs, argv[i], argv[i + 1], &e);
	} else if (strcmp(cmd, "device-key") == 0 && argc == 3) {
		rc = rpv_device_key(argv[2], &out, &e);
	} else if (strcmp(cmd, "key-id") == 0 && argc == 3) {
		rc = rpv_key_id(argv[2], &out, &e);
	} else {
		return usage();
	}
	if (rc == 0 && out) {
		text = json_dumps(out, JSON_COMPACT);
		if (!text || strlen(text) >= RPV_OUT_MAX)
			rc = rp_err_set(&e, RP_ERANGE, "output over %d bytes",
					RPV_OUT_MAX);
		else if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
			rc = rp_err_set(&e, RP_EIO, "writing the result failed");
	}
	if (rc) {
		/* One line: rampartd relays it to the operator verbatim. */
		for (char *p = e.msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		fprintf(stderr, "%s\n", e.msg[0] ? e.msg : rp_code_name(rc));
	}
	free(text);
	json_decref(out);
	return rpv_exit_status(rc);
}
