/* Images and deployments: verify an upload against the product's
 * developer keys, have rampart-signer sign its header with the tenant's
 * production key, store it by digest, and keep each group's versioned
 * target sets. The production key never comes near this file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "ca/client.h"
#include "crypto/crypto.h"
#include "format/image.h"
#include "format/manifest.h"
#include "format/package.h"
#include "service/images.h"
#include "service/model_priv.h"

#define HASH_BUF (1u << 20)
#define SHA_HEX (2 * RP_SHA256_LEN + 1)

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int mkdir_private(const char *path, struct rp_err *e)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return rp_err_errno(e, errno, "%s", path);
	if (stat(path, &st) < 0)
		return rp_err_errno(e, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return rp_err_set(e, RP_EPOLICY, "%s: not a directory", path);
	return 0;
}

static int sub(const char *dir, const char *name, char out[PATH_MAX],
	       struct rp_err *e)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return rp_err_set(e, RP_ERANGE, "%s: path too long", dir);
	return 0;
}

int rp_images_prepare(const char *dir, struct rp_err *e)
{
	char path[PATH_MAX], f[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	int rc;

	rc = mkdir_private(dir, e);
	if (!rc)
		rc = sub(dir, "images", path, e);
	if (!rc)
		rc = mkdir_private(path, e);
	if (!rc)
		rc = sub(dir, "tmp", path, e);
	if (!rc)
		rc = mkdir_private(path, e);
	if (rc)
		return rp_err_prefix(e, "data directory");
	dp = opendir(path);
	if (!dp)
		return rp_err_errno(e, errno, "%s", path);
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, "upload-", 7) != 0)
			continue;
		if (sub(path, d->d_name, f, e) == 0)
			(void)unlink(f);
	}
	closedir(dp);
	rp_err_clear(e);
	return 0;
}

static int no_service(const struct rp_model *m, struct rp_err *e)
{
	if (!m->data_dir)
		return rp_err_set(e, -ENOSYS, "the server stores no images (serve --data)");
	if (!m->signer)
		return rp_err_set(e, -ENOSYS, "the server has no signer (serve --keys)");
	return 0;
}

/* 0 a row, 1 none, <0 error; st stays open on 0 (caller frees). */
static int query(struct rp_model *m, const char *sql, const char *const *params,
		 int n, struct rp_stmt **st, struct rp_err *e)
{
	int rc, i;

	*st = NULL;
	rc = rp_db_prepare(m->db, sql, st, e);
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		if (rp_stmt_bind_text(*st, i + 1, params[i]))
			return rp_err_set(e, RP_ENOMEM, "binding failed");
	return rp_stmt_step(*st, e);
}

static int exists(struct rp_model *m, const char *sql, const char *const *params,
		  int n, const char *what, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int rc = query(m, sql, params, n, &st, e);

	rp_stmt_free(st);
	if (rc == 1)
		return rp_err_set(e, -ENOENT, "%s not found", what);
	return rc;
}

static int product_of(struct rp_model *m, const char *tenant, const char *product,
		      struct rp_err *e)
{
	const char *params[2] = { product, tenant };

	if (!rp_model_is_id(product))
		return rp_err_set(e, -ENOENT, "product not found");
	return exists(m, "SELECT id FROM products WHERE id = ? AND tenant_id = ?",
		      params, 2, "product", e);
}

/* ---- signing keys ------------------------------------------------------ */

