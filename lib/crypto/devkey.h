/* The device key behind one interface: what the cloud client needs of it
 * (its id, a CSR, TLS client authentication), whatever holds it.
 *
 * Today's implementation (devkey_file.c) is the software key rampartd
 * keeps in STATEDIR/device.key. A key in a TPM or secure element is
 * another file behind this same header (devkey_tpm.c, picked by meson):
 * it would open the key through the tpm2 OpenSSL provider (an
 * OSSL_STORE URI such as "handle:0x81000001") and wrap the provider's
 * EVP_PKEY in the same struct; every caller stays unchanged because
 * signing goes through EVP and never reads key bytes.
 *
 * Ownership: rp_devkey_open returns a key the caller frees with
 * rp_devkey_free (accepts NULL). Nothing here exposes private key bytes. */
#ifndef RP_CRYPTO_DEVKEY_H
#define RP_CRYPTO_DEVKEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"

struct rp_devkey; /* opaque */

/* Open the device key named by ref: for the software implementation, the
 * path of a PEM private key (Ed25519 or P-256; at most 64 KiB). */
int rp_devkey_open(const char *ref, struct rp_devkey **out,
		   struct rp_err *e) RP_WUR;
void rp_devkey_free(struct rp_devkey *k);

/* The device id: SHA-256 of the key's DER SubjectPublicKeyInfo
 * (RP_KEYID_LEN bytes, owned by k), and its 64-hex form. */
const uint8_t *rp_devkey_id(const struct rp_devkey *k);
void rp_devkey_id_hex(const struct rp_devkey *k, char out[2 * RP_KEYID_LEN + 1]);

/* A PEM CSR for the key, subject CN=<device id> (rp_csr_create). out is
 * initialised here (rp_buf_free). */
int rp_devkey_csr(const struct rp_devkey *k, struct rp_buf *out,
		  struct rp_err *e) RP_WUR;

/* Sign msg with the device key (as rp_sign). */
int rp_devkey_sign(const struct rp_devkey *k, const uint8_t *msg, size_t len,
		   uint8_t *sig, size_t *siglen, struct rp_err *e) RP_WUR;

/* TLS client authentication: put the certificate cert_pem[0..len) (one
 * PEM certificate, whose key must be the device key) and the device key
 * into ssl_ctx, an OpenSSL SSL_CTX * passed as void * (what libcurl's
 * CURLOPT_SSL_CTX_FUNCTION hands over), and check that they match. */
int rp_devkey_tls_client(const struct rp_devkey *k, void *ssl_ctx,
			 const uint8_t *cert_pem, size_t len,
			 struct rp_err *e) RP_WUR;

#endif
