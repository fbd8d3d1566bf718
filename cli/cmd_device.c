/* rampart device ...: talk to rampartd over its control socket
 * (docs/formats/control-protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "ctl/ctl.h"
#include "format/manifest.h"

/* Options a device command may take. */
enum {
	O_JSON = 1 << 0,
	O_CSV = 1 << 1,
	O_COMPONENT = 1 << 2,
	O_ALL = 1 << 3,
	O_LINES = 1 << 4,
	O_TRUST = 1 << 5,
	O_CLOUD = 1 << 6,
};

struct dev_cmd {
	const char *name;     /* "app list" */
	enum rp_ctl_op op;
	unsigned opts;
	int npos;             /* positional arguments */
	const char *usage;
	const char *help;
};

struct dev_args {
	const char *socket;
	const char *trust_key;
	const char *url, *ca, *tenant, *token;
	const char *pos;
	int json, csv, all, has_component;
	uint8_t component[16];
	uint32_t lines;
};

static const struct dev_cmd cmds[] = {
	{ "show", RP_CTL_SHOW, O_JSON, 0, "show [--json]",
	  "Show the device: its id, mode (development or cloud-test), apps and\n"
	  "trusted keys.\n" },
	{ "enable-development", RP_CTL_ENABLE_DEV, O_TRUST, 0,
	  "enable-development [--trust-key PUB]",
	  "Put the device in development mode: it accepts sideloaded packages\n"
	  "signed by a developer key it trusts. --trust-key adds PUB (a public\n"
	  "key file; only its public half is sent) to the developer keys.\n" },
	{ "enable-cloud-test", RP_CTL_ENABLE_CLOUD_TEST, 0, 0, "enable-cloud-test",
	  "Leave development mode: remove every developer key, and stop and\n"
	  "delete the apps that verify only with a developer key. Apps signed\n"
	  "with a production key stay. Sideloading is refused afterwards.\n" },
	{ "sideload deploy", RP_CTL_DEPLOY, 0, 1, "sideload deploy PKG",
	  "Install or update the app in the signed package PKG and (re)start it.\n"
	  "rampartd copies the package, verifies the copy with the keys trusted\n"
	  "in the current mode, and swaps it in atomically: on any failure the\n"
	  "previous version stays installed. A security version lower than the\n"
	  "installed one is refused (anti-rollback).\n" },
	{ "sideload delete", RP_CTL_DELETE, O_COMPONENT | O_ALL, 0,
	  "sideload delete (--component-id ID | --all)",
	  "Stop and remove an app, its logs and its mutable storage.\n" },
	{ "app list", RP_CTL_APP_LIST, O_JSON, 0, "app list [--json]",
	  "List installed apps: component id, name, state, pid, version.\n" },
	{ "app show-status", RP_CTL_APP_STATUS, O_JSON | O_COMPONENT, 0,
	  "app show-status [--component-id ID] [--json]",
	  "Show each app's (or one app's) state (running, stopped, stopping,\n"
	  "backoff, crashed), pid, restarts, start time and last exit.\n" },
	{ "app start", RP_CTL_APP_START, O_JSON | O_COMPONENT, 0,
	  "app start [--component-id ID] [--json]",
	  "Start an app (default: every app); it will also start at boot.\n" },
	{ "app stop", RP_CTL_APP_STOP, O_JSON | O_COMPONENT, 0,
	  "app stop [--component-id ID] [--json]",
	  "Stop an app (default: every app): SIGTERM, then SIGKILL after the\n"
	  "grace period. It stays stopped, also across reboots, until started.\n" },
	{ "app logs", RP_CTL_APP_LOGS, O_JSON | O_COMPONENT | O_LINES, 0,
	  "app logs [--component-id ID] [-n N] [--json]",
	  "Print the last N lines (default 100) of each app's stdout and stderr.\n" },
	{ "error-report", RP_CTL_ERROR_REPORT, O_JSON | O_CSV, 0,
	  "error-report [--json | --csv]",
	  "Show app exits aggregated as Azure Sphere's error reports: Device ID,\n"
	  "Event Type, Event Class, Event Count, Description, Start Time, End\n"
	  "Time. --csv prints exactly those columns.\n" },
	{ "cloud setup", RP_CTL_CLOUD_SETUP, O_JSON | O_CLOUD, 0,
	  "cloud setup --url URL --ca SERVER_CA.pem --tenant T [--enroll-token TOKEN]",
	  "Connect the device to the security service at URL (https://HOST[:PORT]),\n"
	  "whose TLS certificate must chain to SERVER_CA.pem, for tenant T. With\n"
	  "--enroll-token the device enrolls itself; without, an operator claims it\n"
	  "(`rampart device claim ID` against the service) and the device asks for\n"
	  "its certificate on every check-in until then. Waits for the first step.\n" },
	{ "cloud status", RP_CTL_CLOUD_STATUS, O_JSON, 0, "cloud status [--json]",
	  "Show the cloud connection: state, last and next check-in, certificate\n"
	  "expiry and renewal time, the accepted targets and the error reports the\n"
	  "service holds.\n" },
	{ "check-for-updates", RP_CTL_CHECK_UPDATES, O_JSON, 0,
	  "check-for-updates [--json]",
	  "Check in with the security service now and wait for the result: the\n"
	  "targets version and images, and the error reports uploaded.\n" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static void cmd_help(const struct dev_cmd *c, FILE *f)
{
	fprintf(f, "usage: rampart device %s [--socket PATH]\n\n%s\n"
		   "  --socket PATH   rampartd's control socket (default $RAMPART_SOCKET,\n"
		   "                  else %s)\n", c->usage, c->help,
		RP_CTL_DEFAULT_SOCKET);
	if (c->opts & O_COMPONENT)
		fprintf(f, "  --component-id ID  the app's ComponentId (GUID)\n");
	if (c->opts & O_JSON)
		fprintf(f, "  --json          machine-readable output\n");
	if (c->opts & O_CLOUD)
		fprintf(f, "  --url URL       the security service, https://HOST[:PORT]\n"
			   "  --ca FILE       the CA certificate(s) of its TLS certificate (PEM)\n"
			   "  --tenant T      the tenant id (GUID)\n"
			   "  --enroll-token TOKEN  an enrollment token from the tenant's\n"
			   "                  Administrator (rampart device enrollment-token)\n");
}

static void group_help(FILE *f)
{
	const struct dev_cmd *c;

	fprintf(f, "usage: rampart device [--socket PATH] <command> [options]\n\n"
		   "Manage the device through rampartd.\n\ncommands:\n");
	for (c = cmds; c->name; c++)
		fprintf(f, "  %s\n", c->usage);
	fprintf(f, "\n'rampart device <command> --help' describes a command. The socket\n"
		   "is --socket PATH, else $RAMPART_SOCKET, else %s.\n",
		RP_CTL_DEFAULT_SOCKET);
}

static int parse(const struct dev_cmd *c, int argc, char **argv,
		 struct dev_args *a)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "component-id", required_argument, NULL, 'i' },
		{ "all", no_argument, NULL, 'a' },
		{ "lines", required_argument, NULL, 'n' },
		{ "trust-key", required_argument, NULL, 't' },
		{ "url", required_argument, NULL, 'U' },
		{ "ca", required_argument, NULL, 'C' },
		{ "tenant", required_argument, NULL, 'T' },
		{ "enroll-token", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char cmd[64];
	uint64_t n;
	int o;

	snprintf(cmd, sizeof(cmd), "device %s", c->name);
	optind = 1;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		unsigned need = 0;

		switch (o) {
		case 'S': a->socket = optarg; break;
		case 'j': need = O_JSON; a->json = 1; break;
		case 'c': need = O_CSV; a->csv = 1; break;
		case 'a': need = O_ALL; a->all = 1; break;
		case 't': need = O_TRUST; a->trust_key = optarg; break;
		case 'U': need = O_CLOUD; a->url = optarg; break;
		case 'C': need = O_CLOUD; a->ca = optarg; break;
		case 'T': need = O_CLOUD; a->tenant = optarg; break;
		case 'E': need = O_CLOUD; a->token = optarg; break;
		case 'i':
			need = O_COMPONENT;
			if (rp_guid_parse(optarg, strlen(optarg), a->component))
				return cli_usage(cmd, "--component-id: '%s' is not a GUID",
						 optarg);
			a->has_component = 1;
			break;
		case 'n':
			need = O_LINES;
			if (rp_parse_u64z(optarg, RP_CTL_LINES_MAX, &n) || n == 0)
				return cli_usage(cmd, "-n: '%s' is not a number from 1 to %d",
						 optarg, RP_CTL_LINES_MAX);
			a->lines = (uint32_t)n;
			break;
		case 'h':
			cmd_help(c, stdout);
			return -1;
		default:
			cmd_help(c, stderr);
			return EXIT_USAGE;
		}
		if (need && !(c->opts & need))
			return cli_usage(cmd, "option '%s' is not used here", argv[optind - 1]);
	}
	if (argc - optind != c->npos) {
		if (c->npos)
			return cli_usage(cmd, "expected %d argument(s)", c->npos);
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	}
	if (c->npos)
		a->pos = argv[optind];
	if (a->json && a->csv)
		return cli_usage(cmd, "give at most one of --json and --csv");
	if (c->op == RP_CTL_DELETE && a->all == a->has_component)
		return cli_usage(cmd, "give exactly one of --component-id and --all");
	if (c->op == RP_CTL_CLOUD_SETUP && (!a->url || !a->ca || !a->tenant))
		return cli_usage(cmd, "--url, --ca and --tenant are required");
	return 0;
}

