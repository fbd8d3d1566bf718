/* Device state: the state directory, the device key and id, the mode,
 * and the trusted keys. Key material is read and written only by
 * rampart-verify (verify_client.c): rampartd has no crypto. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "rampartd.h"

#define MODE_MAX 64

int rpd_path(const struct rpd *d, char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(d->state_dir);
	int k;

	if (n + 2 > cap)
		return RP_ERANGE;
	memcpy(out, d->state_dir, n);
	out[n++] = '/';
	va_start(ap, fmt);
	k = vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= cap - n)
		return RP_ERANGE;
	return 0;
}

static int mkdir_p(const struct rpd *d, const char *rel, mode_t mode,
		   struct rp_err *e)
{
	char p[PATH_MAX];
	struct stat st;

	if (rpd_path(d, p, sizeof(p), "%s", rel))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return rp_err_errno(e, errno, "%s", p);
	if (lstat(p, &st) < 0)
		return rp_err_errno(e, errno, "%s", p);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0)
		return rp_err_set(e, RP_EPOLICY, "%s: not a root-owned directory", p);
	if ((st.st_mode & 07777) != mode && chmod(p, mode) < 0)
		return rp_err_errno(e, errno, "%s", p);
	return 0;
}

static int load_device_key(struct rpd *d, struct rp_err *e)
{
	int generated = 0, rc;

	/* First start: rampart-verify generates the device's identity. On
	 * hardware this key belongs in a TPM or secure element (a later
	 * issue). */
	if ((rc = rpd_verify_device_key(d, &generated, e)))
		return rp_err_prefix(e, "device key");
	if (generated)
		rpd_log("generated the device key %s/device.key", d->state_dir);
	return 0;
}

static int load_mode(struct rpd *d, struct rp_err *e)
{
	struct rp_buf b;
	char path[PATH_MAX];
	int rc = 0;

	rp_buf_init(&b, 0);
	if (rpd_path(d, path, sizeof(path), "mode"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		/* Secure by default: a new device runs only production-signed
		 * apps until someone with root enables development. */
		return rpd_mode_set(d, MODE_CLOUD_TEST, e);
	}
	if ((rc = rp_file_read(path, MODE_MAX, &b, e)))
		goto out;
	if (b.len == sizeof("development\n") - 1 &&
	    memcmp(b.data, "development\n", b.len) == 0)
		d->mode = MODE_DEVELOPMENT;
	else if (b.len == sizeof("cloud-test\n") - 1 &&
		 memcmp(b.data, "cloud-test\n", b.len) == 0)
		d->mode = MODE_CLOUD_TEST;
	else
		rc = rp_err_set(e, RP_EFORMAT, "%s: must be 'development' or "
				"'cloud-test'", path);
out:
	rp_buf_free(&b);
	return rc;
}

int rpd_mode_set(struct rpd *d, enum dev_mode m, struct rp_err *e)
{
	const char *t = m == MODE_DEVELOPMENT ? "development\n" : "cloud-test\n";
	char path[PATH_MAX];
	int rc;

	if (rpd_path(d, path, sizeof(path), "mode"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	if ((rc = rp_file_write(path, t, strlen(t), 0644, 0, e)))
		return rc;
	d->mode = m;
	return 0;
}

int rpd_device_init(struct rpd *d, struct rp_err *e)
{
	static const char *const dirs[] = {
		"trust", "trust/production", "trust/development", "apps",
		"storage", "logs", "run", "incoming", NULL,
	};
	const char *const *p;
	struct stat st;
	int rc;

	if (mkdir(d->state_dir, 0755) < 0 && errno != EEXIST)
		return rp_err_errno(e, errno, "%s", d->state_dir);
	if (lstat(d->state_dir, &st) < 0)
		return rp_err_errno(e, errno, "%s", d->state_dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return rp_err_set(e, RP_EPOLICY, "%s: the state directory must be a "
				  "root-owned directory writable only by root",
				  d->state_dir);
	for (p = dirs; *p; p++)
		if ((rc = mkdir_p(d, *p, strcmp(*p, "incoming") == 0 ? 0700 : 0755, e)))
			return rc;
	if ((rc = rpd_verify_find(d, e)))
		return rc;
	if ((rc = load_device_key(d, e)) || (rc = load_mode(d, e)))
		return rc;
	return 0;
}

static int is_pub(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

int rpd_trust_add_dev(struct rpd *d, const char *pem, char kid_hex[65],
		      struct rp_err *e)
{
	struct rp_buf pub;
	char tmp[PATH_MAX], p[PATH_MAX];
	int rc;

	rp_buf_init(&pub, 0);
	tmp[0] = '\0';
	/* The helper reads the key from a private file (incoming/ is 0700,
	 * and cleared at start should rampartd die before the unlink). */
	if (rpd_path(d, tmp, sizeof(tmp), "incoming/trust-key-%llu-%ld.pem",
		     (unsigned long long)++d->install_seq, (long)getpid())) {
		tmp[0] = '\0';
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	if ((rc = rp_file_write(tmp, pem, strlen(pem), 0600, 1, e))) {
		tmp[0] = '\0';
		goto out;
	}
	if ((rc = rpd_verify_key_id(d, tmp, kid_hex, &pub, e))) {
		rp_err_prefix(e, "trust_key");
		goto out;
	}
	if (rpd_path(d, p, sizeof(p), "trust/development/%s.pub", kid_hex)) {
		rc = rp_err_set(e, RP_ERANGE, "state path too long");
		goto out;
	}
	rc = rp_file_write(p, pub.data, pub.len, 0644, 0, e);
out:
	if (tmp[0])
		(void)unlink(tmp);
	rp_buf_free(&pub);
	return rc;
}

int rpd_trust_clear_dev(struct rpd *d, struct rp_err *e)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int rc = 0, dfd;

	if (rpd_path(d, dir, sizeof(dir), "trust/development"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : rp_err_errno(e, errno, "%s", dir);
	dfd = dirfd(dp);
	while ((de = readdir(dp))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
			rc = rp_err_errno(e, errno, "%s/%s", dir, de->d_name);
			break;
		}
	}
	if (rc == 0 && fsync(dfd) < 0)
		rc = rp_err_errno(e, errno, "%s", dir);
	closedir(dp);
	return rc;
}

int rpd_count_keys(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!dp)
		return 0;
	while ((de = readdir(dp)))
		if (is_pub(de->d_name))
			n++;
	closedir(dp);
	return n;
}
