/* The compartment's seccomp filter: a default-deny allow-list.
 *
 * Built with libseccomp in the parent (it allocates) and exported as BPF;
 * the child installs the program with the raw seccomp(2) call, last, just
 * before exec. Denied calls fail with EPERM; clone3 fails with ENOSYS so
 * libc falls back to clone(2), whose flags we can inspect (clone3 passes
 * them in memory, out of seccomp's reach). Argument filters compare the
 * full 64-bit register unless the kernel truncates the argument (ioctl's
 * request is an unsigned int: compare only the low 32 bits, else
 * TIOCSTI | 1 << 32 would slip past a 64-bit compare). */
#include "sandbox/sandbox_priv.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sockios.h>

/* Allowed without argument checks. Names missing on this architecture are
 * skipped. */
static const char *const allow_plain[] = {
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "open", "openat", "openat2", "creat",
	"close", "close_range", "lseek", "_llseek", "stat", "fstat", "lstat",
	"newfstatat", "fstatat64", "statx", "statfs", "fstatfs", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
	"getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir",
	"unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
	"linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
	"truncate", "ftruncate", "fallocate", "fsync", "fdatasync", "syncfs",
	"sync_file_range", "flock", "fcntl", "dup", "dup2", "dup3", "pipe",
	"pipe2", "utimensat", "utimes", "utime", "futimesat", "umask",
	"sendfile", "copy_file_range", "splice", "tee", "fadvise64",
	"readahead", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
	"llistxattr", "flistxattr", "inotify_init", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch",
	/* memory (mmap, mprotect: below) */
	"munmap", "mremap", "madvise", "brk", "msync", "mincore", "mlock",
	"mlock2", "munlock", "mlockall", "munlockall", "membarrier",
	/* processes and threads (clone, prctl, personality: below) */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
	"waitid", "kill", "tgkill", "tkill", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "pause",
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "getpgid",
	"getpgrp", "getsid", "setsid", "setpgid", "set_tid_address",
	"set_robust_list", "get_robust_list", "rseq", "arch_prctl", "capget",
	"uname", "sysinfo", "getrusage", "getrlimit", "setrlimit", "prlimit64",
	"times", "getpriority", "setpriority", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_getscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "sched_rr_get_interval", "getcpu",
	"pidfd_open", "pidfd_send_signal",
	/* time, timers (Azure Sphere's watchdog is a timer), waiting */
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "timer_create", "timer_settime",
	"timer_gettime", "timer_getoverrun", "timer_delete", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "alarm", "setitimer",
	"getitimer", "eventfd", "eventfd2", "signalfd", "signalfd4",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6",
	"futex", "futex_waitv", "getrandom",
	/* sockets (socket, socketpair and the addressed calls: below) */
	"listen", "accept", "accept4", "recvfrom", "recvmsg", "recvmmsg",
	"shutdown", "getsockname", "getpeername", "getsockopt", "setsockopt",
	/* further self-restriction is harmless */
	"landlock_create_ruleset", "landlock_add_rule",
	"landlock_restrict_self",
	NULL,
};

/* Denied on purpose. The default action denies them (libseccomp refuses a
 * rule whose action equals the default), so this list is checked, not
 * added: build fails if one of them ever appears in an allow rule. */
