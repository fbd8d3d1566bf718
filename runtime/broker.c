/* The app socket. Each running app instance has a socket,
 * <run_dir>/app.sock, seen in its compartment as /run/rampart/app.sock;
 * this file accepts its connections, frames and decodes its requests
 * (lib/ctl/appreq.h) and dispatches them: peripherals to periph.c, system
 * events, power and device auth to sysevent.c, and inter-app channels
 * (AllowedApplicationConnections) here: an app asks
 * {"connect":"<ComponentId>"}; when both manifests list each other and
 * the partner is running and connected to its own app socket, rampartd
 * makes a socketpair and hands one end to each
 * (docs/formats/control-protocol.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "rampartd.h"

static void conn_close(struct chan_conn *c)
{
	if (c->fd >= 0)
		rpd_sysev_conn_closed(c);
	c->events = 0;
	rp_ctl_lines_free(&c->in);
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void rpd_chan_close(struct inst *in)
{
	size_t i;

	for (i = 0; i < RPD_CHAN_CONNS_MAX; i++)
		conn_close(&in->conns[i]);
	if (in->ev_chan)
		event_free(in->ev_chan);
	in->ev_chan = NULL;
	if (in->chan_fd >= 0)
		close(in->chan_fd);
	in->chan_fd = -1;
}

/* Does m list id in Capabilities.AllowedApplicationConnections? */
static int lists(const struct rp_manifest *m, const uint8_t id[16])
{
	json_t *arr = json_object_get(json_object_get(m->root, "Capabilities"),
				      "AllowedApplicationConnections");
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		uint8_t g[16];

		if (json_is_string(v) &&
		    rp_guid_parse(json_string_value(v), json_string_length(v), g) == 0 &&
		    memcmp(g, id, 16) == 0)
			return 1;
	}
	return 0;
}

int rpd_chan_reply(struct chan_conn *c, json_t *o, int fd)
{
	char buf[RP_CTL_CHAN_MAX + 1];
	struct rp_err e;
	size_t n;

	rp_err_clear(&e);
	if (c->fd >= 0 && rp_appreq_reply_encode(o, buf, sizeof(buf), &n, &e) == 0 &&
	    rp_ctl_send(c->fd, buf, n, fd, &e) == 0)
		return 0;
	if (c->fd < 0)
		json_decref(o);
	rpd_log("app %s: reply: %s", c->app->id, e.msg[0] ? e.msg : "connection closed");
	return -1;
}

static void reply_err(struct chan_conn *c, const struct rp_err *err)
{
	char buf[RP_CTL_CHAN_MAX];
	struct rp_err e;
	size_t n;

	rp_err_clear(&e);
	if (rp_ctl_chan_encode_err(err, buf, sizeof(buf), &n, &e) == 0 &&
	    rp_ctl_send(c->fd, buf, n, -1, &e) == 0)
		return;
	rpd_log("app %s: channel reply: %s", c->app->id, e.msg);
}

/* The partner's connection that receives incoming channels: its oldest
 * (first accepted; not the lowest slot, which a newer connection may take
 * once an older one closes). */
static struct chan_conn *partner_conn(struct app *b)
{
	struct chan_conn *best = NULL;
	size_t i;

	if (!b->cur || b->state != APP_RUNNING)
		return NULL;
	for (i = 0; i < RPD_CHAN_CONNS_MAX; i++)
		if (b->cur->conns[i].fd >= 0 &&
		    (!best || b->cur->conns[i].seq < best->seq))
			best = &b->cur->conns[i];
	return best;
}

static int connect_apps(struct chan_conn *c, const uint8_t id[16],
			struct rp_err *e)
{
	struct app *a = c->app, *b;
	struct chan_conn *pc;
	char t[37], buf[RP_CTL_CHAN_MAX];
	size_t n;
	int sp[2] = { -1, -1 }, rc;

	rp_guid_format(id, t);
	if (memcmp(id, a->cid, 16) == 0)
		return rp_err_set(e, RP_EPOLICY, "an app cannot connect to itself");
	if (!lists(a->manifest, id))
		return rp_err_set(e, RP_EPOLICY, "%s is not in this app's "
				  "AllowedApplicationConnections", t);
	b = rpd_app_find(a->d, id);
	if (!b || !b->manifest)
		return rp_err_set(e, RP_EPOLICY, "no app %s is installed", t);
	if (!lists(b->manifest, a->cid))
		return rp_err_set(e, RP_EPOLICY, "%s does not list %s in its "
				  "AllowedApplicationConnections", t, a->id);
	pc = partner_conn(b);
	if (!pc)
		return rp_err_set(e, RP_EPOLICY, "%s is not running or not accepting "
				  "connections", t);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return rp_err_errno(e, errno, "socketpair");
	if ((rc = rp_ctl_chan_encode("incoming", a->cid, buf, sizeof(buf), &n, e)) ||
	    (rc = rp_ctl_send(pc->fd, buf, n, sp[1], e))) {
		rp_err_prefix(e, "telling %s", t);
		goto out;
	}
	if ((rc = rp_ctl_chan_encode("connected", id, buf, sizeof(buf), &n, e)) ||
	    (rc = rp_ctl_send(c->fd, buf, n, sp[0], e)))
		goto out;
	rpd_log("channel: %s <-> %s", a->id, b->id);
out:
	close(sp[0]);
	close(sp[1]);
	return rc;
}

