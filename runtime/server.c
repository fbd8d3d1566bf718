/* The control socket: `rampart device ...` talks to rampartd here.
 * One SEQPACKET message per request and per response
 * (docs/formats/control-protocol.md). Peers are authenticated with
 * SO_PEERCRED / SO_PEERGROUPS: root, or a member of the configured group. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/file.h"
#include "rampartd.h"

#define SNDBUF (2 * RP_CTL_MSG_MAX + 65536)

/* --- replies ------------------------------------------------------------ */

static void send_err(int fd, const struct rp_err *err)
{
	char buf[RP_CTL_ERR_RESP_MAX];
	struct rp_err e;
	size_t n;

	rp_ctl_resp_err(err, buf, sizeof(buf), &n);
	rp_err_clear(&e);
	if (rp_ctl_send(fd, buf, n, -1, &e))
		rpd_log("reply not sent: %s", e.msg);
}

static int send_ok(int fd, json_t *result, struct rp_err *e)
{
	struct rp_buf b;
	int rc;

	if (!result)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if ((rc = rp_ctl_resp_ok(result, &b, e)))
		return rc;
	rc = rp_ctl_send(fd, b.data, b.len, -1, e);
	rp_buf_free(&b);
	return rc;
}

/* --- operations --------------------------------------------------------- */

static json_t *show(struct rpd *d)
{
	char p[PATH_MAX];
	const struct app *a;
	int napps = 0, ndev = 0, nprod = 0;

	for (a = d->apps; a; a = a->next)
		napps++;
	if (rpd_path(d, p, sizeof(p), "trust/development") == 0)
		ndev = rpd_count_keys(p);
	if (rpd_path(d, p, sizeof(p), "trust/production") == 0)
		nprod = rpd_count_keys(p);
	if (d->cfg.production_trust_dir[0])
		nprod += rpd_count_keys(d->cfg.production_trust_dir);
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s}",
			 "device_id", d->device_id,
			 "mode", d->mode == MODE_DEVELOPMENT ? "development" : "cloud-test",
			 "state_dir", d->state_dir,
			 "apps", napps, "running", rpd_apps_running(d),
			 "production_keys", nprod, "development_keys", ndev,
			 "version", RP_VERSION);
}

static int save_state(struct app *a, struct rp_err *e)
{
	struct rp_buf b;
	char p[PATH_MAX];
	int rc;

	if (snprintf(p, sizeof(p), "%s/state", a->dir) >= (int)sizeof(p))
		return rp_err_set(e, RP_ERANGE, "path too long");
	if ((rc = rp_app_state_encode(&a->st, &b, e)))
		return rc;
	rc = rp_file_write(p, b.data, b.len, 0644, 0, e);
	rp_buf_free(&b);
	return rc;
}

/* The apps a request names: one (component_id) or all. */
static int select_apps(struct rpd *d, const struct rp_ctl_req *r,
		       struct app **one, struct rp_err *e)
{
	*one = NULL;
	if (!r->has_component)
		return 0;
	*one = rpd_app_find(d, r->component_id);
	if (!*one)
		return rp_err_set(e, RP_EINVAL, "no app %s is installed",
				  r->component_text);
	return 0;
}

static int start_stop(struct rpd *d, const struct rp_ctl_req *r, json_t **out,
		      struct rp_err *e)
{
	struct app *one, *a;
	json_t *arr;
	int rc, start = r->op == RP_CTL_APP_START;

	if ((rc = select_apps(d, r, &one, e)))
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (a = one ? one : d->apps; a; a = one ? NULL : a->next) {
		if (start && !a->manifest) {
			json_decref(arr);
			return rp_err_set(e, RP_EPOLICY, "app %s cannot start: %s", a->id,
					  a->last_error);
		}
		a->st.enabled = start;
		if ((rc = save_state(a, e))) {
			json_decref(arr);
			return rc;
		}
		if (start) {
			a->backoff_ms = d->cfg.backoff_initial_ms;
			if (a->state != APP_RUNNING && a->state != APP_STOPPING) {
				a->state = APP_STOPPED;
				rpd_app_start(a);
			}
		} else {
			rpd_app_stop(a, 1);
		}
		(void)json_array_append_new(arr, rpd_app_json(a, 0));
	}
	*out = json_pack("{s:o}", "apps", arr);
	return 0;
}

static int list(struct rpd *d, const struct rp_ctl_req *r, int detailed,
		json_t **out, struct rp_err *e)
{
	struct app *one, *a;
	json_t *arr;
	int rc;

	if ((rc = select_apps(d, r, &one, e)))
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (a = one ? one : d->apps; a; a = one ? NULL : a->next)
		if (json_array_append_new(arr, rpd_app_json(a, detailed))) {
			json_decref(arr);
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		}
	*out = json_pack("{s:o}", "apps", arr);
	return 0;
}

