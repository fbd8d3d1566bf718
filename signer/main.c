/* rampart-signer: holds the tenants' CA private keys and answers
 * rampart-server's requests on one SOCK_SEQPACKET socket (lib/ca/signer.h).
 * Started by rp_signer_spawn(); exits when the server closes its end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/num.h"
#include "ca/signer.h"

static int usage(void)
{
	fprintf(stderr, "usage: rampart-signer --keydir DIR [--fd N] "
			"[--max-validity SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct rp_signer_cfg cfg;
	struct rp_signer s;
	struct rp_err e;
	uint64_t fd = 3, v;
	int i, type = 0;
	socklen_t tlen = sizeof(type);

	memset(&cfg, 0, sizeof(cfg));
	rp_err_clear(&e);
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--keydir") == 0) {
			cfg.keydir = argv[++i];
		} else if (strcmp(argv[i], "--fd") == 0) {
			if (rp_parse_u64z(argv[++i], 1024, &fd))
				return usage();
		} else if (strcmp(argv[i], "--max-validity") == 0) {
			if (rp_parse_u64z(argv[++i], 366 * 86400ULL, &v))
				return usage();
			cfg.max_validity = (int64_t)v;
		} else {
			return usage();
		}
	}
	if (!cfg.keydir)
		return usage();
	/* Not ptrace-able or core-dumped by the server's uid; no privilege
	 * gained by exec; everything we create is ours alone. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "rampart-signer: prctl: %s\n", strerror(errno));
		return 1;
	}
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "rampart-signer: fd %d is not a SOCK_SEQPACKET socket\n",
			(int)fd);
		return 1;
	}
	if (rp_signer_open(&s, &cfg, &e) || rp_signer_serve(&s, (int)fd, &e)) {
		fprintf(stderr, "rampart-signer: %s\n", e.msg);
		rp_signer_release(&s);
		return 1;
	}
	rp_signer_release(&s);
	return 0;
}
