/* Sideload: copy the package the client passed into a private file,
 * verify that copy, stage the app beside the installed one, and swap the
 * two directories in one atomic rename. At every moment apps/<id> is
 * either wholly the previous version or wholly the new one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "rampartd.h"

#define COPY_CHUNK (64 * 1024)

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

int rpd_rmtree(const char *path, struct rp_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : rp_err_errno(e, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? rp_err_errno(e, errno, "%s", path) : 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return rp_err_errno(e, errno ? errno : EIO, "removing %s", path);
	return 0;
}

void rpd_crash_point(const struct rpd *d, const char *step)
{
	if (d->crash_at && strcmp(d->crash_at, step) == 0) {
		rpd_log("RAMPARTD_CRASH_AT=%s: killing rampartd here (test hook)", step);
		(void)raise(SIGKILL);
	}
}

/* Remove entries of dir whose names start with prefix. */
static void purge(const struct rpd *d, const char *rel, const char *prefix)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct rp_err e;
	DIR *dp;

	if (rpd_path(d, dir, sizeof(dir), "%s", rel))
		return;
	dp = opendir(dir);
	if (!dp)
		return;
	while ((de = readdir(dp))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		rp_err_clear(&e);
		if (rpd_rmtree(p, &e))
			rpd_log("cleanup: %s", e.msg);
	}
	closedir(dp);
}

void rpd_purge_old(struct rpd *d, const char *id)
{
	char prefix[64];

	if (!id) {
		purge(d, "apps", ".old-");
		return;
	}
	if (snprintf(prefix, sizeof(prefix), ".old-%s-", id) < (int)sizeof(prefix))
		purge(d, "apps", prefix);
}

void rpd_install_recover(struct rpd *d)
{
	/* A staging directory is never the installed version: whatever
	 * step the install reached, apps/<id> is complete. */
	purge(d, "apps", ".staging-");
	purge(d, "apps", ".old-");
	purge(d, "incoming", "");
}

/* Copy at most max bytes of the regular file open on fd into path. */
static int copy_in(int fd, const char *path, uint64_t max, struct rp_err *e)
{
	uint8_t *buf = NULL;
	uint64_t off = 0;
	struct stat st;
	int out = -1, rc = 0;

	if (fstat(fd, &st) < 0)
		return rp_err_errno(e, errno, "package");
	if (!S_ISREG(st.st_mode))
		return rp_err_set(e, RP_EINVAL, "package: not a regular file");
	if ((uint64_t)st.st_size > max)
		return rp_err_set(e, RP_ERANGE, "package: %lld bytes is over the "
				  "device's limit of %llu", (long long)st.st_size,
				  (unsigned long long)max);
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	/* pread: the client's file offset is not ours to trust or move. The
	 * file may change while we copy; only the copy is verified and used. */
	for (;;) {
		ssize_t r = pread(fd, buf, COPY_CHUNK, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = rp_err_errno(e, errno, "package: read");
			goto out;
		}
		if (r == 0)
			break;
		off += (uint64_t)r;
		if (off > max) {
			rc = rp_err_set(e, RP_ERANGE, "package: over the device's limit "
					"of %llu bytes", (unsigned long long)max);
			goto out;
		}
		if ((rc = rp_write_full(out, buf, (size_t)r, e)))
			goto out;
	}
	if (fsync(out) < 0)
		rc = rp_err_errno(e, errno, "%s", path);
out:
	if (out >= 0)
		close(out);
	if (rc)
		(void)unlink(path);
	free(buf);
	return rc;
}

/* The peripheral capabilities one app owns exclusively. */
static const char *const exclusive[] = {
	"Gpio", "I2cMaster", "SpiMaster", "Uart", "Pwm", "Adc", NULL,
};

