/* The supervisor: load installed apps, start each in its compartment,
 * capture its output, guard its network, notice its exit through the
 * pidfd, record the exit, and restart with exponential backoff. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/file.h"
#include "net/net.h"
#include "rampartd.h"

#define LOG_CHUNK 4096
#define LOG_READS_PER_EVENT 16

const char *app_state_name(enum app_state s)
{
	switch (s) {
	case APP_STOPPED: return "stopped";
	case APP_RUNNING: return "running";
	case APP_STOPPING: return "stopping";
	case APP_BACKOFF: return "backoff";
	case APP_CRASHED: return "crashed";
	}
	return "unknown";
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static void set_timer(struct event *ev, uint64_t ms)
{
	struct timeval tv = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	(void)evtimer_add(ev, &tv);
}

struct app *rpd_app_find(struct rpd *d, const uint8_t cid[16])
{
	struct app *a;

	for (a = d->apps; a; a = a->next)
		if (memcmp(a->cid, cid, 16) == 0)
			return a;
	return NULL;
}

int rpd_apps_running(const struct rpd *d)
{
	const struct app *a;
	int n = 0;

	for (a = d->apps; a; a = a->next)
		n += a->state == APP_RUNNING;
	return n;
}

/* Does the manifest ask for any network access? */
static int wants_net(const struct rp_manifest *m)
{
	static const char *const keys[] = {
		"AllowedConnections", "AllowedTcpServerPorts",
		"AllowedUdpServerPorts", NULL,
	};
	json_t *caps = json_object_get(m->root, "Capabilities");
	const char *const *k;

	for (k = keys; *k; k++)
		if (json_array_size(json_object_get(caps, *k)) > 0)
			return 1;
	return 0;
}

/* The parts of an app that come from its verified package. */
struct loaded {
	struct rp_manifest *manifest;
	struct rpd_pkg hdr;
	int production;
	struct rp_netpolicy *netpolicy;
	struct rp_app_state st;
};

static void loaded_free(struct loaded *l)
{
	rp_manifest_free(l->manifest);
	rp_netpolicy_free(l->netpolicy);
	memset(l, 0, sizeof(*l));
}

/* Verify the installed package again with today's trust: state on disk
 * is not trusted more than a package arriving over the wire. */
static int load_pkg(struct rpd *d, const struct app *a, struct loaded *l,
		    struct rp_err *e)
{
	struct rpd_image img;
	struct rp_buf sb;
	char p[PATH_MAX];
	int rc;

	memset(l, 0, sizeof(*l));
	memset(&img, 0, sizeof(img));
	rp_buf_init(&img.manifest_text, 0);
	rp_buf_init(&sb, 0);
	if (snprintf(p, sizeof(p), "%s/state", a->dir) >= (int)sizeof(p)) {
		rc = rp_err_set(e, RP_ERANGE, "path too long");
		goto out;
	}
	if ((rc = rp_file_read(p, RP_APP_STATE_MAX, &sb, e)) ||
	    (rc = rp_app_state_decode(sb.data, sb.len, &l->st, e)))
		goto out;
	if (l->st.uid < d->cfg.uid_base ||
	    l->st.uid - d->cfg.uid_base >= d->cfg.uid_count) {
		rc = rp_err_set(e, RP_EPOLICY, "state: uid %u is outside the "
				"configured range", l->st.uid);
		goto out;
	}
	if (snprintf(p, sizeof(p), "%s/package.rpk", a->dir) >= (int)sizeof(p)) {
		rc = rp_err_set(e, RP_ERANGE, "path too long");
		goto out;
	}
	/* In rampart-verify: it fails with "the device trusts no keys"
	 * when there are none (never an integrity-only check). */
	if ((rc = rpd_verify_image(d, p, d->mode == MODE_DEVELOPMENT, &img, e)))
		goto out;
	if (!img.manifest || memcmp(img.manifest->component_id, a->cid, 16) != 0) {
		rc = rp_err_set(e, RP_EPOLICY, "package is not the app %s", a->id);
		goto out;
	}
	if (wants_net(img.manifest) &&
	    (rc = rp_netpolicy_from_manifest(img.manifest, &l->netpolicy, e)))
		goto out;
	l->hdr = img.pkg;
	l->production = img.pkg.production;
	l->manifest = img.manifest;
	img.manifest = NULL;
out:
	rpd_image_free(&img);
	rp_buf_free(&sb);
	if (rc)
		loaded_free(l);
	return rc;
}

