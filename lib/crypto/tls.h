/* TLS for rampart-server's listener: TLS 1.3 only, OpenSSL behind this
 * seam (only lib/crypto includes OpenSSL headers).
 *
 * Every client is asked for a certificate (devices' mutual TLS) but none
 * is required, and the TLS layer accepts whatever chain is presented:
 * which routes need a certificate, and which CA it must chain to (the
 * calling device's own tenant's), is decided per request by the service
 * (lib/service/device.c), because one listener serves every tenant and
 * operators call with API tokens. What the TLS layer does guarantee is
 * that the peer proved possession of the presented certificate's key
 * (CertificateVerify), which OpenSSL always checks. */
#ifndef RP_CRYPTO_TLS_H
#define RP_CRYPTO_TLS_H

#include "base/buf.h"
#include "base/err.h"

struct rp_tls; /* a server TLS context; rp_tls_free */
struct event_base;
struct bufferevent;

/* Load the server certificate chain and key (PEM files). */
int rp_tls_server_new(const char *cert, const char *key, struct rp_tls **out,
		      struct rp_err *e) RP_WUR;
/* Accepts NULL. */
void rp_tls_free(struct rp_tls *t);

/* A new server-side TLS bufferevent (fd set later by evhttp, closed on
 * free), for evhttp_set_bevcb. NULL when out of memory. */
struct bufferevent *rp_tls_bufferevent(struct rp_tls *t, struct event_base *base);

/* The client certificate presented on bev's connection (a bufferevent
 * made by rp_tls_bufferevent), as DER in der (initialised here,
 * rp_buf_free). 0 with the certificate, 1 when none was presented,
 * negative on error. Not verified: the caller verifies it. */
int rp_tls_peer_cert(struct bufferevent *bev, struct rp_buf *der,
		     struct rp_err *e) RP_WUR;

#endif
