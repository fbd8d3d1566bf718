/* The software device key: STATEDIR/device.key, a PEM private key that
 * rampart-verify generated at first start. See devkey.h for the seam a
 * hardware-held key plugs into. */
#include "crypto/devkey.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdlib.h>

#include "base/file.h"
#include "crypto/crypto_priv.h"
#include "crypto/x509.h"

struct rp_devkey {
	struct rp_key *key;
};

int rp_devkey_open(const char *ref, struct rp_devkey **out, struct rp_err *e)
{
	struct rp_devkey *k = calloc(1, sizeof(*k));
	int rc;

	*out = NULL;
	if (!k)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if ((rc = rp_key_load_file(ref, 1, &k->key, e))) {
		free(k);
		return rp_err_prefix(e, "device key");
	}
	*out = k;
	return 0;
}

void rp_devkey_free(struct rp_devkey *k)
{
	if (!k)
		return;
	rp_key_free(k->key);
	free(k);
}

const uint8_t *rp_devkey_id(const struct rp_devkey *k)
{
	return rp_key_id(k->key);
}

void rp_devkey_id_hex(const struct rp_devkey *k, char out[2 * RP_KEYID_LEN + 1])
{
	rp_hex(rp_key_id(k->key), RP_KEYID_LEN, out);
}

int rp_devkey_csr(const struct rp_devkey *k, struct rp_buf *out,
		  struct rp_err *e)
{
	return rp_csr_create(k->key, out, e);
}

int rp_devkey_sign(const struct rp_devkey *k, const uint8_t *msg, size_t len,
		   uint8_t *sig, size_t *siglen, struct rp_err *e)
{
	return rp_sign(k->key, msg, len, sig, siglen, e);
}

int rp_devkey_tls_client(const struct rp_devkey *k, void *ssl_ctx,
			 const uint8_t *cert_pem, size_t len, struct rp_err *e)
{
	SSL_CTX *ctx = ssl_ctx;
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc = 0;

	if (!ctx || !cert_pem || len == 0 || len > RP_CERT_PEM_MAX)
		return rp_err_set(e, RP_EUSAGE, "TLS client: no context or certificate");
	bio = BIO_new_mem_buf(cert_pem, (int)len);
	if (!bio) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x) {
		rc = rp_ossl_fail(e, "TLS client: the device certificate");
		goto out;
	}
	/* SSL_CTX_use_PrivateKey takes a reference: the EVP_PKEY may be a
	 * provider's handle to a key that never leaves its hardware. */
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, rp_key_pkey(k->key)) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		rc = rp_ossl_fail(e, "TLS client: the certificate does not match "
				  "the device key");
		goto out;
	}
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}