static void adopt(struct app *a, struct loaded *l)
{
	rp_manifest_free(a->manifest);
	rp_netpolicy_free(a->netpolicy);
	a->manifest = l->manifest;
	a->netpolicy = l->netpolicy;
	a->hdr = l->hdr;
	a->production = l->production;
	a->st = l->st;
	memset(l, 0, sizeof(*l));
}

static void on_restart(evutil_socket_t fd, short what, void *arg);

/* Create the struct; on a package that no longer verifies, *out is still
 * set (state crashed, reason in last_error) so the operator sees it. */
static int load(struct rpd *d, const char *id, struct app **out,
		struct rp_err *e)
{
	struct app *a;
	struct loaded l;
	char p[PATH_MAX];
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	a->d = d;
	a->log.fd = -1;
	a->backoff_ms = d->cfg.backoff_initial_ms;
	a->state = APP_STOPPED;
	if (strlen(id) != 36 || rp_guid_parse(id, 36, a->cid)) {
		free(a);
		return rp_err_set(e, RP_EFORMAT, "apps/%s: not a component id", id);
	}
	rp_guid_format(a->cid, a->id);
	if (strcmp(a->id, id) != 0) {
		free(a);
		return rp_err_set(e, RP_EFORMAT, "apps/%s: not a canonical component id",
				  id);
	}
	a->ev_restart = evtimer_new(d->base, on_restart, a);
	if (!a->ev_restart || rpd_path(d, a->dir, sizeof(a->dir), "apps/%s", id) ||
	    rpd_path(d, p, sizeof(p), "logs/%s.log", id)) {
		rpd_app_free(a);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	if ((rc = rp_logring_open(p, d->cfg.log_bytes, &a->log, e))) {
		rpd_app_free(a);
		return rc;
	}
	*out = a;
	if ((rc = load_pkg(d, a, &l, e))) {
		rp_err_prefix(e, "app %s", id);
		a->state = APP_CRASHED;
		memcpy(a->last_error, e->msg, sizeof(a->last_error));
		return rc;
	}
	adopt(a, &l);
	return 0;
}

int rpd_app_load(struct rpd *d, const char *id, struct app **out,
		 struct rp_err *e)
{
	int rc = load(d, id, out, e);

	if (rc && *out) {
		rpd_app_free(*out);
		*out = NULL;
	}
	return rc;
}

int rpd_apps_load(struct rpd *d, struct rp_err *e)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	struct app *a;

