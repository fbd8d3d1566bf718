/* App compartments: the plan (pure) and the privileged steps that apply it.
 *
 * rp_sandbox_plan() turns a validated manifest plus device defaults into a
 * struct rp_sandbox_spec without touching the system (unit-tested, no root).
 * rp_sandbox_spawn() applies a spec: it creates the child in new user,
 * mount, PID, IPC, UTS, network (and cgroup) namespaces and drops privilege
 * in the order documented in docs/DESIGN.md:
 *   namespaces -> uid/gid maps -> mounts (pivot_root) [cgroup joined
 *   meanwhile; v2: born in it] -> rlimits -> cgroup namespace
 *   -> capabilities -> no_new_privs -> Landlock -> seccomp -> exec.
 * Only this module performs privileged operations for compartments. */
#ifndef RP_SANDBOX_H
#define RP_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct rp_manifest;

#define RP_SANDBOX_ARGS_MAX 64

/* Device-wide defaults; a manifest's "Rampart" object may lower or raise
 * them within the caps the manifest parser enforces. */
struct rp_sandbox_defaults {
	uint64_t memory_kb;     /* default 65536 (64 MiB) */
	uint64_t max_pids;      /* default 32 */
	uint64_t tmp_kb;        /* default 1024 */
	uint64_t max_files;     /* default 256 */
	uint64_t cpu_weight;    /* default 100 */
};
void rp_sandbox_defaults_init(struct rp_sandbox_defaults *d);

/* Everything spawn needs; strings point into caller-owned storage that
 * must outlive the spawn call. */
struct rp_sandbox_spec {
	const char *name;        /* for cgroup and hostname: the component id text */
	uid_t host_uid;          /* unique per app, allocated by rampartd */
	gid_t host_gid;
	const char *root_dir;    /* the extracted package tree (root-owned) */
	const char *storage_dir; /* host dir mounted at /mnt/config, or NULL */
	const char *run_dir;     /* host dir with generated resolv.conf, hosts,
				    and the app's rampartd socket, mounted at
				    /run/rampart read-only, or NULL */
	const char *cgroup_parent; /* e.g. "rampart" */
	uint64_t memory_kb, max_pids, tmp_kb, max_files, cpu_weight;
	const char *argv[RP_SANDBOX_ARGS_MAX + 2]; /* EntryPoint, CmdArgs, NULL */
	int stdin_fd, stdout_fd, stderr_fd; /* given to the app; -1: /dev/null */
	int net_notify;          /* 1: network syscalls go to a seccomp user
				    notification listener (see lib/net) */
};

/* Fill *out from the manifest and defaults (pure): each "Rampart" limit
 * that is set overrides the default; argv is EntryPoint then CmdArgs (more
 * than RP_SANDBOX_ARGS_MAX CmdArgs is RP_ERANGE); name is the component id
 * text, whose storage is m (so m must outlive the spec). stdio fds are -1,
 * net_notify 0, cgroup_parent "rampart". The caller sets the host ids and
 * directories. On failure *out is zeroed (fds -1). */
int rp_sandbox_plan(const struct rp_manifest *m,
		    const struct rp_sandbox_defaults *d,
		    struct rp_sandbox_spec *out, struct rp_err *e) RP_WUR;

/* A running compartment. */
struct rp_sandbox_child {
	pid_t pid;        /* the app's init (pid 1 in its namespace) */
	int pidfd;        /* pollable: readable when it exits */
	int notify_fd;    /* seccomp user-notification listener, or -1 */
	int netns_fd;     /* the app's network namespace, or -1 */
	char cgroup[256]; /* what rp_sandbox_cleanup removes: "<parent>/<name>"
			     under each controller, or "" */
	int cgroup_version; /* 1 or 2 once a cgroup exists, else 0 */
};

/* Start the app. On success *out owns the fds; on failure nothing is left
 * behind (no child, no cgroup). Needs root.
 *
 * Returns once the app's EntryPoint has been exec'd (or failed: then the
 * child's own error message is in *e, prefixed "compartment"). Inside, the
 * app runs as uid/gid RP_SANDBOX_APP_ID (mapped to host_uid/host_gid), is
 * pid 1 of its PID namespace, and sees only: the package tree's top-level
 * entries (read-only, nodev, nosuid), the host's shared libraries and CA
 * certificates (read-only), a generated /etc, /run/rampart (run_dir,
 * read-only), /tmp (tmpfs of tmp_kb, noexec), /mnt/config (storage_dir,
 * read-write, noexec), a pid-only read-only /proc and /dev/{null,zero,full,
 * random,urandom}. Top-level package entries named like a compartment path
 * (bin excepted: dev, etc, lib, lib64, mnt, proc, run, tmp, usr, sys) are
 * refused with RP_EPOLICY. No descriptor other than 0, 1, 2 reaches it.
 * Environment: PATH=/bin, HOME=/mnt/config, TMPDIR=/tmp, LANG=C.UTF-8.
 *
 * The caller must reap the child (waitid(P_PIDFD, pidfd)) and then call
 * rp_sandbox_cleanup(). */
int rp_sandbox_spawn(const struct rp_sandbox_spec *s,
		     struct rp_sandbox_child *out, struct rp_err *e) RP_WUR;

/* Reap state after the child exited: close fds, remove the cgroup.
 * Accepts a zeroed child (fds -1), and a child already cleaned up. */
void rp_sandbox_cleanup(struct rp_sandbox_child *c);

/* Remove the empty parent group <cgroup_parent> under each controller
 * (v2 and v1), e.g. when rampartd stops. A parent that still holds
 * groups (EBUSY: another app or another user of the same parent) or is
 * already gone is left alone; nothing is killed. A parent that is not one
 * plain path component is ignored. */
void rp_sandbox_cgroup_parent_remove(const char *parent);

/* The uid and gid an app has inside its compartment. */
#define RP_SANDBOX_APP_ID 1000

/* Mutable storage with a hard quota: a per-app ext2 image file
 * <state_dir>/storage/<name>.img, loop-mounted (nodev, nosuid, noexec) at
 * <state_dir>/storage/<name>/ with its root owned by host_uid:host_gid.
 * Created on first use so that about size_kb KiB are usable (a write
 * beyond fails with ENOSPC and affects nothing else); later calls re-mount
 * the existing image (checked with e2fsck -p first) and keep its data. If
 * it is already mounted, that is success. name must be a plain file name
 * (the component id text). Needs root, /dev/loop-control, mke2fs, e2fsck.
 * out_path (out_cap bytes) receives the mount point for spec->storage_dir. */
int rp_storage_prepare(const char *state_dir, const char *name,
		       uint64_t size_kb, uid_t host_uid, gid_t host_gid,
		       char *out_path, size_t out_cap, struct rp_err *e) RP_WUR;

/* Unmount the storage (the loop device detaches itself: autoclear).
 * Not mounted is success. The image file stays. */
int rp_storage_release(const char *state_dir, const char *name,
		       struct rp_err *e) RP_WUR;

/* Remove the image file and mount point (after release: app deleted). */
int rp_storage_delete(const char *state_dir, const char *name,
		      struct rp_err *e) RP_WUR;

#endif
