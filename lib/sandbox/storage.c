/* Mutable storage with a hard quota: a per-app ext2 image on a loop device.
 *
 * A quota on a shared file system would need quota tools and a file system
 * mounted with quotas; a per-app image needs nothing from the host and
 * makes the limit physical: the app's file system is simply full. ext2
 * rather than ext4: no journal to pay for in small images; e2fsck -p runs
 * before each re-mount instead. The image file lives in the root-only
 * state directory; the app only ever sees the mounted file system. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define STORAGE_KB_MAX (16ULL * 1024 * 1024)

struct paths {
	char dir[4096], img[4096], tmp[4096], mnt[4096];
};

static int make_paths(const char *state_dir, const char *name, struct paths *p,
		      struct rp_err *e)
{
	size_t n = name ? strlen(name) : 0;

	if (!state_dir || state_dir[0] != '/' || !n || n > 64 || strchr(name, '/') ||
	    name[0] == '.')
		return rp_err_set(e, RP_EUSAGE, "storage: bad state dir or name");
	if ((size_t)snprintf(p->dir, sizeof(p->dir), "%s/storage", state_dir) >= sizeof(p->dir) ||
	    (size_t)snprintf(p->img, sizeof(p->img), "%s/%s.img", p->dir, name) >= sizeof(p->img) ||
	    (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/%s.img.new", p->dir, name) >= sizeof(p->tmp) ||
	    (size_t)snprintf(p->mnt, sizeof(p->mnt), "%s/%s", p->dir, name) >= sizeof(p->mnt))
		return rp_err_set(e, RP_ERANGE, "storage: path too long");
	return 0;
}

/* Run a host tool (absolute path) with an empty environment and no output;
 * returns its exit status, or negative. */
static int run(const char *const argv[], struct rp_err *e)
{
	static const char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	if ((rc = posix_spawn_file_actions_init(&fa)))
		return rp_err_errno(e, rc, "storage: %s", argv[0]);
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!rc)
		rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv,
				 (char *const *)(uintptr_t)env);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return rp_err_errno(e, rc, "storage: %s", argv[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return rp_err_errno(e, errno, "storage: wait %s", argv[0]);
	if (!WIFEXITED(st))
		return rp_err_set(e, RP_EIO, "storage: %s killed", argv[0]);
	return WEXITSTATUS(st);
}

static const char *tool(const char *a, const char *b)
{
	return access(a, X_OK) == 0 ? a : b;
}

static int is_mounted(const char *path)
{
	char parent[4096];
	struct stat a, b;

	if ((size_t)snprintf(parent, sizeof(parent), "%s/..", path) >= sizeof(parent))
		return 0;
	if (stat(path, &a) < 0 || stat(parent, &b) < 0)
		return 0;
	return a.st_dev != b.st_dev;
}

/* Sized so that about size_kb KiB, never noticeably more, are usable:
 * ext2 with 1 KiB blocks, no reserved blocks, no resize reserve, one inode
 * per 16 KiB (at least 32); the image adds the inode table and a few
 * blocks per group. Indirect blocks (one per 256 data blocks) are paid
 * from the quota. */
#define RP_STORAGE_MIN_BLOCKS 64

static int mkfs(const struct paths *p, uint64_t size_kb, uid_t uid, gid_t gid,
		struct rp_err *e)
{
	uint64_t inodes = size_kb / 16 < 32 ? 32 : size_kb / 16;
	uint64_t groups = size_kb / 8192 + 1;
	uint64_t blocks = size_kb + inodes * 128 / 1024 + groups * 3 + 4;
	uint64_t reserve = 0, pct100;
	char nblocks[32], ninodes[32], owner[64], reserved[32];
	const char *argv[] = {
		tool("/usr/sbin/mke2fs", "/sbin/mke2fs"),
		"-q", "-F", "-t", "ext2", "-b", "1024", "-I", "128", "-m", reserved,
		"-O", "^resize_inode", "-N", ninodes, "-E", owner, p->tmp, nblocks,
		NULL,
	};
	int fd, rc;

	/* mke2fs needs about 60 blocks for its own structures. A smaller
	 * quota gets a 64-block image whose difference is reserved for root
	 * (the app never is), at most half of it as mke2fs allows: an app
	 * asking for a few KiB gets them; below ~21 KiB it gets ~21 KiB. */
	if (blocks < RP_STORAGE_MIN_BLOCKS) {
		reserve = RP_STORAGE_MIN_BLOCKS - blocks;
		if (reserve > RP_STORAGE_MIN_BLOCKS / 2)
			reserve = RP_STORAGE_MIN_BLOCKS / 2;
		blocks = RP_STORAGE_MIN_BLOCKS;
	}
	/* mke2fs truncates blocks * percent / 100: round the percentage up. */
	pct100 = (reserve * 10000 + blocks - 1) / blocks;
	(void)snprintf(reserved, sizeof(reserved), "%llu.%02llu",
		       (unsigned long long)(pct100 / 100), (unsigned long long)(pct100 % 100));
	(void)snprintf(nblocks, sizeof(nblocks), "%llu", (unsigned long long)blocks);
	(void)snprintf(ninodes, sizeof(ninodes), "%llu", (unsigned long long)inodes);
	(void)snprintf(owner, sizeof(owner), "root_owner=%u:%u,nodiscard",
		       (unsigned)uid, (unsigned)gid);
	(void)unlink(p->tmp);
	fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return rp_err_errno(e, errno, "storage: create %s", p->tmp);
	if (ftruncate(fd, (off_t)(blocks * 1024)) < 0 || fsync(fd) < 0) {
		rc = rp_err_errno(e, errno, "storage: size %s", p->tmp);
		close(fd);
		goto fail;
	}
	close(fd);
	rc = run(argv, e);
	if (rc) {
		if (rc > 0)
			rc = rp_err_set(e, RP_EIO, "storage: mke2fs exited %d", rc);
		goto fail;
	}
	if (rename(p->tmp, p->img) < 0) {
		rc = rp_err_errno(e, errno, "storage: rename %s", p->tmp);
		goto fail;
	}
	return 0;
fail:
	(void)unlink(p->tmp);
	return rc;
}

static int loop_mount(const struct paths *p, struct rp_err *e)
{
	struct loop_config cfg;
	char dev[64];
	int ctl = -1, img = -1, loop = -1, tries, rc = 0;
	long n;

	img = open(p->img, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (img < 0) {
		rc = rp_err_errno(e, errno, "storage: open %s", p->img);
		goto out;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = rp_err_errno(e, errno, "storage: /dev/loop-control");
		goto out;
	}
	/* Another process may take the free device first: retry. */
	for (tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = rp_err_errno(e, errno, "storage: free loop device");
			goto out;
		}
		(void)snprintf(dev, sizeof(dev), "/dev/loop%ld", n);
		loop = open(dev, O_RDWR | O_CLOEXEC);
		if (loop < 0) {
			rc = rp_err_errno(e, errno, "storage: %s", dev);
			goto out;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)img;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0)
			break;
		rc = errno;
		close(loop);
		loop = -1;
		if (rc != EBUSY) {
			rc = rp_err_errno(e, rc, "storage: configure %s", dev);
			goto out;
		}
		rc = 0;
	}
	if (loop < 0) {
		rc = rp_err_set(e, RP_EIO, "storage: no loop device");
		goto out;
	}
	if (mount(dev, p->mnt, "ext2", MS_NODEV | MS_NOSUID | MS_NOEXEC | MS_NOATIME,
		  "errors=remount-ro") < 0)
		rc = rp_err_errno(e, errno, "storage: mount %s", p->mnt);
	/* Mounted, the loop device lives on; autoclear detaches it at umount.
	 * Not mounted, closing it detaches it now. */
out:
	if (loop >= 0)
		close(loop);
	if (ctl >= 0)
		close(ctl);
	if (img >= 0)
		close(img);
	return rc;
}