	if (rpd_path(d, dir, sizeof(dir), "apps"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	dp = opendir(dir);
	if (!dp)
		return rp_err_errno(e, errno, "%s", dir);
	while ((de = readdir(dp))) {
		struct rp_err le;

		if (de->d_name[0] == '.')
			continue;
		rp_err_clear(&le);
		if (load(d, de->d_name, &a, &le)) {
			rpd_log("%s", le.msg);
			if (!a)
				continue;
		}
		a->next = d->apps;
		d->apps = a;
	}
	closedir(dp);
	for (a = d->apps; a; a = a->next)
		if (a->manifest && a->st.enabled)
			rpd_app_start(a);
	return 0;
}

void rpd_report(struct rpd *d, const struct app *a, enum rp_event_type t,
		enum rp_exit_kind k, int status, const char *detail)
{
	struct rp_report r;
	struct rp_err e;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.time = (uint64_t)time(NULL);
	memcpy(r.component_id, a->cid, 16);
	r.type = t;
	r.cls = RP_CLASS_APP;
	r.kind = k;
	r.status = status;
	r.restarts = a->restarts;
	r.security_version = a->hdr.security_version;
	n = strnlen(a->hdr.version, RP_REPORT_VERSION_LEN);
	memcpy(r.version, a->hdr.version, n);
	if (a->manifest) {
		n = strnlen(a->manifest->name, RP_REPORT_NAME_LEN);
		memcpy(r.name, a->manifest->name, n);
	}
	if (detail) {
		n = strnlen(detail, RP_REPORT_DETAIL_LEN);
		memcpy(r.detail, detail, n);
	}
	rp_err_clear(&e);
	if (rp_reports_append(&d->reports, &r, &e))
		rpd_log("error report not recorded: %s", e.msg);
}

/* --- output capture ----------------------------------------------------- */

static void on_log(evutil_socket_t fd, short what, void *arg)
{
	struct inst *in = arg;
	struct app *a = in->app;
	uint8_t buf[LOG_CHUNK];
	struct rp_err e;
	int i;

	(void)what;
	for (i = 0; i < LOG_READS_PER_EVENT; i++) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			event_free(in->ev_log);
			in->ev_log = NULL;
			close(in->log_fd);
			in->log_fd = -1;
			return;
		}
		rp_err_clear(&e);
		if (rp_logring_append(&a->log, buf, (size_t)r, &e))
			rpd_log("app %s: log: %s", a->id, e.msg);
	}
}

/* --- network guard ------------------------------------------------------ */

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct inst *in = arg;
	struct rp_err e;

	(void)fd;
	(void)what;
	rp_err_clear(&e);
	if (in->guard && rp_netguard_dispatch(in->guard, &e)) {
		/* The listener is gone: the app is exiting, and its pidfd
		 * brings the exit. Stop polling so the loop does not spin. */
		if (in->ev_guard)
			(void)event_del(in->ev_guard);
	}
}

/* --- instances ---------------------------------------------------------- */

static void on_app_exit(evutil_socket_t fd, short what, void *arg);
static void delete_storage(struct app *a);
static void on_kill(evutil_socket_t fd, short what, void *arg);

static void inst_free(struct inst *in)
{
	struct rp_err e;

	if (!in)
		return;
	if (in->ev_exit)
		event_free(in->ev_exit);
	if (in->ev_kill)
		event_free(in->ev_kill);
	if (in->ev_log)
		event_free(in->ev_log);
	if (in->log_fd >= 0)
		close(in->log_fd);
	if (in->ev_guard)
		event_free(in->ev_guard);
	rp_netguard_free(in->guard);
	rpd_update_inst_end(in);
	rpd_chan_close(in);
	rpd_periph_inst_end(in);
	rp_sandbox_cleanup(&in->child);
	if (in->storage[0]) {
		rp_err_clear(&e);
		if (rp_storage_release(in->app->d->state_dir, in->app->id, &e))
			rpd_log("app %s: storage: %s", in->app->id, e.msg);
	}
	if (in->run_dir[0]) {
		rp_err_clear(&e);
		if (rpd_rmtree(in->run_dir, &e))
			rpd_log("%s", e.msg);
	}
	free(in);
}

