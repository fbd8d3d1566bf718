/* The network guard: answers an app's trapped socket calls.
 *
 * For each notification: open a pidfd for the calling thread, check the
 * notification is still live (so the pidfd is the right task), take a copy
 * of the app's socket with pidfd_getfd, copy the call's pointer arguments
 * out of the app with process_vm_readv, check the notification again, and
 * only then decide. An allowed call is performed here on our copies --
 * never continued in the app -- and the result is returned as the
 * syscall's. When the app may reach the host network, the socket it gets
 * is a new one created in the host namespace and installed over its
 * descriptor with SECCOMP_IOCTL_NOTIF_ADDFD (SETFD). The table of what is
 * allowed where is in docs/DESIGN.md ("Network"). */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/num.h"
#include "net/guard_priv.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#else
#error "lib/net/guard.c: add this architecture's AUDIT_ARCH"
#endif

#define TAG_NOTIFY 1u
#define TAG_DNS 2u
#define TAG_DNS_DONE 3u /* the resolver's eventfd, or its timer */
#define TAG_PENDING 16u
#define MMSG_MAX 64
#define IOV_MAX_APP 1024 /* UIO_MAXIOV */

/* Send flags an app may use; the guard always adds DONTWAIT|NOSIGNAL. */
#define SEND_FLAGS (MSG_OOB | MSG_DONTROUTE | MSG_DONTWAIT | MSG_EOR | \
		    MSG_MORE | MSG_NOSIGNAL | MSG_CONFIRM)

/* One trapped call in flight. */
struct req {
	struct rp_netguard *g;
	uint64_t id;
	pid_t pid;
	int pidfd;
	int app_fd;  /* the descriptor number in the app */
	int sock;    /* our copy of it */
	int pathfd;  /* O_PATH of an AF_UNIX destination, or -1 */
	int domain, type, proto;
	int nonblock, cloexec;
	int where;   /* the socket's namespace: W_HOST, W_APP or W_OTHER */
};

enum where { W_DENY = 0, W_HOST, W_APP, W_OTHER };

static int sys_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int respond(struct rp_netguard *g, uint64_t id, int64_t val, int err)
{
	memset(g->resp, 0, g->resp_size);
	g->resp->id = id;
	g->resp->val = val;
	g->resp->error = err;
	if (ioctl(g->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, g->resp) == 0)
		return 0;
	/* ENOENT: the thread gave up (signal, death): nothing to answer. */
	return errno == ENOENT ? 0 : -errno;
}

static int id_valid(struct rp_netguard *g, uint64_t id)
{
	uint64_t v = id;

	return ioctl(g->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &v) == 0;
}

/* Put fd over the app's descriptor app_fd. 0 or -errno. */
static int inject(struct rp_netguard *g, uint64_t id, int fd, int app_fd,
		  int cloexec)
{
	struct seccomp_notif_addfd a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.flags = SECCOMP_ADDFD_FLAG_SETFD;
	a.srcfd = (uint32_t)fd;
	a.newfd = (uint32_t)app_fd;
	a.newfd_flags = cloexec ? O_CLOEXEC : 0;
	if (ioctl(g->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0)
		return -errno;
	return 0;
}

static int read_app(const struct req *r, uint64_t addr, void *out, size_t n)
{
	struct iovec l = { .iov_base = out, .iov_len = n };
	struct iovec rv = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	ssize_t got;

	if (n == 0)
		return 0;
	got = process_vm_readv(r->pid, &l, 1, &rv, 1, 0);
	if (got < 0)
		return errno == ESRCH ? -ESRCH : -EFAULT;
	return (size_t)got == n ? 0 : -EFAULT;
}

static int write_app(const struct req *r, uint64_t addr, const void *in,
		     size_t n)
{
	struct iovec l = { .iov_base = (void *)(uintptr_t)in, .iov_len = n };
	struct iovec rv = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };

	if (!id_valid(r->g, r->id))
		return -ESRCH;
	return process_vm_writev(r->pid, &l, 1, &rv, 1, 0) == (ssize_t)n ?
	       0 : -EFAULT;
}

static int ns_of(const struct rp_netguard *g, int sock)
{
	struct stat st;
	int ns, w = W_OTHER;

	ns = ioctl(sock, SIOCGSKNS);
	if (ns < 0)
		return W_OTHER;
	if (fstat(ns, &st) == 0) {
		if (st.st_ino == g->host_ns && st.st_dev == g->host_ns_dev)
			w = W_HOST;
		else if (st.st_ino == g->app_ns && st.st_dev == g->app_ns_dev)
			w = W_APP;
	}
	close(ns);
	return w;
}

/* The close-on-exec flag of the app's descriptor, from its fdinfo
 * ("flags:\t0<octal>"). Unknown: not close-on-exec, like socket(). */
static int app_cloexec(pid_t pid, int fd)
{
	char path[64], buf[256];
	const char *p;
	uint64_t fl = 0;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "flags:\t");
	if (!p)
		return 0;
	for (p += 7; *p >= '0' && *p <= '7' && fl < (1ull << 40); p++)
		fl = fl * 8 + (uint64_t)(*p - '0');
	return (fl & O_CLOEXEC) != 0;
}

/* Start a request: pidfd, the app's socket and what it is. On failure
 * returns -errno to answer with. */
