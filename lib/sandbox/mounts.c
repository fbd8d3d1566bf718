/* The compartment's file system view (child side, no allocation).
 *
 * Like bubblewrap: a fresh tmpfs becomes the root, every source is bound
 * into it, then pivot_root and the old root is detached. Sources are
 * cloned with open_tree() into detached mounts first, while the child
 * still has its initial credentials (host uid 0 without a mapping in the
 * new user namespace: owner access to root-owned state directories). The
 * flags each bind gets (read-only, nosuid, nodev, noexec) are set on the
 * detached mount with mount_setattr() before it is attached, so no bind is
 * ever visible with weaker flags. */
#include "sandbox/sandbox_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NEWROOT "/tmp" /* where the new root is built, in our own mount ns */

#define A_PKG (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define A_DATA (A_PKG | MOUNT_ATTR_NOEXEC)
#define A_RW (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
#define A_DEV (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)

/* Top-level names the compartment itself provides. */
static const char *const reserved[] = {
	"dev", "etc", "lib", "lib32", "lib64", "libx32", "mnt", "proc", "run",
	"sys", "tmp", "usr", NULL,
};

static int is_reserved(const char *n)
{
	size_t i;

	for (i = 0; reserved[i]; i++)
		if (!strcmp(n, reserved[i]))
			return 1;
	return 0;
}

static struct sb_mount_src *next_src(struct sb_mounts *m, struct rp_err *e)
{
	struct sb_mount_src *x;

	if (m->n >= sizeof(m->src) / sizeof(m->src[0])) {
		rp_err_set(e, RP_ERANGE, "mounts: too many");
		return NULL;
	}
	x = &m->src[m->n];
	memset(x, 0, sizeof(*x));
	x->fd = -1;
	return x;
}

static int set_dst(struct sb_mount_src *x, const char *dst, struct rp_err *e)
{
	int n = snprintf(x->dst, sizeof(x->dst), "%s", dst);

	if (n < 0 || (size_t)n >= sizeof(x->dst))
		return rp_err_set(e, RP_ERANGE, "mounts: path too long: %s", dst);
	return 0;
}

/* Clone dfd/path (no symlink following) into a detached mount with attr. */
static int clone_tree(struct sb_mount_src *x, int dfd, const char *path,
		      uint64_t attr, struct rp_err *e)
{
	struct mount_attr ma = { .attr_set = attr };
	int fd;

	fd = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				  AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return rp_err_errno(e, errno, "mounts: clone %s", path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0) {
		int err = errno;

		close(fd);
		return rp_err_errno(e, err, "mounts: flags on %s", path);
	}
	x->fd = fd;
	return 0;
}

/* A host path: a directory or file is cloned, a symlink is copied (merged
 * /usr: /lib -> usr/lib), a missing one skipped. */
static int add_host(struct sb_mounts *m, const char *path, uint64_t attr,
		    struct rp_err *e)
{
	struct sb_mount_src *x;
	struct stat st;
	ssize_t n;
	int rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return rp_err_errno(e, errno, "mounts: %s", path);
	}
	if (!(x = next_src(m, e)))
		return e->code;
	if ((rc = set_dst(x, path + 1, e)))
		return rc;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, x->link, sizeof(x->link) - 1);
		if (n < 0 || (size_t)n >= sizeof(x->link) - 1)
			return rp_err_errno(e, n < 0 ? errno : ENAMETOOLONG,
					    "mounts: link %s", path);
		x->link[n] = '\0';
		x->kind = SB_K_LINK;
	} else {
		x->kind = S_ISDIR(st.st_mode) ? SB_K_DIR : SB_K_FILE;
		if ((rc = clone_tree(x, AT_FDCWD, path, attr, e)))
			return rc;
	}
	m->n++;
	return 0;
}

static int add_dir(struct sb_mounts *m, const char *src, const char *dst,
		   uint64_t attr, struct rp_err *e)
{
	struct sb_mount_src *x;
	int rc;

	if (!(x = next_src(m, e)))
		return e->code;
	x->kind = SB_K_DIR;
	if ((rc = set_dst(x, dst, e)) || (rc = clone_tree(x, AT_FDCWD, src, attr, e)))
		return rp_err_prefix(e, "%s", dst);
	m->n++;
	return 0;
}

/* One top-level entry of the package tree. */
static int add_pkg_entry(struct sb_mounts *m, int dfd, const char *name,
			 struct rp_err *e)
{
	struct sb_mount_src *x;
	struct stat st;
	ssize_t n;
	int rc;

