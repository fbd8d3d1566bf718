/* An application image: a signed package whose manifest is valid, agrees
 * with the signed header, and whose EntryPoint is in the payload. This is
 * the check `rampart package verify` makes and rampartd will make before
 * using any byte of a package. */
#ifndef RP_FORMAT_IMAGE_H
#define RP_FORMAT_IMAGE_H

#include "format/manifest.h"
#include "format/package.h"

struct rp_image {
	struct rp_pkg_info pkg;
	struct rp_manifest *manifest; /* NULL for non-application images */
};

/* Verify path against the trusted keys (ntrusted == 0: integrity only, see
 * rp_pkg_verify_fd) and check the application rules. *img is initialised
 * here and must be released with rp_image_free, also on failure. */
int rp_image_verify(const char *path, const struct rp_key *const *trusted,
		    size_t ntrusted, struct rp_image *img,
		    struct rp_err *e) RP_WUR;

void rp_image_free(struct rp_image *img);

#endif
