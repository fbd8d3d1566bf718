/* System events, deferred updates, power controls, device auth and
 * storage: the app-socket requests other than connect and open
 * (docs/formats/control-protocol.md, "App channel").
 *
 * Update deferral. An app with SystemEventNotifications registers for
 * UpdateReadyForInstall on one of its app-socket connections. When a
 * sideload arrives while any running app is registered, rampartd stages
 * the package (apps/.staging-<id>), sends each registered connection
 * {"event":"UpdateReadyForInstall",...} and gives the apps
 * update_notice_ms to answer, without blocking the loop; the sideload
 * request is answered when the decision is made. An app with
 * SoftwareUpdateDeferral may defer (up to 24 h from the notice); the
 * staged update is then installed when the last deferral expires, when
 * the deferring app resumes, or when it stops. One update waits at a
 * time; another sideload meanwhile is refused, saying why. Every
 * decision runs from a libevent timer (never from inside the supervisor's
 * exit handling). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "rampartd.h"

#define NOTIFY_MAX 32 /* apps told about one update */

struct notified {
	uint8_t cid[16];
	int answered;
	time_t until;              /* deferred until (wall clock), or 0 */
};

struct rpd_update {
	struct rpd *d;
	struct rpd_staged s;
	int client_fd;             /* control connection awaiting the reply */
	struct event *timer;
	int deferred;              /* 0: notice window; 1: deferred */
	uint64_t notice_end_ms;    /* monotonic */
	time_t notified_at;
	struct notified apps[NOTIFY_MAX];
	size_t n;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void arm(struct rpd_update *u, uint64_t ms)
{
	struct timeval tv = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	(void)evtimer_add(u->timer, &tv);
}

static int has_cap(const struct app *a, const char *cap)
{
	return a->manifest &&
	       json_is_true(json_object_get(json_object_get(a->manifest->root,
							    "Capabilities"), cap));
}

static int lists_power(const struct app *a, const char *what)
{
	json_t *arr = json_object_get(json_object_get(a->manifest->root, "Capabilities"),
				      "PowerControls");
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
			return 1;
	}
	return 0;
}

static void reply_err(struct chan_conn *c, int code, const char *fmt, ...)
	RP_PRINTF(3, 4);

static void reply_err(struct chan_conn *c, int code, const char *fmt, ...)
{
	char msg[RP_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpd_log("app %s: request refused: %s", c->app->id, msg);
	(void)rpd_chan_reply(c, json_pack("{s:i, s:s}", "code", code, "error", msg), -1);
}

static struct notified *find_notified(struct rpd_update *u, const uint8_t cid[16])
{
	size_t i;

	for (i = 0; u && i < u->n; i++)
		if (memcmp(u->apps[i].cid, cid, 16) == 0)
			return &u->apps[i];
	return NULL;
}

/* Wake the decision from the loop (never from the caller's stack). */
static void kick(struct rpd_update *u)
{
	if (u)
		arm(u, 0);
}

/* --- answering the sideload ---------------------------------------------- */

static void client_reply(struct rpd_update *u, json_t *result, const struct rp_err *err)
{
	struct rp_err e;
	struct rp_buf b;

	rp_err_clear(&e);
	if (u->client_fd < 0) {
		json_decref(result);
		return;
	}
	if (err) {
		char buf[RP_CTL_ERR_RESP_MAX];
		size_t n;

		rp_ctl_resp_err(err, buf, sizeof(buf), &n);
		if (rp_ctl_send(u->client_fd, buf, n, -1, &e))
			rpd_log("sideload reply not sent: %s", e.msg);
	} else if (!result || rp_ctl_resp_ok(result, &b, &e)) {
		rpd_log("sideload reply: %s", result ? e.msg : "out of memory");
	} else {
		if (rp_ctl_send(u->client_fd, b.data, b.len, -1, &e))
			rpd_log("sideload reply not sent: %s", e.msg);
		rp_buf_free(&b);
	}
	close(u->client_fd);
	u->client_fd = -1;
}

static void update_free(struct rpd_update *u)
{
	if (u->client_fd >= 0)
		close(u->client_fd);
	if (u->timer)
		event_free(u->timer);
	rpd_install_discard(&u->s);
	free(u);
}

/* The name and id of the app whose deferral ends last. */
static const struct notified *last_deferrer(const struct rpd_update *u)
{
	const struct notified *best = NULL;
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->apps[i].until && (!best || u->apps[i].until > best->until))
			best = &u->apps[i];
	return best;
}

