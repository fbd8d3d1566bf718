/* Between http.c (transport, auth, errors) and routes.c (the handlers). */
#ifndef RP_SERVICE_HTTP_PRIV_H
#define RP_SERVICE_HTTP_PRIV_H

#include <jansson.h>

#include "base/buf.h"
#include "service/device.h"
#include "service/http.h"

#define ROUTE_PARAMS_MAX 4

/* One request as a handler sees it. */
struct call {
	struct rp_model *model;
	const struct rp_principal *who; /* NULL on routes without a token */
	const struct rp_device_principal *dev; /* AUTH_DEVICE routes only */
	const char *query;   /* the URI's query string, NULL if none */
	int want_csv;        /* the client sent Accept: text/csv */
	const char *param[ROUTE_PARAMS_MAX]; /* {…} segments, in order */
	const uint8_t *body;
	size_t body_len;
	int status;      /* on success: 200 or 201 */
	json_t *result;  /* on success: the response body (owned here) */
	struct rp_err e; /* on failure: code and message */
	int want_pem;    /* the client sent Accept: application/x-pem-file */
	struct rp_buf raw;    /* on success, if raw_type: the body instead */
	const char *raw_type; /* its Content-Type */
	int file_fd;          /* on success, if >= 0: send this file (owned) */
	uint64_t file_size;   /* its size */
	char etag[72];        /* its entity tag, quoted */
};

typedef int (*route_fn)(struct call *c);

enum route_auth {
	AUTH_NONE = 0,   /* anyone (health, device enrollment) */
	AUTH_TOKEN = 1,  /* Authorization: Bearer rpt_... */
	AUTH_DEVICE = 2, /* a device's client certificate (device.h) */
};

struct route {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;   /* "/v1/tenants/{tenant}" */
	int auth;           /* enum route_auth */
	route_fn fn;
	int octets;         /* the body is application/octet-stream, at most
			       the model's image_max (else JSON) */
	size_t body_max;    /* JSON body cap; 0: RP_API_BODY_MAX */
};

extern const struct route rp_routes[];
extern const size_t rp_routes_count;

#endif
