#include "format/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/archive.h"

/* The EntryPoint must be a regular, executable file of the payload. */
static int check_entry_point(int fd, const struct rp_pkg_info *pkg,
			     const char *entry, struct rp_err *e)
{
	struct rp_fd_src src = { .fd = fd, .base = pkg->payload_off };
	struct rp_archive_iter it;
	struct rp_archive_entry *ent = NULL;
	const char *rel = entry + 1; /* the manifest check made it absolute */
	int rc;

	ent = calloc(1, sizeof(*ent));
	if (!ent)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rp_archive_iter_init(&it, rp_fd_read_at, &src, pkg->hdr.payload_len);
	while ((rc = rp_archive_next(&it, ent, e)) == 0) {
		if (strcmp(ent->path, rel) != 0)
			continue;
		if (ent->type != RP_AR_FILE)
			rc = rp_err_set(e, RP_EPOLICY,
					"EntryPoint \"%s\" is not a regular file", entry);
		else if (!(ent->mode & 0100))
			rc = rp_err_set(e, RP_EPOLICY,
					"EntryPoint \"%s\" is not executable", entry);
		goto out;
	}
	if (rc == 1)
		rc = rp_err_set(e, RP_EPOLICY,
				"EntryPoint \"%s\" is not in the payload", entry);
out:
	free(ent);
	return rc;
}

int rp_image_verify(const char *path, const struct rp_key *const *trusted,
		    size_t ntrusted, struct rp_image *img, struct rp_err *e)
{
	int fd = -1, rc;

	memset(img, 0, sizeof(*img));
	rp_buf_init(&img->pkg.manifest, 0);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	rc = rp_pkg_verify_fd(fd, trusted, ntrusted, &img->pkg, e);
	if (rc)
		goto out;
	if (img->pkg.hdr.type != RP_IMAGE_APP)
		goto out;
	rc = rp_manifest_parse(img->pkg.manifest.data, img->pkg.manifest.len,
			       &img->manifest, e);
	if (rc) {
		rp_err_prefix(e, "manifest");
		goto out;
	}
	if (!rp_ct_equal(img->manifest->component_id, img->pkg.hdr.component_id,
			 sizeof(img->manifest->component_id))) {
		rc = rp_err_set(e, RP_EPOLICY,
				"manifest ComponentId %s does not match the signed header",
				img->manifest->component_id_text);
		goto out;
	}
	if (img->manifest->needs_board) {
		rc = rp_err_set(e, RP_EPOLICY,
				"manifest has unresolved \"$NAME\" peripherals "
				"(pack it with --board)");
		goto out;
	}
	rc = check_entry_point(fd, &img->pkg, img->manifest->entry_point, e);
out:
	if (rc)
		rp_err_prefix(e, "%s", path);
	if (fd >= 0)
		close(fd);
	return rc;
}

void rp_image_free(struct rp_image *img)
{
	rp_manifest_free(img->manifest);
	img->manifest = NULL;
	rp_pkg_info_free(&img->pkg);
}