int rp_storage_prepare(const char *state_dir, const char *name,
		       uint64_t size_kb, uid_t host_uid, gid_t host_gid,
		       char *out_path, size_t out_cap, struct rp_err *e)
{
	struct paths p;
	int fresh = 0, rc;

	if ((rc = make_paths(state_dir, name, &p, e)))
		return rc;
	if (!size_kb || size_kb > STORAGE_KB_MAX)
		return rp_err_set(e, RP_ERANGE, "storage: %llu KiB out of range",
				  (unsigned long long)size_kb);
	if (strlen(p.mnt) >= out_cap)
		return rp_err_set(e, RP_ERANGE, "storage: path too long");
	if ((mkdir(p.dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(p.mnt, 0700) < 0 && errno != EEXIST))
		return rp_err_errno(e, errno, "storage: mkdir %s", p.mnt);
	if (!is_mounted(p.mnt)) {
		if (access(p.img, F_OK) < 0) {
			if ((rc = mkfs(&p, size_kb, host_uid, host_gid, e)))
				return rc;
			fresh = 1;
		} else {
			const char *argv[] = {
				tool("/usr/sbin/e2fsck", "/sbin/e2fsck"), "-p", p.img, NULL,
			};

			rc = run(argv, e);
			if (rc < 0)
				return rc;
			if (rc > 1) /* 1: errors corrected */
				return rp_err_set(e, RP_EIO, "storage: e2fsck %s exited %d",
						  p.img, rc);
		}
		if ((rc = loop_mount(&p, e)))
			return rc;
		if (fresh) {
			char lf[4096 + 16];

			(void)snprintf(lf, sizeof(lf), "%s/lost+found", p.mnt);
			(void)rmdir(lf);
		}
	}
	memcpy(out_path, p.mnt, strlen(p.mnt) + 1);
	return 0;
}

int rp_storage_release(const char *state_dir, const char *name, struct rp_err *e)
{
	struct paths p;
	int rc;

	if ((rc = make_paths(state_dir, name, &p, e)))
		return rc;
	if (!is_mounted(p.mnt))
		return 0;
	if (umount2(p.mnt, UMOUNT_NOFOLLOW) < 0) {
		if (errno != EBUSY)
			return rp_err_errno(e, errno, "storage: umount %s", p.mnt);
		/* Still open somewhere: detach now, freed with the last user. */
		if (umount2(p.mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return rp_err_errno(e, errno, "storage: umount %s", p.mnt);
	}
	return 0;
}

int rp_storage_delete(const char *state_dir, const char *name, struct rp_err *e)
{
	struct paths p;
	int rc;

	if ((rc = make_paths(state_dir, name, &p, e)))
		return rc;
	if (is_mounted(p.mnt))
		return rp_err_set(e, RP_EUSAGE, "storage: %s is mounted", p.mnt);
	if (unlink(p.img) < 0 && errno != ENOENT)
		return rp_err_errno(e, errno, "storage: remove %s", p.img);
	if (rmdir(p.mnt) < 0 && errno != ENOENT)
		return rp_err_errno(e, errno, "storage: remove %s", p.mnt);
	return 0;
}
