/* Internals shared by guard.c (the trapped syscalls) and stub.c (the DNS
 * stub). Not an API: only lib/net includes this. */
#ifndef RP_NET_GUARD_PRIV_H
#define RP_NET_GUARD_PRIV_H

#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/dns.h"
#include "net/net.h"

enum pending_kind { P_FREE = 0, P_CONNECT, P_SEND };

/* A trapped call we answer later: a blocking connect in progress, or a
 * send on a blocking socket whose buffer was full. */
struct pending {
	enum pending_kind kind;
	uint64_t id;      /* the notification */
	int fd;           /* our socket (connect) or our dup (send) */
	int pidfd;        /* the calling thread (send: for SIGPIPE) */
	int app_fd;       /* descriptor number in the app (connect) */
	int cloexec;      /* app's close-on-exec flag for app_fd */
	int nonblock;     /* app's O_NONBLOCK */
	int sigpipe;      /* send: raise SIGPIPE on EPIPE */
	int flags;        /* send flags (ours) */
	uint8_t *data;    /* send payload (owned) */
	size_t len;
	struct sockaddr_storage dst;
	socklen_t dstlen; /* 0: no address */
};

/* One stub question waiting for the host resolver (resolver.c). The loop
 * fills q, from, deadline, name and family; the worker writes only rc, n
 * and addrs, under the resolver's lock. */
struct rp_net_dnsjob {
	int state, abandoned;
	uint64_t seq;
	uint64_t deadline_ms;  /* CLOCK_MONOTONIC */
	struct rp_dns_query q;
	struct sockaddr_storage from;
	socklen_t flen;
	char name[RP_NET_NAME_MAX + 2];
	int family;
	int rc;                /* the resolver's; -ETIMEDOUT: gave up */
	size_t n;
	struct rp_netaddr addrs[RP_NET_ANSWERS_MAX];
};
struct rp_netresolver;

struct rp_netguard {
	const struct rp_netpolicy *p;
	int notify_fd, netns_fd, dns_fd, ep_fd;
	ino_t host_ns, app_ns;
	dev_t host_ns_dev, app_ns_dev;
	rp_net_resolve_fn resolve;
	void *resolve_ctx;
	struct rp_netresolver *res; /* the worker that calls resolve */
	int timer_fd;               /* fires at the earliest DNS deadline */
	uint64_t timer_at;          /* ms, 0: disarmed */
	unsigned resolve_timeout_ms;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	struct rp_netcache cache;
	struct pending pend[RP_NET_PENDING_MAX];
	struct rp_netguard_stats st;
};

/* Seconds on CLOCK_BOOTTIME: the cache's clock. */
uint64_t rp_net_now(void);
/* Count a refusal and remember what it was. */
void rp_net_refused(struct rp_netguard *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Create a socket inside the app's network namespace (from a short-lived
 * thread that enters it), optionally bringing loopback up first. */
int rp_net_ns_socket(const struct rp_netguard *g, int domain, int type,
		     int proto, int lo_up, int *out) RP_WUR;
/* The default resolver: getaddrinfo on the host. */
int rp_net_getaddrinfo(void *ctx, const char *name, int family,
		       struct rp_netaddr *out, size_t cap, size_t *n);

/* The resolver worker (resolver.c). new: 0 or -errno; the eventfd of
 * rp_net_resolver_fd becomes readable when results are ready. submit:
 * copies req and queues it; -EAGAIN when RP_NET_DNS_INFLIGHT are already
 * in flight. collect: moves finished (and timed-out, rc -ETIMEDOUT)
 * questions to done (cap >= RP_NET_DNS_INFLIGHT) and returns how many;
 * *next_deadline gets the earliest deadline still pending (0: none).
 * free: accepts NULL; a worker still inside the resolver frees the shared
 * state when it returns. */
int rp_net_resolver_new(rp_net_resolve_fn fn, void *ctx,
			struct rp_netresolver **out) RP_WUR;
int rp_net_resolver_fd(const struct rp_netresolver *r);
int rp_net_resolver_submit(struct rp_netresolver *r,
			   const struct rp_net_dnsjob *req) RP_WUR;
size_t rp_net_resolver_collect(struct rp_netresolver *r,
			       struct rp_net_dnsjob *done, size_t cap,
			       uint64_t now_ms, uint64_t *next_deadline);
void rp_net_resolver_free(struct rp_netresolver *r);
/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t rp_net_now_ms(void);
/* The stub: finished questions (resolver eventfd or timer readable). */
int rp_net_dns_collect(struct rp_netguard *g, struct rp_err *e) RP_WUR;

#endif
