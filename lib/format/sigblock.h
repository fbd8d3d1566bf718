/* The signature block: one or more signatures with key ids, found from the
 * end of a signed file by its trailer. Shared, byte for byte, by image
 * packages and targets documents; the layout is in
 * docs/formats/image-package.md ("Signature block").
 *
 *   magic "RAMPSIG\0" | u16 version 1 | u16 count | u32 reserved 0
 *   count x { u8 alg | u8 0 | u16 len | key id (32) | signature (len) }
 *   u32 total length (trailer included) | "RAMPEND\0"
 *
 * Each format decides what the signatures sign and how many it allows. */
#ifndef RP_FORMAT_SIGBLOCK_H
#define RP_FORMAT_SIGBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"

#define RP_SIGBLOCK_HDR_LEN 16
#define RP_SIGBLOCK_TRAILER_LEN 12
#define RP_SIGBLOCK_SIG_FIXED_LEN 36 /* alg, reserved, length, key id */
#define RP_SIGBLOCK_ED25519_LEN 64
#define RP_SIGBLOCK_ECDSA_MIN 8
#define RP_SIGBLOCK_ECDSA_MAX 72
#define RP_SIGBLOCK_SIGS_MAX 8
/* The smallest well-formed block: one 8-byte ECDSA signature. */
#define RP_SIGBLOCK_MIN (RP_SIGBLOCK_HDR_LEN + RP_SIGBLOCK_SIG_FIXED_LEN + \
			 RP_SIGBLOCK_ECDSA_MIN + RP_SIGBLOCK_TRAILER_LEN)
#define RP_SIGBLOCK_MAX (RP_SIGBLOCK_HDR_LEN + RP_SIGBLOCK_SIGS_MAX * \
			 (RP_SIGBLOCK_SIG_FIXED_LEN + RP_SIGBLOCK_ECDSA_MAX) + \
			 RP_SIGBLOCK_TRAILER_LEN)

_Static_assert(RP_SIGBLOCK_ECDSA_MAX <= RP_SIG_MAX, "signature buffer");

struct rp_sig {
	uint8_t alg;                  /* enum rp_key_type */
	uint16_t len;
	uint8_t key_id[RP_KEYID_LEN];
	uint8_t bytes[RP_SIG_MAX];
	int valid;                    /* set by rp_sigblock_verify */
};

struct rp_sigblock {
	size_t n;
	struct rp_sig s[RP_SIGBLOCK_SIGS_MAX];
};

/* "ed25519", "ecdsa-p256" or "unknown". */
const char *rp_sig_alg_name(uint8_t alg);

/* Parse exactly len bytes (trailer included) allowing 1..max_sigs
 * signatures (max_sigs <= RP_SIGBLOCK_SIGS_MAX). Strict: magic, version,
 * reserved bytes, algorithms, lengths, no repeated key, no spare bytes,
 * trailer length equal to len. */
int rp_sigblock_parse(const uint8_t *b, size_t len, size_t max_sigs,
		      struct rp_sigblock *sb, struct rp_err *e) RP_WUR;

/* Encode into out (RP_SIGBLOCK_MAX bytes); returns the length. */
size_t rp_sigblock_encode(const struct rp_sigblock *sb, uint8_t *out);

/* Add a signature by k over msg; refuses a key that already signed and a
 * block that already holds max_sigs. */
int rp_sigblock_sign(struct rp_sigblock *sb, size_t max_sigs,
		     const struct rp_key *k, const uint8_t *msg, size_t len,
		     struct rp_err *e) RP_WUR;

/* Add a precomputed signature (one made elsewhere, e.g. by
 * rampart-signer): the algorithm and length rules of the block apply, and
 * the same refusals as rp_sigblock_sign. Nothing is verified here. */
int rp_sigblock_add(struct rp_sigblock *sb, size_t max_sigs, uint8_t alg,
		    const uint8_t key_id[RP_KEYID_LEN], const uint8_t *sig,
		    size_t len, struct rp_err *e) RP_WUR;

/* Verify every signature whose key id is one of the trusted keys, marking
 * it valid. Any trusted signature that fails is a refusal (RP_EVERIFY),
 * and so is none valid (RP_EUNTRUSTED, naming the signers), unless
 * ntrusted is 0 (structure only: nothing is checked or marked). */
int rp_sigblock_verify(struct rp_sigblock *sb, const uint8_t *msg, size_t len,
		       const struct rp_key *const *trusted, size_t ntrusted,
		       struct rp_err *e) RP_WUR;

#endif
