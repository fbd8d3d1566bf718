/* applibs/storage.h. In a compartment the app's package tree is mounted
 * at / (read-only) and its MutableStorage at /mnt/config (read-write, only
 * when the manifest asks for it; otherwise /mnt/config is an empty
 * directory of the read-only root). RAMPART_PACKAGE_ROOT and
 * RAMPART_STORAGE_DIR override both for running an app outside rampartd
 * (docs/sdk.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <applibs/storage.h>

#include "sdk_priv.h"

#define MUTABLE_FILE "mutable_storage"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v == '/' ? v : dflt;
}

/* A path with no leading '/' or '.', and no ".." component or substring
 * (Azure refuses any ".."). */
static int check_rel(const char *rel)
{
	if (!rel) {
		errno = EFAULT;
		return -1;
	}
	if (!*rel || rel[0] == '/' || rel[0] == '.' || strstr(rel, "..")) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

char *Storage_GetAbsolutePathInImagePackage(const char *relativePath)
{
	const char *root = env_or("RAMPART_PACKAGE_ROOT", "/");
	size_t rl, pl;
	char *out;
	int slash;

	if (check_rel(relativePath) < 0)
		return NULL;
	rl = strlen(root);
	pl = strlen(relativePath);
	slash = rl && root[rl - 1] == '/';
	if (pl > 4095 || rl > 4095) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	out = malloc(rl + pl + 2);
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(out, root, rl);
	if (!slash)
		out[rl++] = '/';
	memcpy(out + rl, relativePath, pl + 1);
	return out;
}

int Storage_OpenFileInImagePackage(const char *relativePath)
{
	char *p = Storage_GetAbsolutePathInImagePackage(relativePath);
	struct stat st;
	int fd, err;

	if (!p)
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	err = errno;
	free(p);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* The storage directory, if this app has one it may write: EACCES if not. */
static const char *storage_dir(void)
{
	const char *dir = env_or("RAMPART_STORAGE_DIR", "/mnt/config");
	struct statvfs vs;
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || statvfs(dir, &vs) < 0 ||
	    (vs.f_flag & ST_RDONLY) || access(dir, W_OK) < 0) {
		errno = EACCES;
		return NULL;
	}
	return dir;
}

static int file_path(char *out, size_t cap)
{
	const char *dir = storage_dir();
	size_t dl, fl = sizeof(MUTABLE_FILE);

	if (!dir)
		return -1;
	dl = strlen(dir);
	if (dl + 1 + fl > cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, MUTABLE_FILE, fl);
	return 0;
}

int Storage_OpenMutableFile(void)
{
	char path[4096];
	int fd;

	if (file_path(path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno != EACCES && errno != ENOSPC && errno != EDQUOT)
			errno = EIO;
		return -1;
	}
	return fd;
}

int Storage_DeleteMutableFile(void)
{
	char path[4096];

	if (file_path(path, sizeof(path)) < 0)
		return -1;
	if (unlink(path) < 0) {
		if (errno != ENOENT)
			errno = EIO;
		return -1;
	}
	return 0;
}