int rp_images_key_add(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *product, const char *pem,
		      size_t len, json_t **out, struct rp_err *e)
{
	char id[2 * RP_KEYID_LEN + 1], when[24], count[24];
	const char *params[7];
	struct rp_buf pub = { 0 };
	struct rp_stmt *st = NULL;
	struct rp_key *k = NULL;
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_ADMIN, e);
	if (!rc)
		rc = product_of(m, tenant, product, e);
	if (rc)
		return rc;
	/* A private key is never taken, not even to use its public half. */
	if (len == 0 || len > RP_PUBKEY_PEM_MAX || memmem(pem, len, "PRIVATE", 7))
		return rp_err_set(e, RP_EINVAL,
				  "public_key: must be a public key in PEM, at most %d bytes",
				  RP_PUBKEY_PEM_MAX);
	rc = rp_key_load_pem((const uint8_t *)pem, len, 0, &k, e);
	if (rc) {
		rp_err_prefix(e, "public_key");
		return rc == RP_ENOMEM ? rc : RP_EINVAL;
	}
	rc = rp_key_public_pem(k, &pub, e);
	if (!rc && rp_buf_cstr(&pub))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	if (rc)
		goto out;
	rp_hex(rp_key_id(k), RP_KEYID_LEN, id);
	params[0] = product;
	rc = query(m, "SELECT COUNT(*) FROM signing_keys WHERE product_id = ?", params, 1,
		   &st, e);
	if (rc == 0 && rp_stmt_int(st, 0) >= RP_SIGNING_KEYS_MAX)
		rc = rp_err_set(e, RP_ERANGE, "the product has %d signing keys already",
				RP_SIGNING_KEYS_MAX);
	rp_stmt_free(st);
	if (rc < 0)
		goto out;
	snprintf(when, sizeof(when), "%lld", (long long)now_s());
	snprintf(count, sizeof(count), "%s", rp_key_type_name(rp_key_type(k)));
	params[0] = id;
	params[1] = tenant;
	params[2] = product;
	params[3] = count;
	params[4] = (const char *)pub.data;
	params[5] = p->name;
	params[6] = when;
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	rc = rp_db_exec(m->db, "INSERT INTO signing_keys (key_id, tenant_id, product_id,"
			" algorithm, pem, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			params, 7, NULL, e);
	if (rc == -EEXIST)
		rp_err_set(e, rc, "this key is registered for the product already");
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "signing-key.add", id, product, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc) {
		rp_db_rollback(m->db);
		goto out;
	}
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "key_id", id,
			 "product_id", product, "algorithm", count,
			 "public_key", (const char *)pub.data, "created_by", p->name,
			 "created_at", rp_model_time_json(now_s()));
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_buf_free(&pub);
	rp_key_free(k);
	return rc;
}

int rp_images_key_list(struct rp_model *m, const struct rp_principal *p,
		       const char *tenant, const char *product, json_t **out,
		       struct rp_err *e)
{
	const char *params[2] = { product, tenant };
	struct rp_stmt *st = NULL;
	json_t *arr = NULL, *o;
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (!rc)
		rc = product_of(m, tenant, product, e);
	if (rc)
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = query(m, "SELECT key_id, algorithm, pem, created_by, created_at"
		   " FROM signing_keys WHERE product_id = ? AND tenant_id = ?"
		   " ORDER BY created_at, key_id", params, 2, &st, e);
	for (; rc == 0; rc = rp_stmt_step(st, e)) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "key_id", rp_stmt_text(st, 0),
			      "product_id", product, "algorithm", rp_stmt_text(st, 1),
			      "public_key", rp_stmt_text(st, 2), "created_by",
			      rp_stmt_text(st, 3), "created_at",
			      rp_model_time_json(rp_stmt_int(st, 4)));
		if (!o || json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
	}
	rp_stmt_free(st);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* The product's keys, loaded. */
static int product_keys(struct rp_model *m, const char *product,
			struct rp_key *keys[RP_SIGNING_KEYS_MAX], size_t *n,
			struct rp_err *e)
{
	const char *params[1] = { product };
	struct rp_stmt *st = NULL;
	int rc;

