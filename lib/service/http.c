/* Transport for the API: evhttp over TLS bufferevents, routing, token
 * authentication, bounded bodies and one error shape. Handlers live in
 * routes.c and never see the wire. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/num.h"
#include "crypto/tls.h"
#include "service/api.h"
#include "service/http_priv.h"
#include "service/images.h"

#define PATH_MAX_LEN 512
#define SEGMENTS_MAX 8

struct rp_http {
	struct evhttp *http;
	struct rp_tls *tls;
	struct rp_model *model;
	uint64_t image_max; /* upload bodies */
	int fd;             /* the listening socket (evhttp's); -1: none */
};

int rp_http_route(size_t i, const char **method, const char **path)
{
	if (i >= rp_routes_count)
		return 1;
	*method = rp_routes[i].method;
	*path = rp_routes[i].path;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void reply(struct evhttp_request *req, int status, json_t *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (!out || !text) {
		/* Out of memory: an empty 500 is all that is left to say. */
		evhttp_send_reply(req, 500, reason(500), NULL);
		goto out;
	}
	if (evbuffer_add(out, text, strlen(text)) || evbuffer_add(out, "\n", 1)) {
		evhttp_send_reply(req, 500, reason(500), NULL);
		goto out;
	}
	evhttp_send_reply(req, status, reason(status), out);
out:
	free(text);
	if (out)
		evbuffer_free(out);
}

/* A non-JSON body (PEM downloads). */
static void reply_raw(struct evhttp_request *req, int status, const char *type,
		      const struct rp_buf *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (!out || evbuffer_add(out, body->data ? (const void *)body->data : "",
				 body->len)) {
		evhttp_send_reply(req, 500, reason(500), NULL);
		goto out;
	}
	evhttp_send_reply(req, status, reason(status), out);
out:
	if (out)
		evbuffer_free(out);
}

static void fail(struct evhttp_request *req, int status, const char *code,
		 const char *msg);

/* A stored file, whole or one range of it; fd is owned here. */
static void reply_file(struct evhttp_request *req, struct call *c)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *range = evhttp_find_header(evhttp_request_get_input_headers(req),
					       "Range");
	struct evbuffer *out = NULL;
	uint64_t off = 0, len = c->file_size;
	char cr[96];
	int r = rp_api_range(range, c->file_size, &off, &len);

	evhttp_add_header(h, "Accept-Ranges", "bytes");
	evhttp_add_header(h, "ETag", c->etag);
	if (r == RP_ERANGE) {
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, c->file_size);
		evhttp_add_header(h, "Content-Range", cr);
		fail(req, 416, "range_not_satisfiable", "the range is outside the image");
		goto out;
	}
	if (r == 1) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
			 off + len - 1, c->file_size);
		evhttp_add_header(h, "Content-Range", cr);
	}
	out = evbuffer_new();
	if (!out || off > INT64_MAX || len > INT64_MAX) {
		fail(req, 500, "internal", "out of memory");
		goto out;
	}
	evhttp_add_header(h, "Content-Type", "application/octet-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* Streamed from the file (mapped or read as the socket drains), never
	 * read whole into memory; the buffer closes the fd. */
	if (len > 0 && evbuffer_add_file(out, c->file_fd, (ev_off_t)off, (ev_off_t)len)) {
		c->file_fd = -1; /* closed by evbuffer_add_file on failure */
		fail(req, 500, "internal", "reading the image failed");
		goto out;
	}
	if (len > 0)
		c->file_fd = -1;
	evhttp_send_reply(req, r == 1 ? 206 : 200, reason(r == 1 ? 206 : 200), out);
out:
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	if (out)
		evbuffer_free(out);
}

static void fail(struct evhttp_request *req, int status, const char *code,
		 const char *msg)
{
	json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", code,
				 "message", msg);

	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer");
	reply(req, status, body);
	json_decref(body);
}

