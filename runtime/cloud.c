/* rampartd's cloud client: when to check in, what to send, and what to
 * remember. Every step that needs TLS or cryptography runs in
 * rampart-cloud (runtime/cloud.h), exec'd here without blocking the event
 * loop: its pidfd, stdout and stderr are polled like an app's, bounded in
 * time (cloud_timeout_ms) and output. rampartd builds the check-in data
 * (its app table, the unsent error reports), keeps cloud/status.json, and
 * answers `rampart device cloud ...` and `check-for-updates`, whose
 * replies wait for the step they asked for (docs/runtime.md, "Cloud"). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/file.h"
#include "base/json.h"
#include "cloud.h"
#include "rampartd.h"
#include "verify.h"

#ifndef RP_LIBEXECDIR
#define RP_LIBEXECDIR "/usr/local/libexec"
#endif

#define STATUS_MAX (256 * 1024)
#define INSTALLED_MAX 64
#define REPORTS_PER_CHECKIN 64
#define RETRY_FIRST_S 5

enum job { JOB_NONE, JOB_SETUP, JOB_STEP };

struct rpd_cloud {
	struct rpd *d;
	char helper[PATH_MAX];      /* "" when rampart-cloud is missing */
	int configured;             /* cloud/config.json exists */
	json_t *status;             /* what cloud/status.json holds */
	uint64_t acked_seq;         /* reports the service holds */
	uint32_t failures;          /* consecutive failed steps */
	struct event *ev_timer;
	int64_t next;               /* wall clock of the next step */
	/* the running helper */
	enum job job;
	pid_t pid;
	int pidfd, out_fd, err_fd;
	struct rp_buf out, err;
	int over, killed;
	struct event *ev_pid, *ev_out, *ev_err, *ev_kill;
	uint64_t sent_max;          /* highest report seq in this step */
	/* control clients waiting for this job, and for the next one */
	int waiting[RPD_CLIENTS_MAX];
	size_t nwaiting;
	int pending[RPD_CLIENTS_MAX];
	size_t npending;
	int again;                  /* run a step when this one ends */
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void set(json_t *o, const char *k, json_t *v)
{
	if (v)
		(void)json_object_set_new(o, k, v);
}

/* --- the helper ---------------------------------------------------------- */

static int find_helper(struct rpd *d, char out[PATH_MAX])
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (d->cfg.cloud_helper[0]) {
		memcpy(out, d->cfg.cloud_helper, PATH_MAX);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && snprintf(out, PATH_MAX, "%.*s/rampart-cloud",
				      (int)(slash - self), self) < PATH_MAX &&
		    access(out, X_OK) == 0)
			return 0;
	}
	if (snprintf(out, PATH_MAX, "%s", RP_LIBEXECDIR "/rampart-cloud") < PATH_MAX &&
	    access(out, X_OK) == 0)
		return 0;
	out[0] = '\0';
	return -ENOENT;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void free_ev(struct event **ev)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
}

/* Read what fd has into b (at most cap; the rest is dropped so the
 * helper never blocks). 1 at EOF or error. */
static int drain(int fd, struct rp_buf *b, size_t cap, int *over)
{
	uint8_t tmp[4096];

	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));

		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : 1;
		if (r == 0)
			return 1;
		if (b->len + (size_t)r > cap)
			*over = 1;
		else if (rp_buf_append(b, tmp, (size_t)r))
			*over = 1;
	}
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_cloud *c = arg;

	(void)what;
	if (drain((int)fd, &c->out, RPC_OUT_MAX, &c->over))
		free_ev(&c->ev_out);
}