static int conflicts(const struct rp_manifest *a, const struct rp_manifest *b,
		     const char *other, struct rp_err *e)
{
	json_t *ca = json_object_get(a->root, "Capabilities");
	json_t *cb = json_object_get(b->root, "Capabilities");
	const char *const *k;
	size_t i, j;

	for (k = exclusive; *k; k++) {
		json_t *xa = json_object_get(ca, *k), *xb = json_object_get(cb, *k);

		if (!json_is_array(xa) || !json_is_array(xb))
			continue;
		for (i = 0; i < json_array_size(xa); i++)
			for (j = 0; j < json_array_size(xb); j++) {
				char *t;

				if (!json_equal(json_array_get(xa, i),
						json_array_get(xb, j)))
					continue;
				t = json_dumps(json_array_get(xa, i), JSON_ENCODE_ANY);
				rp_err_set(e, RP_EPOLICY, "Capabilities.%s: %s is already "
					   "used by the installed app %s (one peripheral "
					   "belongs to one app)", *k, t ? t : "?", other);
				free(t);
				return RP_EPOLICY;
			}
	}
	return 0;
}

static int check_policy(struct rpd *d, const struct rpd_image *img,
			struct app **existing, struct rp_err *e)
{
	struct app *a;
	int rc;

	*existing = rpd_app_find(d, img->manifest->component_id);
	for (a = d->dying; a; a = a->next)
		if (memcmp(a->cid, img->manifest->component_id, 16) == 0)
			return rp_err_set(e, RP_EPOLICY, "app %s is still being deleted "
					  "(its process is stopping); try again in a moment",
					  a->id);
	/* Without a verified installed version there is no security version
	 * to compare with: refuse rather than skip the rollback check. */
	if (*existing && !(*existing)->manifest)
		return rp_err_set(e, RP_EPOLICY, "the installed app %s does not verify "
				  "(%s); delete it first", (*existing)->id,
				  (*existing)->last_error);
	if (*existing && img->pkg.security_version <
	    (*existing)->hdr.security_version)
		return rp_err_set(e, RP_EPOLICY, "anti-rollback: security version %u "
				  "is lower than the installed %u (to go back in "
				  "development, delete the app first)",
				  img->pkg.security_version,
				  (*existing)->hdr.security_version);
	for (a = d->apps; a; a = a->next) {
		if (a == *existing || !a->manifest)
			continue;
		if ((rc = conflicts(img->manifest, a->manifest, a->id, e)))
			return rc;
	}
	/* Every peripheral it names must exist on this device's board. */
	return rpd_periph_check_manifest(d, img->manifest, e);
}

static int alloc_uid(struct rpd *d, uint32_t *out, struct rp_err *e)
{
	uint32_t used[256];
	size_t n = 0;
	struct app *a;

	for (a = d->apps; a && n < 256; a = a->next)
		used[n++] = a->st.uid;
	for (a = d->dying; a && n < 256; a = a->next)
		used[n++] = a->st.uid;
	return rp_uid_alloc(used, n, d->cfg.uid_base, d->cfg.uid_count, out, e);
}

static int write_state(const char *dir, const struct rp_app_state *st,
		       struct rp_err *e)
{
	struct rp_buf b;
	char p[PATH_MAX];
	int rc;

	if (snprintf(p, sizeof(p), "%s/state", dir) >= (int)sizeof(p))
		return rp_err_set(e, RP_ERANGE, "path too long");
	if ((rc = rp_app_state_encode(st, &b, e)))
		return rc;
	rc = rp_file_write(p, b.data, b.len, 0644, 0, e);
	rp_buf_free(&b);
	return rc;
}

static int stage(struct rpd *d, const char *stage_dir, const char *pkg_path,
		 const struct rpd_image *img, const struct rp_app_state *st,
		 struct rp_err *e)
{
	char p[PATH_MAX], tree[PATH_MAX];
	int dfd = -1, rc;

