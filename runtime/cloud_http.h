/* rampart-cloud's HTTPS client (libcurl): TLS 1.3, the server verified
 * against the CA file set up on the device (cloud/server-ca.pem), host
 * name checked, no redirects, one fresh connection per request (a
 * connection made without the client certificate is never reused with
 * it), bounded times and response size. With a client certificate set,
 * the device key authenticates the device (mutual TLS) through
 * CURLOPT_SSL_CTX_FUNCTION and lib/crypto/devkey.h. Internal to
 * rampart-cloud. */
#ifndef RPC_CLOUD_HTTP_H
#define RPC_CLOUD_HTTP_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "cloud.h"

struct rp_devkey;

struct rpc_http {
	void *curl;                    /* CURL *, owned */
	void *resolve;                 /* struct curl_slist *, owned */
	char base[RPC_URL_MAX + 1];    /* "https://host:port" */
	char ca_path[PATH_MAX];
	const struct rp_devkey *key;   /* client authentication, or NULL */
	struct rp_buf cert;            /* its certificate (PEM) */
	struct rp_err tls_err;         /* set by the SSL_CTX callback */
};

/* Check url ("https://HOST[:PORT]", no user, path or query), resolve HOST
 * now (before rpc_confine) and set up h. Release with rpc_http_close,
 * also after a failure. */
int rpc_http_open(struct rpc_http *h, const char *url, const char *ca_path,
		  struct rp_err *e) RP_WUR;
/* Only the URL check (setup). */
int rpc_http_check_url(const char *url, struct rp_err *e) RP_WUR;
/* Authenticate with key and the PEM certificate cert[0..len) from now on. */
int rpc_http_client_cert(struct rpc_http *h, const struct rp_devkey *key,
			 const uint8_t *cert, size_t len, struct rp_err *e) RP_WUR;
/* One request: body (JSON) may be NULL. On 0, *status is the HTTP status
 * and *out the parsed JSON body or NULL. RP_EUNTRUSTED when the server's
 * certificate does not verify; RP_EIO for connection failures. */
int rpc_http_call(struct rpc_http *h, const char *method, const char *path,
		  json_t *body, long *status, json_t **out,
		  struct rp_err *e) RP_WUR;
void rpc_http_close(struct rpc_http *h);

#endif