static int req_open(struct rp_netguard *g, struct req *r)
{
	const struct seccomp_notif *n = g->req;
	socklen_t sl;
	int fl;

	memset(r, 0, sizeof(*r));
	r->g = g;
	r->id = n->id;
	r->pid = (pid_t)n->pid;
	r->pidfd = -1;
	r->sock = -1;
	r->pathfd = -1;
	r->app_fd = (int)(uint32_t)n->data.args[0];
	r->pidfd = sys_pidfd_open(r->pid, PIDFD_THREAD);
	if (r->pidfd < 0 && errno == EINVAL)
		r->pidfd = sys_pidfd_open(r->pid, 0);
	if (r->pidfd < 0)
		return -ESRCH;
	if (!id_valid(g, r->id)) /* the pid may have been reused */
		return -ESRCH;
	if (r->app_fd < 0)
		return -EBADF;
	r->sock = sys_pidfd_getfd(r->pidfd, r->app_fd);
	if (r->sock < 0)
		return errno == EBADF ? -EBADF : -ESRCH;
	sl = sizeof(int);
	if (getsockopt(r->sock, SOL_SOCKET, SO_DOMAIN, &r->domain, &sl))
		return -errno;
	sl = sizeof(int);
	if (getsockopt(r->sock, SOL_SOCKET, SO_TYPE, &r->type, &sl))
		return -errno;
	sl = sizeof(int);
	if (getsockopt(r->sock, SOL_SOCKET, SO_PROTOCOL, &r->proto, &sl))
		return -errno;
	fl = fcntl(r->sock, F_GETFL);
	if (fl < 0)
		return -errno;
	r->nonblock = (fl & O_NONBLOCK) != 0;
	r->cloexec = app_cloexec(r->pid, r->app_fd);
	r->where = ns_of(g, r->sock);
	return 0;
}

static void req_close(struct req *r)
{
	close_fd(&r->pathfd);
	close_fd(&r->sock);
	close_fd(&r->pidfd);
}

/* Read a sockaddr argument, bounded by sizeof(struct sockaddr_storage). */
static int read_sockaddr(const struct req *r, uint64_t ptr, uint64_t len,
			 struct sockaddr_storage *ss, socklen_t *sl)
{
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (len > sizeof(*ss) || len < sizeof(sa_family_t))
		return -EINVAL;
	if ((rc = read_app(r, ptr, ss, (size_t)len)))
		return rc;
	*sl = (socklen_t)len;
	return 0;
}

/* sockaddr_in/in6 -> rp_netaddr (mapped IPv4 becomes AF_INET). */
static int to_netaddr(const struct sockaddr_storage *ss, socklen_t sl,
		      struct rp_netaddr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET && sl >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s = (const void *)ss;

		a->family = AF_INET;
		memcpy(a->addr, &s->sin_addr, 4);
		a->port = ntohs(s->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6 && sl >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s = (const void *)ss;

		a->family = AF_INET6;
		memcpy(a->addr, &s->sin6_addr, 16);
		a->port = ntohs(s->sin6_port);
		if (memcmp(a->addr, pfx, 12) == 0) {
			memmove(a->addr, a->addr + 12, 4);
			memset(a->addr + 4, 0, 12);
			a->family = AF_INET;
		}
		return 0;
	}
	return -EINVAL;
}