	if (is_reserved(name))
		return rp_err_set(e, RP_EPOLICY,
				  "package entry '%s' collides with a compartment path",
				  name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return rp_err_errno(e, errno, "package entry '%s'", name);
	if (!(x = next_src(m, e)))
		return e->code;
	if ((rc = set_dst(x, name, e)))
		return rc;
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		x->kind = S_ISDIR(st.st_mode) ? SB_K_DIR : SB_K_FILE;
		if ((rc = clone_tree(x, dfd, name, A_PKG, e)))
			return rc;
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(dfd, name, x->link, sizeof(x->link) - 1);
		if (n < 0 || (size_t)n >= sizeof(x->link) - 1)
			return rp_err_errno(e, n < 0 ? errno : ENAMETOOLONG,
					    "package entry '%s'", name);
		x->link[n] = '\0';
		x->kind = SB_K_LINK;
	} else {
		return rp_err_set(e, RP_EPOLICY,
				  "package entry '%s' is not a file, directory or symlink",
				  name);
	}
	m->n++;
	return 0;
}

static int collect_pkg(const char *root, struct sb_mounts *m, struct rp_err *e)
{
	char buf[4096] __attribute__((aligned(8)));
	int dfd, rc = 0;
	long n;

	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return rp_err_errno(e, errno, "package tree %s", root);
	/* getdents64 directly: readdir() would allocate. */
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (m->n >= SB_TOP_MAX) {
				rc = rp_err_set(e, RP_ERANGE,
						"package tree: more than %d top-level entries",
						SB_TOP_MAX);
				goto out;
			}
			if ((rc = add_pkg_entry(m, dfd, d->d_name, e)))
				goto out;
		}
	}
	if (n < 0)
		rc = rp_err_errno(e, errno, "package tree %s", root);
out:
	close(dfd);
	return rc;
}

int sb_mounts_collect(const struct rp_sandbox_spec *s, struct sb_mounts *m,
		      struct rp_err *e)
{
	static const char *const exec_dirs[] = SB_HOST_EXEC_DIRS;
	static const char *const data_dirs[] = SB_HOST_DATA_DIRS;
	static const char *const devs[] = SB_DEV_NODES;
	static const char *const links[] = { "/lib", "/lib64", NULL };
	char path[64], rpath[4096];
	size_t i;
	int rc;

	m->n = 0;
	if ((rc = collect_pkg(s->root_dir, m, e)))
		return rc;
	m->n_pkg = m->n;
	for (i = 0; exec_dirs[i]; i++)
		if ((rc = add_host(m, exec_dirs[i], A_PKG, e)))
			return rc;
	for (i = 0; links[i]; i++)
		if ((rc = add_host(m, links[i], A_PKG, e)))
			return rc;
	for (i = 0; data_dirs[i]; i++)
		if ((rc = add_host(m, data_dirs[i], A_DATA, e)))
			return rc;
	for (i = 0; devs[i]; i++) {
		(void)snprintf(path, sizeof(path), "/dev/%s", devs[i]);
		if ((rc = add_host(m, path, A_DEV, e)))
			return rc;
	}
	if (s->storage_dir && (rc = add_dir(m, s->storage_dir, "mnt/config", A_RW, e)))
		return rc;
	if (s->run_dir) {
		if ((rc = add_dir(m, s->run_dir, "run/rampart", A_DATA, e)))
			return rc;
		int n = snprintf(rpath, sizeof(rpath), "%s/resolv.conf", s->run_dir);

		m->run_resolv = n > 0 && (size_t)n < sizeof(rpath) &&
				access(rpath, F_OK) == 0;
	}
	return 0;
}

/* mkdir -p of dst's parents under the new root (dfd). */
static int mkparents(int dfd, const char *dst, struct rp_err *e)
{
	char p[SB_NAME_MAX + 16];
	size_t i;
	int n;

	n = snprintf(p, sizeof(p), "%s", dst);
	if (n < 0 || (size_t)n >= sizeof(p))
		return rp_err_set(e, RP_ERANGE, "mounts: %s", dst);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdirat(dfd, p, 0755) < 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "mounts: mkdir %s", p);
		p[i] = '/';
	}
	return 0;
}

static int write_file(int dfd, const char *name, const char *text,
		      struct rp_err *e)
{
	size_t len = strlen(text);
	int fd;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0)
		return rp_err_errno(e, errno, "mounts: create %s", name);
	if (write(fd, text, len) != (ssize_t)len) {
		int err = errno ? errno : EIO;

		close(fd);
		return rp_err_errno(e, err, "mounts: write %s", name);
	}
	close(fd);
	return 0;
}

static int mount_tmpfs(const char *dst, unsigned long flags, const char *opts,
		       struct rp_err *e)
{
	char p[64];

	(void)snprintf(p, sizeof(p), NEWROOT "/%s", dst);
	if (mount("tmpfs", p, "tmpfs", flags, opts) < 0)
		return rp_err_errno(e, errno, "mounts: tmpfs on /%s", dst);
	return 0;
}

