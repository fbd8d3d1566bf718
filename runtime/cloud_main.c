/* rampart-cloud: thin main around runtime/cloud_helper.c. A one-shot
 * tool run by rampartd (and by tests: verify-targets): read the request
 * on stdin, run one command, print its JSON on stdout or one error line
 * on stderr, exit with a status that encodes the error code. The
 * protocol is in cloud.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "cloud.h"
#include "verify.h"

static int usage(void)
{
	fputs("usage: rampart-cloud setup STATEDIR     (request on stdin)\n"
	      "       rampart-cloud step STATEDIR      (request on stdin)\n"
	      "       rampart-cloud verify-targets STATEDIR FILE\n"
	      "rampartd's cloud client helper (docs/runtime.md, \"Cloud\").\n", stderr);
	return rpv_exit_status(RP_EUSAGE);
}

static int read_stdin(json_t **out, struct rp_err *e)
{
	struct rp_buf b;
	uint8_t tmp[4096];
	ssize_t n;
	int rc = 0;

	rp_buf_init(&b, RPC_IN_MAX);
	while ((n = read(0, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			rc = rp_err_errno(e, errno, "stdin");
			goto out;
		}
		if ((rc = rp_buf_append(&b, tmp, (size_t)n))) {
			rp_err_set(e, rc, "stdin: request over %d bytes", RPC_IN_MAX);
			goto out;
		}
	}
	if ((rc = rp_json_parse(b.data, b.len, RPC_IN_MAX, out, e))) {
		rp_err_prefix(e, "stdin");
		goto out;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = rp_err_set(e, RP_EFORMAT, "stdin: not a JSON object");
	}
out:
	rp_buf_free_wipe(&b); /* may hold an enrollment token */
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct rp_err e;
	json_t *in = NULL, *out = NULL;
	char *text = NULL;
	int rc;

	rp_err_clear(&e);
	if ((strcmp(cmd, "setup") == 0 || strcmp(cmd, "step") == 0) && argc == 3) {
		/* step confines itself once the server's name is resolved;
		 * setup and verify-targets never touch the network. */
		if (strcmp(cmd, "setup") == 0 && (rc = rpc_confine(&e)))
			goto out;
		if ((rc = read_stdin(&in, &e)))
			goto out;
		rc = cmd[1] == 'e' ? rpc_setup(argv[2], in, &out, &e) :
		     rpc_step(argv[2], in, &out, &e);
	} else if (strcmp(cmd, "verify-targets") == 0 && argc == 4) {
		if ((rc = rpc_confine(&e)) == 0)
			rc = rpc_verify_targets(argv[2], argv[3], &out, &e);
	} else {
		return usage();
	}
	if (rc == 0 && out) {
		text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text || strlen(text) >= RPC_OUT_MAX)
			rc = rp_err_set(&e, RP_ERANGE, "output over %d bytes", RPC_OUT_MAX);
		else if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
			rc = rp_err_set(&e, RP_EIO, "writing the result failed");
	}
out:
	if (rc) {
		for (char *p = e.msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		fprintf(stderr, "%s\n", e.msg[0] ? e.msg : rp_code_name(rc));
	}
	free(text);
	json_decref(in);
	json_decref(out);
	return rpv_exit_status(rc);
}
