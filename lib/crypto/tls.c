/* Server TLS contexts on OpenSSL 3, handed to libevent as bufferevents. */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "crypto/tls.h"

struct rp_tls {
	SSL_CTX *ctx;
	int slot_idx; /* SSL ex_data index of struct slot; -1: none */
};

/* What rp_tls_conn_set keeps on an SSL: the service's pointer and the
 * peer certificate it belongs to (a reference is held, so the address
 * cannot be reused by another certificate while the slot lives). */
struct slot {
	X509 *peer;
	void *data;
	void (*free_fn)(void *);
};

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	if (s->free_fn)
		s->free_fn(s->data);
	X509_free(s->peer);
	free(s);
}

/* OpenSSL's ex_data destructor: runs when the SSL is freed. */
static void slot_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			 long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	slot_free(ptr);
}

static int ossl_fail(struct rp_err *e, const char *what, const char *path)
{
	char buf[256];
	unsigned long code = ERR_peek_last_error();

	ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return rp_err_set(e, RP_ECRYPTO, "tls: %s %s: %s", what, path ? path : "",
			  code ? buf : "failed");
}

/* Record, never fail: the service verifies the certificate per request
 * against the calling device's tenant CAs (see tls.h). */
static int accept_any(int preverify_ok, X509_STORE_CTX *ctx)
{
	(void)preverify_ok;
	(void)ctx;
	return 1;
}

int rp_tls_server_new(const char *cert, const char *key, struct rp_tls **out,
		      struct rp_err *e)
{
	static const unsigned char sid_ctx[] = "rampart-server";
	struct rp_tls *t = calloc(1, sizeof(*t));
	int rc = 0;

	if (!t)
		return rp_err_set(e, RP_ENOMEM, "tls: out of memory");
	t->slot_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, slot_free_cb);
	if (t->slot_idx < 0) {
		rc = ossl_fail(e, "ex_data index", NULL);
		goto out;
	}
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (!t->ctx) {
		rc = ossl_fail(e, "context", NULL);
		goto out;
	}
	/* TLS 1.3 only: its cipher suites are all AEAD with forward secrecy,
	 * and there is no renegotiation or compression to turn off. */
	if (!SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION)) {
		rc = ossl_fail(e, "protocol version", NULL);
		goto out;
	}
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		rc = ossl_fail(e, "certificate", cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
		rc = ossl_fail(e, "key", key);
		goto out;
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		rc = ossl_fail(e, "key does not match the certificate", key);
		goto out;
	}
	/* Asked for, not required (operators use tokens); with
	 * SSL_VERIFY_PEER a session id context is needed for resumption. */
	if (SSL_CTX_set_session_id_context(t->ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
		rc = ossl_fail(e, "session id context", NULL);
		goto out;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, accept_any);
	*out = t;
	t = NULL;
out:
	rp_tls_free(t);
	return rc;
}

void rp_tls_free(struct rp_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	/* After every connection (and its slot) is gone: rp_http_free first. */
	if (t->slot_idx >= 0)
		CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, t->slot_idx);
	free(t);
}

struct bufferevent *rp_tls_bufferevent(struct rp_tls *t, struct event_base *base)
{
	SSL *ssl = SSL_new(t->ctx);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		SSL_free(ssl);
	return bev;
}

int rp_tls_peer_cert(struct bufferevent *bev, struct rp_buf *der, struct rp_err *e)
{
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *x;
	unsigned char *p = NULL;
	int n, rc;

	rp_buf_init(der, 16 * 1024);
	if (!ssl)
		return 1;
	x = SSL_get0_peer_certificate(ssl);
	if (!x)
		return 1;
	n = i2d_X509(x, &p);
	if (n <= 0) {
		ERR_clear_error();
		return rp_err_set(e, RP_ECRYPTO, "tls: client certificate encoding");
	}
	rc = rp_buf_append(der, p, (size_t)n);
	OPENSSL_free(p);
	if (rc) {
		rp_buf_free(der);
		return rp_err_set(e, rc, "tls: client certificate of %d bytes", n);
	}
	return 0;
}

int rp_tls_conn_set(struct rp_tls *t, struct bufferevent *bev, void *data,
		    void (*free_fn)(void *))
{
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	struct slot *s, *old;

	if (!peer || t->slot_idx < 0)
		return RP_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return RP_ENOMEM;
	if (X509_up_ref(peer) != 1) {
		free(s);
		return RP_ECRYPTO;
	}
	s->peer = peer;
	old = SSL_get_ex_data(ssl, t->slot_idx);
	if (SSL_set_ex_data(ssl, t->slot_idx, s) != 1) {
		X509_free(peer);
		free(s);
		ERR_clear_error();
		return RP_ENOMEM;
	}
	/* Only now does the slot own data: a failure above left it the
	 * caller's. */
	s->data = data;
	s->free_fn = free_fn;
	slot_free(old);
	return 0;
}

void *rp_tls_conn_get(struct rp_tls *t, struct bufferevent *bev)
{
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	struct slot *s = ssl && t->slot_idx >= 0 ? SSL_get_ex_data(ssl, t->slot_idx) : NULL;

	if (!s || SSL_get0_peer_certificate(ssl) != s->peer)
		return NULL;
	return s->data;
}
