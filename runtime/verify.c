/* rampart-verify's commands: load the trust directories, verify a package
 * with lib/format/image, extract a verified payload, and the device key.
 * The one process in the runtime that parses untrusted package bytes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "crypto/crypto.h"
#include "format/archive.h"
#include "format/image.h"
#include "verify.h"

#define KEYS_MAX (RPV_TRUST_DIRS_MAX * RPV_KEYS_PER_DIR_MAX)

struct keyset {
	struct rp_key *k[KEYS_MAX];
	enum rpv_trust trust[KEYS_MAX];
	size_t n;
};

static void keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		rp_key_free(ks->k[i]);
	ks->n = 0;
}

static int is_pub(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

/* Add the *.pub keys of dir. A missing dir is empty; an unreadable key is
 * an error (a trust store that silently loses keys hides mistakes). */
static int load_dir(const struct rpv_trust_dir *td, struct keyset *ks,
		    struct rp_err *e)
{
	DIR *dp = opendir(td->dir);
	struct dirent *de;
	size_t added = 0;
	int rc = 0;

	if (!dp)
		return errno == ENOENT ? 0 : rp_err_errno(e, errno, "%s", td->dir);
	while ((de = readdir(dp))) {
		char p[4096];

		if (!is_pub(de->d_name))
			continue;
		if (added >= RPV_KEYS_PER_DIR_MAX || ks->n >= KEYS_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "%s: more than %d keys", td->dir,
					RPV_KEYS_PER_DIR_MAX);
			break;
		}
		if (snprintf(p, sizeof(p), "%s/%s", td->dir, de->d_name) >= (int)sizeof(p)) {
			rc = rp_err_set(e, RP_ERANGE, "%s: path too long", td->dir);
			break;
		}
		if ((rc = rp_key_load_file(p, 0, &ks->k[ks->n], e)))
			break;
		ks->trust[ks->n++] = td->trust;
		added++;
	}
	closedir(dp);
	return rc;
}

static int trust_load(const struct rpv_trust_dir *dirs, size_t ndirs,
		      struct keyset *ks, struct rp_err *e)
{
	size_t i;
	int rc = 0;

	memset(ks, 0, sizeof(*ks));
	for (i = 0; i < ndirs && rc == 0; i++)
		rc = load_dir(&dirs[i], ks, e);
	if (rc) {
		rp_err_prefix(e, "trust");
		keyset_free(ks);
		return rc;
	}
	/* With no key rp_image_verify checks integrity only: never here. */
	if (ks->n == 0)
		return rp_err_set(e, RP_EUNTRUSTED, "the device trusts no keys");
	return 0;
}

static int verify(const struct rpv_trust_dir *dirs, size_t ndirs,
		  const char *pkg, struct keyset *ks, struct rp_image *img,
		  struct rp_err *e)
{
	int rc;

	memset(img, 0, sizeof(*img));
	rp_buf_init(&img->pkg.manifest, 0);
	if ((rc = trust_load(dirs, ndirs, ks, e)))
		return rc;
	return rp_image_verify(pkg, (const struct rp_key *const *)ks->k, ks->n,
			       img, e);
}

static const char *trust_of(const struct keyset *ks, const uint8_t *kid)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (memcmp(rp_key_id(ks->k[i]), kid, RP_KEYID_LEN) == 0)
			return ks->trust[i] == RPV_PRODUCTION ? "production" :
			       "development";
	return NULL;
}