static int is_any(const struct rp_netaddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* Where may this destination be reached from? */
static int route(struct rp_netguard *g, const struct rp_netaddr *dst)
{
	if (dst->port == RP_NET_STUB_PORT && rp_netaddr_is_loopback(dst) &&
	    (dst->family == AF_INET6 ||
	     (dst->addr[1] == 0 && dst->addr[2] == 0 && dst->addr[3] == 1)))
		return W_APP; /* the DNS stub, inside the app's namespace */
	if (rp_netpolicy_allows(g->p, &g->cache, dst, rp_net_now()))
		return W_HOST;
	return W_DENY;
}

static int ip_kind_ok(const struct req *r)
{
	return (r->type == SOCK_STREAM && r->proto == IPPROTO_TCP) ||
	       (r->type == SOCK_DGRAM && r->proto == IPPROTO_UDP);
}

/* Options the app may have set before connect/bind that matter to the
 * new socket. Only unprivileged ones: rampartd is root, and copying e.g.
 * SO_MARK, SO_BINDTODEVICE or SO_REUSEPORT would lend the app its power.
 * Buffer sizes are not copied (the kernel reports them doubled). */
static void copy_opts(const struct req *r, int to)
{
	static const struct { int level, name; } opts[] = {
		{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_BROADCAST },
		{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_LINGER },
		{ SOL_SOCKET, SO_RCVLOWAT },
		{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_KEEPIDLE },
		{ IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT },
		{ IPPROTO_IPV6, IPV6_V6ONLY }, { IPPROTO_IP, IP_TOS },
	};
	uint8_t v[32];
	socklen_t sl;
	size_t i;
	int one = 1;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].level == IPPROTO_TCP && r->type != SOCK_STREAM)
			continue;
		if (opts[i].level == IPPROTO_IPV6 && r->domain != AF_INET6)
			continue;
		if (opts[i].level == IPPROTO_IP && r->domain != AF_INET)
			continue;
		sl = sizeof(v);
		if (getsockopt(r->sock, opts[i].level, opts[i].name, v, &sl) == 0)
			(void)setsockopt(to, opts[i].level, opts[i].name, v, sl);
	}
	/* SO_REUSEADDR only for TCP (TIME_WAIT); on UDP it would let the
	 * app share a port with a root-owned socket. */
	sl = sizeof(int);
	if (r->type == SOCK_STREAM &&
	    getsockopt(r->sock, SOL_SOCKET, SO_REUSEADDR, v, &sl) == 0 &&
	    v[0])
		(void)setsockopt(to, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

/* A new non-blocking socket like the app's, in the host or app namespace. */
static int new_socket(const struct req *r, int where, int *out)
{
	int fd;

	if (where == W_APP)
		return rp_net_ns_socket(r->g, r->domain, r->type, r->proto, 0, out);
	fd = socket(r->domain, r->type | SOCK_NONBLOCK | SOCK_CLOEXEC, r->proto);
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

static int set_blocking(int fd, int nonblock)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

static struct pending *pending_get(struct rp_netguard *g, size_t *idx)
{
	size_t i;

	for (i = 0; i < RP_NET_PENDING_MAX; i++)
		if (g->pend[i].kind == P_FREE) {
			*idx = i;
			return &g->pend[i];
		}
	return NULL;
}

static void pending_free(struct rp_netguard *g, struct pending *p)
{
	if (p->fd >= 0)
		(void)epoll_ctl(g->ep_fd, EPOLL_CTL_DEL, p->fd, NULL);
	close_fd(&p->fd);
	close_fd(&p->pidfd);
	free(p->data);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->pidfd = -1;
}

static int pending_watch(struct rp_netguard *g, struct pending *p, size_t idx)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.u64 = TAG_PENDING + idx;
	return epoll_ctl(g->ep_fd, EPOLL_CTL_ADD, p->fd, &ev) ? -errno : 0;
}

/* Hand a connected (or connecting) socket to the app and answer. */
static int finish_connect(struct rp_netguard *g, uint64_t id, int fd,
			  int app_fd, int cloexec, int nonblock, int result)
{
	int rc;

	if ((rc = set_blocking(fd, nonblock)) ||
	    (rc = inject(g, id, fd, app_fd, cloexec)))
		return respond(g, id, 0, rc);
	return respond(g, id, 0, result);
}

/* connect() to an IP address: a new socket in the namespace the
 * destination is reached from, connected without blocking rampartd. */
static int do_connect_new(struct req *r, int where,
			  const struct sockaddr_storage *ss, socklen_t sl)
{
	struct rp_netguard *g = r->g;
	struct pending *p;
	size_t idx;
	int fd = -1, rc, err;

	if ((rc = new_socket(r, where, &fd)))
		goto out;
	copy_opts(r, fd);
	if (connect(fd, (const struct sockaddr *)ss, sl) == 0) {
		rc = finish_connect(g, r->id, fd, r->app_fd, r->cloexec,
				    r->nonblock, 0);
		goto out;
	}
	err = errno;
	if (err != EINPROGRESS) {
		rc = -err;
		goto out;
	}
	if (r->nonblock) {
		rc = finish_connect(g, r->id, fd, r->app_fd, r->cloexec, 1,
				    -EINPROGRESS);
		goto out;
	}
	/* A blocking connect: answer when the socket becomes writable. */
	p = pending_get(g, &idx);
	if (!p) {
		rc = -EAGAIN;
		goto out;
	}
	p->kind = P_CONNECT;
	p->id = r->id;
	p->fd = fd;
	p->pidfd = -1;
	p->app_fd = r->app_fd;
	p->cloexec = r->cloexec;
	p->nonblock = 0;
	fd = -1;
	if ((rc = pending_watch(g, p, idx))) {
		pending_free(g, p);
		goto out;
	}
	return 1; /* answered later */
out:
	close_fd(&fd);
	return rc;
}

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl))
		return -1;
	return ti.tcpi_state;
}

/* A path in an AF_UNIX address, resolved inside the app's own root
 * (/proc/<pid>/root, openat2 RESOLVE_IN_ROOT), as an O_PATH descriptor of
 * the socket file; the caller then uses "/proc/self/fd/N" as the address,
 * which reaches that very inode. So the app reaches exactly the sockets
 * its mount namespace shows it (its rampartd socket), never rampartd's. */
static int unix_open_in_app(const struct req *r,
			    const struct sockaddr_storage *ss, socklen_t sl,
			    int *out)
{
	const struct sockaddr_un *un = (const void *)ss;
	size_t max = sl - offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(un->sun_path) + 1], proc[64];
	struct open_how how;
	struct stat st;
	int root = -1, f = -1, rc;

	if (sl <= offsetof(struct sockaddr_un, sun_path) || un->sun_path[0] == '\0')
		return -EINVAL;
	memcpy(path, un->sun_path, max);
	path[max] = '\0';
	snprintf(proc, sizeof(proc), "/proc/%d/root", (int)r->pid);
	root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		rc = -ESRCH;
		goto out;
	}
	if (!id_valid(r->g, r->id)) {
		rc = -ESRCH;
		goto out;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	f = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (f < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(f, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode)) {
		rc = -ECONNREFUSED; /* what connect says for a non-socket */
		goto out;
	}
	*out = f;
	f = -1;
	rc = 0;
out:
	close_fd(&f);
	close_fd(&root);
	return rc;
}