	*n = 0;
	rc = query(m, "SELECT pem FROM signing_keys WHERE product_id = ?"
		   " ORDER BY key_id", params, 1, &st, e);
	for (; rc == 0 && *n < RP_SIGNING_KEYS_MAX; rc = rp_stmt_step(st, e)) {
		const char *pem = rp_stmt_text(st, 0);

		rc = rp_key_load_pem((const uint8_t *)pem, strlen(pem), 0, &keys[*n], e);
		if (rc)
			break;
		(*n)++;
	}
	rp_stmt_free(st);
	if (rc < 0) {
		while (*n > 0)
			rp_key_free(keys[--(*n)]);
		return rc;
	}
	if (*n == 0)
		return rp_err_set(e, RP_EVERIFY,
				  "the product has no registered signing keys (POST .../signing-keys)");
	return 0;
}

static int production_key(struct rp_model *m, const char *tenant,
			  struct rp_signer_image_key *ik, struct rp_key **k,
			  struct rp_err *e)
{
	int rc = rp_signer_image_key(m->signer, tenant, ik, e);

	if (rc)
		return rp_err_prefix(e, "production key");
	rc = rp_key_load_pem(ik->pem.data, ik->pem.len, 0, k, e);
	if (rc) {
		rp_signer_image_key_free(ik);
		return rp_err_prefix(e, "production key");
	}
	return 0;
}

int rp_images_production_key(struct rp_model *m, const struct rp_principal *p,
			     const char *tenant, json_t **out,
			     struct rp_buf *pem, struct rp_err *e)
{
	struct rp_signer_image_key ik;
	int rc;

	memset(&ik, 0, sizeof(ik));
	rp_buf_init(pem, RP_PUBKEY_PEM_MAX);
	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (!rc && !m->signer)
		rc = rp_err_set(e, -ENOSYS, "the server has no signer (serve --keys)");
	if (!rc)
		rc = rp_signer_image_key(m->signer, tenant, &ik, e);
	if (rc)
		return rc;
	*out = json_pack("{s:s, s:s, s:s}", "key_id", ik.key_id, "algorithm", "ed25519",
			 "public_key", (const char *)ik.pem.data);
	if (!*out) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	} else {
		rp_buf_free(pem);
		*pem = ik.pem;
		memset(&ik.pem, 0, sizeof(ik.pem));
	}
	rp_signer_image_key_free(&ik);
	return rc;
}

/* ---- upload ------------------------------------------------------------- */

/* Package refusals become RP_EVERIFY (422); failures of ours stay. */
static int refused(int rc, struct rp_err *e)
{
	switch (rc) {
	case RP_EFORMAT:
	case RP_EVERIFY:
	case RP_EUNTRUSTED:
	case RP_EPOLICY:
	case RP_EINVAL:
	case RP_ERANGE:
	case RP_EUSAGE:
		e->code = RP_EVERIFY;
		return RP_EVERIFY;
	default:
		return rc;
	}
}

static int write_temp(const char *dir, const uint8_t *body, size_t len,
		      char tmp[PATH_MAX], struct rp_err *e)
{
	int fd, rc, n = snprintf(tmp, PATH_MAX, "%s/tmp/upload-XXXXXX", dir);

	if (n < 0 || n >= PATH_MAX) {
		tmp[0] = '\0';
		return rp_err_set(e, RP_ERANGE, "data directory path too long");
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		tmp[0] = '\0';
		return rp_err_errno(e, errno, "upload");
	}
	rc = rp_write_full(fd, body, len, e);
	if (rc == 0 && fchmod(fd, 0600) < 0)
		rc = rp_err_errno(e, errno, "upload");
	close(fd);
	return rc;
}

static int hash_file(const char *path, char hex[SHA_HEX], uint64_t *size,
		     struct rp_err *e)
{
	uint8_t *buf = malloc(HASH_BUF), d[RP_SHA256_LEN];
	struct rp_sha256 *h = NULL;
	uint64_t off = 0;
	struct stat st;
	int fd = -1, rc;

