/* A hostile test app: `evil ACTION [ARG]` tries one thing and exits 0 if
 * it SUCCEEDED, 1 if it was refused (printing what refused it: errno),
 * 2 on a usage error. Positive checks (read-own, write-tmp, ...) follow the
 * same rule: 0 means "it worked". Runs inside the compartment. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

/* Under ASan: LeakSanitizer needs ptrace, which the compartment denies. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* Digits only, else -1 (evil links nothing but libc; no strto*). */
static long dec(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static int refused(const char *what)
{
	printf("refused: %s: %s (errno %d)\n", what, strerror(errno), errno);
	return 1;
}

static int worked(const char *what)
{
	printf("SUCCEEDED: %s\n", what);
	return 0;
}

static int try_rc(long rc, const char *what)
{
	return rc < 0 ? refused(what) : worked(what);
}

static int open_read(const char *path)
{
	char b[16];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return refused(path);
	if (read(fd, b, sizeof(b)) < 0 && errno != EISDIR) {
		close(fd);
		return refused(path);
	}
	close(fd);
	return worked(path);
}

static int list_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int others = 0;

	if (!d)
		return refused("/proc");
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
		    dec(de->d_name) != getpid()) {
			printf("sees pid %s\n", de->d_name);
			others++;
		}
	closedir(d);
	if (!others) {
		errno = ENOENT;
		return refused("only own pid visible");
	}
	return worked("sees other processes");
}

static int proc_mem(void)
{
	static const unsigned char nop = 0x90;
	int fd = open("/proc/self/mem", O_RDWR);

	if (fd < 0)
		return refused("open /proc/self/mem for writing");
	/* Patch one byte of our own code. */
	if (pwrite(fd, &nop, 1, (off_t)(uintptr_t)&list_procs) != 1) {
		close(fd);
		return refused("write /proc/self/mem");
	}
	close(fd);
	return worked("wrote own code through /proc/self/mem");
}

/* Copy our own binary to dir and execute the copy. */
static int exec_copy(const char *path)
{
	static char buf[65536];
	ssize_t n;
	int in, out;
	char *const args[] = { (char *)(uintptr_t)path, (char *)(uintptr_t)"true", NULL };

	in = open("/proc/self/exe", O_RDONLY);
	if (in < 0)
		return refused("/proc/self/exe");
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0)
		return refused(path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return refused("copy");
	close(in);
	close(out);
	execv(path, args);
	return refused("execv");
}

static int exec_memfd(void)
{
	static char buf[65536];
	ssize_t n;
	int in, fd;
	char *const args[] = { (char *)(uintptr_t)"x", (char *)(uintptr_t)"true", NULL };
	char *const env[] = { NULL };

	fd = (int)syscall(SYS_memfd_create, "x", 0);
	if (fd < 0)
		return refused("memfd_create");
	in = open("/proc/self/exe", O_RDONLY);
	if (in < 0)
		return refused("/proc/self/exe");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return refused("copy");
	fexecve(fd, args, env);
	return refused("fexecve");
}

static int fork_bomb(long want)
{
	long n = 0;

	for (n = 0; n < want; n++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			break;
	}
	printf("forked %ld of %ld\n", n, want);
	if (n < want)
		return refused("fork");
	return worked("fork bomb");
}

static int memory_hog(long mb)
{
	long i;

	for (i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);

		if (!p)
			return refused("malloc");
		memset(p, 1, 1 << 20);
	}
	return worked("allocated and touched all");
}

static int fill(const char *path, long kb)
{
	static char block[1024];
	long written = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return refused(path);
	memset(block, 'x', sizeof(block));
	while (written < kb) {
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			break;
		written++;
	}
	if (written < kb && fsync(fd) == 0)
		errno = ENOSPC;
	printf("wrote %ld KiB of %ld\n", written, kb);
	close(fd);
	if (written < kb)
		return refused("write");
	return worked("wrote all");
}

static int write_read(const char *path)
{
	char b[8] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return refused(path);
	if (write(fd, "hello", 5) != 5 || pread(fd, b, 5, 0) != 5 || memcmp(b, "hello", 5))
		return refused("write/read");
	close(fd);
	return worked(path);
}

static int netifs(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/self/net/dev", O_RDONLY), other = 0;
	char *line;

	if (fd < 0)
		return refused("/proc/self/net/dev");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return refused("read");
	buf[n] = '\0';
	for (line = strchr(buf, '\n'); line; line = strchr(line + 1, '\n')) {
		char *colon = strchr(line, ':');
		char *p = line + 1;

		if (!colon || strchr(line + 1, '\n') < colon)
			continue;
		while (*p == ' ')
			p++;
		if (strncmp(p, "lo:", 3)) {
			printf("interface ");
			fwrite(p, 1, (size_t)(colon - p), stdout);
			putchar('\n');
			other = 1;
		}
	}
	if (!other) {
		errno = ENOENT;
		return refused("only lo");
	}
	return worked("sees host interfaces");
}