static int connect_daemon(const char *path, struct rp_err *e)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		rp_err_set(e, RP_EUSAGE, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rp_err_errno(e, errno, "socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		if (err == EACCES || err == EPERM)
			rp_err_errno(e, err, "cannot reach rampartd at %s (root, or the "
				     "group in its config, may use it)", path);
		else
			rp_err_errno(e, err, "cannot reach rampartd at %s (is it running? "
				     "set --socket or RAMPART_SOCKET)", path);
		return -1;
	}
	return fd;
}

/* One request, one response. *result on success (caller json_decref). */
static int call(const char *sock, const struct rp_ctl_req *r, int fd,
		json_t **result, struct rp_err *e)
{
	struct rp_buf req, resp;
	struct rp_err remote;
	int s = -1, rc;

	*result = NULL;
	rp_buf_init(&resp, 0);
	if ((rc = rp_ctl_req_encode(r, &req, e)))
		return rc;
	s = connect_daemon(sock, e);
	if (s < 0) {
		rc = e->code;
		goto out;
	}
	if ((rc = rp_ctl_send(s, req.data, req.len, fd, e)))
		goto out;
	rc = rp_ctl_recv(s, RP_CTL_MSG_MAX, &resp, NULL, 0, e);
	if (rc == 1) {
		rc = rp_err_set(e, RP_EIO, "rampartd closed the connection");
		goto out;
	}
	if (rc)
		goto out;
	if ((rc = rp_ctl_resp_decode(resp.data, resp.len, result, &remote, e)))
		goto out;
	if (!*result) {
		*e = remote;
		rc = remote.code ? remote.code : RP_EIO;
	}
out:
	if (s >= 0)
		close(s);
	rp_buf_free(&req);
	rp_buf_free(&resp);
	return rc;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_apps_table(json_t *apps)
{
	size_t i;
	json_t *a;

	if (json_array_size(apps) == 0) {
		printf("No apps are installed.\n");
		return;
	}
	printf("%-36s  %-16s  %-9s  %-8s  %-10s  %s\n", "COMPONENT ID", "NAME",
	       "STATE", "PID", "VERSION", "RESTARTS");
	json_array_foreach(apps, i, a) {
		json_t *pid = json_object_get(a, "pid");
		char ps[24] = "-";

		if (json_is_integer(pid))
			snprintf(ps, sizeof(ps), "%lld", (long long)json_integer_value(pid));
		printf("%-36s  %-16s  %-9s  %-8s  %-10s  %lld", str(a, "component_id"),
		       str(a, "name"), str(a, "state"), ps, str(a, "version"),
		       (long long)json_integer_value(json_object_get(a, "restarts")));
		/* e.g. "update 2.0.0 deferred until ..." (rampartd's words) */
		if (json_is_string(json_object_get(a, "state_detail")))
			printf("  (%s)", str(a, "state_detail"));
		putchar('\n');
	}
}

static void print_status(json_t *apps)
{
	size_t i;
	json_t *a;

	if (json_array_size(apps) == 0)
		printf("No apps are installed.\n");
	json_array_foreach(apps, i, a) {
		json_t *le = json_object_get(a, "last_exit");
		json_t *pid = json_object_get(a, "pid");

		printf("%s%s (%s)\n", i ? "\n" : "", str(a, "component_id"), str(a, "name"));
		printf("  State:          %s\n", str(a, "state"));
		if (json_is_string(json_object_get(a, "state_detail")))
			printf("  Update:         %s\n", str(a, "state_detail"));
		if (json_is_integer(pid))
			printf("  PID:            %lld\n", (long long)json_integer_value(pid));
		printf("  Version:        %s (security version %lld, %s-signed)\n",
		       str(a, "version"),
		       (long long)json_integer_value(json_object_get(a, "security_version")),
		       str(a, "signer"));
		printf("  Started:        %s\n", str(a, "start_time"));
		printf("  Restarts:       %lld\n",
		       (long long)json_integer_value(json_object_get(a, "restarts")));
		if (json_is_object(le))
			printf("  Last exit:      %s at %s\n", str(le, "reason"), str(le, "time"));
		if (json_is_string(json_object_get(a, "last_error")))
			printf("  Last error:     %s\n", str(a, "last_error"));
	}
}

static void csv_field(const char *s, int last)
{
	if (strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static void print_report(json_t *res, int csv)
{
	json_t *ev = json_object_get(res, "events"), *r;
	size_t i;
	char count[24];

	if (csv) {
		printf("Device ID,Event Type,Event Class,Event Count,Description,"
		       "Start Time,End Time\n");
		json_array_foreach(ev, i, r) {
			snprintf(count, sizeof(count), "%lld",
				 (long long)json_integer_value(json_object_get(r, "event_count")));
			csv_field(str(r, "device_id"), 0);
			csv_field(str(r, "event_type"), 0);
			csv_field(str(r, "event_class"), 0);
			csv_field(count, 0);
			csv_field(str(r, "description"), 0);
			csv_field(str(r, "start_time"), 0);
			csv_field(str(r, "end_time"), 1);
		}
		return;
	}
	printf("Device ID: %s\n", str(res, "device_id"));
	if (json_array_size(ev) == 0) {
		printf("No events.\n");
		return;
	}
	json_array_foreach(ev, i, r) {
		printf("\n%s %s event, %lld time(s), %s .. %s\n  %s\n",
		       str(r, "event_type"), str(r, "event_class"),
		       (long long)json_integer_value(json_object_get(r, "event_count")),
		       str(r, "start_time"), str(r, "end_time"), str(r, "description"));
	}
}

static void print_logs(json_t *res)
{
	json_t *apps = json_object_get(res, "apps"), *a;
	size_t i, n = json_array_size(apps);

	json_array_foreach(apps, i, a) {
		const char *log = str(a, "log");
		size_t len = strlen(log);

		if (n > 1)
			printf("%s== %s (%s) ==\n", i ? "\n" : "", str(a, "component_id"),
			       str(a, "name"));
		fputs(log, stdout);
		if (len && log[len - 1] != '\n')
			putchar('\n');
	}
}

static void print_time(const char *label, json_t *v)
{
	char iso[32];
	time_t t;
	struct tm tm;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return;
	t = (time_t)json_integer_value(v);
	if (!gmtime_r(&t, &tm) || !strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return;
	printf("%-18s%s\n", label, iso);
}

static void print_targets(json_t *t)
{
	json_t *imgs = json_object_get(t, "images"), *m;
	size_t i;

	if (!json_is_object(t))
		return;
	printf("%-18s%lld (device group %s)\n", "Targets version:",
	       (long long)json_integer_value(json_object_get(t, "version")),
	       str(t, "device_group"));
	print_time("Targets expire:", json_object_get(t, "expires"));
	if (json_array_size(imgs) == 0)
		printf("%-18s%s\n", "Images:", "none");
	json_array_foreach(imgs, i, m)
		printf("%-18s%s %s version %s (security version %lld, %s)\n",
		       i ? "" : "Images:", str(m, "component_id"), str(m, "type"),
		       str(m, "version"),
		       (long long)json_integer_value(json_object_get(m, "security_version")),
		       str(m, "image_id"));
}

/* What one step did (cloud setup, check-for-updates). */
static void print_step(json_t *r)
{
	json_t *ck = json_object_get(r, "checkin");

	if (!json_is_object(r))
		return;
	if (json_is_true(json_object_get(r, "enrolled")))
		printf("Enrolled with the enrollment token.\n");
	if (json_is_true(json_object_get(r, "renewed")))
		printf("Renewed the device certificate.\n");
	if (json_is_object(ck))
		printf("Checked in: %lld error report(s) uploaded, %lld new to the "
		       "service.\n",
		       (long long)json_integer_value(json_object_get(ck, "reports_sent")),
		       (long long)json_integer_value(json_object_get(ck, "reports_accepted")));
	if (json_is_object(json_object_get(r, "targets")))
		printf("Targets %s.\n", json_is_true(json_object_get(json_object_get(r,
		       "targets"), "accepted")) ? "accepted" : "unchanged");
}

static void print_cloud(json_t *s)
{
	json_t *cert = json_object_get(s, "certificate");

	if (!json_is_true(json_object_get(s, "configured"))) {
		printf("The cloud connection is not set up (rampart device cloud setup).\n");
		return;
	}
	printf("%-18s%s\n", "Service:", str(s, "url"));
	printf("%-18s%s\n", "Tenant:", str(s, "tenant"));
	printf("%-18s%s\n", "Device ID:", str(s, "device_id"));
	printf("%-18s%s%s\n", "State:", str(s, "state"),
	       json_is_true(json_object_get(s, "busy")) ? " (a step is running)" : "");
	if (json_is_string(json_object_get(s, "message")))
		printf("%-18s%s\n", "Message:", str(s, "message"));
	print_time("Last check-in:", json_object_get(s, "last_checkin"));
	print_time("Next check-in:", json_object_get(s, "next_checkin"));
	if (json_is_object(cert)) {
		print_time("Certificate ends:", json_object_get(cert, "not_after"));
		print_time("Renews after:", json_object_get(cert, "renew_after"));
	}
	print_targets(json_object_get(s, "targets"));
	if (json_is_string(json_object_get(s, "targets_error")))
		printf("%-18s%s\n", "Targets refused:", str(s, "targets_error"));
	printf("%-18s%lld\n", "Reports acked:",
	       (long long)json_integer_value(json_object_get(s, "reports_acked_seq")));
}

static int output(const struct dev_cmd *c, const struct dev_args *a, json_t *res)
{
	json_t *v;
	size_t i;

	if (a->json)
		return cli_print_json(json_incref(res));
	switch (c->op) {
	case RP_CTL_SHOW:
		printf("Device ID:     %s\n", str(res, "device_id"));
		printf("Mode:          %s\n", str(res, "mode"));
		printf("Apps:          %lld installed, %lld running\n",
		       (long long)json_integer_value(json_object_get(res, "apps")),
		       (long long)json_integer_value(json_object_get(res, "running")));
		printf("Trusted keys:  %lld production, %lld development\n",
		       (long long)json_integer_value(json_object_get(res, "production_keys")),
		       (long long)json_integer_value(json_object_get(res, "development_keys")));
		break;
	case RP_CTL_ENABLE_DEV:
		printf("Development mode enabled.\n");
		if (json_is_string(json_object_get(res, "trusted_key_id")))
			printf("Trusting developer key %s\n", str(res, "trusted_key_id"));
		break;
	case RP_CTL_ENABLE_CLOUD_TEST:
		printf("Cloud-test mode: developer keys removed.\n");
		json_array_foreach(json_object_get(res, "deleted"), i, v)
			printf("Deleted app %s (signed only by a developer key)\n",
			       json_string_value(v));
		break;
	case RP_CTL_DEPLOY:
		v = json_object_get(res, "app");
		if (json_is_object(json_object_get(res, "update"))) {
			/* Installed later: a running app deferred it. */
			json_t *u = json_object_get(res, "update");
			json_t *df = json_object_get(u, "deferred");

			printf("Staged %s version %s: update deferred by %s (%s) until %s\n",
			       str(u, "component_id"), str(u, "version"), str(df, "by_name"),
			       str(df, "by"), str(df, "until"));
			break;
		}
		printf("Installed %s (%s) version %s: %s\n", str(v, "component_id"),
		       str(v, "name"), str(v, "version"), str(v, "state"));
		break;
	case RP_CTL_DELETE:
		json_array_foreach(json_object_get(res, "deleted"), i, v)
			printf("Deleted %s\n", json_string_value(v));
		if (json_array_size(json_object_get(res, "deleted")) == 0)
			printf("No apps were installed.\n");
		break;
	case RP_CTL_APP_LIST:
	case RP_CTL_APP_START:
	case RP_CTL_APP_STOP:
		print_apps_table(json_object_get(res, "apps"));
		break;
	case RP_CTL_APP_STATUS:
		print_status(json_object_get(res, "apps"));
		break;
	case RP_CTL_APP_LOGS:
		print_logs(res);
		break;
	case RP_CTL_ERROR_REPORT:
		print_report(res, a->csv);
		break;
	case RP_CTL_CLOUD_SETUP:
	case RP_CTL_CHECK_UPDATES:
		print_step(json_object_get(res, "result"));
		print_cloud(json_object_get(res, "status"));
		break;
	case RP_CTL_CLOUD_STATUS:
		print_cloud(res);
		break;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rampart: writing output failed\n");
		return EXIT_IO;
	}
	return EXIT_OK;
}

/* The public half of a key file, as PEM text in r->trust_key. */
static int load_trust_key(const char *path, struct rp_ctl_req *r,
			  struct rp_err *e)
{
	struct rp_key *k = NULL;
	struct rp_buf pem;
	int rc;

	rp_buf_init(&pem, 0);
	if ((rc = rp_key_load_file(path, 0, &k, e)) ||
	    (rc = rp_key_public_pem(k, &pem, e)))
		goto out;
	if (pem.len >= sizeof(r->trust_key)) {
		rc = rp_err_set(e, RP_ERANGE, "%s: key is too long", path);
		goto out;
	}
	memcpy(r->trust_key, pem.data, pem.len);
	r->trust_key[pem.len] = '\0';
out:
	rp_buf_free(&pem);
	rp_key_free(k);
	return rc;
}

static int copy_arg(char *dst, size_t cap, const char *v, const char *what,
		    struct rp_err *e)
{
	size_t n = strlen(v);

	if (n == 0 || n >= cap)
		return rp_err_set(e, RP_EUSAGE, "%s: must be 1 to %zu characters", what,
				  cap - 1);
	memcpy(dst, v, n + 1);
	return 0;
}

/* cloud setup: the options, and the server CA file's text. */
static int load_cloud(const struct dev_args *a, struct rp_ctl_req *r,
		      struct rp_err *e)
{
	struct rp_buf ca;
	int rc;

	if ((rc = copy_arg(r->url, sizeof(r->url), a->url, "--url", e)) ||
	    (rc = copy_arg(r->tenant, sizeof(r->tenant), a->tenant, "--tenant", e)) ||
	    (a->token && (rc = copy_arg(r->enroll_token, sizeof(r->enroll_token),
					a->token, "--enroll-token", e))))
		return rc;
	if ((rc = rp_file_read(a->ca, RP_CTL_CA_MAX, &ca, e)))
		return rc;
	if (ca.len == 0 || memchr(ca.data, '\0', ca.len)) {
		rp_buf_free(&ca);
		return rp_err_set(e, RP_EINVAL, "%s: not a PEM file", a->ca);
	}
	memcpy(r->server_ca, ca.data, ca.len);
	r->server_ca[ca.len] = '\0';
	rp_buf_free(&ca);
	return 0;
}

static int run(const struct dev_cmd *c, const char *sock, int argc, char **argv)
{
	struct dev_args a;
	struct rp_ctl_req r;
	struct rp_err e;
	json_t *res = NULL;
	int rc, fd = -1, ex;

	memset(&a, 0, sizeof(a));
	a.socket = sock;
	a.lines = RP_CTL_LINES_DEFAULT;
	rc = parse(c, argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (!a.socket)
		a.socket = getenv("RAMPART_SOCKET");
	if (!a.socket || !*a.socket)
		a.socket = RP_CTL_DEFAULT_SOCKET;
	rp_err_clear(&e);
	rp_ctl_req_init(&r, c->op);
	r.has_component = a.has_component;
	memcpy(r.component_id, a.component, 16);
	rp_guid_format(a.component, r.component_text);
	r.all = a.all;
	r.lines = a.lines;
	if (a.trust_key && load_trust_key(a.trust_key, &r, &e))
		return cli_fail(&e);
	if (c->op == RP_CTL_CLOUD_SETUP && load_cloud(&a, &r, &e))
		return cli_fail(&e);
	if (c->op == RP_CTL_DEPLOY) {
		struct stat st;

		fd = open(a.pos, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			rp_err_errno(&e, errno, "%s", a.pos);
			return cli_fail(&e);
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			rp_err_set(&e, RP_EINVAL, "%s: not a regular file", a.pos);
			return cli_fail(&e);
		}
	}
	rc = call(a.socket, &r, fd, &res, &e);
	if (fd >= 0)
		close(fd);
	if (rc)
		return cli_fail(&e);
	ex = output(c, &a, res);
	json_decref(res);
	return ex;
}

int cmd_device(int argc, char **argv)
{
	const struct dev_cmd *c;
	const char *sock = NULL;
	char name[64];

	/* rampart device [--socket PATH] <command> ... */
	while (argc >= 2 && strncmp(argv[1], "--socket", 8) == 0) {
		if (argv[1][8] == '=') {
			sock = argv[1] + 9;
			argc -= 1;
			argv += 1;
		} else if (argv[1][8] == '\0' && argc >= 3) {
			sock = argv[2];
			argc -= 2;
			argv += 2;
		} else {
			return cli_usage("device", "--socket needs a path");
		}
	}
	if (argc < 2) {
		group_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		group_help(stdout);
		return EXIT_OK;
	}
	/* Two-word commands ("app list", "sideload deploy"). */
	for (c = cmds; c->name; c++) {
		const char *sp = strchr(c->name, ' ');

		if (!sp) {
			if (strcmp(c->name, argv[1]) == 0)
				return run(c, sock, argc - 1, argv + 1);
			continue;
		}
		if (strncmp(c->name, argv[1], (size_t)(sp - c->name)) != 0 ||
		    argv[1][sp - c->name] != '\0')
			continue;
		if (argc < 3 || argv[2][0] == '-') {
			FILE *f = argc >= 3 && (strcmp(argv[2], "--help") == 0 ||
						strcmp(argv[2], "-h") == 0) ? stdout : stderr;
			const struct dev_cmd *k;

			fprintf(f, "usage: rampart device %s <command>\n\ncommands:\n", argv[1]);
			for (k = cmds; k->name; k++)
				if (strncmp(k->name, argv[1], (size_t)(sp - c->name)) == 0 &&
				    k->name[sp - c->name] == ' ')
					fprintf(f, "  %s\n", k->usage);
			return f == stdout ? EXIT_OK : EXIT_USAGE;
		}
		snprintf(name, sizeof(name), "%s %s", argv[1], argv[2]);
		for (; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return run(c, sock, argc - 2, argv + 2);
		fprintf(stderr, "rampart device: unknown command '%s'\n\n", name);
		group_help(stderr);
		return EXIT_USAGE;
	}
	fprintf(stderr, "rampart device: unknown command '%s'\n\n", argv[1]);
	group_help(stderr);
	return EXIT_USAGE;
}