/* Turn a model or decoder error into the API's answer. */
static void fail_rc(struct evhttp_request *req, int rc, const struct rp_err *e,
		    const char *route)
{
	switch (rc) {
	case RP_EINVAL:
	case RP_EFORMAT:
		fail(req, 400, "bad_request", e->msg);
		return;
	case RP_ERANGE:
		fail(req, 413, "payload_too_large", e->msg);
		return;
	case RP_EVERIFY:
		fail(req, 422, "refused", e->msg);
		return;
	case -EACCES:
		fail(req, 401, "unauthorized", e->msg);
		return;
	case -EPERM:
		fail(req, 403, "forbidden", e->msg);
		return;
	case -ENOENT:
		fail(req, 404, "not_found", e->msg);
		return;
	case -EEXIST:
		fail(req, 409, "conflict", e->msg);
		return;
	case -ENOSYS:
		fail(req, 503, "unavailable", e->msg);
		return;
	default:
		/* The details (database messages) stay in the server's log. */
		fprintf(stderr, "rampart-server: %s: %s\n", route,
			e->msg[0] ? e->msg : rp_code_name(rc));
		fail(req, 500, "internal", "internal error");
		return;
	}
}

/* Split "/a/b/c" into segments in place; -1 on an empty segment, too many
 * segments or a character outside the set paths may hold. */
static int split(char *path, char **seg, int max)
{
	int n = 0;
	char *p = path, *s;

	if (*p != '/')
		return -1;
	for (s = p; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("/._@-", *s)))
			return -1;
	while (*p == '/') {
		*p++ = '\0';
		if (!*p || *p == '/' || n >= max)
			return -1;
		seg[n++] = p;
		while (*p && *p != '/')
			p++;
	}
	return n;
}

/* Does route r match the segments? Fills params on success. */
static int match(const struct route *r, char **seg, int n, const char **param)
{
	const char *p = r->path + 1;
	int i = 0, np = 0;

	for (i = 0; i < n; i++) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 0)
			return 0;
		if (p[0] == '{') {
			if (np >= ROUTE_PARAMS_MAX)
				return 0;
			param[np++] = seg[i];
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
			return 0;
		}
		if (!end)
			return i == n - 1;
		p = end + 1;
	}
	return 0;
}

static const char *method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_HEAD:
	case EVHTTP_REQ_OPTIONS:
	case EVHTTP_REQ_TRACE:
	case EVHTTP_REQ_CONNECT:
	case EVHTTP_REQ_PATCH:
	default:
		return "";
	}
}

static int authenticate(struct rp_http *h, struct evhttp_request *req,
			struct rp_principal *who, struct rp_err *e)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "Authorization");

	if (!v)
		return rp_err_set(e, -EACCES, "missing 'Authorization: Bearer rpt_...'");
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return rp_err_set(e, -EACCES, "the Authorization scheme must be Bearer");
	return rp_model_authenticate(h->model, v + 7, who, e);
}

/* What a connection's certificate verified to, kept on the connection
 * (rp_tls_conn_set): later requests on it skip parsing and verifying the
 * certificate and only check expiry and revocation
 * (rp_device_reauthenticate). */
struct verified {
	struct rp_device_principal dev;
	int64_t at;
};

/* The device behind the connection's client certificate. On failure the
 * reason goes to the log only; the client learns nothing but 401. */