static int status_field(const char *key, const char *want)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return refused("/proc/self/status");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return refused("read");
	buf[n] = '\0';
	p = strstr(buf, key);
	if (!p)
		return refused(key);
	p += strlen(key);
	while (*p == '\t' || *p == ' ')
		p++;
	printf("%s ", key);
	fwrite(p, 1, strcspn(p, "\n"), stdout);
	putchar('\n');
	if (strncmp(p, want, strlen(want))) {
		errno = EINVAL;
		return refused(key);
	}
	return worked(key);
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : "";
	long num = argc > 2 ? dec(argv[2]) : 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "true"))
		return 0;
	if (!strcmp(a, "read"))
		return open_read(arg);
	if (!strcmp(a, "list-procs"))
		return list_procs();
	if (!strcmp(a, "ptrace-traceme"))
		return try_rc(ptrace(PTRACE_TRACEME, 0, NULL, NULL), "PTRACE_TRACEME");
	if (!strcmp(a, "ptrace-attach")) {
		pid_t p = fork();
		long rc;

		if (p == 0) {
			pause();
			_exit(0);
		}
		rc = ptrace(PTRACE_ATTACH, p, NULL, NULL);
		kill(p, SIGKILL);
		return try_rc(rc, "PTRACE_ATTACH");
	}
	if (!strcmp(a, "process-vm")) {
		char x = 0, y = 1;
		struct iovec l = { &x, 1 }, r = { &y, 1 };

		return try_rc(syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0),
			      "process_vm_readv");
	}
	if (!strcmp(a, "proc-mem"))
		return proc_mem();
	if (!strcmp(a, "mmap-wx"))
		return mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ?
		       refused("mmap W+X") : worked("mmap W+X");
	if (!strcmp(a, "mprotect-x")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return refused("mmap");
		return try_rc(mprotect(p, 4096, PROT_READ | PROT_EXEC), "mprotect +X");
	}
	if (!strcmp(a, "exec-copy"))
		return exec_copy(arg);
	if (!strcmp(a, "exec-memfd"))
		return exec_memfd();
	if (!strcmp(a, "tiocsti")) {
		char c = 'x';

		return try_rc(ioctl(0, TIOCSTI, &c), "TIOCSTI");
	}
	if (!strcmp(a, "tiocsti-high")) {
		char c = 'x';

		return try_rc(syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c),
			      "TIOCSTI with high bits");
	}
	if (!strcmp(a, "tioclinux")) {
		char sub = 6; /* TIOCL_GETSHIFTSTATE */

		return try_rc(ioctl(0, TIOCLINUX, &sub), "TIOCLINUX");
	}
	if (!strcmp(a, "mount"))
		return try_rc(mount("none", "/tmp", "tmpfs", 0, NULL), "mount");
	if (!strcmp(a, "unshare"))
		return try_rc(unshare(CLONE_NEWUSER), "unshare");
	if (!strcmp(a, "clone-ns"))
		return try_rc(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) ,
			      "clone(CLONE_NEWUSER)");
	if (!strcmp(a, "setns")) {
		int fd = open("/proc/self/ns/net", O_RDONLY);

		if (fd < 0)
			return refused("open ns");
		return try_rc(setns(fd, 0), "setns");
	}
	if (!strcmp(a, "pivot-root"))
		return try_rc(syscall(SYS_pivot_root, "/tmp", "/tmp"), "pivot_root");
	if (!strcmp(a, "chroot"))
		return try_rc(chroot("/tmp"), "chroot");
	if (!strcmp(a, "raw-socket"))
		return try_rc(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), "raw socket");
	if (!strcmp(a, "packet-socket"))
		return try_rc(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), "packet socket");
	if (!strcmp(a, "netlink-socket"))
		return try_rc(socket(AF_NETLINK, SOCK_RAW, 0), "netlink socket");
	if (!strcmp(a, "keyctl"))
		return try_rc(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0),
			      "keyctl");
	if (!strcmp(a, "add-key"))
		return try_rc(syscall(SYS_add_key, "user", "x", "y", 1, -3), "add_key");
	if (!strcmp(a, "bpf")) {
		union bpf_attr at;

		memset(&at, 0, sizeof(at));
		at.map_type = BPF_MAP_TYPE_ARRAY;
		at.key_size = 4;
		at.value_size = 4;
		at.max_entries = 1;
		return try_rc(syscall(SYS_bpf, BPF_MAP_CREATE, &at, sizeof(at)), "bpf");
	}
	if (!strcmp(a, "perf")) {
		struct perf_event_attr pe;

		memset(&pe, 0, sizeof(pe));
		pe.type = PERF_TYPE_SOFTWARE;
		pe.size = sizeof(pe);
		pe.config = PERF_COUNT_SW_TASK_CLOCK;
		pe.exclude_kernel = 1;
		return try_rc(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0),
			      "perf_event_open");
	}
	if (!strcmp(a, "userfaultfd"))
		return try_rc(syscall(SYS_userfaultfd, 0), "userfaultfd");
	if (!strcmp(a, "io-uring")) {
		char params[120];

		memset(params, 0, sizeof(params));
		return try_rc(syscall(SYS_io_uring_setup, 4, params), "io_uring_setup");
	}
	if (!strcmp(a, "kexec"))
		return try_rc(syscall(SYS_kexec_load, 0, 0, NULL, 0), "kexec_load");
	if (!strcmp(a, "init-module"))
		return try_rc(syscall(SYS_init_module, "", 0, ""), "init_module");
	if (!strcmp(a, "finit-module"))
		return try_rc(syscall(SYS_finit_module, 0, "", 0), "finit_module");
	if (!strcmp(a, "open-by-handle")) {
		struct {
			unsigned int bytes;
			int type;
			unsigned char h[128];
		} fh;
		int mnt;

		memset(&fh, 0, sizeof(fh));
		fh.bytes = 128;
		if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/bin", &fh, &mnt, 0) < 0)
			refused("name_to_handle_at");
		return try_rc(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY),
			      "open_by_handle_at");
	}
	if (!strcmp(a, "syslog")) {
		char b[64];

		return try_rc(klogctl(3 /* READ_ALL */, b, sizeof(b)), "syslog");
	}
	if (!strcmp(a, "fd-open"))
		return try_rc(fcntl((int)num, F_GETFD), "inherited fd is open");
	if (!strcmp(a, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;
		int extra = 0;

		if (!d)
			return refused("/proc/self/fd");
		while ((de = readdir(d)))
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
			    dec(de->d_name) > 2 &&
			    dec(de->d_name) != dirfd(d)) {
				printf("fd %s open\n", de->d_name);
				extra++;
			}
		closedir(d);
		if (!extra) {
			errno = EBADF;
			return refused("no fd beyond 0-2");
		}
		return worked("extra fds");
	}
	if (!strcmp(a, "fork-bomb"))
		return fork_bomb(num);
	if (!strcmp(a, "memory-hog"))
		return memory_hog(num);
	if (!strcmp(a, "fill"))
		return fill(argc > 3 ? argv[3] : "/mnt/config/fill", num);
	if (!strcmp(a, "write"))
		return write_read(arg);
	if (!strcmp(a, "netifs"))
		return netifs();
	if (!strcmp(a, "pid1"))
		return getpid() == 1 ? worked("pid 1") : refused("pid");
	if (!strcmp(a, "uid")) {
		printf("uid %u gid %u groups %d\n", getuid(), getgid(), getgroups(0, NULL));
		return getuid() == 1000 && geteuid() == 1000 && getgid() == 1000 &&
		       getgroups(0, NULL) == 0 ? worked("uid 1000") : refused("ids");
	}
	if (!strcmp(a, "euid0"))
		return geteuid() == 0 ? worked("euid 0") : refused("euid not 0");
	if (!strcmp(a, "exec"))
		return execv(arg, argv + 2), refused(arg);
	if (!strcmp(a, "status"))
		return status_field(arg, argc > 3 ? argv[3] : "");
	if (!strcmp(a, "setuid"))
		return try_rc(setuid(0), "setuid(0)");
	if (!strcmp(a, "kill-host"))
		return try_rc(kill((pid_t)num, 0), "signal outside");
	if (!strcmp(a, "mknod"))
		return try_rc(mknod("/tmp/null", S_IFCHR | 0666, makedev(1U, 3U)), "mknod");
	if (!strcmp(a, "symlink-tmp"))
		return try_rc(symlink("/etc/passwd", "/tmp/link"), "symlink in /tmp");
	if (!strcmp(a, "tcp-connect")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(0x7f000001);
		if (fd < 0)
			return refused("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno != ECONNREFUSED)
			return refused("connect");
		return worked("connect reached the network stack");
	}
	fprintf(stderr, "evil: unknown action '%s'\n", a);
	return 2;
}