static int attach(int root, struct sb_mount_src *x, struct rp_err *e)
{
	int fd, rc;

	if ((rc = mkparents(root, x->dst, e)))
		return rc;
	switch (x->kind) {
	case SB_K_LINK:
		if (symlinkat(x->link, root, x->dst) < 0)
			return rp_err_errno(e, errno, "mounts: symlink /%s", x->dst);
		return 0;
	case SB_K_DIR:
		if (mkdirat(root, x->dst, 0755) < 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "mounts: mkdir /%s", x->dst);
		break;
	case SB_K_FILE:
		fd = openat(root, x->dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			    0444);
		if (fd < 0)
			return rp_err_errno(e, errno, "mounts: create /%s", x->dst);
		close(fd);
		break;
	default:
		return rp_err_set(e, RP_EUSAGE, "mounts: kind of /%s", x->dst);
	}
	if (move_mount(x->fd, "", root, x->dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return rp_err_errno(e, errno, "mounts: attach /%s", x->dst);
	close(x->fd);
	x->fd = -1;
	return 0;
}

int sb_mounts_build(const struct rp_sandbox_spec *s, struct sb_mounts *m,
		    struct rp_err *e)
{
	static const char passwd[] =
		"root:x:0:0::/:/nonexistent\n"
		"app:x:1000:1000::/mnt/config:/nonexistent\n";
	static const char group[] = "root:x:0:\napp:x:1000:\n";
	static const char hosts[] = "127.0.0.1 localhost\n::1 localhost\n";
	static const char nss[] = "passwd: files\ngroup: files\nhosts: files dns\n";
	static const char *const dirs[] = { "dev", "etc", "proc", "tmp", "mnt",
					    "mnt/config", "run", "run/rampart", NULL };
	char opts[128];
	size_t i;
	int root = -1, rc;

	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=256k,nr_inodes=512") < 0) {
		rc = rp_err_errno(e, errno, "mounts: root tmpfs");
		goto out;
	}
	root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		rc = rp_err_errno(e, errno, "mounts: open new root");
		goto out;
	}
	for (i = 0; dirs[i]; i++)
		if (mkdirat(root, dirs[i], 0755) < 0) {
			rc = rp_err_errno(e, errno, "mounts: mkdir /%s", dirs[i]);
			goto out;
		}

	/* /dev: its own small tmpfs, then the device binds on top. */
	if ((rc = mount_tmpfs("dev", MS_NOSUID | MS_NOEXEC,
			      "mode=0755,size=16k,nr_inodes=32", e)))
		goto out;
	if (symlinkat("/proc/self/fd", root, "dev/fd") < 0 ||
	    symlinkat("/proc/self/fd/0", root, "dev/stdin") < 0 ||
	    symlinkat("/proc/self/fd/1", root, "dev/stdout") < 0 ||
	    symlinkat("/proc/self/fd/2", root, "dev/stderr") < 0) {
		rc = rp_err_errno(e, errno, "mounts: /dev links");
		goto out;
	}

	/* /tmp: private, capped, nothing executable. */
	(void)snprintf(opts, sizeof(opts), "mode=1777,size=%lluk,nr_inodes=%llu",
		       (unsigned long long)s->tmp_kb,
		       (unsigned long long)(s->tmp_kb < 64 ? 64 : s->tmp_kb));
	if ((rc = mount_tmpfs("tmp", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, e)))
		goto out;

	/* /proc of the new PID namespace: only processes (subset=pid hides
	 * /proc/sys, sysrq-trigger, kcore, kmsg...), read-only so that
	 * /proc/self/mem cannot be opened for writing. */
	if (mount("proc", NEWROOT "/proc", "proc",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "subset=pid") < 0) {
		rc = rp_err_errno(e, errno, "mounts: /proc");
		goto out;
	}

	if ((rc = write_file(root, "etc/passwd", passwd, e)) ||
	    (rc = write_file(root, "etc/group", group, e)) ||
	    (rc = write_file(root, "etc/nsswitch.conf", nss, e)) ||
	    (rc = write_file(root, "etc/hosts", hosts, e)))
		goto out;
	if (m->run_resolv) {
		if (symlinkat("/run/rampart/resolv.conf", root, "etc/resolv.conf") < 0) {
			rc = rp_err_errno(e, errno, "mounts: /etc/resolv.conf");
			goto out;
		}
	} else if ((rc = write_file(root, "etc/resolv.conf",
				    "nameserver 127.0.0.1\n", e))) {
		goto out;
	}

	for (i = 0; i < m->n; i++)
		if ((rc = attach(root, &m->src[i], e)))
			goto out;

	if (mount(NULL, NEWROOT "/dev", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0) {
		rc = rp_err_errno(e, errno, "mounts: /dev read-only");
		goto out;
	}

	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves only the new tree (bubblewrap's way, no extra dir). */
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		rc = rp_err_errno(e, errno, "mounts: pivot_root");
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		rc = rp_err_errno(e, errno, "mounts: detach old root");
		goto out;
	}
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		rc = rp_err_errno(e, errno, "mounts: root read-only");
		goto out;
	}
	rc = 0;
out:
	if (root >= 0)
		close(root);
	return rc;
}