static void proc_fd_addr(int fd, struct sockaddr_un *sa, socklen_t *sl)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d", fd);
	*sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(sa->sun_path) + 1);
}

/* connect() on an AF_UNIX socket: a new socket connected to the path as
 * the app sees it (or to an abstract name in the app's namespace), then
 * installed. Connecting never blocks: a full backlog is EAGAIN. */
static int unix_connect(struct req *r, const struct sockaddr_storage *ss,
			socklen_t sl)
{
	struct rp_netguard *g = r->g;
	const struct sockaddr_un *un = (const void *)ss;
	struct sockaddr_un via;
	socklen_t vl;
	int f = -1, fd = -1, rc;

	if (sl > offsetof(struct sockaddr_un, sun_path) && un->sun_path[0] == '\0') {
		if ((rc = rp_net_ns_socket(g, AF_UNIX, r->type, 0, 0, &fd)))
			goto out;
		if (connect(fd, (const struct sockaddr *)ss, sl)) {
			rc = -errno;
			goto out;
		}
	} else {
		if ((rc = unix_open_in_app(r, ss, sl, &f)))
			goto out;
		proc_fd_addr(f, &via, &vl);
		fd = socket(AF_UNIX, r->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&via, vl)) {
			rc = -errno;
			goto out;
		}
	}
	g->st.allowed++;
	rc = finish_connect(g, r->id, fd, r->app_fd, r->cloexec, r->nonblock, 0);
	if (rc == 0)
		rc = 1;
out:
	close_fd(&f);
	close_fd(&fd);
	return rc;
}

/* Returns the error to answer with, 0 for success, or 1 if answered. */
static int on_connect(struct req *r)
{
	struct rp_netguard *g = r->g;
	const struct seccomp_notif *n = g->req;
	struct sockaddr_storage ss;
	struct rp_netaddr dst;
	char what[64];
	socklen_t sl;
	int rc, where;

	if ((rc = read_sockaddr(r, n->data.args[1], n->data.args[2], &ss, &sl)))
		return rc;
	if (!id_valid(g, r->id))
		return -ESRCH;
	if (r->domain == AF_UNIX) {
		if (ss.ss_family != AF_UNIX)
			return -EINVAL;
		if (r->type == SOCK_DGRAM && sl > offsetof(struct sockaddr_un, sun_path) &&
		    ((const struct sockaddr_un *)(const void *)&ss)->sun_path[0] == '\0') {
			/* Abstract names live in the socket's own (the app's)
			 * namespace; a datagram connect never blocks. */
			g->st.allowed++;
			return connect(r->sock, (const struct sockaddr *)&ss, sl) ?
			       -errno : 0;
		}
		return unix_connect(r, &ss, sl);
	}
	if (r->domain != AF_INET && r->domain != AF_INET6) {
		rp_net_refused(g, "connect family %d", r->domain);
		return -EACCES;
	}
	if (ss.ss_family == AF_UNSPEC) /* dissolve an association */
		return connect(r->sock, (const struct sockaddr *)&ss, sl) ?
		       -errno : 0;
	if (to_netaddr(&ss, sl, &dst))
		return -EINVAL;
	where = route(g, &dst);
	rp_netaddr_format(&dst, what, sizeof(what));
	if (where == W_DENY || !ip_kind_ok(r)) {
		rp_net_refused(g, "connect %s", what);
		return -EACCES;
	}
	g->st.allowed++;
	if (r->where == where) {
		if (r->type == SOCK_DGRAM) /* never blocks */
			return connect(r->sock, (const struct sockaddr *)&ss, sl) ?
			       -errno : 0;
		rc = tcp_state(r->sock);
		if (rc == TCP_ESTABLISHED)
			return -EISCONN;
		if (rc != TCP_CLOSE)
			return -EALREADY;
	}
	rc = do_connect_new(r, where, &ss, sl);
	return rc == 0 ? 1 : rc;
}