/* Log bytes as a JSON string: valid UTF-8 kept, other bytes as U+FFFD. */
static json_t *log_text(const uint8_t *p, size_t n)
{
	struct rp_buf b;
	json_t *s;
	size_t i = 0;

	rp_buf_init(&b, n * 3 + 1);
	while (i < n) {
		size_t k = 0, j;
		uint8_t c = p[i];

		if (c < 0x80)
			k = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			k = 2;
		else if (c >= 0xe0 && c <= 0xef)
			k = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 4;
		for (j = 1; k > 1 && j < k; j++)
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				k = 0;
		/* Refuse overlongs, surrogates and values over U+10FFFF. */
		if (k == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) ||
			       (c == 0xed && p[i + 1] >= 0xa0)))
			k = 0;
		if (k == 4 && ((c == 0xf0 && p[i + 1] < 0x90) ||
			       (c == 0xf4 && p[i + 1] >= 0x90)))
			k = 0;
		if (k == 1 && c == 0) {
			k = 0;
		}
		if (k == 0) {
			if (rp_buf_append(&b, "\xef\xbf\xbd", 3))
				break;
			i++;
			continue;
		}
		if (rp_buf_append(&b, p + i, k))
			break;
		i += k;
	}
	s = json_stringn(b.data ? (const char *)b.data : "", b.len);
	rp_buf_free(&b);
	return s;
}

static int logs(struct rpd *d, const struct rp_ctl_req *r, json_t **out,
		struct rp_err *e)
{
	struct app *one, *a;
	json_t *arr;
	/* Leave room in the response for JSON escaping of every app. */
	size_t budget = RP_CTL_MSG_MAX / 8;
	int rc;

	if ((rc = select_apps(d, r, &one, e)))
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (a = one ? one : d->apps; a; a = one ? NULL : a->next) {
		struct rp_buf b;
		size_t start;
		json_t *o;

		if ((rc = rp_logring_read(&a->log, &b, e))) {
			json_decref(arr);
			return rc;
		}
		start = rp_log_tail(b.data, b.len, r->lines);
		if (b.len - start > budget)
			start = b.len - budget;
		o = json_pack("{s:s, s:s?, s:o}", "component_id", a->id,
			      "name", a->manifest ? a->manifest->name : NULL,
			      "log", log_text(b.data + start, b.len - start));
		rp_buf_free(&b);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		}
	}
	*out = json_pack("{s:o}", "apps", arr);
	return 0;
}

static int error_report(struct rpd *d, json_t **out, struct rp_err *e)
{
	struct rp_report *recs = NULL;
	struct rp_report_agg *rows = NULL;
	size_t n = 0, k = 0, i;
	json_t *arr = NULL;
	int rc;

	if ((rc = rp_reports_read(&d->reports, &recs, &n, e)) ||
	    (rc = rp_reports_aggregate(recs, n, &rows, &k, e)))
		goto out;
	arr = json_array();
	if (!arr) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < k; i++) {
		char st[32], en[32], id[37];
		json_t *o;

		rp_time_iso(rows[i].start, st, sizeof(st));
		rp_time_iso(rows[i].end, en, sizeof(en));
		rp_guid_format(rows[i].component_id, id);
		o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}",
			      "device_id", d->device_id,
			      "event_type", rows[i].event_type,
			      "event_class", rows[i].event_class,
			      "event_count", (json_int_t)rows[i].count,
			      "description", rows[i].description,
			      "start_time", st, "end_time", en, "component_id", id);
		if (!o || json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = json_pack("{s:s, s:I, s:o}", "device_id", d->device_id,
			 "records", (json_int_t)n, "events", arr);
	arr = NULL;
out:
	json_decref(arr);
	free(recs);
	free(rows);
	return rc;
}

static int enable_dev(struct rpd *d, const struct rp_ctl_req *r, json_t **out,
		      struct rp_err *e)
{
	char kid[65] = "";
	int rc;

	if (r->trust_key[0] && (rc = rpd_trust_add_dev(d, r->trust_key, kid, e)))
		return rc;
	if ((rc = rpd_mode_set(d, MODE_DEVELOPMENT, e)))
		return rc;
	rpd_log("development mode enabled%s%s", kid[0] ? "; trusting key " : "", kid);
	*out = json_pack("{s:s, s:s?}", "mode", "development",
			 "trusted_key_id", kid[0] ? kid : NULL);
	return 0;
}