	if (!buf || rp_sha256_new(&h)) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	rc = 0;
	while (rc == 0 && off < (uint64_t)st.st_size) {
		uint64_t left = (uint64_t)st.st_size - off;
		size_t n = left < HASH_BUF ? (size_t)left : HASH_BUF;

		rc = rp_pread_full(fd, buf, n, off, e);
		if (rc == 0 && rp_sha256_update(h, buf, n))
			rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
		off += n;
	}
	if (rc == 0 && rp_sha256_final(h, d))
		rc = rp_err_set(e, RP_ECRYPTO, "hashing failed");
	if (rc == 0) {
		rp_hex(d, sizeof(d), hex);
		*size = (uint64_t)st.st_size;
	}
out:
	if (fd >= 0)
		close(fd);
	rp_sha256_free(h);
	free(buf);
	return rc;
}

#define IMAGE_COLS \
	"SELECT id, product_id, component_id, image_type, version, security_version," \
	" size, sha256, developer_key_id, production_key_id, created_by, created_at"  \
	" FROM images"

static json_t *image_json(struct rp_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:o}",
			 "id", rp_stmt_text(st, 0), "product_id", rp_stmt_text(st, 1),
			 "component_id", rp_stmt_text(st, 2),
			 "image_type", rp_stmt_text(st, 3), "version", rp_stmt_text(st, 4),
			 "security_version", (json_int_t)rp_stmt_int(st, 5),
			 "size", (json_int_t)rp_stmt_int(st, 6),
			 "sha256", rp_stmt_text(st, 7),
			 "developer_key_id", rp_stmt_text(st, 8),
			 "production_key_id", rp_stmt_text(st, 9),
			 "created_by", rp_stmt_text(st, 10),
			 "created_at", rp_model_time_json(rp_stmt_int(st, 11)));
}

