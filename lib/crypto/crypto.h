/* All cryptography in Rampart, on OpenSSL 3. Only lib/crypto includes
 * OpenSSL headers; everything else sees these types and functions.
 *
 * Keys: Ed25519 (the default) and ECDSA P-256 (what Azure Sphere and most
 * hardware key stores speak). A key id is the SHA-256 of the public key's
 * DER SubjectPublicKeyInfo, so it names the key whatever file holds it. */
#ifndef RP_CRYPTO_H
#define RP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_SHA256_LEN 32
#define RP_KEYID_LEN 32
#define RP_SIG_MAX 80 /* Ed25519: 64; ECDSA P-256 DER: at most 72 */

enum rp_key_type {
	RP_KEY_ED25519 = 1,
	RP_KEY_P256 = 2,
};

struct rp_key; /* opaque; free with rp_key_free */
struct rp_sha256; /* opaque; free with rp_sha256_free */

/* "ed25519" / "ecdsa-p256"; NULL for an unknown type. */
const char *rp_key_type_name(enum rp_key_type t);
/* Parse "ed25519" / "ecdsa-p256" (also "p256"). */
int rp_key_type_parse(const char *s, enum rp_key_type *out) RP_WUR;

/* New private key. *out is owned by the caller. */
int rp_key_generate(enum rp_key_type t, struct rp_key **out,
		    struct rp_err *e) RP_WUR;
/* Load a PEM key from memory: a private key (PKCS#8 or traditional) when
 * want_private, else a public key (SubjectPublicKeyInfo) or, as a
 * convenience, a private key whose public half is then used. Only Ed25519
 * and P-256 keys are accepted. */
int rp_key_load_pem(const uint8_t *pem, size_t len, int want_private,
		    struct rp_key **out, struct rp_err *e) RP_WUR;
/* The same from a file (at most 64 KiB). */
int rp_key_load_file(const char *path, int want_private, struct rp_key **out,
		     struct rp_err *e) RP_WUR;
/* PEM encodings. out is initialised here; free the private one with
 * rp_buf_free_wipe. */
int rp_key_private_pem(const struct rp_key *k, struct rp_buf *out,
		       struct rp_err *e) RP_WUR;
int rp_key_public_pem(const struct rp_key *k, struct rp_buf *out,
		      struct rp_err *e) RP_WUR;

enum rp_key_type rp_key_type(const struct rp_key *k);
int rp_key_has_private(const struct rp_key *k);
/* The key id (computed once at load or generation). */
const uint8_t *rp_key_id(const struct rp_key *k);
void rp_key_free(struct rp_key *k);

/* Sign msg: Ed25519 (pure) or ECDSA P-256 with SHA-256, DER-encoded.
 * sig must hold RP_SIG_MAX bytes; *siglen gets the length. */
int rp_sign(const struct rp_key *k, const uint8_t *msg, size_t len,
	    uint8_t *sig, size_t *siglen, struct rp_err *e) RP_WUR;
/* 0 if sig is a valid signature by k over msg, RP_EVERIFY if not. */
int rp_verify(const struct rp_key *k, const uint8_t *msg, size_t len,
	      const uint8_t *sig, size_t siglen, struct rp_err *e) RP_WUR;

/* Streaming SHA-256. */
int rp_sha256_new(struct rp_sha256 **out) RP_WUR;
int rp_sha256_update(struct rp_sha256 *h, const void *p, size_t n) RP_WUR;
/* Writes the digest and resets the context for reuse. */
int rp_sha256_final(struct rp_sha256 *h, uint8_t out[RP_SHA256_LEN]) RP_WUR;
void rp_sha256_free(struct rp_sha256 *h);
int rp_sha256(const void *p, size_t n, uint8_t out[RP_SHA256_LEN]) RP_WUR;

/* 1 if the n bytes are equal, 0 otherwise; time does not depend on where
 * they differ. */
int rp_ct_equal(const void *a, const void *b, size_t n);
/* Wipe a secret so the compiler cannot elide it. */
void rp_wipe(void *p, size_t n);
/* Cryptographically secure random bytes. */
int rp_random(void *out, size_t n) RP_WUR;

/* Standard base64 (RFC 4648, padded, no line breaks; OpenSSL's
 * EVP_EncodeBlock) of p[0..n) into out (initialised here, rp_buf_free;
 * NUL-terminated, the NUL not counted in len). */
int rp_base64_encode(const uint8_t *p, size_t n, struct rp_buf *out) RP_WUR;

#endif
