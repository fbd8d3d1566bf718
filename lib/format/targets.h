/* Targets documents: what a device group's deployment tells one device to
 * run. Byte layout and rules: docs/formats/targets.md.
 *
 *   header (16 bytes) | payload (JSON) | signature block + trailer
 *
 * Every signature covers the exact bytes of the header and the payload, so
 * no JSON canonicalisation is needed: the device verifies those bytes
 * before it parses a single one of them (rp_targets_verify), then decides
 * whether the verified document may replace the one it last accepted
 * (rp_targets_check, a pure function of the document, the persisted
 * state, the device's identity and its clock).
 *
 * Everything here is fixed size and caller-owned: a struct rp_targets
 * holds a whole document (at most RP_TARGETS_IMAGES_MAX images) and
 * nothing in it needs freeing. */
#ifndef RP_FORMAT_TARGETS_H
#define RP_FORMAT_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "format/package.h"

#define RP_TARGETS_HEADER_LEN 16
#define RP_TARGETS_PAYLOAD_MAX 65536u  /* JSON bytes */
#define RP_TARGETS_SIGS_MAX 4
#define RP_TARGETS_SIGBLOCK_MAX 512u
#define RP_TARGETS_MAX (RP_TARGETS_HEADER_LEN + RP_TARGETS_PAYLOAD_MAX + \
			RP_TARGETS_SIGBLOCK_MAX)
#define RP_TARGETS_IMAGES_MAX 64
/* JSON integers are limited to the IEEE-754 exact range (I-JSON). */
#define RP_TARGETS_INT_MAX ((UINT64_C(1) << 53) - 1)
/* expires - issued_at may not exceed this (a year and a day). */
#define RP_TARGETS_LIFETIME_MAX (UINT64_C(366) * 86400)
/* Device clock allowance, both ways, in seconds. */
#define RP_TARGETS_CLOCK_SKEW 300
#define RP_GUID_LEN 16

struct rp_targets_image {
	uint8_t component_id[RP_GUID_LEN];
	uint8_t image_id[RP_GUID_LEN];
	char version[RP_PKG_VERSION_LEN + 1]; /* [0-9A-Za-z.+~-], 1..32 */
	uint32_t security_version;
	enum rp_image_type type;
	uint64_t size;                    /* of the .rpk file, 1..2^53-1 */
	uint8_t sha256[RP_SHA256_LEN];    /* of the .rpk file */
};

struct rp_targets {
	uint8_t tenant[RP_GUID_LEN];
	uint8_t product[RP_GUID_LEN];
	uint8_t group[RP_GUID_LEN];
	uint8_t device[RP_KEYID_LEN];     /* the device id: its key id */
	uint64_t version;                 /* 1..2^53-1, grows per group */
	uint64_t issued_at;               /* Unix seconds */
	uint64_t expires;                 /* Unix seconds, > issued_at */
	size_t nimages;                   /* 0..RP_TARGETS_IMAGES_MAX */
	struct rp_targets_image images[RP_TARGETS_IMAGES_MAX];
	/* Filled by rp_targets_verify only: SHA-256 of the signed region
	 * (header + payload) and the trusted key that verified it. */
	uint8_t digest[RP_SHA256_LEN];
	uint8_t signer[RP_KEYID_LEN];
};

/* --- service side --------------------------------------------------- */

/* Encode t's payload: compact JSON, keys in the spec's order, no
 * whitespace. out is initialised here (owned by the caller, rp_buf_free).
 * t is validated with the same rules the device applies, so the service
 * cannot produce a document devices refuse for its form. */
int rp_targets_encode_payload(const struct rp_targets *t, struct rp_buf *out,
			      struct rp_err *e) RP_WUR;

/* Build and sign a whole document with each of keys (1..RP_TARGETS_SIGS_MAX,
 * distinct). out is initialised here and owned by the caller. Ed25519 is
 * deterministic, so the same t and keys give the same bytes. */
int rp_targets_build(const struct rp_targets *t,
		     const struct rp_key *const *keys, size_t nkeys,
		     struct rp_buf *out, struct rp_err *e) RP_WUR;

/* The same in three steps, for a signer in another process
 * (rampart-signer's sign-targets): encode the signed region (header +
 * payload, checked as rp_targets_encode_payload does and decoded again),
 * have it signed elsewhere, then append the signature block. out is
 * initialised here and owned by the caller. */
int rp_targets_encode_region(const struct rp_targets *t, struct rp_buf *out,
			     struct rp_err *e) RP_WUR;
/* Assemble region[0..len) (from rp_targets_encode_region) and the block
 * sb (1..RP_TARGETS_SIGS_MAX signatures over exactly that region; nothing
 * is verified here) into a whole document in out. */
struct rp_sigblock;
int rp_targets_assemble(const uint8_t *region, size_t len,
			const struct rp_sigblock *sb, struct rp_buf *out,
			struct rp_err *e) RP_WUR;
/* The signer's check of what it is asked to sign: buf[0..len) must be
 * exactly one signed region (magic, version 1, flags 0, payload length
 * equal to what follows the header) whose payload decodes by the rules
 * of rp_targets_parse_payload; *out gets the decoded document. Nothing
 * is verified (there is no signature yet). */
int rp_targets_parse_region(const uint8_t *buf, size_t len,
			    struct rp_targets *out, struct rp_err *e) RP_WUR;

/* --- device side ---------------------------------------------------- */

