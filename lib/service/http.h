/* rampart-server's HTTPS API: libevent's evhttp over bufferevent_openssl,
 * TLS 1.3 only, JSON under /v1 (docs/api/openapi.yaml).
 *
 * Requests are bounded (headers RP_HTTP_HEADERS_MAX, bodies
 * RP_API_BODY_MAX or the route's own cap: 413 beyond), authenticated with
 * `Authorization: Bearer rpt_...` (operators) or, on the device routes, a
 * client certificate verified per request (lib/service/device.h), and
 * answered with JSON; every error has the shape
 * {"error": {"code": "...", "message": "..."}}. Nothing a request contains
 * can stop the server. */
#ifndef RP_SERVICE_HTTP_H
#define RP_SERVICE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/tls.h"
#include "service/model.h"

#define RP_HTTP_HEADERS_MAX (16 * 1024)
#define RP_HTTP_TIMEOUT_S 30
#define RP_HTTP_RAW_MAX (1024 * 1024) /* a non-JSON answer (PEM, CSV), bytes */

struct rp_http; /* rp_http_free */
struct event_base;

/* A server on base answering with model over tls (both borrowed, they must
 * outlive it). Listens on `HOST:PORT` (`[V6]:PORT`; port 0 picks one);
 * *port gets the port bound. */
int rp_http_new(struct event_base *base, struct rp_tls *tls,
		struct rp_model *model, const char *listen, uint16_t *port,
		struct rp_http **out, struct rp_err *e) RP_WUR;
/* Accepts NULL. */
void rp_http_free(struct rp_http *h);

/* Serve h's listening socket from n more event loops, each on its own
 * thread with its own event base, database connection (opened on db_url,
 * already migrated) and tenant cache; the model's signer client (which
 * serialises its calls), options and h's TLS context are shared. A
 * connection stays on the loop that accepted it. *out (NULL when n is 0)
 * is owned by the caller: rp_http_workers_stop, before h, the model and
 * tls are freed. Every other part of the model must be safe to share:
 * the database is reached only through each worker's own connection. */
struct rp_http_workers;
int rp_http_workers_start(struct rp_http *h, size_t n, const char *db_url,
			  struct rp_http_workers **out, struct rp_err *e) RP_WUR;
/* Stop the loops (each finishes the callback it is in), join the threads
 * and free their parts. Accepts NULL. */
void rp_http_workers_stop(struct rp_http_workers *w);

/* The route table, for `rampart-server routes` and its OpenAPI check:
 * i from 0; returns 1 past the end. */
int rp_http_route(size_t i, const char **method, const char **path);

#endif