	if ((rc = rpd_rmtree(stage_dir, e)))
		return rc;
	/* chmod: the layout's modes must not depend on rampartd's umask. */
	if (mkdir(stage_dir, 0755) < 0 || chmod(stage_dir, 0755) < 0)
		return rp_err_errno(e, errno, "%s", stage_dir);
	if (snprintf(p, sizeof(p), "%s/package.rpk", stage_dir) >= (int)sizeof(p) ||
	    snprintf(tree, sizeof(tree), "%s/tree", stage_dir) >= (int)sizeof(tree))
		return rp_err_set(e, RP_ERANGE, "path too long");
	if (rename(pkg_path, p) < 0)
		return rp_err_errno(e, errno, "%s", p);
	if ((rc = write_state(stage_dir, st, e)))
		return rc;
	if (snprintf(tree, sizeof(tree), "%s/manifest.json", stage_dir) >= (int)sizeof(tree))
		return rp_err_set(e, RP_ERANGE, "path too long");
	if ((rc = rp_file_write(tree, img->manifest_text.data, img->manifest_text.len,
				0644, 0, e)))
		return rc;
	if (snprintf(tree, sizeof(tree), "%s/tree", stage_dir) >= (int)sizeof(tree))
		return rp_err_set(e, RP_ERANGE, "path too long");
	if (mkdir(tree, 0755) < 0 || chmod(tree, 0755) < 0)
		return rp_err_errno(e, errno, "%s", tree);
	/* The private copy was verified; nobody else can write it. The
	 * helper verifies it again before extracting. */
	if ((rc = rpd_verify_extract(d, p, 1, tree, e))) {
		rp_err_prefix(e, "extract");
		goto out;
	}
	rpd_crash_point(d, "extracted");
	/* Make the whole staged tree durable before it can become the
	 * installed version. */
	dfd = open(stage_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || syncfs(dfd) < 0)
		rc = rp_err_errno(e, errno, "%s", stage_dir);
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* The *.pub files the helper will load as trusted keys. */
static int trusted_keys(const struct rpd *d)
{
	char p[PATH_MAX];
	int n = 0;

	if (rpd_path(d, p, sizeof(p), "trust/production") == 0)
		n += rpd_count_keys(p);
	if (rpd_path(d, p, sizeof(p), "trust/development") == 0)
		n += rpd_count_keys(p);
	if (d->cfg.production_trust_dir[0])
		n += rpd_count_keys(d->cfg.production_trust_dir);
	return n;
}

static int fsync_dir(const char *path, struct rp_err *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = rp_err_errno(e, errno, "%s", path);
	if (fd >= 0)
		close(fd);
	return rc;
}

void rpd_install_discard(struct rpd_staged *s)
{
	struct rp_err ignore;

	if (s->stage_dir[0] && rpd_rmtree(s->stage_dir, &ignore))
		rpd_log("install: %s", ignore.msg);
	s->stage_dir[0] = '\0';
	rpd_image_free(&s->img);
	memset(&s->img, 0, sizeof(s->img));
}

int rpd_install_stage(struct rpd *d, int fd, struct rpd_staged *s,
		      struct rp_err *e)
{
	char pkg[PATH_MAX];
	struct app *existing = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rp_buf_init(&s->img.manifest_text, 0);
	s->seq = ++d->install_seq;
	pkg[0] = '\0';
	if (d->mode != MODE_DEVELOPMENT)
		return rp_err_set(e, RP_EPOLICY, "device is not in development mode; "
				  "run `rampart device enable-development`");
	if (rpd_path(d, pkg, sizeof(pkg), "incoming/%llu-%ld.rpk",
		     (unsigned long long)s->seq, (long)getpid())) {
		pkg[0] = '\0';
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	if (trusted_keys(d) == 0) {
		/* The helper refuses too; this message says what to do. */
		rc = rp_err_set(e, RP_EUNTRUSTED, "the device trusts no keys; add a "
				"developer key with `rampart device enable-development "
				"--trust-key PUB`");
		goto out;
	}
	if ((rc = copy_in(fd, pkg, d->cfg.max_package_bytes, e)))
		goto out;
	rpd_crash_point(d, "copied");
	if ((rc = rpd_verify_image(d, pkg, 1, &s->img, e))) {
		/* The private copy's name means nothing to the client. */
		size_t n = strlen(pkg);

		if (strncmp(e->msg, pkg, n) == 0 && e->msg[n] == ':' && e->msg[n + 1] == ' ')
			memmove(e->msg, e->msg + n + 2, strlen(e->msg + n + 2) + 1);
		goto out;
	}
	if (!s->img.manifest) {
		rc = rp_err_set(e, RP_EPOLICY, "package: a %s image is not an "
				"application", s->img.pkg.type);
		goto out;
	}
	if ((rc = check_policy(d, &s->img, &existing, e)))
		goto out;
	s->update = existing != NULL;
	if (existing) {
		s->st = existing->st;
		s->st.enabled = 1;
	} else {
		s->st.enabled = 1;
		if ((rc = alloc_uid(d, &s->st.uid, e)))
			goto out;
	}
	if (rpd_path(d, s->stage_dir, sizeof(s->stage_dir), "apps/.staging-%s",
		     s->img.manifest->component_id_text)) {
		s->stage_dir[0] = '\0';
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	if ((rc = stage(d, s->stage_dir, pkg, &s->img, &s->st, e)))
		goto out;
	rpd_crash_point(d, "staged");
out:
	if (pkg[0])
		(void)unlink(pkg);
	if (rc) {
		rpd_install_discard(s);
		rp_err_prefix(e, "sideload");
	}
	return rc;
}

int rpd_install_commit(struct rpd *d, struct rpd_staged *s, struct app **out,
		       struct rp_err *e)
{
	char dest[PATH_MAX], old[PATH_MAX], apps[PATH_MAX];
	struct app *existing = NULL, *a = NULL;
	int rc;

	*out = NULL;
	if (rpd_path(d, apps, sizeof(apps), "apps") ||
	    rpd_path(d, dest, sizeof(dest), "apps/%s",
		     s->img.manifest->component_id_text) ||
	    rpd_path(d, old, sizeof(old), "apps/.old-%s-%llu",
		     s->img.manifest->component_id_text, (unsigned long long)s->seq)) {
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	/* The device may have changed while the update waited (deferred):
	 * the same rules again. */
	if (d->mode != MODE_DEVELOPMENT) {
		rc = rp_err_set(e, RP_EPOLICY, "the device left development mode while "
				"the update waited; the update is dropped");
		goto out;
	}
	if ((rc = check_policy(d, &s->img, &existing, e)))
		goto out;
	if (s->update && !existing) {
		rc = rp_err_set(e, RP_EPOLICY, "the app was deleted while its update "
				"waited; the update is dropped");
		goto out;
	}
	if (existing) {
		/* One atomic step: apps/<id> becomes the new version, and the
		 * staging name holds the previous one. */
		if (renameat2(AT_FDCWD, s->stage_dir, AT_FDCWD, dest, RENAME_EXCHANGE) < 0) {
			rc = rp_err_errno(e, errno, "swapping in %s", dest);
			goto out;
		}
		if (rename(s->stage_dir, old) < 0)
			rpd_log("install: %s: %s", s->stage_dir, strerror(errno));
	} else if (rename(s->stage_dir, dest) < 0) {
		rc = rp_err_errno(e, errno, "installing %s", dest);
		goto out;
	}
	s->stage_dir[0] = '\0';
	if ((rc = fsync_dir(apps, e)))
		goto out;
	rpd_crash_point(d, "swapped");
	if (existing) {
		rpd_app_reload(existing);
		*out = existing;
	} else {
		if ((rc = rpd_app_load(d, s->img.manifest->component_id_text, &a, e)))
			goto out;
		a->next = d->apps;
		d->apps = a;
		rpd_app_start(a);
		*out = a;
	}
out:
	if (rc)
		rp_err_prefix(e, "sideload");
	return rc;
}

int rpd_install(struct rpd *d, int fd, struct app **out, struct rp_err *e)
{
	struct rpd_staged s;
	int rc;

	*out = NULL;
	if ((rc = rpd_install_stage(d, fd, &s, e)))
		return rc;
	rc = rpd_install_commit(d, &s, out, e);
	rpd_install_discard(&s);
	return rc;
}