/* Verify, then interpret: check the envelope's lengths (without trusting
 * them), the signature block strictly, and a trusted signature over the
 * exact header + payload bytes; only then decode the payload into *out.
 * Signatures by keys not in trusted are ignored; any trusted signature
 * that fails refuses the document (RP_EVERIFY); no valid trusted signature
 * is RP_EUNTRUSTED. ntrusted must be at least 1. Errors start with
 * "targets: ". *out is written only on success. */
int rp_targets_verify(const uint8_t *buf, size_t len,
		      const struct rp_key *const *trusted, size_t ntrusted,
		      struct rp_targets *out, struct rp_err *e) RP_WUR;

/* The payload decoder alone, on bytes whose signature has already been
 * verified (and the fuzzing entry point). Strict: exactly the keys of the
 * spec, each once, with its type and range; unknown keys refused. */
int rp_targets_parse_payload(const uint8_t *buf, size_t len,
			     struct rp_targets *out, struct rp_err *e) RP_WUR;

/* --- acceptance: anti-rollback, anti-freeze, mix-and-match --------- */

#define RP_TARGETS_STATE_COMPONENTS_MAX 128

struct rp_targets_component {
	uint8_t component_id[RP_GUID_LEN];
	uint32_t security_version;        /* highest ever installed */
};

/* What the device keeps between check-ins (persisted with
 * rp_targets_state_save). A fresh state (all zero, from
 * rp_targets_state_init) has accepted nothing. */
struct rp_targets_state {
	int accepted;                     /* a document was accepted */
	uint64_t version;                 /* of the last accepted document */
	uint64_t issued_at;
	uint64_t expires;
	uint8_t tenant[RP_GUID_LEN];
	uint8_t product[RP_GUID_LEN];
	uint8_t group[RP_GUID_LEN];
	uint8_t digest[RP_SHA256_LEN];    /* rp_targets.digest */
	size_t ncomponents;
	struct rp_targets_component components[RP_TARGETS_STATE_COMPONENTS_MAX];
};

/* What the device knows about itself, from its own identity and clock,
 * never from the document. group and product may be NULL (a device does
 * not normally know its group; the service assigns it). */
struct rp_targets_expect {
	const uint8_t *tenant;            /* RP_GUID_LEN bytes, required */
	const uint8_t *device;            /* RP_KEYID_LEN bytes, required */
	const uint8_t *group;             /* RP_GUID_LEN bytes or NULL */
	const uint8_t *product;           /* RP_GUID_LEN bytes or NULL */
	uint64_t now;                     /* device clock, Unix seconds */
};

void rp_targets_state_init(struct rp_targets_state *st);

/* May the verified document t replace what st last accepted? Pure.
 * Returns 0, or RP_EPOLICY naming the first rule broken: another tenant,
 * device, group or product (mix-and-match); not yet valid (issued more
 * than RP_TARGETS_CLOCK_SKEW in the future); expired (now, or the last
 * accepted issued_at if the clock is behind it, is past expires +
 * RP_TARGETS_CLOCK_SKEW); a replay or rollback (same group: version not
 * above the last, or issued earlier; another group: not issued strictly
 * later); an image whose security version is below the one installed for
 * its component. */
int rp_targets_check(const struct rp_targets *t,
		     const struct rp_targets_state *st,
		     const struct rp_targets_expect *x,
		     struct rp_err *e) RP_WUR;

/* Record t as accepted (after rp_targets_check returned 0). Does not
 * touch the installed security versions. */
void rp_targets_state_accept(struct rp_targets_state *st,
			     const struct rp_targets *t);

/* Raise the installed security version of a component (never lowers it).
 * RP_ERANGE when the table is full. */
int rp_targets_state_note_installed(struct rp_targets_state *st,
				    const uint8_t component_id[RP_GUID_LEN],
				    uint32_t security_version,
				    struct rp_err *e) RP_WUR;

/* The installed security version of a component, 0 if none recorded. */
uint32_t rp_targets_state_installed(const struct rp_targets_state *st,
				    const uint8_t component_id[RP_GUID_LEN]);

/* --- the state file ------------------------------------------------- */

#define RP_TARGETS_STATE_HEADER_LEN 128
#define RP_TARGETS_STATE_ENTRY_LEN 24
#define RP_TARGETS_STATE_FILE_MAX \
	(RP_TARGETS_STATE_HEADER_LEN + \
	 RP_TARGETS_STATE_COMPONENTS_MAX * RP_TARGETS_STATE_ENTRY_LEN + \
	 RP_SHA256_LEN)

/* Pure encode/decode of the state file bytes. out is initialised here and
 * owned by the caller. decode refuses anything malformed or with a wrong
 * checksum (RP_EFORMAT / RP_EVERIFY) and writes *st only on success. */
int rp_targets_state_encode(const struct rp_targets_state *st,
			    struct rp_buf *out, struct rp_err *e) RP_WUR;
int rp_targets_state_decode(const uint8_t *buf, size_t len,
			    struct rp_targets_state *st,
			    struct rp_err *e) RP_WUR;

/* Load the state file. A missing file is -ENOENT and a damaged one
 * RP_EFORMAT/RP_EVERIFY: never a fresh state. The caller must treat both
 * as "accept no targets" (see docs/formats/targets.md, "State file"); only
 * provisioning creates the file (rp_targets_state_create). */
int rp_targets_state_load(const char *path, struct rp_targets_state *st,
			  struct rp_err *e) RP_WUR;
/* Replace the state file atomically (temp file, fsync, rename), mode 0600. */
int rp_targets_state_save(const char *path, const struct rp_targets_state *st,
			  struct rp_err *e) RP_WUR;
/* Write a fresh state; refuses (EEXIST) if the file exists. For
 * provisioning only. */
int rp_targets_state_create(const char *path, struct rp_err *e) RP_WUR;

#endif