static int enable_cloud_test(struct rpd *d, json_t **out, struct rp_err *e)
{
	struct app *a, *next;
	json_t *removed = json_array();
	int rc;

	if (!removed)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	/* Leave development mode first: from here on nothing signed only by
	 * a developer is accepted, even if the rest fails. */
	if ((rc = rpd_mode_set(d, MODE_CLOUD_TEST, e)) ||
	    (rc = rpd_trust_clear_dev(d, e))) {
		json_decref(removed);
		return rc;
	}
	for (a = d->apps; a; a = next) {
		next = a->next;
		if (a->manifest && a->production)
			continue;
		(void)json_array_append_new(removed, json_string(a->id));
		if ((rc = rpd_app_delete(a, e))) {
			json_decref(removed);
			return rc;
		}
	}
	rpd_log("cloud-test mode: developer trust removed, %zu app(s) deleted",
		json_array_size(removed));
	*out = json_pack("{s:s, s:o}", "mode", "cloud-test", "deleted", removed);
	return 0;
}

static int delete(struct rpd *d, const struct rp_ctl_req *r, json_t **out,
		  struct rp_err *e)
{
	struct app *one, *a, *next;
	json_t *removed = NULL;
	int rc;

	if ((rc = select_apps(d, r, &one, e)))
		return rc;
	removed = json_array();
	if (!removed)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (a = one ? one : d->apps; a; a = next) {
		next = one ? NULL : a->next;
		(void)json_array_append_new(removed, json_string(a->id));
		if ((rc = rpd_app_delete(a, e))) {
			json_decref(removed);
			return rc;
		}
	}
	*out = json_pack("{s:o}", "deleted", removed);
	return 0;
}

/* Installs at once, or (RPD_REPLY_LATER) once the apps that asked to
 * hear about updates had their say (sysevent.c). */
static int deploy(struct rpd *d, int fd, int cfd, json_t **out,
		  struct rp_err *e)
{
	if (fd < 0)
		return rp_err_set(e, RP_EINVAL, "sideload-deploy: the package file "
				  "descriptor is missing");
	return rpd_update_deploy(d, fd, cfd, out, e);
}

static int handle(struct rpd *d, const struct rp_ctl_req *r, int fd, int cfd,
		  json_t **out, struct rp_err *e)
{
	*out = NULL;
	if (fd >= 0 && r->op != RP_CTL_DEPLOY)
		return rp_err_set(e, RP_EINVAL, "%s: unexpected file descriptor",
				  rp_ctl_op_name(r->op));
	switch (r->op) {
	case RP_CTL_SHOW:
		*out = show(d);
		return 0;
	case RP_CTL_ENABLE_DEV:
		return enable_dev(d, r, out, e);
	case RP_CTL_ENABLE_CLOUD_TEST:
		return enable_cloud_test(d, out, e);
	case RP_CTL_DEPLOY:
		return deploy(d, fd, cfd, out, e);
	case RP_CTL_DELETE:
		return delete(d, r, out, e);
	case RP_CTL_APP_LIST:
		return list(d, r, 0, out, e);
	case RP_CTL_APP_STATUS:
		return list(d, r, 1, out, e);
	case RP_CTL_APP_START:
	case RP_CTL_APP_STOP:
		return start_stop(d, r, out, e);
	case RP_CTL_APP_LOGS:
		return logs(d, r, out, e);
	case RP_CTL_ERROR_REPORT:
		return error_report(d, out, e);
	case RP_CTL_CLOUD_SETUP:
		return rpd_cloud_setup(d, r, cfd, e);
	case RP_CTL_CLOUD_STATUS:
		*out = rpd_cloud_status(d);
		return 0;
	case RP_CTL_CHECK_UPDATES:
		return rpd_cloud_check(d, cfd, e);
	}
	return rp_err_set(e, RP_EINVAL, "unknown operation");
}

/* --- connections -------------------------------------------------------- */

