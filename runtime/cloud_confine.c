/* rampart-cloud confines itself once the service's address is resolved
 * and before it opens a connection or parses a byte the service sends:
 * no_new_privs, then a seccomp allow-list of what a TLS client over
 * libcurl and OpenSSL needs (stream sockets, poll, file I/O in the state
 * directory, memory, time, randomness). Everything else fails with EPERM:
 * no exec, no process creation (threads only), no ptrace, no mounts, no
 * executable mappings. The helper runs as root (it writes the state
 * directory), so this is what stands between a bug in TLS or JSON
 * handling of a hostile server's bytes and the rest of the device. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cloud.h"
#include "confine.h"

/* Sockets: IPv4 and IPv6 only (no netlink, no raw, no unix). A thread,
 * never a process: clone only with CLONE_THREAD; clone3 fails with ENOSYS
 * so glibc falls back to clone. ioctl: non-blocking mode, bytes readable
 * and isatty's terminal query only. */
static int extra(scmp_filter_ctx ctx, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				   SCMP_A0(SCMP_CMP_EQ, AF_INET))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				   SCMP_A0(SCMP_CMP_EQ, AF_INET6))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				   SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
					   CLONE_THREAD))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)))
		return rc;
	/* The request is compared on 32 bits: a value with high bits set
	 * does not match and is refused. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_EQ, FIONBIO))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_EQ, FIONREAD))) ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_EQ, TCGETS))))
		return rc;
	return 0;
}

int rpc_confine(struct rp_err *e)
{
	static const int allow[] = {
		/* files: the state directory, the CA file, OpenSSL's config */
		SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv),
		SCMP_SYS(write), SCMP_SYS(pwrite64), SCMP_SYS(writev),
		SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(lseek),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
		SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(getdents64),
		SCMP_SYS(unlinkat), SCMP_SYS(renameat), SCMP_SYS(renameat2),
		SCMP_SYS(linkat),
		SCMP_SYS(fchmod), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
		SCMP_SYS(readlinkat), SCMP_SYS(umask), SCMP_SYS(dup),
		SCMP_SYS(fcntl), SCMP_SYS(pipe2),
		SCMP_SYS(eventfd2),
#ifdef __NR_access
		SCMP_SYS(access), SCMP_SYS(unlink), SCMP_SYS(rename),
		SCMP_SYS(link),
		SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(readlink),
		SCMP_SYS(open), SCMP_SYS(poll), SCMP_SYS(pipe),
#endif
		/* the connection */
		SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
		SCMP_SYS(recvmsg), SCMP_SYS(shutdown), SCMP_SYS(ppoll),
		SCMP_SYS(pselect6), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
		SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
		/* memory (mmap and mprotect below: never executable) */
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(madvise),
		/* threads (libcurl's resolver, were it used), crypto, libc */
		SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
		SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
		SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sysinfo),
		SCMP_SYS(prlimit64), SCMP_SYS(sched_yield),
		SCMP_SYS(sched_getaffinity), SCMP_SYS(nanosleep),
		SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_getres),
		/* signals and exit */
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	return rpd_confine(allow, sizeof(allow) / sizeof(allow[0]), extra, NULL, e);
}
