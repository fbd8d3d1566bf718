/* rampartd: the device runtime. Thin wiring: parse the command line, set
 * up the state directory, the stores and the control socket, start the
 * installed apps, and run the event loop until SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "rampartd.h"

void rpd_log(const char *fmt, ...)
{
	va_list ap;

	fputs("rampartd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void rpd_maybe_exit(struct rpd *d)
{
	const struct app *a;

	if (!d->shutting_down)
		return;
	for (a = d->apps; a; a = a->next)
		if (a->cur)
			return;
	if (d->dying)
		return;
	(void)event_base_loopexit(d->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct rpd *d = arg;

	(void)what;
	if (sig == SIGHUP)
		return;
	if (d->shutting_down)
		return;
	rpd_log("%s: stopping apps", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rpd_server_stop(d);
	rpd_cloud_stop(d);
	/* Stop first, then mark: rpd_app_stop marks each stop as planned. */
	rpd_apps_stop_all(d);
	d->shutting_down = 1;
	rpd_maybe_exit(d);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rampartd --state-dir DIR [--config FILE] [--socket PATH]\n"
		"                [--foreground]\n\n"
		"The Rampart device runtime: runs each installed app in its own\n"
		"compartment, supervises it, and answers `rampart device ...` on a\n"
		"control socket. Runs as root.\n\n"
		"  --state-dir DIR   the device state (created if missing; docs/runtime.md)\n"
		"  --config FILE     JSON configuration (docs/runtime.md)\n"
		"  --socket PATH     control socket (default %s)\n"
		"  --foreground      stay in the foreground (default: detach once the\n"
		"                    socket is listening; log to DIR/rampartd.log)\n"
		"  -h, --help        this help\n", RP_CTL_DEFAULT_SOCKET);
}

static int copy_path(char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = strlen(src);

	if (n == 0 || n >= cap) {
		fprintf(stderr, "rampartd: %s: path is empty or too long\n", what);
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* Detach: the parent returns only once the child is serving. */
static int daemonize(const struct rpd *d)
{
	char log[PATH_MAX];
	int fd;
	pid_t pid;

	if (rpd_path(d, log, sizeof(log), "rampartd.log"))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		close(fd);
	}
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		(void)dup2(fd, 2);
		close(fd);
	}
	return chdir("/");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL, *config = NULL, *sock = NULL;
	struct rpd *d = NULL;
	struct rp_err e;
	size_t i;
	int c, fg = 0, ret = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'c': config = optarg; break;
		case 'S': sock = optarg; break;
		case 'f': fg = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !state) {
		fprintf(stderr, "rampartd: --state-dir is required\n");
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "rampartd: must run as root (it creates compartments)\n");
		return 1;
	}
	/* Files rampartd creates are readable where they must be (an app
	 * reads its extracted tree); secrets are created 0600 explicitly. */
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "rampartd: out of memory\n");
		return 1;
	}
	d->listen_fd = -1;
	d->reports.fd = -1;
	for (i = 0; i < RPD_CLIENTS_MAX; i++)
		d->clients[i].fd = -1;
	d->crash_at = getenv("RAMPARTD_CRASH_AT");
	rpd_config_init(&d->cfg);
	rp_err_clear(&e);
	if (copy_path(d->socket_path, sizeof(d->socket_path),
		      sock ? sock : RP_CTL_DEFAULT_SOCKET, "--socket") ||
	    !realpath(state, d->state_dir) ?
	    (mkdir(state, 0755) < 0 && errno != EEXIST) || !realpath(state, d->state_dir) :
	    0) {
		fprintf(stderr, "rampartd: %s: %s\n", state, strerror(errno));
		goto out;
	}
	if (config && rpd_config_load(&d->cfg, config, &e)) {
		fprintf(stderr, "rampartd: %s\n", e.msg);
		goto out;
	}
	if (rpd_periph_init(d, &e)) {
		fprintf(stderr, "rampartd: %s\n", e.msg);
		goto out;
	}
	d->base = event_base_new();
	if (!d->base) {
		fprintf(stderr, "rampartd: cannot create the event loop\n");
		goto out;
	}
	{
		char p[PATH_MAX];

		if (rpd_device_init(d, &e) ||
		    rpd_path(d, p, sizeof(p), "reports.log") ||
		    rp_reports_open(p, d->cfg.report_slots, &d->reports, &e)) {
			fprintf(stderr, "rampartd: %s\n", e.msg[0] ? e.msg : "state path too long");
			goto out;
		}
	}
	rpd_install_recover(d);
	if (rpd_cloud_init(d, &e)) {
		fprintf(stderr, "rampartd: cloud: %s\n", e.msg);
		goto out;
	}
	if (rpd_server_start(d, &e)) {
		fprintf(stderr, "rampartd: control socket: %s\n", e.msg);
		goto out;
	}
	if (!fg && daemonize(d) < 0) {
		fprintf(stderr, "rampartd: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	d->ev_sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, on_signal, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, on_signal, d);
	if (!d->ev_sigterm || !d->ev_sigint || !d->ev_sighup ||
	    event_add(d->ev_sigterm, NULL) || event_add(d->ev_sigint, NULL) ||
	    event_add(d->ev_sighup, NULL)) {
		fprintf(stderr, "rampartd: cannot set up signals\n");
		goto out;
	}
	rpd_log("device %s, %s mode, state in %s, control socket %s", d->device_id,
		d->mode == MODE_DEVELOPMENT ? "development" : "cloud-test",
		d->state_dir, d->socket_path);
	if (rpd_apps_load(d, &e))
		rpd_log("%s", e.msg);
	(void)malloc_trim(0); /* what loading freed: rampartd idles small */
	if (event_base_dispatch(d->base) < 0) {
		rpd_log("event loop failed");
		goto out;
	}
	rpd_log("stopped");
	ret = 0;
out:
	if (d) {
		struct app *a;

		rpd_server_stop(d);
		rpd_update_fini(d);
		rpd_cloud_stop(d);
		while ((a = d->apps)) {
			d->apps = a->next;
			rpd_app_free(a);
		}
		while ((a = d->dying)) {
			d->dying = a->next;
			rpd_app_free(a);
		}
		/* The apps' groups are gone: their empty parent goes too. */
		rp_sandbox_cgroup_parent_remove(d->cfg.cgroup_parent);
		rp_reports_close(&d->reports);
		rpd_periph_fini(d);
		if (d->ev_sigterm)
			event_free(d->ev_sigterm);
		if (d->ev_sigint)
			event_free(d->ev_sigint);
		if (d->ev_sighup)
			event_free(d->ev_sighup);
		if (d->base)
			event_base_free(d->base);
		free(d);
	}
	return ret;
}