static int on_bind(struct req *r)
{
	struct rp_netguard *g = r->g;
	const struct seccomp_notif *n = g->req;
	struct sockaddr_storage ss;
	struct rp_netaddr a;
	char what[64];
	socklen_t sl;
	int rc, where, fd = -1;

	if ((rc = read_sockaddr(r, n->data.args[1], n->data.args[2], &ss, &sl)))
		return rc;
	if (!id_valid(g, r->id))
		return -ESRCH;
	if (r->domain == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)&ss;

		if (ss.ss_family == AF_UNIX &&
		    sl > offsetof(struct sockaddr_un, sun_path) &&
		    un->sun_path[0] == '\0') {
			g->st.allowed++;
			return bind(r->sock, (const struct sockaddr *)&ss, sl) ?
			       -errno : 0;
		}
		rp_net_refused(g, "bind unix path");
		return -EACCES;
	}
	if (r->domain == AF_NETLINK) {
		const struct sockaddr_nl *nl = (const void *)&ss;

		/* Joining multicast groups is checked against the caller's
		 * capabilities, which would be ours: refuse groups. */
		if (ss.ss_family == AF_NETLINK &&
		    sl >= sizeof(struct sockaddr_nl) && nl->nl_groups == 0)
			return bind(r->sock, (const struct sockaddr *)&ss, sl) ?
			       -errno : 0;
		rp_net_refused(g, "bind netlink groups");
		return -EACCES;
	}
	if (r->domain != AF_INET && r->domain != AF_INET6) {
		rp_net_refused(g, "bind family %d", r->domain);
		return -EACCES;
	}
	if (to_netaddr(&ss, sl, &a))
		return -EINVAL;
	rp_netaddr_format(&a, what, sizeof(what));
	if (!ip_kind_ok(r))
		where = W_DENY;
	else if (rp_netaddr_is_loopback(&a) ||
		 (a.port == 0 && r->type == SOCK_STREAM))
		where = W_APP; /* reachable only from inside the app */
	else if (!is_any(&a))
		where = W_DENY; /* the app cannot name host addresses */
	else if (a.port == 0 ||
		 rp_netpolicy_server_port(g->p, r->type == SOCK_STREAM, a.port))
		where = W_HOST;
	else
		where = W_DENY;
	if (where == W_DENY) {
		rp_net_refused(g, "bind %s %s",
			       r->type == SOCK_STREAM ? "tcp" : "udp", what);
		return -EACCES;
	}
	g->st.allowed++;
	if (r->where == where)
		return bind(r->sock, (const struct sockaddr *)&ss, sl) ? -errno : 0;
	if ((rc = new_socket(r, where, &fd)))
		goto out;
	copy_opts(r, fd);
	if (bind(fd, (const struct sockaddr *)&ss, sl)) {
		rc = -errno;
		goto out;
	}
	if ((rc = set_blocking(fd, r->nonblock)) ||
	    (rc = inject(g, r->id, fd, r->app_fd, r->cloexec)))
		goto out;
	rc = 0;
out:
	close_fd(&fd);
	return rc;
}

/* Check a send's destination and pick the socket to send on: our copy of
 * the app's, or a new one (installed in the app) in the namespace the
 * destination is reached from. *fd is borrowed from r either way. */
static int send_target(struct req *r, struct sockaddr_storage *ss,
		       socklen_t *slp, int *fd)
{
	struct rp_netguard *g = r->g;
	struct rp_netaddr dst;
	char what[64];
	int where, rc, nfd = -1;

	socklen_t sl = *slp;

	*fd = r->sock;
	if (sl == 0)
		return 0; /* the socket's own peer, checked at connect */
	if (r->domain == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)ss;

		if (sl > offsetof(struct sockaddr_un, sun_path) &&
		    un->sun_path[0] == '\0')
			return 0; /* abstract: the app's own namespace */
		/* A path: as the app sees it, through an O_PATH descriptor
		 * kept open until the request ends. */
		close_fd(&r->pathfd);
		if ((rc = unix_open_in_app(r, ss, sl, &r->pathfd)))
			return rc;
		proc_fd_addr(r->pathfd, (struct sockaddr_un *)(void *)ss, slp);
		return 0;
	}
	if (r->domain == AF_NETLINK) {
		const struct sockaddr_nl *nl = (const void *)ss;

		if (sl >= sizeof(struct sockaddr_nl) && nl->nl_groups == 0)
			return 0;
		rp_net_refused(g, "send netlink groups");
		return -EACCES;
	}
	if (r->domain != AF_INET && r->domain != AF_INET6) {
		rp_net_refused(g, "send family %d", r->domain);
		return -EACCES;
	}
	if (r->type == SOCK_STREAM)
		return 0; /* TCP ignores the address (no MSG_FASTOPEN) */
	if (to_netaddr(ss, sl, &dst))
		return -EINVAL;
	where = route(g, &dst);
	if (where == W_DENY || !ip_kind_ok(r)) {
		rp_netaddr_format(&dst, what, sizeof(what));
		rp_net_refused(g, "sendto %s", what);
		return -EACCES;
	}
	if (r->where == where)
		return 0;
	/* A datagram socket created in the app's namespace cannot reach the
	 * host network: replace it with one that can. */
	if ((rc = new_socket(r, where, &nfd)))
		return rc;
	copy_opts(r, nfd);
	if ((rc = set_blocking(nfd, r->nonblock)) ||
	    (rc = inject(g, r->id, nfd, r->app_fd, r->cloexec))) {
		close(nfd);
		return rc;
	}
	close_fd(&r->sock);
	r->sock = nfd;
	r->where = where;
	*fd = nfd;
	return 0;
}

/* Send len bytes on fd. Returns bytes sent, -errno, or 1<<40 when it was
 * queued to finish later. */
#define QUEUED ((int64_t)1 << 40)
static int64_t do_send(struct req *r, int fd, const uint8_t *buf, size_t len,
		       int flags, const struct sockaddr_storage *ss,
		       socklen_t sl, int may_queue)
{
	struct rp_netguard *g = r->g;
	struct pending *p;
	ssize_t n;
	size_t idx;
	int rc;

	if (flags & ~SEND_FLAGS)
		return -EOPNOTSUPP;
	if (r->domain == AF_INET || r->domain == AF_INET6) {
		if (r->type == SOCK_STREAM)
			sl = 0;
	}
	n = sendto(fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL,
		   sl ? (const struct sockaddr *)ss : NULL, sl);
	if (n >= 0) {
		g->st.allowed++;
		return n;
	}
	rc = errno;
	if (rc == EPIPE && !(flags & MSG_NOSIGNAL))
		(void)syscall(SYS_pidfd_send_signal, r->pidfd, SIGPIPE, NULL, 0);
	if (rc != EAGAIN || r->nonblock || (flags & MSG_DONTWAIT) || !may_queue)
		return -rc;
	p = pending_get(g, &idx);
	if (!p)
		return -EAGAIN;
	p->kind = P_SEND;
	p->id = r->id;
	p->fd = dup(fd);
	p->pidfd = dup(r->pidfd);
	p->flags = flags;
	p->sigpipe = !(flags & MSG_NOSIGNAL);
	p->data = malloc(len ? len : 1);
	p->len = len;
	if (p->fd < 0 || p->pidfd < 0 || !p->data) {
		pending_free(g, p);
		return -ENOMEM;
	}
	memcpy(p->data, buf, len);
	if (sl)
		memcpy(&p->dst, ss, sl);
	p->dstlen = sl;
	if (pending_watch(g, p, idx)) {
		pending_free(g, p);
		return -ENOMEM;
	}
	return QUEUED;
}

