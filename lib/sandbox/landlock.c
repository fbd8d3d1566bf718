/* The compartment's Landlock ruleset (child side, after pivot_root).
 *
 * Every file access right the running kernel knows is handled, so anything
 * not granted here is denied: read (and list) everything in the
 * compartment's own tree; execute only the package and the host library
 * directories (ld.so is an interpreter); write only under /tmp and
 * /mnt/config (without symlinks, device nodes or execute: Azure Sphere's
 * "no symlinks on tmpfs"); write the harmless devices; no device ioctls
 * on newly opened files (ABI 5). /proc is readable, never writable.
 *
 * Network (ABI 4): without net_notify no TCP bind or connect is allowed
 * at all. With net_notify, Landlock's TCP rules are not used: rampartd's
 * guard traps connect/bind with seccomp user notification and performs
 * them itself; Landlock checks only bind/connect calls the app makes, so
 * it would not block the guard's injected sockets, but it would block any
 * call the guard lets the kernel perform for loopback. The namespace and
 * the guard are the network boundary there.
 *
 * Scoping (ABI 6): no connecting to abstract Unix sockets and no signals
 * outside the app's Landlock domain. */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Defined here: Debian 12's kernel headers stop at ABI 2. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define LL_CREATE_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)     /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_IOCTL_DEV (1ULL << 15) /* ABI 5 */

#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)        /* ABI 6 */

#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | \
			LL_TRUNCATE | LL_IOCTL_DEV)

static uint64_t fs_rights(int abi)
{
	uint64_t r = (LL_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

	if (abi >= 2)
		r |= LL_REFER;
	if (abi >= 3)
		r |= LL_TRUNCATE;
	if (abi >= 5)
		r |= LL_IOCTL_DEV;
	return r;
}

/* Grant access beneath path; a missing path is skipped. Rights that only
 * apply to directories are dropped for a file. */
static int allow(int rs, const char *path, uint64_t access, uint64_t handled,
		 struct rp_err *e)
{
	struct ll_path_beneath pb;
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : rp_err_errno(e, errno, "landlock: %s", path);
	if (fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "landlock: %s", path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		access &= LL_FILE_RIGHTS;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		rc = rp_err_errno(e, errno, "landlock: rule for %s", path);
out:
	close(fd);
	return rc;
}

int sb_landlock_apply(const struct rp_sandbox_spec *s, const struct sb_mounts *m,
		      struct rp_err *e)
{
	static const char *const libs[] = { "/usr/lib", "/usr/lib64", "/lib",
					    "/lib64", NULL };
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full",
					    NULL };
	const uint64_t rd = LL_READ_FILE | LL_READ_DIR;
	const uint64_t rw = rd | LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE |
			    LL_MAKE_DIR | LL_MAKE_REG | LL_MAKE_SOCK |
			    LL_MAKE_FIFO | LL_REFER | LL_TRUNCATE;
	struct ll_ruleset_attr attr = { 0, 0, 0 };
	char path[SB_NAME_MAX + 20];
	size_t attr_size = sizeof(attr);
	uint64_t handled;
	size_t i;
	int abi, rs = -1, rc;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
	if (abi < 1) {
		rc = rp_err_errno(e, errno,
				  "landlock: not available (enable it: lsm=...,landlock)");
		goto out;
	}
	handled = fs_rights(abi);
	attr.handled_access_fs = handled;
	if (abi >= 4 && !s->net_notify)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	else if (abi >= 4)
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
	else
		attr_size = offsetof(struct ll_ruleset_attr, handled_access_net);
	rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rs < 0) {
		rc = rp_err_errno(e, errno, "landlock: ruleset (ABI %d)", abi);
		goto out;
	}

	if ((rc = allow(rs, "/", rd, handled, e)))
		goto out;
	for (i = 0; i < m->n_pkg; i++) {
		if (m->src[i].kind == SB_K_LINK)
			continue;
		(void)snprintf(path, sizeof(path), "/%s", m->src[i].dst);
		if ((rc = allow(rs, path, rd | LL_EXECUTE, handled, e)))
			goto out;
	}
	for (i = 0; libs[i]; i++)
		if ((rc = allow(rs, libs[i], rd | LL_EXECUTE, handled, e)))
			goto out;
	if ((rc = allow(rs, "/tmp", rw, handled, e)) ||
	    (rc = allow(rs, "/mnt/config", rw, handled, e)))
		goto out;
	for (i = 0; devs[i]; i++)
		if ((rc = allow(rs, devs[i], LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE,
				handled, e)))
			goto out;

	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
		rc = rp_err_errno(e, errno, "landlock: restrict");
		goto out;
	}
	rc = 0;
out:
	if (rs >= 0)
		close(rs);
	return rc;
}
