/* Signed image packages. Byte layout: docs/formats/image-package.md.
 *
 *   header (256 bytes) | manifest | payload | signature block | trailer
 *
 * Every signature signs the 256-byte header; the header commits to the
 * manifest and the payload by size and SHA-256, and the sizes must add up
 * to the file's length, so every byte before the signature block is
 * covered. Verification checks a trusted signature over the header before
 * interpreting it, then streams the rest through SHA-256 once. */
#ifndef RP_FORMAT_PACKAGE_H
#define RP_FORMAT_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"

#define RP_PKG_HEADER_LEN 256
#define RP_PKG_VERSION_LEN 32  /* version text, NUL-padded */
#define RP_PKG_SIGS_MAX 8
#define RP_PKG_SIGBLOCK_MAX 4096
#define RP_PKG_PAYLOAD_MAX (UINT64_C(1) << 40)

enum rp_image_type {
	RP_IMAGE_APP = 1,
	RP_IMAGE_BOARD = 2,
	RP_IMAGE_RUNTIME = 3,
	RP_IMAGE_FIRMWARE = 4,
};
const char *rp_image_type_name(enum rp_image_type t); /* "application"... */
int rp_image_type_parse(const char *s, enum rp_image_type *out) RP_WUR;

struct rp_pkg_header {
	uint16_t format_version;
	enum rp_image_type type;
	uint8_t payload_format;
	uint8_t component_id[16];
	uint8_t image_id[16];
	char version[RP_PKG_VERSION_LEN + 1];
	uint32_t security_version;
	uint64_t build_time;      /* seconds since the epoch */
	uint64_t manifest_len;
	uint8_t manifest_sha256[RP_SHA256_LEN];
	uint64_t payload_len;
	uint8_t payload_sha256[RP_SHA256_LEN];
};

enum rp_sig_status {
	RP_SIG_UNCHECKED = 0, /* no trusted key with this id was given */
	RP_SIG_VALID = 1,     /* verified with a trusted key */
};

struct rp_pkg_sig {
	enum rp_key_type alg;
	uint8_t key_id[RP_KEYID_LEN];
	enum rp_sig_status status;
};

struct rp_pkg_info {
	struct rp_pkg_header hdr;
	uint64_t file_len;
	uint64_t payload_off;       /* offset of the payload in the file */
	size_t nsigs;
	struct rp_pkg_sig sigs[RP_PKG_SIGS_MAX];
	struct rp_buf manifest;     /* verified manifest bytes (owned) */
	uint64_t nentries, nbytes;  /* payload archive: entries, file bytes */
};

struct rp_pkg_pack_opts {
	const char *dir;                 /* the app's file tree */
	const uint8_t *manifest;         /* manifest bytes to store */
	size_t manifest_len;
	enum rp_image_type type;
	const uint8_t *component_id;     /* 16 bytes */
	const uint8_t *image_id;         /* 16 bytes, or NULL for random */
	const char *version;             /* e.g. "1.0.0" */
	uint32_t security_version;
	uint64_t build_time;             /* 0: now */
	const struct rp_key *const *keys;/* signers, at least one */
	size_t nkeys;
};

/* Write a signed package to out_path (atomically: temp file + rename). */
int rp_pkg_pack(const struct rp_pkg_pack_opts *o, const char *out_path,
		struct rp_err *e) RP_WUR;

/* Verify the package open on fd against the trusted keys. On success,
 * *info (initialised here; release with rp_pkg_info_free) describes it.
 * On failure *info holds nothing (calling rp_pkg_info_free is still safe).
 * Errors start with "package: " and name the part: "package: signature
 * block: ...", "package: payload: entry 'x': ...". A signature by a key
 * that is not trusted is ignored (status RP_SIG_UNCHECKED); no valid
 * trusted signature is RP_EUNTRUSTED.
 * With ntrusted == 0 the signature check is skipped and every signature is
 * RP_SIG_UNCHECKED: for `package show`, never for installing. Refuses:
 * wrong magic or version, a truncated or extended file, a malformed
 * signature block, no valid trusted signature, any trusted signature that
 * fails, any digest mismatch, and an invalid payload archive. */
int rp_pkg_verify_fd(int fd, const struct rp_key *const *trusted,
		     size_t ntrusted, struct rp_pkg_info *info,
		     struct rp_err *e) RP_WUR;
int rp_pkg_verify_file(const char *path, const struct rp_key *const *trusted,
		       size_t ntrusted, struct rp_pkg_info *info,
		       struct rp_err *e) RP_WUR;

/* Structural checks of an in-memory package (header, signature block,
 * digests, archive) without trust: the fuzzing entry point. */
int rp_pkg_verify_mem(const uint8_t *buf, size_t len,
		      const struct rp_key *const *trusted, size_t ntrusted,
		      struct rp_pkg_info *info, struct rp_err *e) RP_WUR;

/* Append a signature by key to an existing package (the service adds its
 * production signature this way). The package is verified first. */
int rp_pkg_add_signature(const char *path, const struct rp_key *key,
			 struct rp_err *e) RP_WUR;

/* The same with a signature made elsewhere (rampart-signer holds the
 * service's production key): sig[0..len) by algorithm alg (enum
 * rp_key_type) and key key_id over the package's 256-byte header. The
 * package is checked structurally first; the signature is not verified
 * here (the caller verifies the result with the public key). */
int rp_pkg_append_signature(const char *path, enum rp_key_type alg,
			    const uint8_t key_id[RP_KEYID_LEN],
			    const uint8_t *sig, size_t len,
			    struct rp_err *e) RP_WUR;

void rp_pkg_info_free(struct rp_pkg_info *info);

#endif