static int dispatch(struct chan_conn *c, const struct rp_appreq *r,
		    struct rp_err *e)
{
	int fd = -1, rc;

	switch (r->kind) {
	case RP_APPREQ_CONNECT:
		return connect_apps(c, r->target, e);
	case RP_APPREQ_OPEN:
		if ((rc = rpd_periph_open(c, r, &fd, e)))
			return rc;
		rpd_log("app %s: opened %s %u", c->app->id,
			rp_appreq_periph_name(r->periph), r->id);
		(void)rpd_chan_reply(c, json_pack("{s:s, s:I}", "opened",
						  rp_appreq_periph_name(r->periph),
						  "id", (json_int_t)r->id), fd);
		close(fd);
		return 0;
	case RP_APPREQ_SYSEVENT:
	case RP_APPREQ_POWER:
	case RP_APPREQ_DEVICEAUTH:
	case RP_APPREQ_STORAGE:
		rpd_sysev_request(c, r);
		return 0;
	}
	return rp_err_set(e, RP_EINVAL, "unknown request");
}

static void on_msg(evutil_socket_t fd, short what, void *arg)
{
	struct chan_conn *c = arg;
	uint8_t line[RP_CTL_CHAN_MAX];
	struct rp_appreq req;
	struct rp_err e;
	size_t n;
	int rc, pfd, lines = 0;

	(void)what;
	rp_err_clear(&e);
	/* Descriptors from an app are never accepted (accept_fd 0 closes
	 * them); an over-long line or a descriptor ends the connection. */
	rc = rp_ctl_lines_fill(fd, &c->in, 0, 1, &e);
	if (rc == -EAGAIN)
		return;
	if (rc) {
		if (rc < 0) {
			rpd_log("app %s: channel: %s", c->app->id, e.msg);
			reply_err(c, &e);
		}
		conn_close(c);
		return;
	}
	/* A bounded number of requests per wakeup keeps the loop fair. */
	while (lines++ < 8 && rp_ctl_lines_next(&c->in, line, sizeof(line), &n, &pfd) == 0) {
		if (pfd >= 0)
			close(pfd);
		rp_err_clear(&e);
		if ((rc = rp_appreq_decode(line, n, &req, &e)) == 0)
			rc = dispatch(c, &req, &e);
		if (rc) {
			rpd_log("app %s: request refused: %s", c->app->id, e.msg);
			reply_err(c, &e);
		}
		if (c->fd < 0)
			return;
	}
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct inst *in = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t i;
	int c;

	(void)what;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return;
	/* Only the app's own processes (its host uid) may use its socket. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != (uid_t)in->app->st.uid && cred.uid != 0)) {
		close(c);
		return;
	}
	for (i = 0; i < RPD_CHAN_CONNS_MAX; i++)
		if (in->conns[i].fd < 0)
			break;
	if (i == RPD_CHAN_CONNS_MAX) {
		close(c);
		return;
	}
	in->conns[i].app = in->app;
	in->conns[i].fd = c;
	in->conns[i].seq = in->conn_seq++;
	rp_ctl_lines_init(&in->conns[i].in);
	in->conns[i].ev = event_new(in->app->d->base, c, EV_READ | EV_PERSIST,
				    on_msg, &in->conns[i]);
	if (!in->conns[i].ev || event_add(in->conns[i].ev, NULL))
		conn_close(&in->conns[i]);
}

int rpd_chan_listen(struct inst *in, struct rp_err *e)
{
	struct sockaddr_un sa;
	int fd = -1, rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/app.sock", in->run_dir) >=
	    (int)sizeof(sa.sun_path))
		return rp_err_set(e, RP_ERANGE, "%s/app.sock: path too long for a "
				  "socket (use a shorter --state-dir)", in->run_dir);
	/* Stream: the compartment may create only stream and datagram
	 * sockets; messages are lines (docs/formats/control-protocol.md). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rp_err_errno(e, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chown(sa.sun_path, (uid_t)in->app->st.uid, (gid_t)in->app->st.uid) < 0 ||
	    chmod(sa.sun_path, 0600) < 0 || listen(fd, 8) < 0) {
		rc = rp_err_errno(e, errno, "%s", sa.sun_path);
		goto out;
	}
	in->ev_chan = event_new(in->app->d->base, fd, EV_READ | EV_PERSIST,
				on_accept, in);
	if (!in->ev_chan || event_add(in->ev_chan, NULL)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	in->chan_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
