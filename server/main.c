/* rampart-server: the security service. Thin wiring around lib/service:
 *   init    create or upgrade the schema and the first operator token
 *   serve   answer the HTTPS API
 *   routes  print the API's routes (METHOD PATH), for the OpenAPI check */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"
#include "ca/client.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "service/db.h"
#include "service/device.h"
#include "service/http.h"
#include "service/identity.h"
#include "service/images.h"
#include "service/model.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rampart-server <command> [options]\n\n"
		"commands:\n"
		"  init --db URL --admin-token-out FILE [--owner NAME]\n"
		"        create or upgrade the schema; create the service owner and\n"
		"        write its first API token to FILE (mode 0600, never overwritten)\n"
		"  serve --db URL --cert CERT --key KEY [--listen HOST:PORT]\n"
		"        [--keys DIR [--signer PATH] [--cert-validity SECONDS]]\n"
		"        [--data DIR [--max-image-mb N]]\n"
		"        [--checkin-interval SECONDS] [--targets-lifetime SECONDS]\n"
		"        [--targets-reissue SECONDS] [--workers N]\n"
		"        answer the HTTPS API (TLS 1.3 only; default 127.0.0.1:8443);\n"
		"        with --keys, spawn rampart-signer (default: next to this program)\n"
		"        on the tenants' CA key directory DIR for device certificates\n"
		"        (valid 86400 s by default, at most the signer's maximum);\n"
		"        with --data, store uploaded images under DIR/images (uploads of\n"
		"        at most N MiB, default 64; production signing needs --keys);\n"
		"        devices are told to check in every 3600 s and get targets\n"
		"        documents valid 604800 s by default; a device's last document is\n"
		"        served again while its group and deployment are unchanged and it\n"
		"        is younger than --targets-reissue (default: half the lifetime; 0:\n"
		"        a new document at every check-in); --workers N serves from N\n"
		"        event loops on N threads, each with its own database connection\n"
		"        (default 1)\n"
		"  routes\n"
		"        print the API's routes, one 'METHOD PATH' a line\n\n"
		"URL: sqlite:PATH or PATH (SQLite), or postgresql://... (libpq).\n");
}

static int fail(const struct rp_err *e)
{
	fprintf(stderr, "rampart-server: %s\n", e->msg[0] ? e->msg : rp_code_name(e->code));
	return 1;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "admin-token-out", required_argument, NULL, 'o' },
		{ "owner", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *outp = NULL, *owner = "owner";
	char token[RP_TOKEN_TEXT_LEN + 2];
	struct rp_model m = { NULL };
	struct rp_err e;
	int c, v = 0, ret = 1;

	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': url = optarg; break;
		case 'o': outp = optarg; break;
		case 'n': owner = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!url || !outp || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (rp_db_open(url, &m.db, &e) || rp_db_migrate(m.db, &v, &e)) {
		ret = fail(&e);
		goto out;
	}
	if (rp_model_bootstrap(&m, owner, token, &e)) {
		ret = fail(&e);
		goto out;
	}
	token[RP_TOKEN_TEXT_LEN] = '\n';
	if (rp_file_write(outp, token, RP_TOKEN_TEXT_LEN + 1, 0600, 1, &e)) {
		/* The owner exists now but nobody holds its token: say so. */
		rp_err_prefix(&e, "writing the token (the owner was created; use a new database)");
		ret = fail(&e);
		goto out;
	}
	fprintf(stderr, "rampart-server: schema version %d (%s); owner '%s'; token in %s\n",
		v, rp_db_kind(m.db), owner, outp);
	ret = 0;
out:
	rp_wipe(token, sizeof(token));
	rp_db_close(m.db);
	return ret;
}

