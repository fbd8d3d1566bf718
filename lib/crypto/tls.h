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

/* One pointer of the service's kept on bev's TLS connection (a
 * bufferevent made by rp_tls_bufferevent), released with free_fn(data)
 * when the connection is freed or the pointer replaced. It is bound to
 * the client certificate the connection presents when it is set:
 * rp_tls_conn_get answers NULL once the connection's peer certificate is
 * another object. The listener is TLS 1.3 only, which has no
 * renegotiation, and post-handshake authentication is not enabled, so a
 * connection's certificate cannot change today; the binding keeps a cached
 * verification honest if either ever is. rp_tls_conn_set: 0, or an error
 * (no certificate presented, out of memory) with data still the caller's. */
int rp_tls_conn_set(struct rp_tls *t, struct bufferevent *bev, void *data,
		    void (*free_fn)(void *)) RP_WUR;
void *rp_tls_conn_get(struct rp_tls *t, struct bufferevent *bev);

#endif
