/* Server TLS contexts on OpenSSL 3, handed to libevent as bufferevents. */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include "crypto/tls.h"

struct rp_tls {
	SSL_CTX *ctx;
};

static int ossl_fail(struct rp_err *e, const char *what, const char *path)
{
	char buf[256];
	unsigned long code = ERR_peek_last_error();

	ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return rp_err_set(e, RP_ECRYPTO, "tls: %s %s: %s", what, path ? path : "",
			  code ? buf : "failed");
}

int rp_tls_server_new(const char *cert, const char *key, const char *client_ca,
		      struct rp_tls **out, struct rp_err *e)
{
	struct rp_tls *t = calloc(1, sizeof(*t));
	STACK_OF(X509_NAME) *names = NULL;
	int rc = 0;

	if (!t)
		return rp_err_set(e, RP_ENOMEM, "tls: out of memory");
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
	if (client_ca) {
		if (SSL_CTX_load_verify_locations(t->ctx, client_ca, NULL) != 1) {
			rc = ossl_fail(e, "client CA", client_ca);
			goto out;
		}
		names = SSL_load_client_CA_file(client_ca);
		if (!names) {
			rc = ossl_fail(e, "client CA names", client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(t->ctx, names);
		/* Requested, not required: operators use tokens. */
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	}
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