static void on_err(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_cloud *c = arg;
	int dummy = 0;

	(void)what;
	if (drain((int)fd, &c->err, RPC_ERR_MAX, &dummy))
		free_ev(&c->ev_err);
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_cloud *c = arg;

	(void)fd;
	(void)what;
	c->killed = 1;
	(void)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

static void on_exit_helper(evutil_socket_t fd, short what, void *arg);

static void child(const char *path, char *const *argv, int in, int out_w,
		  int err_w)
{
	static char *const envp[] = { NULL };
	sigset_t none;

	if (dup2(in, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(125);
	if (close_range(3, ~0U, 0) < 0)
		_exit(125);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(path, argv, envp);
	_exit(127);
}

/* Start the helper on cmd with req as its stdin. */
static int start(struct rpd_cloud *c, enum job job, json_t *req, struct rp_err *e)
{
	struct rpd *d = c->d;
	char p[PATH_MAX], *text = NULL;
	char *argv[4];
	int in = -1, opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, rc;
	struct timeval tv;

	if (!c->helper[0])
		return rp_err_set(e, RP_EINVAL, "rampart-cloud not found next to "
				  "rampartd or in %s (set cloud_helper in the config)",
				  RP_LIBEXECDIR);
	/* The request goes through a private file, not a pipe: nothing to
	 * feed without blocking, and no descriptor left half written. */
	text = json_dumps(req, JSON_COMPACT);
	if (!text) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (rpd_path(d, p, sizeof(p), "cloud/.request")) {
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	(void)unlink(p);
	if ((rc = rp_file_write(p, text, strlen(text), 0600, 1, e)))
		goto out;
	in = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	(void)unlink(p);
	if (in < 0) {
		rc = rp_err_errno(e, errno, "%s", p);
		goto out;
	}
	if (pipe2(opipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(epipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = rp_err_errno(e, errno, "rampart-cloud: pipe");
		goto out;
	}
	argv[0] = c->helper;
	argv[1] = (char *)(uintptr_t)(job == JOB_SETUP ? "setup" : "step");
	argv[2] = d->state_dir;
	argv[3] = NULL;
	c->pid = fork();
	if (c->pid < 0) {
		rc = rp_err_errno(e, errno, "rampart-cloud: fork");
		goto out;
	}
	if (c->pid == 0)
		child(argv[0], argv, in, opipe[1], epipe[1]);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0) {
		rc = rp_err_errno(e, errno, "rampart-cloud: pidfd_open");
		(void)kill(c->pid, SIGKILL);
		(void)waitpid(c->pid, NULL, 0);
		goto out;
	}
	c->out_fd = opipe[0];
	c->err_fd = epipe[0];
	opipe[0] = epipe[0] = -1;
	rp_buf_init(&c->out, RPC_OUT_MAX);
	rp_buf_init(&c->err, RPC_ERR_MAX + 1);
	c->over = c->killed = 0;
	c->job = job;
	c->ev_out = event_new(d->base, c->out_fd, EV_READ | EV_PERSIST, on_out, c);
	c->ev_err = event_new(d->base, c->err_fd, EV_READ | EV_PERSIST, on_err, c);
	c->ev_pid = event_new(d->base, c->pidfd, EV_READ, on_exit_helper, c);
	c->ev_kill = evtimer_new(d->base, on_kill, c);
	tv.tv_sec = (time_t)(d->cfg.cloud_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(d->cfg.cloud_timeout_ms % 1000 * 1000);
	if (!c->ev_out || !c->ev_err || !c->ev_pid || !c->ev_kill ||
	    event_add(c->ev_out, NULL) || event_add(c->ev_err, NULL) ||
	    event_add(c->ev_pid, NULL) || event_add(c->ev_kill, &tv)) {
		/* Cannot watch it: kill it now; on_exit_helper never runs. */
		(void)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		(void)waitpid(c->pid, NULL, 0);
		free_ev(&c->ev_out);
		free_ev(&c->ev_err);
		free_ev(&c->ev_pid);
		free_ev(&c->ev_kill);
		close_fd(&c->out_fd);
		close_fd(&c->err_fd);
		close_fd(&c->pidfd);
		rp_buf_free(&c->out);
		rp_buf_free(&c->err);
		c->job = JOB_NONE;
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	close_fd(&in);
	close_fd(&opipe[0]);
	close_fd(&opipe[1]);
	close_fd(&epipe[0]);
	close_fd(&epipe[1]);
	free(text);
	return rc;
}

/* --- status -------------------------------------------------------------- */

static int save_status(struct rpd_cloud *c)
{
	char p[PATH_MAX], *text;
	struct rp_err e;
	int rc;

	if (rpd_path(c->d, p, sizeof(p), "cloud/status.json"))
		return RP_ERANGE;
	text = json_dumps(c->status, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return RP_ENOMEM;
	rp_err_clear(&e);
	rc = rp_file_write(p, text, strlen(text), 0644, 0, &e);
	if (rc)
		rpd_log("cloud: %s", e.msg);
	free(text);
	return rc;
}

static uint64_t status_u64(struct rpd_cloud *c, const char *key)
{
	json_t *v = json_object_get(c->status, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	       (uint64_t)json_integer_value(v) : 0;
}

static void load_status(struct rpd_cloud *c)
{
	struct rp_buf b;
	struct rp_err e;
	char p[PATH_MAX];
	json_t *o = NULL;

	rp_buf_init(&b, 0);
	rp_err_clear(&e);
	if (rpd_path(c->d, p, sizeof(p), "cloud/status.json") == 0 &&
	    access(p, F_OK) == 0) {
		if (rp_file_read(p, STATUS_MAX, &b, &e) == 0 &&
		    rp_json_parse(b.data, b.len, STATUS_MAX, &o, &e) == 0 &&
		    json_is_object(o)) {
			json_decref(c->status);
			c->status = o;
			o = NULL;
		} else {
			/* Our own file, damaged: start again. The worst
			 * case is reports sent twice, which the service
			 * deduplicates by sequence number. */
			rpd_log("cloud: %s: %s; starting a fresh status", p,
				e.msg[0] ? e.msg : "not an object");
		}
	}
	json_decref(o);
	rp_buf_free(&b);
	c->acked_seq = status_u64(c, "reports_acked_seq");
	c->failures = (uint32_t)status_u64(c, "failures");
}

/* --- scheduling ---------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

static uint64_t jitter(uint64_t s, uint64_t pct)
{
	uint32_t r = 0;
	uint64_t span = s * pct / 100;

	if (span == 0 || getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		return s;
	return s - span + (uint64_t)r % (2 * span + 1);
}

static void schedule(struct rpd_cloud *c, uint64_t delay)
{
	struct timeval tv = { .tv_sec = (time_t)delay, .tv_usec = 0 };
	char iso[32];

	c->next = now_s() + (int64_t)delay;
	rp_time_iso((uint64_t)c->next, iso, sizeof(iso));
	set(c->status, "next_checkin", json_integer(c->next));
	if (c->ev_timer)
		(void)evtimer_add(c->ev_timer, &tv);
}

/* After a step: the interval (or the service's shorter one) with jitter;
 * after an error, exponential backoff capped at the interval; and never
 * later than the certificate's renew_after. */
static void plan_next(struct rpd_cloud *c, const char *state, uint64_t next_s)
{
	uint64_t iv = c->d->cfg.checkin_interval_s, delay;
	json_t *cert = json_object_get(c->status, "certificate");
	json_t *ra = json_object_get(cert, "renew_after");

	if (strcmp(state, "error") == 0) {
		uint32_t n = c->failures > 20 ? 20 : c->failures;

		delay = (uint64_t)RETRY_FIRST_S << (n ? n - 1 : 0);
		if (delay > iv)
			delay = iv;
	} else {
		if (next_s > 0 && next_s < iv)
			iv = next_s;
		delay = jitter(iv, c->d->cfg.checkin_jitter_pct);
	}
	if (json_is_integer(ra)) {
		int64_t until = json_integer_value(ra) - now_s();

		if (until < 1)
			until = 1;
		if ((uint64_t)until < delay)
			delay = (uint64_t)until;
	}
	if (delay == 0)
		delay = 1;
	schedule(c, delay);
}

/* --- the check-in data --------------------------------------------------- */

static json_t *installed(struct rpd *d)
{
	json_t *arr = json_array();
	const struct app *a;
	char iid[37];

	for (a = d->apps; arr && a; a = a->next) {
		if (!a->manifest)
			continue;
		if (json_array_size(arr) >= INSTALLED_MAX)
			break;
		rp_guid_format(a->hdr.image_id, iid);
		if (json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:s, s:I, s:s}", "component_id", a->id,
			"image_id", iid, "version", a->hdr.version,
			"security_version", (json_int_t)a->hdr.security_version,
			"name", a->manifest->name))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* One record in the check-in's REPORT form (docs/formats/checkin.md). */
static json_t *report_json(const struct rp_report *r)
{
	char id[37], desc[320], out[257];
	const char *detail, *type;
	json_t *o;
	size_t n;

	rp_guid_format(r->component_id, id);
	rp_report_describe(r, desc, sizeof(desc));
	/* "AppExit: exit_code=1; component_id=...; ...; detail=..." keeps
	 * its first part and the detail: the rest are fields of their own. */
	detail = strstr(desc, "; detail=");
	n = strcspn(desc, ";");
	snprintf(out, sizeof(out), "%.*s%s", (int)n, desc, detail ? detail : "");
	type = r->kind == RP_EXIT_CODE ? "AppExit" :
	       r->kind == RP_EXIT_SIGNAL ? "AppCrash" : "AppStartFailed";
	o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:i, s:i, s:s, s:I}",
		      "seq", (json_int_t)r->seq, "time", (json_int_t)r->time,
		      "component_id", id, "event_type", type,
		      "event_class", r->type == RP_EVENT_PLANNED ? "Planned" : "Unplanned",
		      "exit_code", r->kind == RP_EXIT_CODE ? (int)r->status : 0,
		      "signal", r->kind == RP_EXIT_SIGNAL ? (int)r->status : 0,
		      "description", out,
		      "security_version", (json_int_t)r->security_version);
	/* Optional in the check-in: a record without them (a start that
	 * failed before the package was read) leaves them out. */
	if (o && r->name[0])
		set(o, "app_name", json_string(r->name));
	if (o && r->version[0])
		set(o, "image_version", json_string(r->version));
	return o;
}

/* The oldest reports the service does not hold yet, at most 64. */
static json_t *unsent_reports(struct rpd_cloud *c)
{
	struct rp_report *recs = NULL;
	struct rp_err e;
	json_t *arr = json_array();
	size_t n = 0, i;

	c->sent_max = 0;
	rp_err_clear(&e);
	if (!arr)
		return NULL;
	if (rp_reports_read(&c->d->reports, &recs, &n, &e)) {
		rpd_log("cloud: reading reports: %s", e.msg);
		return arr;
	}
	for (i = 0; i < n && json_array_size(arr) < REPORTS_PER_CHECKIN; i++) {
		if (recs[i].seq <= c->acked_seq)
			continue;
		if (json_array_append_new(arr, report_json(&recs[i])))
			break;
		c->sent_max = recs[i].seq;
	}
	free(recs);
	return arr;
}

static int start_step(struct rpd_cloud *c, struct rp_err *e)
{
	json_t *req = json_pack("{s:s, s:o, s:o}", "runtime_version", RP_VERSION,
				"installed", installed(c->d),
				"error_reports", unsent_reports(c));
	int rc;

	if (!req)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = start(c, JOB_STEP, req, e);
	json_decref(req);
	return rc;
}

/* --- replies ------------------------------------------------------------- */

static void reply(int fd, json_t *result, const struct rp_err *err)
{
	struct rp_buf b;
	struct rp_err e;

	rp_err_clear(&e);
	if (!err && result && rp_ctl_resp_ok(json_incref(result), &b, &e) == 0) {
		if (rp_ctl_send(fd, b.data, b.len, -1, &e))
			rpd_log("cloud: reply not sent: %s", e.msg);
		rp_buf_free(&b);
	} else {
		char buf[RP_CTL_ERR_RESP_MAX];
		size_t n;

		rp_ctl_resp_err(err ? err : &e, buf, sizeof(buf), &n);
		if (rp_ctl_send(fd, buf, n, -1, &e))
			rpd_log("cloud: reply not sent: %s", e.msg);
	}
	close(fd);
}

static void reply_all(int *fds, size_t *n, json_t *result, const struct rp_err *err)
{
	size_t i;

	for (i = 0; i < *n; i++)
		reply(fds[i], result, err);
	*n = 0;
}

json_t *rpd_cloud_status(struct rpd *d)
{
	struct rpd_cloud *c = d->cloud;
	json_t *o;

	if (!c)
		return json_pack("{s:b}", "configured", 0);
	o = json_deep_copy(c->status);
	if (!o)
		return NULL;
	set(o, "configured", json_boolean(c->configured));
	set(o, "device_id", json_string(d->device_id));
	set(o, "busy", json_boolean(c->job != JOB_NONE));
	set(o, "helper", c->helper[0] ? json_string(c->helper) : json_null());
	set(o, "checkin_interval_s", json_integer((json_int_t)d->cfg.checkin_interval_s));
	return o;
}

/* --- a step has ended ---------------------------------------------------- */

static void apply_step(struct rpd_cloud *c, json_t *r)
{
	json_t *st = json_object_get(r, "state"), *ck = json_object_get(r, "checkin");
	json_t *t = json_object_get(r, "targets"), *te = json_object_get(r, "targets_error");
	json_t *err = json_object_get(r, "error");
	const char *state = json_is_string(st) ? json_string_value(st) : "error";
	uint64_t next_s = 0, top = c->d->reports.next_seq ? c->d->reports.next_seq - 1 : 0;
	int64_t now = now_s();

	set(c->status, "state", json_string(state));
	set(c->status, "message", json_is_string(err) ? json_incref(err) : json_null());
	set(c->status, "last_attempt", json_integer(now));
	set(c->status, "last_result", json_string(state));
	set(c->status, "certificate", json_incref(json_object_get(r, "certificate")));
	if (json_is_object(ck)) {
		json_t *a = json_object_get(ck, "reports_acked_seq");
		json_t *ns = json_object_get(ck, "next_checkin_s");

		set(c->status, "last_checkin", json_integer(now));
		set(c->status, "reports_sent", json_incref(json_object_get(ck, "reports_sent")));
		set(c->status, "reports_accepted",
		    json_incref(json_object_get(ck, "reports_accepted")));
		/* The service holds everything up to its acked seq; never
		 * believe it holds more than the device ever wrote. */
		if (json_is_integer(a) && json_integer_value(a) > 0) {
			uint64_t v = (uint64_t)json_integer_value(a);

			if (v > top)
				v = top;
			if (v > c->acked_seq)
				c->acked_seq = v;
		}
		if (json_is_integer(ns) && json_integer_value(ns) > 0)
			next_s = (uint64_t)json_integer_value(ns);
	}
	set(c->status, "reports_acked_seq", json_integer((json_int_t)c->acked_seq));
	if (json_is_object(t)) {
		set(c->status, "targets", json_incref(t));
		set(c->status, "targets_version",
		    json_incref(json_object_get(t, "version")));
	}
	set(c->status, "targets_error", json_is_string(te) ? json_incref(te) : json_null());
	if (strcmp(state, "error") == 0)
		c->failures++;
	else
		c->failures = 0;
	set(c->status, "failures", json_integer(c->failures));
	if (json_is_string(err))
		rpd_log("cloud: %s", json_string_value(err));
	if (json_is_string(te))
		rpd_log("cloud: %s", json_string_value(te));
	plan_next(c, state, next_s);
}

static void on_exit_helper(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_cloud *c = arg;
	enum job job = c->job;
	siginfo_t si;
	struct rp_err e;
	json_t *res = NULL, *reply_obj = NULL;
	int rc = 0;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	rp_err_clear(&e);
	while (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	/* It has exited: whatever it wrote is in the pipes. */
	(void)drain(c->out_fd, &c->out, RPC_OUT_MAX, &c->over);
	{
		int dummy = 0;

		(void)drain(c->err_fd, &c->err, RPC_ERR_MAX, &dummy);
	}
	free_ev(&c->ev_out);
	free_ev(&c->ev_err);
	free_ev(&c->ev_pid);
	free_ev(&c->ev_kill);
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	close_fd(&c->pidfd);
	c->job = JOB_NONE;
	if (c->killed) {
		rc = rp_err_set(&e, RP_EIO, "rampart-cloud: no answer within %llu ms; "
				"killed", (unsigned long long)c->d->cfg.cloud_timeout_ms);
	} else if (si.si_code != CLD_EXITED) {
		rc = rp_err_set(&e, RP_EIO, "rampart-cloud: killed by signal %d", si.si_status);
	} else if (si.si_status != 0) {
		char *nl;

		rc = rpv_code_from_status(si.si_status);
		if (c->err.len == 0 || rp_buf_append(&c->err, "", 1)) {
			rp_err_set(&e, rc, "rampart-cloud: exit status %d", si.si_status);
		} else {
			nl = memchr(c->err.data, '\n', c->err.len);
			if (nl)
				*nl = '\0';
			rp_err_set(&e, rc, "%s", (const char *)c->err.data);
		}
	} else if (c->over) {
		rc = rp_err_set(&e, RP_ERANGE, "rampart-cloud: output over %d bytes",
				RPC_OUT_MAX);
	} else if ((rc = rp_json_parse(c->out.data, c->out.len, RPC_OUT_MAX, &res, &e))) {
		rp_err_prefix(&e, "rampart-cloud: output");
	} else if (!json_is_object(res)) {
		rc = rp_err_set(&e, RP_EFORMAT, "rampart-cloud: output: not an object");
	}
	rp_buf_free(&c->out);
	rp_buf_free(&c->err);

	if (job == JOB_SETUP) {
		if (rc == 0) {
			c->configured = 1;
			json_decref(c->status);
			c->status = json_object();
			c->acked_seq = 0;
			c->failures = 0;
			if (c->status) {
				set(c->status, "url", json_incref(json_object_get(res, "url")));
				set(c->status, "tenant", json_incref(json_object_get(res, "tenant")));
				set(c->status, "state", json_string("set up"));
			}
			rpd_log("cloud: set up for %s", json_string_value(json_object_get(res, "url")));
			/* Straight on to the first step, for the same clients. */
			if (start_step(c, &e) == 0)
				goto out;
			rc = e.code;
		}
		reply_all(c->waiting, &c->nwaiting, NULL, &e);
		goto out;
	}
	if (rc) {
		/* The helper itself failed: a step that went wrong. */
		json_t *r = json_pack("{s:s, s:s}", "state", "error", "error", e.msg);

		if (r)
			apply_step(c, r);
		json_decref(r);
	} else {
		apply_step(c, res);
	}
	(void)save_status(c);
	reply_obj = json_pack("{s:o, s:O?}", "status", rpd_cloud_status(c->d),
			      "result", rc ? NULL : res);
	if (rc)
		reply_all(c->waiting, &c->nwaiting, NULL, &e);
	else
		reply_all(c->waiting, &c->nwaiting, reply_obj, NULL);
	if (c->again || c->npending) {
		c->again = 0;
		memcpy(c->waiting, c->pending, c->npending * sizeof(int));
		c->nwaiting = c->npending;
		c->npending = 0;
		if (start_step(c, &e))
			reply_all(c->waiting, &c->nwaiting, NULL, &e);
	}
out:
	json_decref(reply_obj);
	json_decref(res);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_cloud *c = arg;
	struct rp_err e;

	(void)fd;
	(void)what;
	if (!c->configured)
		return;
	if (c->job != JOB_NONE) {
		c->again = 1;
		return;
	}
	rp_err_clear(&e);
	if (start_step(c, &e)) {
		rpd_log("cloud: %s", e.msg);
		c->failures++;
		plan_next(c, "error", 0);
	}
}

/* --- rampartd's side of the API ------------------------------------------ */

int rpd_cloud_init(struct rpd *d, struct rp_err *e)
{
	struct rpd_cloud *c = calloc(1, sizeof(*c));
	char p[PATH_MAX];

	if (!c)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	c->d = d;
	c->pidfd = c->out_fd = c->err_fd = -1;
	c->status = json_object();
	c->ev_timer = evtimer_new(d->base, on_timer, c);
	if (!c->status || !c->ev_timer) {
		json_decref(c->status);
		free_ev(&c->ev_timer);
		free(c);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	d->cloud = c;
	if (rpd_path(d, p, sizeof(p), "cloud"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return rp_err_errno(e, errno, "%s", p);
	if (find_helper(d, c->helper)) {
		/* Not fatal: the device runs its apps without a cloud. */
		rpd_log("cloud: rampart-cloud not found%s%s; no cloud check-ins",
			d->cfg.cloud_helper[0] ? " at " : "", d->cfg.cloud_helper);
		c->helper[0] = '\0';
	}
	if (rpd_path(d, p, sizeof(p), "cloud/config.json"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	c->configured = access(p, F_OK) == 0;
	load_status(c);
	/* A ring made afresh numbers from 1 again: never skip its records. */
	if (c->acked_seq >= d->reports.next_seq)
		c->acked_seq = d->reports.next_seq ? d->reports.next_seq - 1 : 0;
	if (c->configured && c->helper[0])
		schedule(c, 1); /* soon after start, off the start path */
	return 0;
}

void rpd_cloud_stop(struct rpd *d)
{
	struct rpd_cloud *c = d->cloud;
	struct rp_err e;

	if (!c)
		return;
	rp_err_set(&e, RP_EIO, "rampartd is stopping");
	if (c->job != JOB_NONE) {
		(void)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		(void)waitpid(c->pid, NULL, 0);
		free_ev(&c->ev_out);
		free_ev(&c->ev_err);
		free_ev(&c->ev_pid);
		free_ev(&c->ev_kill);
		close_fd(&c->out_fd);
		close_fd(&c->err_fd);
		close_fd(&c->pidfd);
		rp_buf_free(&c->out);
		rp_buf_free(&c->err);
		c->job = JOB_NONE;
	}
	reply_all(c->waiting, &c->nwaiting, NULL, &e);
	reply_all(c->pending, &c->npending, NULL, &e);
	free_ev(&c->ev_timer);
	json_decref(c->status);
	free(c);
	d->cloud = NULL;
}

static int add_waiter(int *list, size_t *n, int fd, struct rp_err *e)
{
	int w;

	if (*n >= RPD_CLIENTS_MAX)
		return rp_err_set(e, RP_EIO, "too many clients waiting for the cloud");
	w = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w < 0)
		return rp_err_errno(e, errno, "dup");
	list[(*n)++] = w;
	return 0;
}

int rpd_cloud_check(struct rpd *d, int fd, struct rp_err *e)
{
	struct rpd_cloud *c = d->cloud;
	int rc;

	if (!c || !c->helper[0])
		return rp_err_set(e, RP_EINVAL, "no cloud client: rampart-cloud was not "
				  "found next to rampartd or in %s", RP_LIBEXECDIR);
	if (!c->configured)
		return rp_err_set(e, RP_EINVAL, "the cloud connection is not set up; "
				  "run `rampart device cloud setup`");
	if (c->job != JOB_NONE) {
		/* This step may have begun before the request: wait for the
		 * next one. */
		if ((rc = add_waiter(c->pending, &c->npending, fd, e)))
			return rc;
		c->again = 1;
		return RPD_REPLY_LATER;
	}
	if ((rc = add_waiter(c->waiting, &c->nwaiting, fd, e)))
		return rc;
	if ((rc = start_step(c, e))) {
		close(c->waiting[--c->nwaiting]);
		return rc;
	}
	return RPD_REPLY_LATER;
}

int rpd_cloud_setup(struct rpd *d, const struct rp_ctl_req *r, int fd,
		    struct rp_err *e)
{
	struct rpd_cloud *c = d->cloud;
	json_t *req;
	int rc;

	if (!c || !c->helper[0])
		return rp_err_set(e, RP_EINVAL, "no cloud client: rampart-cloud was not "
				  "found next to rampartd or in %s", RP_LIBEXECDIR);
	if (c->job != JOB_NONE)
		return rp_err_set(e, RP_EINVAL, "a cloud step is running; try again "
				  "in a moment");
	req = json_pack("{s:s, s:s, s:s}", "url", r->url, "tenant", r->tenant,
			"server_ca", r->server_ca);
	if (req && r->enroll_token[0] &&
	    json_object_set_new(req, "enroll_token", json_string(r->enroll_token))) {
		json_decref(req);
		req = NULL;
	}
	if (!req)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if ((rc = add_waiter(c->waiting, &c->nwaiting, fd, e)) == 0 &&
	    (rc = start(c, JOB_SETUP, req, e)))
		close(c->waiting[--c->nwaiting]);
	json_decref(req);
	return rc ? rc : RPD_REPLY_LATER;
}