int rpv_image(const struct rpv_trust_dir *dirs, size_t ndirs, const char *pkg,
	      json_t **out, struct rp_err *e)
{
	const struct rp_pkg_header *h;
	struct keyset ks;
	struct rp_image img;
	json_t *sigs = NULL, *o = NULL;
	char cid[33], iid[33], kid[2 * RP_KEYID_LEN + 1];
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = verify(dirs, ndirs, pkg, &ks, &img, e)))
		goto out;
	h = &img.pkg.hdr;
	sigs = json_array();
	if (!sigs) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < img.pkg.nsigs; i++) {
		const struct rp_pkg_sig *s = &img.pkg.sigs[i];
		int valid = s->status == RP_SIG_VALID;

		rp_hex(s->key_id, RP_KEYID_LEN, kid);
		if (json_array_append_new(sigs, json_pack("{s:s, s:s?, s:s, s:s?}",
				"key_id", kid, "alg", rp_key_type_name(s->alg),
				"status", valid ? "valid" : "unchecked",
				"trust", valid ? trust_of(&ks, s->key_id) : NULL))) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
	}
	rp_hex(h->component_id, 16, cid);
	rp_hex(h->image_id, 16, iid);
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:O, s:o}",
		      "v", 1, "type", rp_image_type_name(h->type),
		      "component_id", cid, "image_id", iid, "version", h->version,
		      "security_version", (json_int_t)h->security_version,
		      "build_time", (json_int_t)h->build_time,
		      "payload_len", (json_int_t)h->payload_len, "signatures", sigs,
		      "manifest", img.manifest ?
		      json_stringn((const char *)img.pkg.manifest.data,
				   img.pkg.manifest.len) : json_null());
	if (!o || (img.manifest && json_is_null(json_object_get(o, "manifest")))) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	*out = o;
	o = NULL;
out:
	json_decref(o);
	json_decref(sigs);
	rp_image_free(&img);
	keyset_free(&ks);
	return rc;
}

int rpv_extract(const struct rpv_trust_dir *dirs, size_t ndirs,
		const char *pkg, const char *dest, struct rp_err *e)
{
	struct keyset ks;
	struct rp_image img;
	struct rp_fd_src src;
	int fd = -1, rc;

	/* Verify again: this run must not trust what an earlier one said. */
	if ((rc = verify(dirs, ndirs, pkg, &ks, &img, e)))
		goto out;
	if (!img.manifest) {
		rc = rp_err_set(e, RP_EPOLICY, "package: a %s image is not an "
				"application", rp_image_type_name(img.pkg.hdr.type));
		goto out;
	}
	fd = open(pkg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", pkg);
		goto out;
	}
	src.fd = fd;
	src.base = img.pkg.payload_off;
	rc = rp_archive_extract(rp_fd_read_at, &src, img.pkg.hdr.payload_len,
				dest, e);
out:
	if (fd >= 0)
		close(fd);
	rp_image_free(&img);
	keyset_free(&ks);
	return rc;
}

int rpv_device_key(const char *state_dir, json_t **out, struct rp_err *e)
{
	struct rp_key *k = NULL;
	struct rp_buf pem;
	char path[4096], id[2 * RP_KEYID_LEN + 1];
	int rc, generated = 0;

	*out = NULL;
	rp_buf_init(&pem, 0);
	if (snprintf(path, sizeof(path), "%s/device.key", state_dir) >= (int)sizeof(path))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		/* First start: the device's identity. On hardware this key
		 * belongs in a TPM or secure element (a later issue). */
		if ((rc = rp_key_generate(RP_KEY_ED25519, &k, e)) ||
		    (rc = rp_key_private_pem(k, &pem, e)) ||
		    (rc = rp_file_write(path, pem.data, pem.len, 0600, 1, e)))
			goto out;
		generated = 1;
	} else if ((rc = rp_key_load_file(path, 1, &k, e))) {
		goto out;
	}
	rp_hex(rp_key_id(k), RP_KEYID_LEN, id);
	*out = json_pack("{s:s, s:b}", "device_id", id, "generated", generated);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_buf_free_wipe(&pem);
	rp_key_free(k);
	return rc;
}

int rpv_key_id(const char *pem_path, json_t **out, struct rp_err *e)
{
	struct rp_key *k = NULL;
	struct rp_buf text, pub;
	char id[2 * RP_KEYID_LEN + 1];
	int rc;

	*out = NULL;
	rp_buf_init(&text, 0);
	rp_buf_init(&pub, 0);
	/* rp_key_load_pem, not _file: the file is rampartd's temporary copy,
	 * and its name means nothing to the operator. */
	if ((rc = rp_file_read(pem_path, RPV_PEM_MAX, &text, e)) ||
	    (rc = rp_key_load_pem(text.data, text.len, 0, &k, e)) ||
	    (rc = rp_key_public_pem(k, &pub, e)))
		goto out;
	rp_hex(rp_key_id(k), RP_KEYID_LEN, id);
	*out = json_pack("{s:s, s:s%}", "key_id", id, "pem",
			 (const char *)pub.data, pub.len);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_buf_free_wipe(&text);
	rp_buf_free(&pub);
	rp_key_free(k);
	return rc;
}