static void apply(struct rpd_update *u)
{
	struct rpd *d = u->d;
	struct app *a = NULL;
	struct rp_err e;
	int rc;

	d->update = NULL;
	rp_err_clear(&e);
	rc = rpd_install_commit(d, &u->s, &a, &e);
	if (rc) {
		rpd_log("deferred update of %s: %s", u->s.img.manifest->component_id_text,
			e.msg);
		client_reply(u, NULL, &e);
	} else {
		rpd_log("installed %s version %s%s", a->id, a->hdr.version,
			u->deferred ? " (its deferral ended)" : "");
		client_reply(u, json_pack("{s:o}", "app", rpd_app_json(a, 0)), NULL);
	}
	update_free(u);
}

static json_t *deferral_json(const struct rpd_update *u)
{
	const struct notified *n = last_deferrer(u);
	const struct app *by = n ? rpd_app_find(u->d, n->cid) : NULL;
	char t[37], when[32];

	if (!n)
		return json_null();
	rp_guid_format(n->cid, t);
	rp_time_iso((uint64_t)n->until, when, sizeof(when));
	return json_pack("{s:s, s:s?, s:s, s:I}", "by", t,
			 "by_name", by && by->manifest ? by->manifest->name : NULL,
			 "until", when, "until_unix", (json_int_t)n->until);
}

/* The notice window is over: install now, or wait for the deferral. */
static void decide(struct rpd_update *u)
{
	const struct notified *n = last_deferrer(u);
	const struct app *cur;
	char t[37], when[32];

	if (!n || n->until <= time(NULL)) {
		apply(u);
		return;
	}
	u->deferred = 1;
	rp_guid_format(n->cid, t);
	rp_time_iso((uint64_t)n->until, when, sizeof(when));
	rpd_log("update of %s deferred by %s until %s",
		u->s.img.manifest->component_id_text, t, when);
	cur = rpd_app_find(u->d, u->s.img.manifest->component_id);
	client_reply(u, json_pack("{s:o, s:{s:s, s:s, s:o}}",
				  "app", cur ? rpd_app_json(cur, 0) : json_null(),
				  "update", "component_id",
				  u->s.img.manifest->component_id_text,
				  "version", u->s.img.pkg.version,
				  "deferred", deferral_json(u)), NULL);
	arm(u, (uint64_t)(n->until - time(NULL)) * 1000u);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_update *u = arg;
	const struct notified *n;
	size_t i;

	(void)fd;
	(void)what;
	if (u->d->shutting_down)
		return; /* dropped at exit (rpd_update_fini) */
	if (!u->deferred) {
		uint64_t now = mono_ms();
		int all = 1;

		for (i = 0; i < u->n; i++)
			all &= u->apps[i].answered;
		if (all || now >= u->notice_end_ms)
			decide(u);
		else
			arm(u, u->notice_end_ms - now);
		return;
	}
	n = last_deferrer(u);
	if (!n || n->until <= time(NULL))
		apply(u);
	else
		arm(u, (uint64_t)(n->until - time(NULL)) * 1000u);
}

/* --- the sideload --------------------------------------------------------- */

static int registered(const struct app *a)
{
	size_t i;

	if (!a->cur || a->state != APP_RUNNING)
		return 0;
	for (i = 0; i < RPD_CHAN_CONNS_MAX; i++)
		if (a->cur->conns[i].fd >= 0 &&
		    (a->cur->conns[i].events & RP_EV_UPDATE_READY))
			return 1;
	return 0;
}

int rpd_update_deploy(struct rpd *d, int pkg_fd, int client_fd, json_t **out,
		      struct rp_err *e)
{
	struct rpd_update *u;
	struct app *a;
	size_t i;
	int rc, any = 0;