static int authenticate_device(struct rp_http *h, struct evhttp_request *req,
			       struct rp_device_principal *dev, struct rp_err *e)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct verified *v = bev ? rp_tls_conn_get(h->tls, bev) : NULL;
	int64_t now = (int64_t)time(NULL);
	struct rp_buf der;
	int rc;

	if (v) {
		rc = rp_device_reauthenticate(h->model, &v->dev, v->at, now, dev, e);
		if (rc <= 0)
			return rc;
	}
	rc = rp_tls_peer_cert(bev, &der, e);
	if (rc < 0)
		return rc;
	rc = rp_device_authenticate(h->model, rc == 0 ? der.data : NULL,
				    rc == 0 ? der.len : 0, now, dev, e);
	rp_buf_free(&der);
	if (rc == 0 && bev) {
		/* Remember it; when that fails, the next request verifies
		 * again, which is only slower. */
		v = malloc(sizeof(*v));
		if (v) {
			v->dev = *dev;
			v->at = now;
			if (rp_tls_conn_set(h->tls, bev, v, free))
				free(v);
		}
	}
	return rc;
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct rp_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *method = method_name(evhttp_request_get_command(req));
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct route *r = NULL;
	struct rp_principal who;
	struct rp_device_principal dev;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *ctype, *accept;
	char path[PATH_MAX_LEN], *seg[SEGMENTS_MAX], allow[64];
	struct call c;
	size_t i, len;
	int n, rc;

	memset(&c, 0, sizeof(c));
	allow[0] = '\0';
	if (!raw || strlen(raw) >= sizeof(path)) {
		fail(req, 404, "not_found", "no such route");
		return;
	}
	memcpy(path, raw, strlen(raw) + 1);
	n = split(path, seg, SEGMENTS_MAX);
	for (i = 0; n > 0 && i < rp_routes_count; i++) {
		const char *param[ROUTE_PARAMS_MAX] = { NULL };

		if (!match(&rp_routes[i], seg, n, param))
			continue;
		if (strcmp(rp_routes[i].method, method) != 0) {
			size_t used = strlen(allow);

			snprintf(allow + used, sizeof(allow) - used, "%s%s",
				 used ? ", " : "", rp_routes[i].method);
			continue;
		}
		r = &rp_routes[i];
		memcpy(c.param, param, sizeof(param));
		break;
	}
	if (!r && allow[0]) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		fail(req, 405, "method_not_allowed", "method not allowed on this route");
		return;
	}
	if (!r) {
		fail(req, 404, "not_found", "no such route");
		return;
	}
	len = evbuffer_get_length(in);
	if (!r->octets && len > (r->body_max ? r->body_max : RP_API_BODY_MAX)) {
		char msg[64];

		snprintf(msg, sizeof(msg), "the body is over %zu bytes",
			 r->body_max ? r->body_max : (size_t)RP_API_BODY_MAX);
		fail(req, 413, "payload_too_large", msg);
		return;
	}
	if (r->octets && len > h->image_max) {
		fail(req, 413, "payload_too_large", "the image is over the server's maximum");
		return;
	}
	if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
		const char *want = r->octets ? "application/octet-stream" : "application/json";
		size_t wl = strlen(want);

		ctype = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "Content-Type");
		if (!ctype || strncasecmp(ctype, want, wl) != 0 ||
		    (ctype[wl] != '\0' && ctype[wl] != ';')) {
			fail(req, 415, "unsupported_media_type",
			     r->octets ? "the body must be application/octet-stream"
				       : "the body must be application/json");
			return;
		}
		c.body = len ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
		c.body_len = len;
		if (!c.body) {
			fail(req, 500, "internal", "out of memory");
			return;
		}
	} else if (len) {
		fail(req, 400, "bad_request", "this method takes no body");
		return;
	}
	if (r->auth == AUTH_TOKEN) {
		rc = authenticate(h, req, &who, &c.e);
		if (rc) {
			fail_rc(req, rc, &c.e, r->path);
			return;
		}
		c.who = &who;
	} else if (r->auth == AUTH_DEVICE) {
		rc = authenticate_device(h, req, &dev, &c.e);
		if (rc == -EACCES) {
			fprintf(stderr, "rampart-server: %s: %s\n", r->path, c.e.msg);
			fail(req, 401, "unauthenticated", "client certificate refused");
			return;
		}
		if (rc) {
			fail_rc(req, rc, &c.e, r->path);
			return;
		}
		c.dev = &dev;
	}
	c.model = h->model;
	c.status = 200;
	c.file_fd = -1;
	accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	c.want_pem = accept && strncasecmp(accept, "application/x-pem-file", 22) == 0 &&
		     (accept[22] == '\0' || accept[22] == ';');
	c.want_csv = accept && strncasecmp(accept, "text/csv", 8) == 0 &&
		     (accept[8] == '\0' || accept[8] == ';');
	c.query = uri ? evhttp_uri_get_query(uri) : NULL;
	rp_buf_init(&c.raw, RP_HTTP_RAW_MAX);
	rc = r->fn(&c);
	if (rc)
		fail_rc(req, rc, &c.e, r->path);
	else if (c.file_fd >= 0)
		reply_file(req, &c);
	else if (c.raw_type)
		reply_raw(req, c.status, c.raw_type, &c.raw);
	else
		reply(req, c.status, c.result);
	json_decref(c.result);
	rp_buf_free(&c.raw);
	if (c.file_fd >= 0)
		close(c.file_fd);
	memset(&who, 0, sizeof(who));
	memset(&dev, 0, sizeof(dev));
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct rp_http *h = arg;

	return rp_tls_bufferevent(h->tls, base);
}