static int image_one(struct rp_model *m, const char *tenant, const char *image,
		     json_t **out, struct rp_err *e)
{
	const char *params[2] = { tenant, image };
	struct rp_stmt *st = NULL;
	int rc;

	if (!rp_model_is_id(image))
		return rp_err_set(e, -ENOENT, "image not found");
	rc = query(m, IMAGE_COLS " WHERE tenant_id = ? AND id = ?", params, 2, &st, e);
	if (rc == 1)
		rc = rp_err_set(e, -ENOENT, "image not found");
	if (rc == 0) {
		*out = image_json(st);
		if (!*out)
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	rp_stmt_free(st);
	return rc;
}

/* Refuse a component that another product of the tenant owns. */
static int component_free(struct rp_model *m, const char *tenant,
			  const char *product, const char *component,
			  struct rp_err *e)
{
	const char *params[3] = { tenant, component, product };
	struct rp_stmt *st = NULL;
	int rc = query(m, "SELECT product_id FROM images WHERE tenant_id = ?"
		       " AND component_id = ? AND product_id <> ? LIMIT 1",
		       params, 3, &st, e);

	rp_stmt_free(st);
	if (rc == 0)
		return rp_err_set(e, -EEXIST,
				  "component %s belongs to another product", component);
	return rc == 1 ? 0 : rc;
}

int rp_images_upload(struct rp_model *m, const struct rp_principal *p,
		     const char *tenant, const char *product,
		     const uint8_t *body, size_t len, json_t **out,
		     struct rp_err *e)
{
	struct rp_key *keys[RP_SIGNING_KEYS_MAX], *prod = NULL;
	struct rp_signer_image_key ik;
	struct rp_image img;
	struct rp_pkg_info check;
	struct rp_stmt *dup = NULL;
	uint8_t hdr[RP_PKG_HEADER_LEN], sig[RP_SIG_MAX], kid[RP_KEYID_LEN];
	char tmp[PATH_MAX], final[PATH_MAX], sha[SHA_HEX], dev[2 * RP_KEYID_LEN + 1];
	char id[RP_ID_LEN + 1], comp[RP_ID_LEN + 1], secv[24], size_s[24], when[24];
	const char *params[13];
	uint64_t max = m->image_max ? m->image_max : RP_IMAGE_MAX_DEFAULT, size = 0;
	size_t nkeys = 0, siglen = 0, i;
	int rc, fd = -1, began = 0;

	tmp[0] = '\0';
	dev[0] = '\0';
	memset(&ik, 0, sizeof(ik));
	memset(&img, 0, sizeof(img));
	memset(&check, 0, sizeof(check));
	rc = rp_model_access(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (!rc)
		rc = no_service(m, e);
	if (!rc)
		rc = product_of(m, tenant, product, e);
	if (rc)
		return rc;
	if (len > max)
		return rp_err_set(e, RP_ERANGE, "the image is over %llu bytes",
				  (unsigned long long)max);
	rc = product_keys(m, product, keys, &nkeys, e);
	if (rc)
		return rc;
	rc = write_temp(m->data_dir, body, len, tmp, e);
	if (rc)
		goto out;
	rc = rp_image_verify(tmp, (const struct rp_key *const *)keys, nkeys, &img, e);
	if (rc) {
		rc = refused(rc, e);
		goto out;
	}
	for (i = 0; i < img.pkg.nsigs && !dev[0]; i++)
		if (img.pkg.sigs[i].status == RP_SIG_VALID)
			rp_hex(img.pkg.sigs[i].key_id, RP_KEYID_LEN, dev);
	rp_guid_format(img.pkg.hdr.image_id, id);
	rp_guid_format(img.pkg.hdr.component_id, comp);
	rc = component_free(m, tenant, product, comp, e);
	if (rc)
		goto out;
	params[0] = tenant;
	params[1] = id;
	rc = query(m, "SELECT id FROM images WHERE tenant_id = ? AND id = ?", params, 2,
		   &dup, e);
	rp_stmt_free(dup);
	if (rc == 0)
		rc = rp_err_set(e, -EEXIST, "image %s is uploaded already", id);
	if (rc < 0)
		goto out;
	/* The production signature over the header we verified. */
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "upload");
		goto out;
	}
	rc = rp_pread_full(fd, hdr, sizeof(hdr), 0, e);
	if (!rc)
		rc = rp_signer_sign_image(m->signer, tenant, hdr, sig, &siglen, kid, e);
	if (!rc)
		rc = rp_pkg_append_signature(tmp, RP_KEY_ED25519, kid, sig, siglen, e);
	if (rc) {
		rc = refused(rc, e);
		rp_err_prefix(e, "production signature");
		goto out;
	}
	/* Check the result as a device will: trusting only the production key. */
	rc = production_key(m, tenant, &ik, &prod, e);
	if (!rc)
		rc = rp_pkg_verify_file(tmp, (const struct rp_key *const *)&prod, 1,
					&check, e);
	if (!rc)
		rc = hash_file(tmp, sha, &size, e);
	if (!rc)
		rc = sub(m->data_dir, "images/", final, e);
	if (rc)
		goto out;
	if (strlen(final) + SHA_HEX > PATH_MAX) {
		rc = rp_err_set(e, RP_ERANGE, "data directory path too long");
		goto out;
	}
	memcpy(final + strlen(final), sha, SHA_HEX);
	snprintf(secv, sizeof(secv), "%u", img.pkg.hdr.security_version);
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
	snprintf(when, sizeof(when), "%lld", (long long)now_s());
	params[0] = id;
	params[1] = tenant;
	params[2] = product;
	params[3] = comp;
	params[4] = rp_image_type_name(img.pkg.hdr.type);
	params[5] = img.pkg.hdr.version;
	params[6] = secv;
	params[7] = size_s;
	params[8] = sha;
	params[9] = dev;
	params[10] = ik.key_id;
	params[11] = p->name;
	params[12] = when;
	rc = rp_db_begin(m->db, e);
	if (rc)
		goto out;
	began = 1;
	rc = rp_db_exec(m->db, "INSERT INTO images (id, tenant_id, product_id,"
			" component_id, image_type, version, security_version, size, sha256,"
			" developer_key_id, production_key_id, created_by, created_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", params, 13, NULL, e);
	if (rc == -EEXIST)
		rp_err_set(e, rc, "image %s is uploaded already", id);
	if (!rc)
		rc = rp_model_audit(m, p, tenant, "image.upload", id, comp, e);
	/* Content-addressed: the same bytes land on the same name. */
	if (!rc && rename(tmp, final) < 0)
		rc = rp_err_errno(e, errno, "storing the image");
	if (!rc) {
		tmp[0] = '\0';
		rc = rp_db_commit(m->db, e);
	}
	if (rc)
		goto out;
	began = 0;
	rc = image_one(m, tenant, id, out, e);
out:
	if (began)
		rp_db_rollback(m->db);
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		(void)unlink(tmp);
	for (i = 0; i < nkeys; i++)
		rp_key_free(keys[i]);
	rp_key_free(prod);
	rp_signer_image_key_free(&ik);
	rp_pkg_info_free(&check);
	rp_image_free(&img);
	if (rc == RP_EVERIFY)
		rp_err_prefix(e, "image refused");
	return rc;
}