static int on_sendto(struct req *r)
{
	struct rp_netguard *g = r->g;
	const struct seccomp_notif *n = g->req;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	uint8_t *buf = NULL;
	size_t len = (size_t)n->data.args[2];
	int flags = (int)(uint32_t)n->data.args[3];
	int64_t v;
	int rc, fd;

	memset(&ss, 0, sizeof(ss));
	if (n->data.args[4] &&
	    (rc = read_sockaddr(r, n->data.args[4], n->data.args[5], &ss, &sl)))
		return rc;
	if (len > RP_NET_PAYLOAD_MAX) {
		if (r->type != SOCK_STREAM)
			return -EMSGSIZE;
		len = RP_NET_PAYLOAD_MAX; /* a short write, as streams allow */
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	if ((rc = read_app(r, n->data.args[1], buf, len)))
		goto out;
	if (!id_valid(g, r->id)) {
		rc = -ESRCH;
		goto out;
	}
	if ((rc = send_target(r, &ss, &sl, &fd)))
		goto out;
	v = do_send(r, fd, buf, len, flags, &ss, sl, 1);
	if (v == QUEUED) {
		rc = 1;
		goto out;
	}
	rc = v < 0 ? (int)v : respond(g, r->id, v, 0);
	if (rc == 0)
		rc = 1;
out:
	free(buf);
	return rc;
}

/* Read one msghdr and its payload, gathered into buf (cap bytes). */
static int read_msg(struct req *r, uint64_t addr, struct sockaddr_storage *ss,
		    socklen_t *sl, uint8_t *buf, size_t cap, size_t *len)
{
	struct msghdr m;
	struct iovec *iov = NULL;
	struct iovec l;
	size_t i, total = 0;
	ssize_t got;
	int rc;

	*sl = 0;
	*len = 0;
	if ((rc = read_app(r, addr, &m, sizeof(m))))
		return rc;
	if (m.msg_controllen)
		return -EPERM; /* ancillary data would be interpreted as ours */
	if (m.msg_name && m.msg_namelen &&
	    (rc = read_sockaddr(r, (uint64_t)(uintptr_t)m.msg_name,
				m.msg_namelen, ss, sl)))
		return rc;
	if (m.msg_iovlen > IOV_MAX_APP)
		return -EMSGSIZE;
	if (m.msg_iovlen == 0)
		return 0;
	iov = calloc(m.msg_iovlen, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if ((rc = read_app(r, (uint64_t)(uintptr_t)m.msg_iov, iov,
			   m.msg_iovlen * sizeof(*iov))))
		goto out;
	/* Clip the gather list at cap: a stream send may be short; a
	 * datagram larger than cap is refused. */
	for (i = 0; i < m.msg_iovlen; i++) {
		if (iov[i].iov_len > cap - total) {
			if (r->type != SOCK_STREAM) {
				rc = -EMSGSIZE;
				goto out;
			}
			iov[i].iov_len = cap - total;
		}
		total += iov[i].iov_len;
	}
	l.iov_base = buf;
	l.iov_len = total;
	if (total) {
		got = process_vm_readv(r->pid, &l, 1, iov, m.msg_iovlen, 0);
		if (got != (ssize_t)total) {
			rc = -EFAULT;
			goto out;
		}
	}
	*len = total;
	rc = 0;
out:
	free(iov);
	return rc;
}

/* sendmsg and sendmmsg: vlen 0 means sendmsg (one msghdr, no count). */
static int on_sendmsg(struct req *r, int mmsg)
{
	struct rp_netguard *g = r->g;
	const struct seccomp_notif *n = g->req;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t *buf = NULL;
	uint64_t base = n->data.args[1];
	size_t vlen = mmsg ? (size_t)(uint32_t)n->data.args[2] : 1;
	int flags = (int)(uint32_t)n->data.args[mmsg ? 3 : 2];
	size_t i, len;
	int64_t v = 0;
	int rc = 0, fd;
	unsigned int sent;

	if (vlen > MMSG_MAX)
		vlen = MMSG_MAX; /* sendmmsg may send fewer than asked */
	buf = malloc(RP_NET_PAYLOAD_MAX);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < vlen; i++) {
		uint64_t at = base + i * sizeof(struct mmsghdr);

		memset(&ss, 0, sizeof(ss));
		rc = read_msg(r, at, &ss, &sl, buf, RP_NET_PAYLOAD_MAX, &len);
		if (!rc && !id_valid(g, r->id))
			rc = -ESRCH;
		if (!rc)
			rc = send_target(r, &ss, &sl, &fd);
		if (!rc) {
			v = do_send(r, fd, buf, len, flags, &ss, sl, !mmsg);
			if (v == QUEUED) {
				rc = 1;
				goto out;
			}
			rc = v < 0 ? (int)v : 0;
		}
		if (rc)
			break;
		if (mmsg) {
			sent = (unsigned int)v;
			if ((rc = write_app(r, at + offsetof(struct mmsghdr, msg_len),
					    &sent, sizeof(sent))))
				break;
		}
	}
	if (mmsg && i > 0)
		rc = respond(g, r->id, (int64_t)i, 0);
	else if (!rc)
		rc = respond(g, r->id, v, 0);
	else
		goto out;
	if (rc == 0)
		rc = 1;
out:
	free(buf);
	return rc;
}

static void handle(struct rp_netguard *g)
{
	const struct seccomp_notif *n = g->req;
	struct req r;
	int rc;

	if (n->data.arch != NATIVE_ARCH) {
		(void)respond(g, n->id, 0, -ENOSYS);
		return;
	}
	rc = req_open(g, &r);
	if (rc == 0) {
		switch (n->data.nr) {
		case __NR_connect:
			rc = on_connect(&r);
			break;
		case __NR_bind:
			rc = on_bind(&r);
			break;
		case __NR_sendto:
			rc = on_sendto(&r);
			break;
		case __NR_sendmsg:
			rc = on_sendmsg(&r, 0);
			break;
		case __NR_sendmmsg:
			rc = on_sendmsg(&r, 1);
			break;
		case __NR_listen:
			/* bind already decided where the socket lives */
			rc = listen(r.sock, (int)(uint32_t)n->data.args[1]) ?
			     -errno : 0;
			break;
		default:
			rc = -ENOSYS;
			break;
		}
	}
	if (rc <= 0)
		(void)respond(g, r.id, 0, rc);
	req_close(&r);
}

int rp_netguard_on_notify(struct rp_netguard *g, struct rp_err *e)
{
	return rp_netguard_dispatch(g, e);
}

static int recv_notify(struct rp_netguard *g, struct rp_err *e)
{
	memset(g->req, 0, g->req_size);
	if (ioctl(g->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, g->req)) {
		if (errno == ENOENT || errno == EINTR)
			return 0; /* the caller died or was interrupted */
		return rp_err_errno(e, errno, "net guard: receive");
	}
	handle(g);
	return 0;
}

static void on_pending(struct rp_netguard *g, size_t idx)
{
	struct pending *p = &g->pend[idx];
	socklen_t sl = sizeof(int);
	ssize_t n;
	int err = 0;

	if (p->kind == P_CONNECT) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl))
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err)
			(void)respond(g, p->id, 0, -err);
		else
			(void)finish_connect(g, p->id, p->fd, p->app_fd,
					     p->cloexec, 0, 0);
	} else if (p->kind == P_SEND) {
		n = sendto(p->fd, p->data, p->len,
			   p->flags | MSG_DONTWAIT | MSG_NOSIGNAL,
			   p->dstlen ? (struct sockaddr *)&p->dst : NULL,
			   p->dstlen);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			err = errno;
			if (err == EPIPE && p->sigpipe)
				(void)syscall(SYS_pidfd_send_signal, p->pidfd,
					      SIGPIPE, NULL, 0);
			(void)respond(g, p->id, 0, -err);
		} else {
			(void)respond(g, p->id, n, 0);
		}
	}
	pending_free(g, p);
}

