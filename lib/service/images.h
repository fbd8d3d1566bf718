/* Images and deployments in the service: developer signing keys
 * registered per product, image uploads verified against them, the
 * tenant's production signature added by rampart-signer, content-addressed
 * storage, downloads, and a device group's versioned deployments.
 * Design: docs/DESIGN.md, "Service"; the flow: docs/server.md.
 *
 * Storage: <data>/images/<sha256 hex of the production-signed file>,
 * written through <data>/tmp (same file system, so the final rename is
 * atomic). A component id belongs to the first product of the tenant that
 * uploads it. Image ids are the package header's image id (unique per
 * tenant).
 *
 * Access as model.h (another tenant's anything is -ENOENT); uploads and
 * deployments need Contributor, key registration Administrator. Every
 * change writes an audit row. Errors as model.h, plus RP_EVERIFY (422)
 * for a package that is refused (the message says why) and -ENOSYS (503)
 * when the server has no data directory or no signer. */
#ifndef RP_SERVICE_IMAGES_H
#define RP_SERVICE_IMAGES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "service/model.h"

#define RP_IMAGE_MAX_DEFAULT (64ULL * 1024 * 1024) /* upload, bytes */
#define RP_IMAGE_MAX_LIMIT (4096ULL * 1024 * 1024) /* --max-image-mb cap */
#define RP_SIGNING_KEYS_MAX 16   /* registered keys per product */
#define RP_PUBKEY_PEM_MAX 4096   /* one public key, PEM bytes */
#define RP_DEPLOY_IMAGES_MAX 32  /* images in one deployment */
#define RP_IMAGE_LIST_MAX 10000  /* images in one listing */
#define RP_DEPLOY_LIST_MAX 100   /* deployments in one listing, newest */

/* Create <dir>, <dir>/images and <dir>/tmp (0700) if missing, and empty
 * <dir>/tmp of uploads a crash left behind. */
int rp_images_prepare(const char *dir, struct rp_err *e) RP_WUR;

/* Administrator: register the public key pem[0..len) (Ed25519 or P-256;
 * a private key is refused and never stored) as a developer signing key
 * of the product. -EEXIST if it is registered already. */
int rp_images_key_add(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *product, const char *pem,
		      size_t len, json_t **out, struct rp_err *e) RP_WUR;
/* Reader. */
int rp_images_key_list(struct rp_model *m, const struct rp_principal *p,
		       const char *tenant, const char *product, json_t **out,
		       struct rp_err *e) RP_WUR;

/* Reader: the tenant's production image key {key_id, algorithm,
 * public_key} in *out and as PEM in pem (initialised here, rp_buf_free). */
int rp_images_production_key(struct rp_model *m, const struct rp_principal *p,
			     const char *tenant, json_t **out,
			     struct rp_buf *pem, struct rp_err *e) RP_WUR;

/* Contributor: upload the package body[0..len) (at most m->image_max)
 * for the product. It must verify (rp_image_verify) with one of the
 * product's registered keys; then the production signature is appended
 * and the file stored. The result is the image's metadata. */
int rp_images_upload(struct rp_model *m, const struct rp_principal *p,
		     const char *tenant, const char *product,
		     const uint8_t *body, size_t len, json_t **out,
		     struct rp_err *e) RP_WUR;
/* Reader. */
int rp_images_list(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, json_t **out, struct rp_err *e) RP_WUR;
int rp_images_get(struct rp_model *m, const struct rp_principal *p,
		  const char *tenant, const char *image, json_t **out,
		  struct rp_err *e) RP_WUR;
/* Reader: open the stored file read-only; *fd (owned by the caller) and
 * its *size; sha256 gets its digest in hex. */
int rp_images_open(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, const char *image, int *fd,
		   uint64_t *size, char sha256[65], struct rp_err *e) RP_WUR;
/* The same without an access check, for callers that made their own
 * (device downloads, lib/service/device.h). */
int rp_images_open_file(struct rp_model *m, const char *tenant, const char *image,
			int *fd, uint64_t *size, char sha256[65],
			struct rp_err *e) RP_WUR;

/* Contributor: a new deployment of the group (a group of product in
 * tenant) naming images[0..n) (ids, n <= RP_DEPLOY_IMAGES_MAX): each an
 * image of that product, at most one per component. Its version is the
 * group's previous one plus one; the newest is the group's target set. */
int rp_images_deploy(struct rp_model *m, const struct rp_principal *p,
		     const char *tenant, const char *product, const char *group,
		     const char (*images)[RP_ID_LEN + 1], size_t n,
		     json_t **out, struct rp_err *e) RP_WUR;
/* Reader: the group's deployments, newest first. */
int rp_images_deployments(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, const char *product,
			  const char *group, json_t **out,
			  struct rp_err *e) RP_WUR;

#endif