int rp_images_list(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, json_t **out, struct rp_err *e)
{
	const char *params[1] = { tenant };
	struct rp_stmt *st = NULL;
	json_t *arr = NULL, *o;
	size_t count = 0;
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (rc)
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = query(m, IMAGE_COLS " WHERE tenant_id = ? ORDER BY created_at DESC, id"
		   " LIMIT 10000", params, 1, &st, e);
	for (; rc == 0 && count++ < RP_IMAGE_LIST_MAX; rc = rp_stmt_step(st, e)) {
		o = image_json(st);
		if (!o || json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
	}
	rp_stmt_free(st);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int rp_images_get(struct rp_model *m, const struct rp_principal *p,
		  const char *tenant, const char *image, json_t **out,
		  struct rp_err *e)
{
	int rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);

	return rc ? rc : image_one(m, tenant, image, out, e);
}

int rp_images_open(struct rp_model *m, const struct rp_principal *p,
		   const char *tenant, const char *image, int *fd,
		   uint64_t *size, char sha256[65], struct rp_err *e)
{
	int rc;

	*fd = -1;
	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	return rc ? rc : rp_images_open_file(m, tenant, image, fd, size, sha256, e);
}

int rp_images_open_file(struct rp_model *m, const char *tenant, const char *image,
			int *fd, uint64_t *size, char sha256[65], struct rp_err *e)
{
	const char *params[2] = { tenant, image };
	char path[PATH_MAX];
	struct rp_stmt *st = NULL;
	struct stat sb;
	int rc = 0, f;

	*fd = -1;
	if (!m->data_dir)
		rc = rp_err_set(e, -ENOSYS, "the server stores no images (serve --data)");
	if (!rc && !rp_model_is_id(image))
		rc = rp_err_set(e, -ENOENT, "image not found");
	if (rc)
		return rc;
	rc = query(m, "SELECT sha256, size FROM images WHERE tenant_id = ? AND id = ?",
		   params, 2, &st, e);
	if (rc == 1)
		rc = rp_err_set(e, -ENOENT, "image not found");
	if (rc == 0 && (strlen(rp_stmt_text(st, 0)) != 64 ||
			strspn(rp_stmt_text(st, 0), "0123456789abcdef") != 64))
		rc = rp_err_set(e, RP_EIO, "image %s: bad digest in the database", image);
	if (rc == 0) {
		memcpy(sha256, rp_stmt_text(st, 0), 65);
		*size = (uint64_t)rp_stmt_int(st, 1);
	}
	rp_stmt_free(st);
	if (rc)
		return rc;
	if (snprintf(path, sizeof(path), "%s/images/%s", m->data_dir, sha256) >=
	    (int)sizeof(path))
		return rp_err_set(e, RP_ERANGE, "data directory path too long");
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return rp_err_errno(e, errno, "image %s", image);
	if (fstat(f, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != *size) {
		close(f);
		return rp_err_set(e, RP_EIO, "image %s: stored file does not match", image);
	}
	*fd = f;
	return 0;
}

/* ---- deployments -------------------------------------------------------- */

static int deployment_json(struct rp_model *m, struct rp_stmt *d, json_t **out,
			   struct rp_err *e)
{
	const char *params[1] = { rp_stmt_text(d, 0) };
	struct rp_stmt *st = NULL;
	json_t *imgs = json_array(), *o;
	int rc;

	if (!imgs)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = query(m, "SELECT i.id, i.component_id, i.version, i.security_version,"
		   " i.sha256, i.size FROM deployment_images di JOIN images i"
		   " ON i.tenant_id = di.tenant_id AND i.id = di.image_id"
		   " WHERE di.deployment_id = ? ORDER BY i.component_id", params, 1, &st, e);
	for (; rc == 0; rc = rp_stmt_step(st, e)) {
		o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "id", rp_stmt_text(st, 0),
			      "component_id", rp_stmt_text(st, 1),
			      "version", rp_stmt_text(st, 2),
			      "security_version", (json_int_t)rp_stmt_int(st, 3),
			      "sha256", rp_stmt_text(st, 4),
			      "size", (json_int_t)rp_stmt_int(st, 5));
		if (!o || json_array_append_new(imgs, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
	}
	rp_stmt_free(st);
	if (rc < 0) {
		json_decref(imgs);
		return rc;
	}
	*out = json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:o}", "id", rp_stmt_text(d, 0),
			 "version", (json_int_t)rp_stmt_int(d, 1),
			 "product_id", rp_stmt_text(d, 2),
			 "device_group_id", rp_stmt_text(d, 3),
			 "created_by", rp_stmt_text(d, 4),
			 "created_at", rp_model_time_json(rp_stmt_int(d, 5)),
			 "images", imgs);
	return *out ? 0 : rp_err_set(e, RP_ENOMEM, "out of memory");
}

#define DEPLOY_COLS \
	"SELECT id, version, product_id, group_id, created_by, created_at FROM deployments"

static int group_of(struct rp_model *m, const char *tenant, const char *product,
		    const char *group, struct rp_err *e)
{
	const char *params[3] = { group, product, tenant };
	int rc = product_of(m, tenant, product, e);

	if (rc)
		return rc;
	if (!rp_model_is_id(group))
		return rp_err_set(e, -ENOENT, "device group not found");
	return exists(m, "SELECT id FROM device_groups WHERE id = ? AND product_id = ?"
		      " AND tenant_id = ?", params, 3, "device group", e);
}

int rp_images_deploy(struct rp_model *m, const struct rp_principal *p,
		     const char *tenant, const char *product, const char *group,
		     const char (*images)[RP_ID_LEN + 1], size_t n,
		     json_t **out, struct rp_err *e)
{
	char comps[RP_DEPLOY_IMAGES_MAX][RP_ID_LEN + 1], id[RP_ID_LEN + 1];
	char ver[24], when[24];
	const char *params[7];
	struct rp_stmt *st = NULL;
	int64_t version = 0;
	size_t i, j;
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_CONTRIBUTOR, e);
	if (!rc)
		rc = group_of(m, tenant, product, group, e);
	if (rc)
		return rc;
	if (n > RP_DEPLOY_IMAGES_MAX)
		return rp_err_set(e, RP_EINVAL, "images: at most %d", RP_DEPLOY_IMAGES_MAX);
	for (i = 0; i < n; i++) {
		if (!rp_model_is_id(images[i]))
			return rp_err_set(e, RP_EINVAL, "images[%zu]: not an id", i);
		params[0] = tenant;
		params[1] = images[i];
		rc = query(m, "SELECT component_id, product_id FROM images"
			   " WHERE tenant_id = ? AND id = ?", params, 2, &st, e);
		if (rc == 1)
			rc = rp_err_set(e, -ENOENT, "images[%zu]: image %s not found", i,
					images[i]);
		if (rc == 0 && strcmp(rp_stmt_text(st, 1), product) != 0)
			rc = rp_err_set(e, RP_EINVAL,
					"images[%zu]: image %s belongs to another product", i,
					images[i]);
		if (rc == 0)
			snprintf(comps[i], sizeof(comps[i]), "%s", rp_stmt_text(st, 0));
		rp_stmt_free(st);
		st = NULL;
		if (rc)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(comps[j], comps[i]) == 0)
				return rp_err_set(e, RP_EINVAL,
						  "images[%zu]: a second image of component %s",
						  i, comps[i]);
	}
	rc = rp_model_new_id(id, e);
	if (!rc)
		rc = rp_db_begin(m->db, e);
	if (rc)
		return rc;
	params[0] = group;
	rc = query(m, "SELECT COALESCE(MAX(version), 0) FROM deployments WHERE group_id = ?",
		   params, 1, &st, e);
	if (rc == 0)
		version = rp_stmt_int(st, 0) + 1;
	rp_stmt_free(st);
	st = NULL;
	if (rc < 0)
		goto out;
	snprintf(ver, sizeof(ver), "%lld", (long long)version);
	snprintf(when, sizeof(when), "%lld", (long long)now_s());
	params[0] = id;
	params[1] = tenant;
	params[2] = product;
	params[3] = group;
	params[4] = ver;
	params[5] = p->name;
	params[6] = when;
	/* Two at once: UNIQUE (group_id, version) lets one win (409). */
	rc = rp_db_exec(m->db, "INSERT INTO deployments (id, tenant_id, product_id,"
			" group_id, version, created_by, created_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?)", params, 7, NULL, e);
	for (i = 0; rc == 0 && i < n; i++) {
		params[0] = id;
		params[1] = tenant;
		params[2] = images[i];
		params[3] = comps[i];
		rc = rp_db_exec(m->db, "INSERT INTO deployment_images (deployment_id,"
				" tenant_id, image_id, component_id) VALUES (?, ?, ?, ?)",
				params, 4, NULL, e);
	}
	if (rc == 0)
		rc = rp_model_audit(m, p, tenant, "deployment.create", group, ver, e);
	if (rc == 0)
		rc = rp_db_commit(m->db, e);
	if (rc)
		goto out;
	params[0] = id;
	rc = query(m, DEPLOY_COLS " WHERE id = ?", params, 1, &st, e);
	if (rc == 1)
		rc = rp_err_set(e, RP_EIO, "deployment vanished");
	if (rc == 0)
		rc = deployment_json(m, st, out, e);
	rp_stmt_free(st);
	return rc;
out:
	rp_db_rollback(m->db);
	return rc;
}

int rp_images_deployments(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, const char *product,
			  const char *group, json_t **out, struct rp_err *e)
{
	const char *params[2] = { group, tenant };
	struct rp_stmt *st = NULL;
	json_t *arr = NULL, *o = NULL;
	int rc;

	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (!rc)
		rc = group_of(m, tenant, product, group, e);
	if (rc)
		return rc;
	arr = json_array();
	if (!arr)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = query(m, DEPLOY_COLS " WHERE group_id = ? AND tenant_id = ?"
		   " ORDER BY version DESC LIMIT 100", params, 2, &st, e);
	for (; rc == 0; rc = rp_stmt_step(st, e)) {
		rc = deployment_json(m, st, &o, e);
		if (rc)
			break;
		if (json_array_append_new(arr, o)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			break;
		}
	}
	rp_stmt_free(st);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}