static int parse_listen(const char *listen, char *host, size_t hostcap,
			uint16_t *port, struct rp_err *e)
{
	const char *colon = strrchr(listen, ':');
	const char *h0 = listen;
	size_t hl;
	uint64_t p;

	if (!colon || rp_parse_u64z(colon + 1, 65535, &p))
		return rp_err_set(e, RP_EUSAGE, "listen: '%s' is not HOST:PORT", listen);
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		h0++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostcap)
		return rp_err_set(e, RP_EUSAGE, "listen: '%s' is not HOST:PORT", listen);
	memcpy(host, h0, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* An evhttp on base with the API's handler and bounds; no socket yet. */
static int setup(struct event_base *base, struct rp_tls *tls, struct rp_model *model,
		 struct rp_http **out, struct rp_err *e)
{
	struct rp_http *h = calloc(1, sizeof(*h));

	if (!h)
		return rp_err_set(e, RP_ENOMEM, "http: out of memory");
	h->fd = -1;
	h->tls = tls;
	h->model = model;
	h->image_max = model->image_max ? model->image_max : RP_IMAGE_MAX_DEFAULT;
	h->http = evhttp_new(base);
	if (!h->http) {
		free(h);
		return rp_err_set(e, RP_ENOMEM, "http: out of memory");
	}
	evhttp_set_bevcb(h->http, new_bev, h);
	evhttp_set_gencb(h->http, handle, h);
	/* libevent 2.1 has no per-route body limit before the body is read,
	 * so the global one admits an image upload (and a little more, so that
	 * most oversized bodies still get the API's JSON 413 from handle(),
	 * which applies each route's own cap; beyond that libevent answers
	 * 413 itself). JSON routes still refuse anything over RP_API_BODY_MAX. */
	evhttp_set_max_body_size(h->http, (ev_ssize_t)(h->image_max + RP_API_BODY_MAX));
	evhttp_set_max_headers_size(h->http, RP_HTTP_HEADERS_MAX);
	evhttp_set_timeout(h->http, RP_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	*out = h;
	return 0;
}

int rp_http_new(struct event_base *base, struct rp_tls *tls,
		struct rp_model *model, const char *listen, uint16_t *port,
		struct rp_http **out, struct rp_err *e)
{
	struct rp_http *h = NULL;
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256];
	uint16_t want = 0;
	int rc, one = 1;

	rc = parse_listen(listen, host, sizeof(host), &want, e);
	if (rc)
		return rc;
	rc = setup(base, tls, model, &h, e);
	if (rc)
		return rc;
	bound = evhttp_bind_socket_with_handle(h->http, host, want);
	if (!bound) {
		rc = rp_err_errno(e, errno ? errno : EADDRNOTAVAIL, "http: listen on %s",
				  listen);
		goto out;
	}
	h->fd = evhttp_bound_socket_get_fd(bound);
	/* Answers go out as several TLS records; without TCP_NODELAY (which
	 * Linux copies to accepted sockets) Nagle holds the last one back
	 * until the client's delayed ACK, 40 ms a request on a kept-alive
	 * connection. */
	(void)setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(h->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			want = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			want = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	*port = want;
	*out = h;
	h = NULL;
out:
	rp_http_free(h);
	return rc;
}

void rp_http_free(struct rp_http *h)
{
	if (!h)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h);
}

/* ---- more event loops --------------------------------------------------- */

/* One more event loop: its own base, evhttp (on a dup of the listening
 * socket), database connection and tenant cache; everything else of the
 * model (the signer client, options) is shared. Used by its thread only
 * between start and stop. */
struct worker {
	pthread_t thread;
	int running;
	struct event_base *base;
	struct event *stop_ev;
	int stop[2];            /* a byte on stop[1] ends the loop */
	struct rp_model model;
	struct rp_http *http;
};

struct rp_http_workers {
	size_t n;
	struct worker w[];
};

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	(void)event_base_dispatch(w->base);
	return NULL;
}