static const char *const deny_named[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
	"pidfd_getfd", "kcmp", "mount", "umount", "umount2", "unshare", "setns",
	"pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
	"fsmount", "fspick", "mount_setattr", "keyctl", "add_key",
	"request_key", "bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "io_setup",
	"io_submit", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "open_by_handle_at",
	"name_to_handle_at", "syslog", "memfd_create", "memfd_secret",
	"acct", "swapon", "swapoff", "reboot", "setuid", "setgid", "setreuid",
	"setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
	"setgroups", "capset", "mknod", "mknodat", "chown", "fchown", "lchown",
	"fchownat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
	"lremovexattr", "fremovexattr", "fanotify_init", "quotactl",
	"quotactl_fd", "lookup_dcookie", "vhangup", "modify_ldt", "iopl",
	"ioperm", "uselib", "ustat", "sysfs", "_sysctl", "sethostname",
	"setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "seccomp", "shmget", "shmat", "shmctl", "shmdt",
	"remap_file_pages", "sync", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "set_mempolicy", "mbind", "migrate_pages",
	"move_pages", "pkey_alloc", "pkey_free", "pkey_mprotect", "vmsplice",
	"nfsservctl", "get_kernel_syms", "query_module", "create_module",
	"uretprobe",
	NULL,
};

/* ioctl requests an app may make: terminals' read-only queries, fd flags,
 * interface queries. TIOCSTI and TIOCLINUX (terminal injection) are not
 * here; peripherals' ioctls come with the SDK. */
static const unsigned long ioctl_allowed[] = {
	TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
	FIOASYNC, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS,
	SIOCGIFADDR, SIOCGIFMTU, SIOCGSTAMP, SIOCGSTAMPNS,
};

static const int prctl_allowed[] = {
	PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_PDEATHSIG,
	PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
	PR_SET_NO_NEW_PRIVS, PR_CAPBSET_READ, PR_GET_SECUREBITS,
	PR_GET_KEEPCAPS, PR_GET_SECCOMP, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK,
	PR_SET_VMA, PR_GET_THP_DISABLE, PR_GET_CHILD_SUBREAPER,
	PR_SET_CHILD_SUBREAPER, PR_GET_TID_ADDRESS,
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
		  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static int add(scmp_filter_ctx ctx, uint32_t act, const char *name,
	       unsigned int argc, const struct scmp_arg_cmp *cmp, struct rp_err *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	rc = seccomp_rule_add_array(ctx, act, nr, argc, cmp);
	if (rc < 0)
		return rp_err_errno(e, -rc, "seccomp: rule for %s", name);
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, int net_notify, struct rp_err *e)
{
	static const char *const enosys[] = { "clone3", "fchmodat2",
					      "map_shadow_stack", NULL };
	const uint32_t net = net_notify ? SCMP_ACT_NOTIFY : SCMP_ACT_ALLOW;
	static const char *const net_calls[] = {
		"connect", "bind", "sendmsg", "sendmmsg", NULL,
	};
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	struct scmp_arg_cmp c[2];
	size_t i, j;
	int rc;

	for (i = 0; allow_plain[i]; i++)
		if ((rc = add(ctx, SCMP_ACT_ALLOW, allow_plain[i], 0, NULL, e)))
			return rc;
	for (i = 0; deny_named[i]; i++)
		for (j = 0; allow_plain[j]; j++)
			if (!strcmp(deny_named[i], allow_plain[j]))
				return rp_err_set(e, RP_EUSAGE,
						  "seccomp: %s both allowed and denied",
						  deny_named[i]);
	/* Newer calls that libc replaces when it gets ENOSYS. */
	for (i = 0; enosys[i]; i++)
		if ((rc = add(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys[i], 0, NULL, e)))
			return rc;

	/* clone without any namespace flag (threads and fork). */
	c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
	if ((rc = add(ctx, SCMP_ACT_ALLOW, "clone", 1, c, e)))
		return rc;

	/* W^X: no mapping both writable and executable, and no later
	 * mprotect to executable (ld.so maps code with mmap directly). */
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if ((rc = add(ctx, SCMP_ACT_ALLOW, "mmap", 1, c, e)) ||
	    (rc = add(ctx, SCMP_ACT_ALLOW, "mprotect", 1, c, e)))
		return rc;
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC);
	if ((rc = add(ctx, SCMP_ACT_ALLOW, "mmap", 1, c, e)))
		return rc;

	/* personality: query only (sanitizer runtimes ask). */
	c[0] = SCMP_A0(SCMP_CMP_EQ, 0xffffffffUL);
	if ((rc = add(ctx, SCMP_ACT_ALLOW, "personality", 1, c, e)))
		return rc;

	for (i = 0; i < sizeof(ioctl_allowed) / sizeof(ioctl_allowed[0]); i++) {
		c[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, ioctl_allowed[i]);
		if ((rc = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, c, e)))
			return rc;
	}
	for (i = 0; i < sizeof(prctl_allowed) / sizeof(prctl_allowed[0]); i++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_allowed[i]);
		if ((rc = add(ctx, SCMP_ACT_ALLOW, "prctl", 1, c, e)))
			return rc;
	}

	/* Sockets: Unix, IPv4, IPv6; stream or datagram. No raw, packet or
	 * netlink sockets (glibc's getaddrinfo copes without netlink). */
	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]);
			c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ,
				       ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC),
				       (scmp_datum_t)types[j]);
			if ((rc = add(ctx, SCMP_ACT_ALLOW, "socket", 2, c, e)))
				return rc;
		}
	for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)AF_UNIX);
		c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ,
			       ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC),
			       (scmp_datum_t)types[j]);
		if ((rc = add(ctx, SCMP_ACT_ALLOW, "socketpair", 2, c, e)))
			return rc;
	}
	for (i = 0; net_calls[i]; i++)
		if ((rc = add(ctx, net, net_calls[i], 0, NULL, e)))
			return rc;
	/* sendto: only a call naming a destination goes to the guard; a send
	 * on a connected socket (the guard made it) runs at full speed. */
	c[0] = SCMP_A4(SCMP_CMP_NE, 0);
	if ((rc = add(ctx, net, "sendto", 1, c, e)))
		return rc;
	c[0] = SCMP_A4(SCMP_CMP_EQ, 0);
	if ((rc = add(ctx, SCMP_ACT_ALLOW, "sendto", 1, c, e)))
		return rc;
	return 0;
}