int rp_netguard_dispatch(struct rp_netguard *g, struct rp_err *e)
{
	struct epoll_event ev[16];
	int n, i, rc = 0;

	n = epoll_wait(g->ep_fd, ev, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : rp_err_errno(e, errno, "net guard: epoll");
	for (i = 0; i < n && rc == 0; i++) {
		uint64_t tag = ev[i].data.u64;

		if (tag == TAG_NOTIFY) {
			if (ev[i].events & (EPOLLHUP | EPOLLERR))
				/* Every task of the filter exited: nothing
				 * more can arrive. Stop watching. */
				(void)epoll_ctl(g->ep_fd, EPOLL_CTL_DEL,
						g->notify_fd, NULL);
			else
				rc = recv_notify(g, e);
		} else if (tag == TAG_DNS) {
			rc = rp_netguard_on_dns(g, e);
		} else if (tag == TAG_DNS_DONE) {
			rc = rp_net_dns_collect(g, e);
		} else if (tag >= TAG_PENDING &&
			   tag < TAG_PENDING + RP_NET_PENDING_MAX) {
			on_pending(g, (size_t)(tag - TAG_PENDING));
		}
	}
	return rc;
}

int rp_netguard_fd(const struct rp_netguard *g)
{
	return g->ep_fd;
}

int rp_netguard_notify_fd(const struct rp_netguard *g)
{
	return g->ep_fd; /* the whole set: see net.h */
}

int rp_netguard_dns_fd(const struct rp_netguard *g)
{
	return g->dns_fd;
}

void rp_netguard_stats(const struct rp_netguard *g, struct rp_netguard_stats *out)
{
	*out = g->st;
}

static int watch(struct rp_netguard *g, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(g->ep_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int rp_netguard_start(const struct rp_netguard_config *c,
		      struct rp_netguard **out, struct rp_err *e)
{
	struct rp_netguard *g = NULL;
	struct seccomp_notif_sizes sz;
	struct sockaddr_in stub;
	struct stat st;
	size_t i;
	int rc, self = -1;

	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = rp_err_set(e, RP_ENOMEM, "net guard: out of memory");
		goto out;
	}
	g->notify_fd = g->netns_fd = g->dns_fd = g->ep_fd = g->timer_fd = -1;
	for (i = 0; i < RP_NET_PENDING_MAX; i++)
		g->pend[i].fd = g->pend[i].pidfd = -1;
	g->p = c->policy;
	g->resolve = c->resolve ? c->resolve : rp_net_getaddrinfo;
	g->resolve_ctx = c->resolve_ctx;
	g->resolve_timeout_ms = c->resolve_timeout_ms ? c->resolve_timeout_ms :
				RP_NET_RESOLVE_TIMEOUT_MS;
	rp_netcache_init(&g->cache);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz)) {
		rc = rp_err_errno(e, errno, "net guard: SECCOMP_GET_NOTIF_SIZES");
		goto out;
	}
	g->req_size = sz.seccomp_notif > sizeof(*g->req) ?
		      sz.seccomp_notif : sizeof(*g->req);
	g->resp_size = sz.seccomp_notif_resp > sizeof(*g->resp) ?
		       sz.seccomp_notif_resp : sizeof(*g->resp);
	g->req = calloc(1, g->req_size);
	g->resp = calloc(1, g->resp_size);
	if (!g->req || !g->resp) {
		rc = rp_err_set(e, RP_ENOMEM, "net guard: out of memory");
		goto out;
	}
	g->notify_fd = fcntl(c->notify_fd, F_DUPFD_CLOEXEC, 3);
	g->netns_fd = fcntl(c->netns_fd, F_DUPFD_CLOEXEC, 3);
	if (g->notify_fd < 0 || g->netns_fd < 0) {
		rc = rp_err_errno(e, errno, "net guard: dup");
		goto out;
	}
	if (fstat(g->netns_fd, &st)) {
		rc = rp_err_errno(e, errno, "net guard: app namespace");
		goto out;
	}
	g->app_ns = st.st_ino;
	g->app_ns_dev = st.st_dev;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || fstat(self, &st)) {
		rc = rp_err_errno(e, errno, "net guard: own namespace");
		goto out;
	}
	g->host_ns = st.st_ino;
	g->host_ns_dev = st.st_dev;
	if (g->host_ns == g->app_ns && g->host_ns_dev == g->app_ns_dev) {
		rc = rp_err_set(e, RP_EINVAL,
				"net guard: the app shares rampartd's network namespace");
		goto out;
	}
	if ((rc = rp_net_ns_socket(g, AF_INET, SOCK_DGRAM, 0, 1, &g->dns_fd))) {
		rp_err_errno(e, -rc, "net guard: DNS stub socket in the app namespace");
		goto out;
	}
	memset(&stub, 0, sizeof(stub));
	stub.sin_family = AF_INET;
	stub.sin_port = htons(RP_NET_STUB_PORT);
	stub.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(g->dns_fd, (struct sockaddr *)&stub, sizeof(stub))) {
		rc = rp_err_errno(e, errno, "net guard: DNS stub: bind 127.0.0.1:53");
		goto out;
	}
	g->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (g->ep_fd < 0) {
		rc = rp_err_errno(e, errno, "net guard: epoll");
		goto out;
	}
	if ((rc = rp_net_resolver_new(g->resolve, g->resolve_ctx, &g->res))) {
		rp_err_errno(e, -rc, "net guard: resolver");
		goto out;
	}
	g->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g->timer_fd < 0) {
		rc = rp_err_errno(e, errno, "net guard: timerfd");
		goto out;
	}
	if ((rc = watch(g, g->notify_fd, TAG_NOTIFY)) ||
	    (rc = watch(g, g->dns_fd, TAG_DNS)) ||
	    (rc = watch(g, rp_net_resolver_fd(g->res), TAG_DNS_DONE)) ||
	    (rc = watch(g, g->timer_fd, TAG_DNS_DONE))) {
		rp_err_errno(e, -rc, "net guard: epoll_ctl");
		goto out;
	}
	*out = g;
	g = NULL;
	rc = 0;
out:
	if (self >= 0)
		close(self);
	rp_netguard_free(g);
	return rc;
}

int rp_netguard_new(const struct rp_netpolicy *p, int notify_fd, int netns_fd,
		    struct rp_netguard **out, struct rp_err *e)
{
	struct rp_netguard_config c;

	memset(&c, 0, sizeof(c));
	c.policy = p;
	c.notify_fd = notify_fd;
	c.netns_fd = netns_fd;
	return rp_netguard_start(&c, out, e);
}

void rp_netguard_free(struct rp_netguard *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < RP_NET_PENDING_MAX; i++)
		if (g->pend[i].kind != P_FREE)
			pending_free(g, &g->pend[i]);
	close_fd(&g->ep_fd);
	rp_net_resolver_free(g->res);
	close_fd(&g->timer_fd);
	close_fd(&g->dns_fd);
	close_fd(&g->netns_fd);
	close_fd(&g->notify_fd);
	free(g->req);
	free(g->resp);
	free(g);
}
