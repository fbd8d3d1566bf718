/* App compartments: the plan (pure) and the privileged steps that apply it.
 *
 * rp_sandbox_plan() turns a validated manifest plus device defaults into a
 * struct rp_sandbox_spec without touching the system (unit-tested, no root).
 * rp_sandbox_spawn() applies a spec: it creates the child in new user,
 * mount, PID, IPC, UTS, network (and cgroup) namespaces and drops privilege
 * in the order documented in docs/DESIGN.md:
 *   namespaces -> uid/gid maps -> cgroup -> mounts (pivot_root) -> rlimits
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

/* Fill *out from the manifest and defaults (pure). The caller sets the
 * host ids and directories. */
int rp_sandbox_plan(const struct rp_manifest *m,
		    const struct rp_sandbox_defaults *d,
		    struct rp_sandbox_spec *out, struct rp_err *e) RP_WUR;

/* A running compartment. */
struct rp_sandbox_child {
	pid_t pid;        /* the app's init (pid 1 in its namespace) */
	int pidfd;        /* pollable: readable when it exits */
	int notify_fd;    /* seccomp user-notification listener, or -1 */
	int netns_fd;     /* the app's network namespace, or -1 */
	char cgroup[256]; /* what rp_sandbox_cleanup removes */
};

/* Start the app. On success *out owns the fds; on failure nothing is left
 * behind (no child, no cgroup). Needs root. */
int rp_sandbox_spawn(const struct rp_sandbox_spec *s,
		     struct rp_sandbox_child *out, struct rp_err *e) RP_WUR;

/* Reap state after the child exited: close fds, remove the cgroup.
 * Accepts a zeroed child (fds -1). */
void rp_sandbox_cleanup(struct rp_sandbox_child *c);

#endif
