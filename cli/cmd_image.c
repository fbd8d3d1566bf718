/* rampart image add|list|show|download and rampart ca-certificate download:
 * files to and from the security service. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "remote.h"

#define IMAGE_MAX (4ull * 1024 * 1024 * 1024) /* any image a server may hold */
#define HASH_CHUNK (16 * 1024)

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && s[1] ? s + 1 : path;
}

/* ---- image add ------------------------------------------------------------ */

static int image_add(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char product[REMOTE_ID_MAX], path[512], label[96];
	struct cli_http_xfer x;
	struct stat st;
	int fd = -1, rc;

	cli_http_xfer_init(&x);
	fd = open(a->pos[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rp_err_errno(e, errno, "%s", a->pos[0]);
	if (fstat(fd, &st) != 0) {
		rc = rp_err_errno(e, errno, "%s", a->pos[0]);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EUSAGE, "%s: not a regular file", a->pos[0]);
		goto out;
	}
	rc = remote_product(h, a->tenant, a->product, product, e);
	if (rc) {
		if (e->code != RP_EUSAGE)
			rp_err_prefix(e, "--product");
		goto out;
	}
	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/products/%s/images",
			 a->tenant, product);
	if (rc)
		goto out;
	snprintf(label, sizeof(label), "uploading %.64s", base_name(a->pos[0]));
	x.upload_fd = fd;
	x.upload_size = (uint64_t)st.st_size;
	x.progress = remote_progress(a->progress);
	x.label = label;
	rc = cli_http_xfer(h, "POST", path, NULL, &x, e);
	if (rc)
		goto out;
	if (x.status < 200 || x.status > 299) {
		rc = remote_status_err(x.status, x.json, e);
		goto out;
	}
	if (!x.json) {
		rc = rp_err_set(e, RP_EFORMAT, "the server answered HTTP %ld with an "
				"empty body", x.status);
		goto out;
	}
	rc = remote_output(x.json, a->json, NULL, e);
	x.json = NULL;
out:
	json_decref(x.json);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- image list / show ---------------------------------------------------- */

static const struct remote_col image_cols[] = {
	{ "id", "ID", 36 }, { "component_id", "COMPONENT", 36 },
	{ "version", "VERSION", 0 }, { "security_version", "SECURITY", 0 },
	{ "size", "SIZE", 0 }, { "created_at", "CREATED", 0 },
	{ NULL, NULL, 0 },
};

static int image_list(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[256];
	json_t *doc = NULL;
	int rc;

	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/images", a->tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, image_cols, e);
	return rc;
}

static int image_get(struct cli_http *h, const char *tenant, const char *id,
		     json_t **out, struct rp_err *e)
{
	char path[512];
	int rc;

	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/images/%s", tenant, id);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, out, e);
	return rc;
}

static int image_show(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	json_t *doc = NULL;
	int rc;

	rc = image_get(h, a->tenant, a->pos[0], &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, NULL, e);
	return rc;
}

/* ---- image download ------------------------------------------------------- */

static int hash_file(int fd, char hex[2 * RP_SHA256_LEN + 1], struct rp_err *e)
{
	uint8_t buf[HASH_CHUNK], md[RP_SHA256_LEN];
	struct rp_sha256 *sh = NULL;
	ssize_t r;
	off_t off = 0;
	int rc;

	rc = rp_sha256_new(&sh);
	if (rc)
		return rp_err_set(e, rc, "SHA-256: out of memory");
	for (;;) {
		r = pread(fd, buf, sizeof(buf), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = rp_err_errno(e, errno, "reading the download");
			goto out;
		}
		if (r == 0)
			break;
		rc = rp_sha256_update(sh, buf, (size_t)r);
		if (rc) {
			rp_err_set(e, rc, "SHA-256 failed");
			goto out;
		}
		off += r;
	}
	rc = rp_sha256_final(sh, md);
	if (rc) {
		rp_err_set(e, rc, "SHA-256 failed");
		goto out;
	}
	rp_hex(md, sizeof(md), hex);
out:
	rp_sha256_free(sh);
	return rc;
}

/* The image's size and SHA-256 as the metadata states them. */
static int expected(json_t *meta, uint64_t *size, const char **sha, struct rp_err *e)
{
	json_t *v = json_object_get(meta, "size");
	const char *s = json_string_value(json_object_get(meta, "sha256"));
	size_t i;

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > IMAGE_MAX)
		return rp_err_set(e, RP_EFORMAT, "the image metadata has no usable \"size\"");
	if (!s || strlen(s) != 2 * RP_SHA256_LEN)
		return rp_err_set(e, RP_EFORMAT, "the image metadata has no usable \"sha256\"");
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return rp_err_set(e, RP_EFORMAT, "the image metadata's \"sha256\" "
					  "is not lower-case hex");
	*size = (uint64_t)json_integer_value(v);
	*sha = s;
	return 0;
}