/* rampart-signer in the directory of this program. */
static int default_signer(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= cap - 1)
		return -1;
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (!slash || (size_t)(slash - out) + sizeof("/rampart-signer") > cap)
		return -1;
	memcpy(slash, "/rampart-signer", sizeof("/rampart-signer"));
	return 0;
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "keys", required_argument, NULL, 'K' },
		{ "signer", required_argument, NULL, 's' },
		{ "cert-validity", required_argument, NULL, 'V' },
		{ "data", required_argument, NULL, 'D' },
		{ "max-image-mb", required_argument, NULL, 'M' },
		{ "checkin-interval", required_argument, NULL, 'I' },
		{ "targets-lifetime", required_argument, NULL, 'T' },
		{ "targets-reissue", required_argument, NULL, 'R' },
		{ "workers", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *listen = "127.0.0.1:8443", *cert = NULL, *key = NULL;
	const char *keys = NULL, *signer = NULL;
	char signer_path[4096];
	uint64_t validity = RP_CERT_VALIDITY_DEFAULT;
	uint64_t interval = RP_CHECKIN_INTERVAL_DEFAULT, lifetime = RP_TARGETS_LIFETIME_DEFAULT;
	uint64_t image_mb = RP_IMAGE_MAX_DEFAULT / (1024 * 1024);
	uint64_t reissue = 0, workers = 1;
	int reissue_set = 0;
	struct rp_http_workers *more = NULL;
	const char *data = NULL;
	struct rp_model m = { NULL };
	struct rp_tls *tls = NULL;
	struct rp_http *http = NULL;
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	struct rp_err e;
	uint16_t port = 0;
	int c, v = 0, ret = 1;

	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': url = optarg; break;
		case 'l': listen = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'K': keys = optarg; break;
		case 's': signer = optarg; break;
		case 'V':
			if (rp_parse_u64z(optarg, 366 * 86400, &validity) || validity < 60) {
				fprintf(stderr, "rampart-server: --cert-validity: 60 to %d seconds\n",
					366 * 86400);
				return 2;
			}
			break;
		case 'D': data = optarg; break;
		case 'I':
			if (rp_parse_u64z(optarg, 7 * 86400, &interval) || interval < 10) {
				fprintf(stderr, "rampart-server: --checkin-interval: 10 to %d seconds\n",
					7 * 86400);
				return 2;
			}
			break;
		case 'T':
			/* At least an hour and a bit more than the check-in
			 * interval (checked below); at most what the format
			 * allows (366 days). */
			if (rp_parse_u64z(optarg, 366 * 86400, &lifetime) || lifetime < 3600) {
				fprintf(stderr, "rampart-server: --targets-lifetime: 3600 to %d seconds\n",
					366 * 86400);
				return 2;
			}
			break;
		case 'R':
			if (rp_parse_u64z(optarg, 183 * 86400, &reissue)) {
				fprintf(stderr, "rampart-server: --targets-reissue: 0 to %d seconds\n",
					183 * 86400);
				return 2;
			}
			reissue_set = 1;
			break;
		case 'W':
			if (rp_parse_u64z(optarg, 64, &workers) || workers < 1) {
				fprintf(stderr, "rampart-server: --workers: 1 to 64\n");
				return 2;
			}
			break;
		case 'M':
			if (rp_parse_u64z(optarg, RP_IMAGE_MAX_LIMIT / (1024 * 1024), &image_mb) ||
			    image_mb < 1) {
				fprintf(stderr, "rampart-server: --max-image-mb: 1 to %llu\n",
					(unsigned long long)(RP_IMAGE_MAX_LIMIT / (1024 * 1024)));
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!url || !cert || !key || optind != argc || (signer && !keys)) {
		usage(stderr);
		return 2;
	}
	if (lifetime <= interval) {
		fprintf(stderr, "rampart-server: --targets-lifetime must exceed --checkin-interval\n");
		return 2;
	}
	/* A re-served document must stay far from expiry for a device that
	 * checks in at its interval. */
	if (reissue_set && reissue > lifetime / 2) {
		fprintf(stderr, "rampart-server: --targets-reissue must be at most half of"
			" --targets-lifetime\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	m.targets_reissue = !reissue_set ? 0 : reissue == 0 ? -1 : (int64_t)reissue;
	m.cert_validity = (int64_t)validity;
	m.checkin_interval = (int64_t)interval;
	m.targets_lifetime = (int64_t)lifetime;
	if (rp_tenant_cache_new(&m.cache, &e)) {
		ret = fail(&e);
		goto out;
	}
	m.image_max = image_mb * 1024 * 1024;
	if (data) {
		if (rp_images_prepare(data, &e)) {
			ret = fail(&e);
			goto out;
		}
		m.data_dir = data;
	}
	if (keys) {
		if (!signer) {
			if (default_signer(signer_path, sizeof(signer_path))) {
				fprintf(stderr, "rampart-server: cannot find rampart-signer; use --signer\n");
				goto out;
			}
			signer = signer_path;
		}
		if (rp_signer_spawn(signer, keys, &m.signer, &e)) {
			ret = fail(&e);
			goto out;
		}
	}
	if (rp_db_open(url, &m.db, &e) || rp_db_migrate(m.db, &v, &e) ||
	    rp_tls_server_new(cert, key, &tls, &e)) {
		ret = fail(&e);
		goto out;
	}
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "rampart-server: event_base_new failed\n");
		goto out;
	}
	if (rp_http_new(base, tls, &m, listen, &port, &http, &e)) {
		ret = fail(&e);
		goto out;
	}
	if (rp_http_workers_start(http, (size_t)(workers - 1), url, &more, &e)) {
		ret = fail(&e);
		goto out;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL)) {
		fprintf(stderr, "rampart-server: signal setup failed\n");
		goto out;
	}
	fprintf(stderr, "rampart-server: schema version %d (%s); %s; %llu worker(s);"
		" listening on port %u\n", v, rp_db_kind(m.db),
		m.signer ? "certificate authority on" : "no certificate authority (no --keys)",
		(unsigned long long)workers, port);
	printf("listening %u\n", port);
	fflush(stdout);
	if (event_base_dispatch(base) < 0) {
		fprintf(stderr, "rampart-server: event loop failed\n");
		goto out;
	}
	fprintf(stderr, "rampart-server: stopped\n");
	ret = 0;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	rp_http_workers_stop(more);
	rp_http_free(http);
	if (base)
		event_base_free(base);
	rp_tls_free(tls);
	rp_signer_close(m.signer);
	rp_db_close(m.db);
	rp_tenant_cache_free(m.cache);
	return ret;
}

static int cmd_routes(void)
{
	const char *method, *path;
	size_t i;

	for (i = 0; rp_http_route(i, &method, &path) == 0; i++)
		printf("%s %s\n", method, path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "routes") == 0 && argc == 2)
		return cmd_routes();
	usage(stderr);
	return 2;
}