static int inst_spawn(struct app *a, struct inst *in, struct rp_err *e)
{
	struct rpd *d = a->d;
	struct rp_sandbox_spec spec;
	char root[PATH_MAX];
	int p[2] = { -1, -1 }, rc;

	if ((rc = rp_sandbox_plan(a->manifest, &d->cfg.defaults, &spec, e)))
		return rc;
	if (snprintf(root, sizeof(root), "%s/tree", a->dir) >= (int)sizeof(root))
		return rp_err_set(e, RP_ERANGE, "path too long");
	spec.name = a->id;
	spec.host_uid = (uid_t)a->st.uid;
	spec.host_gid = (gid_t)a->st.uid;
	spec.root_dir = root;
	spec.storage_dir = NULL;
	if (a->manifest->storage_kb > 0) {
		if ((rc = rp_storage_prepare(d->state_dir, a->id, a->manifest->storage_kb,
					     (uid_t)a->st.uid, (gid_t)a->st.uid,
					     in->storage, sizeof(in->storage), e))) {
			rp_err_prefix(e, "MutableStorage");
			return rc;
		}
		spec.storage_dir = in->storage;
	}
	spec.run_dir = in->run_dir;
	spec.cgroup_parent = d->cfg.cgroup_parent;
	spec.net_notify = a->netpolicy != NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return rp_err_errno(e, errno, "pipe");
	spec.stdin_fd = -1;
	spec.stdout_fd = p[1];
	spec.stderr_fd = p[1];
	rc = rpd_spawn(d, &spec, &in->child, e);
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	in->log_fd = p[0];
	(void)fcntl(in->log_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static int inst_start(struct app *a, struct rp_err *e)
{
	struct rpd *d = a->d;
	struct inst *in;
	int rc;

	in = calloc(1, sizeof(*in));
	if (!in)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	in->app = a;
	in->log_fd = -1;
	in->chan_fd = -1;
	in->child.pid = -1;
	in->child.pidfd = -1;
	in->child.notify_fd = -1;
	in->child.netns_fd = -1;
	for (size_t i = 0; i < RPD_CHAN_CONNS_MAX; i++)
	{
		in->conns[i].fd = -1;
		rp_ctl_lines_init(&in->conns[i].in);
	}
	a->spawns++;
	if (rpd_path(d, in->run_dir, sizeof(in->run_dir), "run/%s.%llu", a->id,
		     (unsigned long long)a->spawns)) {
		in->run_dir[0] = '\0';
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto fail;
	}
	if ((rc = rpd_rmtree(in->run_dir, e)))
		goto fail;
	if (mkdir(in->run_dir, 0755) < 0) {
		rc = rp_err_errno(e, errno, "%s", in->run_dir);
		goto fail;
	}
	if ((rc = rpd_chan_listen(in, e)) || (rc = inst_spawn(a, in, e)))
		goto fail;
	in->ev_log = event_new(d->base, in->log_fd, EV_READ | EV_PERSIST, on_log, in);
	in->ev_exit = event_new(d->base, in->child.pidfd, EV_READ, on_app_exit, in);
	in->ev_kill = evtimer_new(d->base, on_kill, in);
	if (!in->ev_log || !in->ev_exit || !in->ev_kill ||
	    event_add(in->ev_log, NULL) || event_add(in->ev_exit, NULL)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto kill;
	}
	if (a->netpolicy) {
		if (in->child.notify_fd < 0 || in->child.netns_fd < 0) {
			rc = rp_err_set(e, RP_EPOLICY, "network guard: the compartment "
					"has no notification listener");
			goto kill;
		}
		if ((rc = rp_netguard_new(a->netpolicy, in->child.notify_fd,
					  in->child.netns_fd, &in->guard, e)))
			goto kill;
		in->ev_guard = event_new(d->base, rp_netguard_fd(in->guard),
					 EV_READ | EV_PERSIST, on_guard, in);
		if (!in->ev_guard || event_add(in->ev_guard, NULL)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto kill;
		}
	}
	in->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &in->started_mono);
	a->cur = in;
	a->state = APP_RUNNING;
	a->last_error[0] = '\0';
	return 0;
kill:
	/* Started but not guardable: it must not run unguarded. */
	(void)send_signal(in->child.pidfd, SIGKILL);
	{
		siginfo_t si;

		(void)waitid(P_PIDFD, (id_t)in->child.pidfd, &si, WEXITED);
	}
fail:
	inst_free(in);
	return rc;
}

static void schedule_restart(struct app *a)
{
	uint64_t delay = a->backoff_ms;

	a->backoff_ms = a->backoff_ms > a->d->cfg.backoff_max_ms / 2 ?
		a->d->cfg.backoff_max_ms : a->backoff_ms * 2;
	set_timer(a->ev_restart, delay);
}

void rpd_app_start(struct app *a)
{
	struct rp_err e;

	if (a->deleting || a->d->shutting_down || a->cur)
		return;
	(void)evtimer_del(a->ev_restart);
	if (!a->manifest) {
		a->state = APP_CRASHED;
		return;
	}
	rp_err_clear(&e);
	if (inst_start(a, &e)) {
		rpd_log("app %s: start failed: %s", a->id, e.msg);
		memcpy(a->last_error, e.msg, sizeof(a->last_error));
		a->state = APP_CRASHED;
		a->last_kind = RP_EXIT_START;
		a->last_status = 0;
		a->last_exit = time(NULL);
		rpd_report(a->d, a, RP_EVENT_UNPLANNED, RP_EXIT_START, 0, e.msg);
		schedule_restart(a);
		return;
	}
	rpd_log("app %s (%s) started, pid %d", a->id, a->manifest->name,
		(int)a->cur->child.pid);
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;

	(void)fd;
	(void)what;
	if (a->state == APP_BACKOFF || a->state == APP_CRASHED) {
		a->restarts++;
		rpd_app_start(a);
	}
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct inst *in = arg;

	(void)fd;
	(void)what;
	rpd_log("app %s: still running after the grace period: SIGKILL",
		in->app->id);
	(void)send_signal(in->child.pidfd, SIGKILL);
}

void rpd_app_stop(struct app *a, int planned)
{
	struct inst *in = a->cur;

	(void)evtimer_del(a->ev_restart);
	if (!in) {
		if (a->state != APP_CRASHED || planned)
			a->state = APP_STOPPED;
		return;
	}
	in->planned |= planned;
	if (a->state == APP_STOPPING)
		return;
	a->state = APP_STOPPING;
	if (a->d->cfg.stop_grace_ms == 0 || send_signal(in->child.pidfd, SIGTERM) < 0) {
		(void)send_signal(in->child.pidfd, SIGKILL);
		return;
	}
	set_timer(in->ev_kill, a->d->cfg.stop_grace_ms);
}

static void finish(struct inst *in, int kind, int status)
{
	struct app *a = in->app;
	struct rpd *d = a->d;
	uint64_t up = mono_ms() - ((uint64_t)in->started_mono.tv_sec * 1000u +
				   (uint64_t)in->started_mono.tv_nsec / 1000000u);
	int planned = in->planned;
	struct rp_err e;

	char detail[RP_REPORT_DETAIL_LEN + 1] = "";

	/* Whatever the app wrote last is in the pipe: keep it. */
	if (in->log_fd >= 0 && in->ev_log)
		on_log(in->log_fd, EV_READ, in);
	/* What the guard refused belongs in the report of this run. */
	if (in->guard) {
		struct rp_netguard_stats st;

		rp_netguard_stats(in->guard, &st);
		if (st.refused > 0) {
			int k = snprintf(detail, sizeof(detail), "network refused %llu "
					 "time(s) - last: ", (unsigned long long)st.refused);
			size_t m = strnlen(st.last_refused, sizeof(st.last_refused));

			/* Truncating the address is fine: the count is what matters. */
			if (k > 0 && (size_t)k < sizeof(detail)) {
				if (m > sizeof(detail) - 1 - (size_t)k)
					m = sizeof(detail) - 1 - (size_t)k;
				memcpy(detail + k, st.last_refused, m);
				detail[(size_t)k + m] = '\0';
			}
		}
	}
	a->cur = NULL;
	inst_free(in);
	a->last_kind = kind;
	a->last_status = status;
	a->last_exit = time(NULL);
	rpd_report(d, a, planned ? RP_EVENT_PLANNED : RP_EVENT_UNPLANNED,
		   (enum rp_exit_kind)kind, status, detail[0] ? detail : NULL);
	rpd_log("app %s: %s %d%s", a->id, kind == RP_EXIT_CODE ?
		"exited with code" : "killed by signal", status,
		planned ? " (stopped)" : "");
	if (a->deleting) {
		struct app **pp;

		for (pp = &d->dying; *pp; pp = &(*pp)->next)
			if (*pp == a) {
				*pp = a->next;
				break;
			}
		rpd_purge_old(d, a->id);
		delete_storage(a);
		rpd_app_free(a);
		rpd_maybe_exit(d);
		return;
	}
	rpd_purge_old(d, a->id);
	if (d->shutting_down) {
		a->state = APP_STOPPED;
		rpd_maybe_exit(d);
		return;
	}
	if (a->reload) {
		struct loaded l;

		a->reload = 0;
		a->restarts = 0;
		a->backoff_ms = d->cfg.backoff_initial_ms;
		rp_err_clear(&e);
		if (load_pkg(d, a, &l, &e)) {
			rpd_log("app %s: %s", a->id, e.msg);
			memcpy(a->last_error, e.msg, sizeof(a->last_error));
			a->state = APP_CRASHED;
			return;
		}
		adopt(a, &l);
		a->state = APP_STOPPED;
		rpd_app_start(a);
		return;
	}
	if (planned) {
		a->state = APP_STOPPED;
		return;
	}
	if (up >= d->cfg.backoff_reset_ms)
		a->backoff_ms = d->cfg.backoff_initial_ms;
	a->state = APP_BACKOFF;
	schedule_restart(a);
}

static void on_app_exit(evutil_socket_t fd, short what, void *arg)
{
	struct inst *in = arg;
	siginfo_t si;
	int kind, status;

	(void)what;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0) {
		(void)event_add(in->ev_exit, NULL); /* not yet */
		return;
	}
	if (si.si_pid == 0) {
		/* Not our child (ECHILD): the exit status is unknown. */
		kind = RP_EXIT_SIGNAL;
		status = 0;
	} else if (si.si_code == CLD_EXITED) {
		kind = RP_EXIT_CODE;
		status = si.si_status;
	} else {
		kind = RP_EXIT_SIGNAL;
		status = si.si_status;
	}
	finish(in, kind, status);
}