static int image_download(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char part[4096], path[512], label[96], got[2 * RP_SHA256_LEN + 1];
	struct cli_http_xfer x;
	json_t *meta = NULL;
	const char *sha = NULL;
	uint64_t size = 0;
	struct stat st;
	int fd = -1, rc, drop = 0, n;

	cli_http_xfer_init(&x);
	n = snprintf(part, sizeof(part), "%s.part", a->out);
	if (n < 0 || (size_t)n >= sizeof(part))
		return rp_err_set(e, RP_EUSAGE, "%s: path too long", a->out);
	if (!a->force && lstat(a->out, &st) == 0)
		return rp_err_errno(e, EEXIST, "%s (give --force to replace it)", a->out);
	rc = image_get(h, a->tenant, a->pos[0], &meta, e);
	if (!rc)
		rc = expected(meta, &size, &sha, e);
	if (rc)
		goto out;
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", part);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = rp_err_errno(e, errno, "%s: another download holds it", part);
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EIO, "%s: not a regular file", part);
		goto out;
	}
	/* Resume from what is there; a longer file is not this image's start. */
	x.offset = (uint64_t)st.st_size;
	if (x.offset > size) {
		if (ftruncate(fd, 0) != 0) {
			rc = rp_err_errno(e, errno, "%s", part);
			goto out;
		}
		x.offset = 0;
	}
	if (x.offset < size) {
		rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/images/%s/content",
				 a->tenant, a->pos[0]);
		if (rc)
			goto out;
		snprintf(label, sizeof(label), "downloading %.64s", base_name(a->out));
		x.accept = "application/octet-stream";
		x.download_fd = fd;
		x.max = size;
		x.progress = remote_progress(a->progress);
		x.label = label;
		if (x.offset)
			fprintf(stderr, "rampart: image download: resuming %s at byte %" PRIu64
				"\n", part, x.offset);
		rc = cli_http_xfer(h, "GET", path, NULL, &x, e);
		if (rc) {
			/* A broken connection keeps the part to resume; a body
			 * that is not the image's is dropped. */
			drop = rc == RP_ERANGE || rc == RP_EFORMAT;
			goto out;
		}
		if (x.status < 200 || x.status > 299) {
			rc = remote_status_err(x.status, x.json, e);
			goto out;
		}
	}
	if (fstat(fd, &st) != 0) {
		rc = rp_err_errno(e, errno, "%s", part);
		goto out;
	}
	if ((uint64_t)st.st_size != size) {
		rc = rp_err_set(e, RP_EVERIFY, "size mismatch: the metadata says %" PRIu64
				" bytes, the server sent %lld", size, (long long)st.st_size);
		drop = 1;
		goto out;
	}
	rc = hash_file(fd, got, e);
	if (rc)
		goto out;
	if (!rp_ct_equal(got, sha, sizeof(got) - 1)) {
		rc = rp_err_set(e, RP_EVERIFY, "SHA-256 mismatch: the metadata says %s, the "
				"download is %s", sha, got);
		drop = 1;
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = rp_err_errno(e, errno, "%s", part);
		goto out;
	}
	if (a->force ? rename(part, a->out) != 0
		     : renameat2(AT_FDCWD, part, AT_FDCWD, a->out, RENAME_NOREPLACE) != 0) {
		rc = rp_err_errno(e, errno, "%s", a->out);
		goto out;
	}
	printf("%s: %" PRIu64 " bytes, sha256 %s\n", a->out, size, got);
	if (fflush(stdout) != 0)
		rc = rp_err_set(e, RP_EIO, "writing output failed");