	*out = NULL;
	if (d->update) {
		char t[64] = "";

		if (d->update->deferred) {
			const struct notified *n = last_deferrer(d->update);

			if (n)
				rp_time_iso((uint64_t)n->until, t, sizeof(t));
		}
		return rp_err_set(e, RP_EPOLICY, "sideload: an update of %s is waiting "
				  "(%s%s); try again when it is installed, or stop the "
				  "app that defers it",
				  d->update->s.img.manifest->component_id_text,
				  d->update->deferred ? "deferred until " : "apps are being "
				  "asked whether to defer it", t);
	}
	for (a = d->apps; a; a = a->next)
		any |= registered(a);
	if (!any) {
		if ((rc = rpd_install(d, pkg_fd, &a, e)))
			return rc;
		rpd_log("installed %s version %s", a->id, a->hdr.version);
		*out = json_pack("{s:o}", "app", rpd_app_json(a, 0));
		return 0;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	u->d = d;
	u->client_fd = -1;
	if ((rc = rpd_install_stage(d, pkg_fd, &u->s, e))) {
		free(u);
		return rc;
	}
	u->timer = evtimer_new(d->base, on_timer, u);
	u->client_fd = fcntl(client_fd, F_DUPFD_CLOEXEC, 3);
	if (!u->timer || u->client_fd < 0) {
		update_free(u);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	u->notified_at = time(NULL);
	u->notice_end_ms = mono_ms() + d->cfg.update_notice_ms;
	d->update = u;
	for (a = d->apps; a && u->n < NOTIFY_MAX; a = a->next) {
		char t[37];

		if (!registered(a))
			continue;
		memcpy(u->apps[u->n].cid, a->cid, 16);
		u->n++;
		rp_guid_format(u->s.img.manifest->component_id, t);
		for (i = 0; i < RPD_CHAN_CONNS_MAX; i++) {
			struct chan_conn *c = &a->cur->conns[i];

			if (c->fd >= 0 && (c->events & RP_EV_UPDATE_READY))
				(void)rpd_chan_reply(c, json_pack(
					"{s:s, s:s, s:i}", "event", "UpdateReadyForInstall",
					"component_id", t, "max_deferral_minutes",
					RP_DEFER_MINUTES_MAX), -1);
		}
		rpd_log("update of %s: told %s", t, a->id);
	}
	arm(u, d->cfg.update_notice_ms);
	return RPD_REPLY_LATER;
}

void rpd_update_inst_end(struct inst *in)
{
	struct rpd_update *u = in->app->d->update;
	struct notified *n = find_notified(u, in->app->cid);

	if (!n)
		return;
	/* The deferring app stopped: its deferral ends with it. */
	n->answered = 1;
	n->until = 0;
	kick(u);
}

void rpd_sysev_conn_closed(struct chan_conn *c)
{
	struct rpd_update *u = c->app->d->update;
	struct notified *n = find_notified(u, c->app->cid);
	size_t i;

	if (!n || n->answered || !c->app->cur)
		return;
	/* Its last registered connection is gone: it cannot answer. */
	for (i = 0; i < RPD_CHAN_CONNS_MAX; i++) {
		struct chan_conn *o = &c->app->cur->conns[i];

		if (o != c && o->fd >= 0 && (o->events & RP_EV_UPDATE_READY))
			return;
	}
	n->answered = 1;
	kick(u);
}

json_t *rpd_update_detail(const struct app *a)
{
	const struct rpd_update *u = a->d->update;
	const struct notified *n;
	char when[32], buf[96];

	if (!u || memcmp(u->s.img.manifest->component_id, a->cid, 16) != 0)
		return json_null();
	if (!u->deferred) {
		(void)snprintf(buf, sizeof(buf), "update %s waiting for apps to answer",
			       u->s.img.pkg.version);
		return json_string(buf);
	}
	n = last_deferrer(u);
	if (!n)
		return json_string("update about to be installed");
	rp_time_iso((uint64_t)n->until, when, sizeof(when));
	(void)snprintf(buf, sizeof(buf), "update %s deferred until %s",
		       u->s.img.pkg.version, when);
	return json_string(buf);
}

void rpd_update_fini(struct rpd *d)
{
	struct rpd_update *u = d->update;
	struct rp_err e;

	if (!u)
		return;
	d->update = NULL;
	rp_err_set(&e, RP_EIO, "rampartd is stopping: the update of %s was not "
		   "installed", u->s.img.manifest->component_id_text);
	rpd_log("%s", e.msg);
	client_reply(u, NULL, &e);
	update_free(u);
}

/* --- the app's requests ----------------------------------------------------- */

static void sysevent(struct chan_conn *c, const struct rp_appreq *r)
{
	struct app *a = c->app;
	struct rpd_update *u = a->d->update;
	struct notified *n = find_notified(u, a->cid);
	json_t *arr;
	unsigned bit;

	switch (r->sysev) {
	case RP_SYSEV_REGISTER:
		if (!has_cap(a, "SystemEventNotifications")) {
			reply_err(c, -EPERM, "registering for system events needs "
				  "Capabilities.SystemEventNotifications");
			return;
		}
		c->events |= r->events;
		arr = json_array();
		for (bit = 1; arr && bit <= RP_EV_ALL; bit <<= 1)
			if (r->events & bit)
				(void)json_array_append_new(arr, json_string(
					rp_appreq_event_name(bit)));
		(void)rpd_chan_reply(c, json_pack("{s:o}", "registered", arr), -1);
		return;
	case RP_SYSEV_UNREGISTER:
		c->events = 0;
		(void)rpd_chan_reply(c, json_pack("{s:b}", "unregistered", 1), -1);
		rpd_sysev_conn_closed(c);
		return;
	case RP_SYSEV_DEFER: {
		time_t now = time(NULL), until, cap;

		if (!has_cap(a, "SoftwareUpdateDeferral")) {
			reply_err(c, -EPERM, "deferring updates needs "
				  "Capabilities.SoftwareUpdateDeferral");
			return;
		}
		if (!n) {
			reply_err(c, -EINVAL, "no update is waiting for this app's answer");
			return;
		}
		until = now + (time_t)r->minutes * 60;
		cap = u->notified_at + (time_t)RP_DEFER_MINUTES_MAX * 60;
		if (until > cap)
			until = cap;
		n->until = until;
		n->answered = 1;
		rpd_log("app %s deferred the update of %s by %u minute(s)", a->id,
			u->s.img.manifest->component_id_text, r->minutes);
		(void)rpd_chan_reply(c, json_pack("{s:I}", "deferred_until",
						  (json_int_t)until), -1);
		kick(u);
		return;
	}
	case RP_SYSEV_RESUME:
		if (n) {
			n->until = 0;
			n->answered = 1;
			rpd_log("app %s resumed the update of %s", a->id,
				u->s.img.manifest->component_id_text);
			kick(u);
		}
		(void)rpd_chan_reply(c, json_pack("{s:b}", "resumed", 1), -1);
		return;
	}
}

static void power(struct chan_conn *c, const struct rp_appreq *r)
{
	struct app *a = c->app;
	const char *what = rp_appreq_power_name(r->power);
	char detail[96];

	if (!lists_power(a, what)) {
		reply_err(c, -EPERM, "%s is not in this app's Capabilities.PowerControls",
			  what);
		return;
	}
	if (r->power == RP_POWER_PROFILE)
		(void)snprintf(detail, sizeof(detail), "%s %s requested", what,
			       rp_appreq_profile_name(r->profile));
	else
		(void)snprintf(detail, sizeof(detail), "%s requested", what);
	rpd_log("app %s: %s%s", a->id, detail, a->d->cfg.power_actions ? "" :
		" (power actions are disabled by configuration)");
	rpd_report(a->d, a, RP_EVENT_PLANNED, RP_EXIT_REQUEST, 0, detail);
	if (!a->d->cfg.power_actions) {
		(void)rpd_chan_reply(c, json_pack("{s:b, s:s}", "done", 0, "reason",
						  "power actions disabled by configuration"), -1);
		return;
	}
	/* Power profiles have no Linux counterpart rampartd drives yet;
	 * reboot and power-down are the system's (systemd's) to do. */
	if (r->power == RP_POWER_PROFILE) {
		(void)rpd_chan_reply(c, json_pack("{s:b, s:s}", "done", 0, "reason",
						  "power profiles are not supported on this device"), -1);
		return;
	}
	(void)rpd_chan_reply(c, json_pack("{s:b}", "done", 1), -1);
	{
		char prog[] = "systemctl", reboot[] = "reboot", off[] = "poweroff";
		char *argv[] = { prog, r->power == RP_POWER_REBOOT ? reboot : off, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		if (pid < 0)
			rpd_log("app %s: %s: fork: %s", a->id, what, strerror(errno));
	}
}

static void quota(struct chan_conn *c)
{
	struct app *a = c->app;
	struct statvfs sv;

	if (!a->manifest->storage_kb || !a->cur || !a->cur->storage[0]) {
		reply_err(c, -ENOENT, "this app has no MutableStorage");
		return;
	}
	if (statvfs(a->cur->storage, &sv) < 0) {
		reply_err(c, -EIO, "MutableStorage: %s", strerror(errno));
		return;
	}
	(void)rpd_chan_reply(c, json_pack("{s:I, s:I}", "size_kb",
					  (json_int_t)a->manifest->storage_kb, "used_kb",
					  (json_int_t)((sv.f_blocks - sv.f_bfree) *
						       sv.f_frsize / 1024u)), -1);
}

void rpd_sysev_request(struct chan_conn *c, const struct rp_appreq *r)
{
	switch (r->kind) {
	case RP_APPREQ_SYSEVENT:
		sysevent(c, r);
		return;
	case RP_APPREQ_POWER:
		power(c, r);
		return;
	case RP_APPREQ_DEVICEAUTH:
		/* Issue 5 gives the device a certificate. */
		(void)rpd_chan_reply(c, json_pack("{s:b, s:s}", "ready", 0, "reason",
						  "the device has no certificate yet"), -1);
		return;
	case RP_APPREQ_STORAGE:
		quota(c);
		return;
	case RP_APPREQ_CONNECT:
	case RP_APPREQ_OPEN:
		reply_err(c, -EINVAL, "unknown request");
		return;
	}
}