void rpd_app_reload(struct app *a)
{
	a->reload = 1;
	if (a->cur) {
		rpd_app_stop(a, 1);
		return;
	}
	/* Not running: take the new version now. */
	{
		struct loaded l;
		struct rp_err e;

		a->reload = 0;
		a->restarts = 0;
		a->backoff_ms = a->d->cfg.backoff_initial_ms;
		rp_err_clear(&e);
		if (load_pkg(a->d, a, &l, &e)) {
			memcpy(a->last_error, e.msg, sizeof(a->last_error));
			a->state = APP_CRASHED;
			return;
		}
		adopt(a, &l);
		a->state = APP_STOPPED;
		rpd_app_start(a);
	}
}

int rpd_app_delete(struct app *a, struct rp_err *e)
{
	struct rpd *d = a->d;
	struct app **pp;
	char old[PATH_MAX], p[PATH_MAX];

	if (rpd_path(d, old, sizeof(old), "apps/.old-%s-%llu", a->id,
		     (unsigned long long)++d->install_seq))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	/* One rename takes the app out of the registry on disk. */
	if (rename(a->dir, old) < 0)
		return rp_err_errno(e, errno, "%s", a->dir);
	for (pp = &d->apps; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	if (rpd_path(d, p, sizeof(p), "logs/%s.log", a->id) == 0)
		(void)unlink(p);
	a->deleting = 1;
	if (a->cur) {
		a->next = d->dying;
		d->dying = a;
		rpd_app_stop(a, 1);
		return 0;
	}
	rpd_purge_old(d, a->id);
	delete_storage(a);
	rpd_app_free(a);
	return 0;
}

void rpd_apps_stop_all(struct rpd *d)
{
	struct app *a;

	for (a = d->apps; a; a = a->next)
		rpd_app_stop(a, 1);
	for (a = d->dying; a; a = a->next)
		rpd_app_stop(a, 1);
}

/* A deleted app's mutable storage goes with it, once nothing uses it. */
static void delete_storage(struct app *a)
{
	struct rp_err e;

	rp_err_clear(&e);
	if (rp_storage_release(a->d->state_dir, a->id, &e) ||
	    rp_storage_delete(a->d->state_dir, a->id, &e))
		rpd_log("app %s: storage: %s", a->id, e.msg);
}

void rpd_app_free(struct app *a)
{
	if (!a)
		return;
	if (a->cur) {
		/* Only at exit of rampartd after every app stopped; a running
		 * instance here would be a bug: do not leave it unsupervised. */
		(void)send_signal(a->cur->child.pidfd, SIGKILL);
		inst_free(a->cur);
	}
	if (a->ev_restart)
		event_free(a->ev_restart);
	rp_manifest_free(a->manifest);
	rp_netpolicy_free(a->netpolicy);
	rp_logring_close(&a->log);
	free(a);
}

/* --- status ------------------------------------------------------------- */

static json_t *time_json(time_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	rp_time_iso((uint64_t)t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *rpd_app_json(const struct app *a, int detailed)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (!ok)
		return NULL;
	ok &= !json_object_set_new(o, "component_id", json_string(a->id));
	ok &= !json_object_set_new(o, "name", a->manifest ?
				   json_string(a->manifest->name) : json_null());
	ok &= !json_object_set_new(o, "state", json_string(app_state_name(a->state)));
	ok &= !json_object_set_new(o, "pid", a->cur && a->cur->child.pid > 0 ?
				   json_integer(a->cur->child.pid) : json_null());
	ok &= !json_object_set_new(o, "version", a->manifest ?
				   json_string(a->hdr.version) : json_null());
	ok &= !json_object_set_new(o, "security_version",
				   json_integer(a->hdr.security_version));
	ok &= !json_object_set_new(o, "signer", json_string(
		!a->manifest ? "unverified" : a->production ? "production" : "development"));
	ok &= !json_object_set_new(o, "restarts", json_integer(a->restarts));
	ok &= !json_object_set_new(o, "start_time",
				   time_json(a->cur ? a->cur->started : 0));
	ok &= !json_object_set_new(o, "state_detail", rpd_update_detail(a));
	if (detailed) {
		json_t *le = json_null();

		if (a->last_kind) {
			struct rp_report r;
			char desc[320];

			memset(&r, 0, sizeof(r));
			r.kind = (enum rp_exit_kind)a->last_kind;
			r.status = a->last_status;
			r.type = RP_EVENT_UNPLANNED;
			memcpy(r.component_id, a->cid, 16);
			rp_report_describe(&r, desc, sizeof(desc));
			desc[strcspn(desc, ";")] = '\0';
			le = json_object();
			if (le) {
				ok &= !json_object_set_new(le, "time", time_json(a->last_exit));
				ok &= !json_object_set_new(le, "reason", json_string(desc));
				ok &= !json_object_set_new(le, a->last_kind == RP_EXIT_CODE ?
							   "exit_code" : a->last_kind == RP_EXIT_SIGNAL ?
							   "signal" : "error",
							   json_integer(a->last_status));
			}
		}
		ok &= !json_object_set_new(o, "last_exit", le ? le : json_null());
		ok &= !json_object_set_new(o, "last_error", a->last_error[0] ?
					   json_string(a->last_error) : json_null());
		ok &= !json_object_set_new(o, "enabled", json_boolean(a->st.enabled));
		ok &= !json_object_set_new(o, "uid", json_integer(a->st.uid));
		ok &= !json_object_set_new(o, "image_id", json_null());
		if (a->manifest) {
			char t[37];

			rp_guid_format(a->hdr.image_id, t);
			ok &= !json_object_set_new(o, "image_id", json_string(t));
		}
		if (a->cur && a->cur->guard) {
			struct rp_netguard_stats s;
			json_t *n = json_object();

			rp_netguard_stats(a->cur->guard, &s);
			if (n) {
				ok &= !json_object_set_new(n, "allowed", json_integer((json_int_t)s.allowed));
				ok &= !json_object_set_new(n, "refused", json_integer((json_int_t)s.refused));
				ok &= !json_object_set_new(n, "dns_answered", json_integer((json_int_t)s.dns_answered));
				ok &= !json_object_set_new(n, "dns_refused", json_integer((json_int_t)s.dns_refused));
				ok &= !json_object_set_new(n, "last_refused", s.last_refused[0] ?
							   json_string(s.last_refused) : json_null());
			}
			ok &= !json_object_set_new(o, "network", n ? n : json_null());
		}
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