out:
	if (drop) {
		(void)unlink(part);
		rp_err_prefix(e, "%s removed", part);
	} else if (rc && fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0) {
		(void)unlink(part); /* nothing to resume */
	}
	if (fd >= 0)
		close(fd);
	json_decref(x.json);
	json_decref(meta);
	return rc;
}

static const struct remote_verb image_verbs[] = {
	{ "image", "add", RO_PRODUCT | RO_PROGRESS | RO_JSON, RO_PRODUCT, 1, 1,
	  "FILE.rpk --product P [--progress] [--json]",
	  "Upload a signed image package (Contributor). The service verifies it\n"
	  "against the product's signing keys, adds the tenant's production\n"
	  "signature and answers the image's metadata. A progress bar goes to\n"
	  "stderr when it is a terminal.\n", image_add },
	{ "image", "list", RO_JSON, 0, 0, 0, "[--json]",
	  "List the tenant's images, newest first (Reader).\n", image_list },
	{ "image", "show", RO_JSON, 0, 1, 1, "ID [--json]",
	  "Show one image's metadata (Reader).\n", image_show },
	{ "image", "download", RO_OUT | RO_PROGRESS | RO_FORCE, RO_OUT, 1, 1,
	  "ID -o FILE [--force] [--progress]",
	  "Download the production-signed package (Reader) into FILE.part, then\n"
	  "check its size and SHA-256 against the image's metadata and rename it\n"
	  "to FILE. An interrupted download resumes from FILE.part (HTTP Range)\n"
	  "when run again. A size or SHA-256 mismatch is an error (exit 1) and\n"
	  "FILE.part is removed.\n", image_download },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

int cmd_image(int argc, char **argv)
{
	return remote_dispatch("image", image_verbs, argc, argv);
}

/* ---- ca-certificate download --------------------------------------------- */

static int ca_download(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[256];
	json_t *doc = NULL, *newest;
	struct rp_cert *cert = NULL;
	struct rp_buf der = { 0 };
	const char *pem, *all;
	int rc, want_der = 0;

	if (a->format && strcmp(a->format, "der") == 0)
		want_der = 1;
	else if (a->format && strcmp(a->format, "pem") != 0)
		return rp_err_set(e, RP_EUSAGE, "--format: '%.32s' is not pem or der",
				  a->format);
	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/ca-certificates",
			 a->tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &doc, e);
	if (rc)
		goto out;
	newest = json_array_get(json_object_get(doc, "certificates"), 0);
	pem = json_string_value(json_object_get(newest, "pem"));
	all = json_string_value(json_object_get(doc, "pem"));
	if (!pem || !all) {
		rc = rp_err_set(e, RP_EFORMAT, "the server answered no CA certificate");
		goto out;
	}
	/* What is written is a certificate, whatever the server sent. */
	rc = rp_cert_load_pem((const uint8_t *)pem, strlen(pem), &cert, e);
	if (rc) {
		rp_err_prefix(e, "the server's CA certificate");
		goto out;
	}
	if (want_der) {
		rc = rp_cert_der(cert, &der, e);
		if (!rc)
			rc = rp_file_write(a->out, der.data, der.len, 0644, !a->force, e);
	} else {
		rc = rp_file_write(a->out, all, strlen(all), 0644, !a->force, e);
	}
	if (rc)
		goto out;
	printf("%s: %s, %zu certificate(s)%s\n", a->out, want_der ? "DER" : "PEM",
	       want_der ? (size_t)1 : json_array_size(json_object_get(doc, "certificates")),
	       want_der ? " (the newest)" : "");
	if (fflush(stdout) != 0)
		rc = rp_err_set(e, RP_EIO, "writing output failed");
out:
	rp_buf_free(&der);
	rp_cert_free(cert);
	json_decref(doc);
	return rc;
}

static const struct remote_verb ca_verbs[] = {
	{ "ca-certificate", "download", RO_OUT | RO_FORMAT | RO_FORCE, RO_OUT, 0, 0,
	  "-o FILE [--format pem|der] [--force]",
	  "Download the tenant's device CA certificate (Reader), to register it\n"
	  "where devices authenticate (an MQTT broker, a web service). PEM holds\n"
	  "every valid CA certificate, newest first; DER holds the newest.\n",
	  ca_download },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

int cmd_ca_certificate(int argc, char **argv)
{
	return remote_dispatch("ca-certificate", ca_verbs, argc, argv);
}