int sb_seccomp_build(int net_notify, struct sb_filter *out, struct rp_err *e)
{
	scmp_filter_ctx ctx = NULL;
	struct sock_filter *insns = NULL;
	int fd = -1, rc;
	off_t size;

	memset(out, 0, sizeof(*out));
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx) {
		rc = rp_err_set(e, RP_ENOMEM, "seccomp: init");
		goto out;
	}
	/* We load the program ourselves: keep libseccomp from setting
	 * no_new_privs (we do) and from probing the kernel at load. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
		rc = rp_err_errno(e, -rc, "seccomp: attribute");
		goto out;
	}
	if ((rc = add_rules(ctx, net_notify, e)))
		goto out;
	fd = memfd_create("rp-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "seccomp: memfd");
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		rc = rp_err_errno(e, -rc, "seccomp: export");
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rc = rp_err_set(e, RP_ERANGE, "seccomp: program of %lld bytes",
				(long long)size);
		goto out;
	}
	insns = malloc((size_t)size);
	if (!insns) {
		rc = rp_err_set(e, RP_ENOMEM, "seccomp: program");
		goto out;
	}
	if (pread(fd, insns, (size_t)size, 0) != size) {
		rc = rp_err_errno(e, errno ? errno : EIO, "seccomp: read program");
		goto out;
	}
	out->insns = insns;
	out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	out->notify = net_notify ? 1 : 0;
	insns = NULL;
	rc = 0;
out:
	free(insns);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

void sb_filter_free(struct sb_filter *f)
{
	if (!f)
		return;
	free(f->insns);
	f->insns = NULL;
	f->len = 0;
}

int sb_seccomp_install(const struct sb_filter *f, struct rp_err *e)
{
	struct sock_fprog prog = { .len = f->len, .filter = f->insns };
	unsigned long flags = f->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
	long rc;

	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc < 0)
		return rp_err_errno(e, errno, "seccomp: load");
	return f->notify ? (int)rc : 0;
}
