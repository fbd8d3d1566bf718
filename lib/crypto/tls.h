/* TLS for rampart-server's listener: TLS 1.3 only, OpenSSL behind this
 * seam (only lib/crypto includes OpenSSL headers).
 *
 * Client certificates (devices' mutual TLS) are requested when a client CA
 * is given, but not required by this layer, so operators can call with API
 * tokens; a certificate that is presented and does not verify against the
 * CA fails the handshake. */
#ifndef RP_CRYPTO_TLS_H
#define RP_CRYPTO_TLS_H

#include "base/err.h"

struct rp_tls; /* a server TLS context; rp_tls_free */
struct event_base;
struct bufferevent;

/* Load the server certificate chain and key (PEM files) and, if client_ca
 * is not NULL, the CA file that client certificates must chain to. */
int rp_tls_server_new(const char *cert, const char *key, const char *client_ca,
		      struct rp_tls **out, struct rp_err *e) RP_WUR;
/* Accepts NULL. */
void rp_tls_free(struct rp_tls *t);

/* A new server-side TLS bufferevent (fd set later by evhttp, closed on
 * free), for evhttp_set_bevcb. NULL when out of memory. */
struct bufferevent *rp_tls_bufferevent(struct rp_tls *t, struct event_base *base);

#endif
