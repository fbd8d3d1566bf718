/* Internal to lib/crypto: how the modules of lib/crypto (x509.c, tls.c)
 * reach the OpenSSL objects behind struct rp_key. Nothing outside
 * lib/crypto includes this header (it pulls in OpenSSL). */
#ifndef RP_CRYPTO_PRIV_H
#define RP_CRYPTO_PRIV_H

#include <openssl/evp.h>

#include "crypto/crypto.h"

/* Wrap pkey (Ed25519 or P-256 only) as an rp_key; takes ownership of pkey
 * on success only. */
int rp_key_wrap_pkey(EVP_PKEY *pkey, int has_private, struct rp_key **out,
		     struct rp_err *e) RP_WUR;
/* The key's EVP_PKEY, still owned by k. */
EVP_PKEY *rp_key_pkey(const struct rp_key *k);
/* Fill e with the first queued OpenSSL error ("what: reason"), clear the
 * queue, return RP_ECRYPTO. */
int rp_ossl_fail(struct rp_err *e, const char *what);

#endif
