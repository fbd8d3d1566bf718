/* Internal interface between the compartment steps, for the files of
 * lib/sandbox only: not an API.
 *
 * Two kinds of code live here. Parent-side steps (seccomp_build, cgroup
 * create/join/remove) run in rampartd and may allocate. Child-side steps
 * (mounts, caps, landlock, seccomp_install) run in the clone()d child
 * before exec: they never allocate (the parent may have other threads, so
 * malloc's locks are not safe after a raw clone) and report failure through
 * a struct rp_err that spawn.c sends to the parent over a pipe. */
#ifndef RP_SANDBOX_PRIV_H
#define RP_SANDBOX_PRIV_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "sandbox/sandbox.h"

/* Host paths (read-only, inside at the same path) that make a dynamically
 * linked C app with TLS work; missing ones are skipped. No /bin, no
 * /usr/bin: no shell, no host tools. */
#define SB_HOST_EXEC_DIRS { "/usr/lib", "/usr/lib64", NULL }
#define SB_HOST_DATA_DIRS { "/etc/ssl/certs", "/usr/share/ca-certificates", NULL }
#define SB_DEV_NODES { "null", "zero", "full", "random", "urandom", NULL }

#define SB_TOP_MAX 64       /* top-level entries of a package tree */
#define SB_NAME_MAX 255
#define SB_LINK_MAX 256

/* A seccomp BPF program built in the parent, installed by the child. */
struct sb_filter {
	struct sock_filter *insns; /* owned; free with sb_filter_free */
	unsigned short len;
	int notify;                /* has SCMP_ACT_NOTIFY rules */
};

/* seccomp.c */
int sb_seccomp_build(int net_notify, struct sb_filter *out, struct rp_err *e) RP_WUR;
void sb_filter_free(struct sb_filter *f);
/* Child: load the filter (no_new_privs is set). Returns the listener fd
 * when f->notify, else 0; negative on failure. */
int sb_seccomp_install(const struct sb_filter *f, struct rp_err *e) RP_WUR;

/* mounts.c (child). Phase one runs with the child's initial credentials
 * (host uid 0 in a new user namespace: owner access to root-owned
 * directories): it clones every source mount into detached trees. Phase
 * two runs as the app user (so files created on the new tmpfs have a
 * mapped owner): it builds the root, attaches the trees, pivots. */
struct sb_mount_src {
	int fd;                  /* detached tree (open_tree), or -1 */
	int kind;                /* SB_K_DIR, SB_K_FILE, SB_K_LINK */
	char dst[SB_NAME_MAX + 16]; /* path inside the new root, no leading / */
	char link[SB_LINK_MAX];  /* symlink target for SB_K_LINK */
};
enum { SB_K_DIR = 1, SB_K_FILE = 2, SB_K_LINK = 3 };

struct sb_mounts {
	struct sb_mount_src src[SB_TOP_MAX + 16];
	size_t n;
	size_t n_pkg;      /* src[0..n_pkg) are the package's entries */
	int run_resolv;    /* run_dir has resolv.conf */
};
int sb_mounts_collect(const struct rp_sandbox_spec *s, struct sb_mounts *m,
		      struct rp_err *e) RP_WUR;
int sb_mounts_build(const struct rp_sandbox_spec *s, struct sb_mounts *m,
		    struct rp_err *e) RP_WUR;

/* caps.c (child): securebits locked, bounding/ambient/inheritable/
 * permitted/effective sets emptied, then no_new_privs. */
int sb_caps_drop(struct rp_err *e) RP_WUR;
int sb_rlimits_apply(const struct rp_sandbox_spec *s, struct rp_err *e) RP_WUR;

/* landlock.c (child, after pivot_root). */
int sb_landlock_apply(const struct rp_sandbox_spec *s, const struct sb_mounts *m,
		      struct rp_err *e) RP_WUR;

/* cgroup.c (parent): picks cgroup_v2.c when a cgroup2 hierarchy offers
 * the memory and pids controllers, else cgroup_v1.c. */
int sb_cgroup_create(const struct rp_sandbox_spec *s, struct rp_sandbox_child *c,
		     int *clone_fd, struct rp_err *e) RP_WUR;
int sb_cgroup_join(const struct rp_sandbox_child *c, pid_t pid,
		   struct rp_err *e) RP_WUR;
void sb_cgroup_remove(struct rp_sandbox_child *c);

/* Shared cgroup helpers (cgroup.c). */
int sb_cg_write(const char *dir, const char *file, const char *val,
		struct rp_err *e) RP_WUR;
int sb_cg_mkdir(const char *path, struct rp_err *e) RP_WUR;
void sb_cg_kill_rmdir(const char *dir, int has_kill);

int sb_cg1_create(const struct rp_sandbox_spec *s, const char *rel,
		  struct rp_err *e) RP_WUR;
int sb_cg1_join(const char *rel, pid_t pid, struct rp_err *e) RP_WUR;
void sb_cg1_remove(const char *rel);
void sb_cg1_remove_parent(const char *parent);
int sb_cg2_detect(char *root, size_t cap);
int sb_cg2_create(const char *root, const struct rp_sandbox_spec *s,
		  const char *rel, int *dirfd, struct rp_err *e) RP_WUR;
void sb_cg2_remove(const char *root, const char *rel);
void sb_cg2_remove_parent(const char *root, const char *parent);

#endif