static void client_close(struct client *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void on_request(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct rp_ctl_req req;
	struct rp_buf msg;
	struct rp_err e;
	json_t *result = NULL;
	int pkg = -1, rc;

	(void)what;
	rp_err_clear(&e);
	rc = rp_ctl_recv(fd, RP_CTL_REQ_MAX, &msg, &pkg, 1, &e);
	if (rc == -EAGAIN)
		return;
	if (rc == 1) {
		client_close(c);
		return;
	}
	if (rc == 0 && (rc = rp_ctl_req_decode(msg.data, msg.len, &req, &e)) == 0)
		rc = handle(c->d, &req, pkg, fd, &result, &e);
	rp_buf_free(&msg);
	if (pkg >= 0)
		close(pkg);
	if (rc == RPD_REPLY_LATER)
		return;
	if (rc == 0)
		rc = send_ok(fd, result, &e);
	if (rc) {
		rpd_log("request refused: %s", e.msg);
		send_err(fd, &e);
	}
	/* A request may have parsed a manifest or read every report slot:
	 * give the freed heap back so an idle daemon stays small. */
	(void)malloc_trim(0);
	if (rc == 0)
		return;
	/* A peer that sends garbage or does not read its replies is dropped;
	 * the daemon carries on. */
	if (e.code == RP_EFORMAT || e.code == RP_ERANGE || e.code == -EAGAIN ||
	    e.code == -EPIPE)
		client_close(c);
}

static int peer_allowed(const struct rpd *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	if (cred.uid == 0)
		return 1;
	if (!d->cfg.socket_group[0])
		return 0;
	if (cred.gid == d->cfg.socket_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0)
		return 0;
	for (i = 0; i < glen / sizeof(gid_t); i++)
		if (groups[i] == d->cfg.socket_gid)
			return 1;
	return 0;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct rpd *d = arg;
	struct rp_err e;
	size_t i;
	int fd, sz = SNDBUF;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (!peer_allowed(d, fd)) {
		rp_err_set(&e, RP_EPOLICY, "permission denied: the control socket "
			   "is for root%s%s", d->cfg.socket_group[0] ?
			   " and the group " : "", d->cfg.socket_group);
		send_err(fd, &e);
		close(fd);
		rpd_log("refused a control connection from a peer without permission");
		return;
	}
	for (i = 0; i < RPD_CLIENTS_MAX; i++)
		if (d->clients[i].fd < 0)
			break;
	if (i == RPD_CLIENTS_MAX) {
		rp_err_set(&e, RP_EIO, "too many control connections");
		send_err(fd, &e);
		close(fd);
		return;
	}
	/* Responses can be large (logs); one is in flight at a time. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	d->clients[i].d = d;
	d->clients[i].fd = fd;
	d->clients[i].ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_request,
				     &d->clients[i]);
	if (!d->clients[i].ev || event_add(d->clients[i].ev, NULL))
		client_close(&d->clients[i]);
}

int rpd_server_start(struct rpd *d, struct rp_err *e)
{
	struct sockaddr_un sa;
	struct stat st;
	char dir[PATH_MAX];
	char *slash;
	int fd = -1, rc = 0, probe;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(d->socket_path) >= sizeof(sa.sun_path))
		return rp_err_set(e, RP_ERANGE, "%s: socket path too long", d->socket_path);
	memcpy(sa.sun_path, d->socket_path, strlen(d->socket_path) + 1);
	memcpy(dir, d->socket_path, strlen(d->socket_path) + 1);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "%s", dir);
	}
	/* A live daemon on the same socket: refuse to start a second one. */
	if (lstat(d->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return rp_err_set(e, RP_EINVAL, "%s exists and is not a socket",
					  d->socket_path);
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return rp_err_set(e, RP_EINVAL, "%s: another rampartd is running",
					  d->socket_path);
		}
		if (probe >= 0)
			close(probe);
		(void)unlink(d->socket_path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rp_err_errno(e, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = rp_err_errno(e, errno, "%s", d->socket_path);
		goto out;
	}
	if (d->cfg.socket_group[0]) {
		if (chown(d->socket_path, 0, d->cfg.socket_gid) < 0 ||
		    chmod(d->socket_path, 0660) < 0) {
			rc = rp_err_errno(e, errno, "%s", d->socket_path);
			goto out;
		}
	} else if (chmod(d->socket_path, 0600) < 0) {
		rc = rp_err_errno(e, errno, "%s", d->socket_path);
		goto out;
	}
	if (listen(fd, 16) < 0) {
		rc = rp_err_errno(e, errno, "listen");
		goto out;
	}
	d->ev_listen = event_new(d->base, fd, EV_READ | EV_PERSIST, on_accept, d);
	if (!d->ev_listen || event_add(d->ev_listen, NULL)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	d->listen_fd = fd;
	fd = -1;
out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(d->socket_path);
	}
	return rc;
}

void rpd_server_stop(struct rpd *d)
{
	size_t i;

	for (i = 0; i < RPD_CLIENTS_MAX; i++)
		client_close(&d->clients[i]);
	if (d->ev_listen)
		event_free(d->ev_listen);
	d->ev_listen = NULL;
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		(void)unlink(d->socket_path);
	}
	d->listen_fd = -1;
}
