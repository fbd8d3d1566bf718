/* rampart-verify confines itself before it reads a byte of a package:
 * no_new_privs, then a seccomp allow-list of what verifying, extracting
 * and the device-key steps need (file I/O in the directories it is given,
 * memory, randomness, time). Everything else fails with EPERM: no
 * sockets, no exec, no ptrace, no process creation, no mounts, no
 * executable mappings. The helper runs as root (it writes the state
 * directory), so this is what stands between a parser bug and the rest of
 * the system. The list is in docs/DESIGN.md ("Why verification runs in a
 * helper"). */
#include <seccomp.h>

#include "confine.h"
#include "verify.h"

int rpv_confine(struct rp_err *e)
{
	static const int allow[] = {
		/* files: read the package and keys, write the extraction
		 * target, the device key and staged trees */
		SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv),
		SCMP_SYS(write), SCMP_SYS(pwrite64), SCMP_SYS(writev),
		SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(lseek),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
		SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
		SCMP_SYS(getdents64), SCMP_SYS(fadvise64),
		SCMP_SYS(mkdirat), SCMP_SYS(symlinkat), SCMP_SYS(linkat),
		SCMP_SYS(unlinkat), SCMP_SYS(renameat), SCMP_SYS(renameat2),
		SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(ftruncate),
		SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(utimensat),
		SCMP_SYS(readlinkat), SCMP_SYS(umask), SCMP_SYS(dup),
		SCMP_SYS(fcntl),
#ifdef __NR_access
		SCMP_SYS(access), SCMP_SYS(link), SCMP_SYS(unlink),
		SCMP_SYS(mkdir), SCMP_SYS(symlink), SCMP_SYS(rename),
		SCMP_SYS(chmod), SCMP_SYS(stat), SCMP_SYS(lstat),
		SCMP_SYS(readlink), SCMP_SYS(open),
#endif
		/* memory (mmap and mprotect below: never executable) */
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(madvise),
		/* crypto and libc */
		SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
		SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sysinfo),
		SCMP_SYS(prlimit64), SCMP_SYS(sched_yield),
		SCMP_SYS(sched_getaffinity), SCMP_SYS(nanosleep),
		SCMP_SYS(clock_nanosleep),
		/* signals and exit (sanitizer builds report on an
		 * alternate stack) */
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	return rpd_confine(allow, sizeof(allow) / sizeof(allow[0]), NULL, NULL, e);
}