static void worker_free(struct worker *w)
{
	rp_http_free(w->http);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->base)
		event_base_free(w->base);
	rp_db_close(w->model.db);
	rp_tenant_cache_free(w->model.cache);
	if (w->stop[0] >= 0)
		close(w->stop[0]);
	if (w->stop[1] >= 0)
		close(w->stop[1]);
}

static int worker_new(struct rp_http *h, const char *db_url, struct worker *w,
		      struct rp_err *e)
{
	int rc, fd;

	w->model = *h->model;
	w->model.db = NULL;
	w->model.cache = NULL;
	if (pipe2(w->stop, O_CLOEXEC | O_NONBLOCK) < 0)
		return rp_err_errno(e, errno, "http: pipe");
	rc = rp_db_open(db_url, &w->model.db, e);
	if (rc == 0 && h->model->cache)
		rc = rp_tenant_cache_new(&w->model.cache, e);
	if (rc)
		return rc;
	w->base = event_base_new();
	w->stop_ev = w->base ? event_new(w->base, w->stop[0], EV_READ, on_stop, w->base)
			     : NULL;
	if (!w->stop_ev || event_add(w->stop_ev, NULL))
		return rp_err_set(e, RP_ENOMEM, "http: out of memory");
	rc = setup(w->base, h->tls, &w->model, &w->http, e);
	if (rc)
		return rc;
	fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return rp_err_errno(e, errno, "http: dup");
	/* evhttp owns (and closes) the duplicate. */
	if (!evhttp_accept_socket_with_handle(w->http->http, fd)) {
		close(fd);
		return rp_err_set(e, RP_ENOMEM, "http: accepting on the listener failed");
	}
	return 0;
}

int rp_http_workers_start(struct rp_http *h, size_t n, const char *db_url,
			  struct rp_http_workers **out, struct rp_err *e)
{
	struct rp_http_workers *ws = NULL;
	sigset_t all, old;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if (h->fd < 0)
		return rp_err_set(e, RP_EUSAGE, "http: no listening socket");
	ws = calloc(1, sizeof(*ws) + n * sizeof(ws->w[0]));
	if (!ws)
		return rp_err_set(e, RP_ENOMEM, "http: out of memory");
	for (i = 0; i < n; i++)
		ws->w[i].stop[0] = ws->w[i].stop[1] = -1;
	ws->n = n;
	for (i = 0; rc == 0 && i < n; i++)
		rc = worker_new(h, db_url, &ws->w[i], e);
	/* Signals stay with the main thread's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = -pthread_create(&ws->w[i].thread, NULL, run, &ws->w[i]);
		if (rc)
			rp_err_set(e, rc, "http: starting a worker thread failed");
		else
			ws->w[i].running = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		rp_err_prefix(e, "worker");
		rp_http_workers_stop(ws);
		return rc;
	}
	*out = ws;
	return 0;
}

void rp_http_workers_stop(struct rp_http_workers *ws)
{
	size_t i;

	if (!ws)
		return;
	for (i = 0; i < ws->n; i++)
		if (ws->w[i].running)
			(void)!write(ws->w[i].stop[1], "x", 1);
	for (i = 0; i < ws->n; i++) {
		if (ws->w[i].running)
			pthread_join(ws->w[i].thread, NULL);
		worker_free(&ws->w[i]);
	}
	free(ws);
}
