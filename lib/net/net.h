/* Network enforcement for compartments: default deny, both ways.
 *
 * An app lives in its own network namespace, which holds only loopback.
 * Every socket operation that could reach outside (connect, bind,
 * sendto with an address, sendmsg, sendmmsg) is trapped by a seccomp
 * user-notification filter installed by lib/sandbox. rampartd's guard
 * answers each trap: it checks the request against the app's policy and, if
 * allowed, performs the operation itself -- in the host's network namespace
 * when the app may reach outside -- and installs the resulting socket into
 * the app with SECCOMP_IOCTL_NOTIF_ADDFD, replacing the app's descriptor.
 * A checked syscall is never allowed to continue, so nothing can be raced
 * between check and use. Host names resolve only through the guard's DNS
 * stub, which listens on 127.0.0.1:53 inside the app's namespace and
 * answers only allowed names; the addresses it hands out are what a
 * connect to a host name is checked against. docs/DESIGN.md ("Network")
 * has the full decision table.
 *
 * Two layers: rp_netpolicy (pure: manifest -> rules, matching, the cache of
 * resolved addresses; unit-tested without root) and rp_netguard (the
 * privileged I/O; needs root, kernel >= 5.14). */
#ifndef RP_NET_H
#define RP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct rp_manifest;
struct rp_netpolicy; /* pure: built from AllowedConnections and the
			AllowedTcpServerPorts / AllowedUdpServerPorts lists */
struct rp_netguard;  /* one per running app */

#define RP_NET_NAME_MAX 253   /* host name text, without a trailing dot */
#define RP_NET_RULES_MAX 256  /* = RP_MANIFEST_ARRAY_MAX */
#define RP_NET_CACHE_MAX 512  /* resolved (address, port) pairs per app */
#define RP_NET_ANSWERS_MAX 8  /* addresses per DNS answer */

/* An IP endpoint. family is AF_INET or AF_INET6; addr holds 4 or 16 bytes
 * in network order; port is in host order (0: "any" in rules). An IPv4
 * address mapped into IPv6 (::ffff:a.b.c.d) is always stored as AF_INET. */
struct rp_netaddr {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* ---- policy (pure) ---- */

/* Build the policy from a validated manifest. *out is owned by the caller;
 * free with rp_netpolicy_free (accepts NULL). An app without network
 * capabilities gets an empty policy that refuses everything. */
int rp_netpolicy_from_manifest(const struct rp_manifest *m,
			       struct rp_netpolicy **out, struct rp_err *e) RP_WUR;
void rp_netpolicy_free(struct rp_netpolicy *p);

/* Is this host name allowed (exact, or under a "*.suffix" rule, which
 * matches one or more labels before the suffix but not the suffix itself)?
 * Case-insensitive; one trailing dot is ignored. Returns the number of
 * distinct ports the matching rules allow, written to ports (0 in the
 * list means any port; at most cap written), or 0 if no rule matches. */
size_t rp_netpolicy_name(const struct rp_netpolicy *p, const char *name,
			 size_t len, uint16_t *ports, size_t cap);

/* Does a rule name this address literally (an IPv4 or [IPv6] entry, with
 * its port if the rule has one)? 1 yes, 0 no. */
int rp_netpolicy_addr(const struct rp_netpolicy *p, const struct rp_netaddr *a);

/* May the app listen on this port? stream: 1 TCP, 0 UDP. 1 yes, 0 no. */
int rp_netpolicy_server_port(const struct rp_netpolicy *p, int stream,
			     uint16_t port);

/* The addresses the DNS stub handed out for allowed names, each with the
 * port the name's rule allows (0: any) and an expiry time in seconds on a
 * caller-chosen monotonic clock. Fixed size: when full, expired entries
 * are reused first, then the one closest to expiry. */
struct rp_netcache_entry {
	struct rp_netaddr a;
	uint64_t expires;
};
struct rp_netcache {
	struct rp_netcache_entry e[RP_NET_CACHE_MAX];
	size_t n;
};
void rp_netcache_init(struct rp_netcache *c);
/* Record (or refresh) a->addr with a->port until `expires`. */
void rp_netcache_add(struct rp_netcache *c, const struct rp_netaddr *a,
		     uint64_t expires);
/* 1 if an unexpired entry covers the address and port. */
int rp_netcache_has(const struct rp_netcache *c, const struct rp_netaddr *a,
		    uint64_t now);

/* The connect/sendto decision: 1 if the destination is a literal rule or
 * a cached resolution of an allowed name, else 0. */
int rp_netpolicy_allows(const struct rp_netpolicy *p,
			const struct rp_netcache *c,
			const struct rp_netaddr *dst, uint64_t now);

/* Parse "a.b.c.d", "x::y" (no brackets) into *out (port 0); 0 or
 * RP_EINVAL. */
int rp_netaddr_parse(const char *s, size_t len, struct rp_netaddr *out) RP_WUR;
/* "1.2.3.4:80" or "[::1]:80" into out (at least 48 bytes). */
void rp_netaddr_format(const struct rp_netaddr *a, char *out, size_t cap);
/* 1 if 127.0.0.0/8 or ::1. */
int rp_netaddr_is_loopback(const struct rp_netaddr *a);

/* ---- guard (privileged I/O) ---- */

/* Resolve name for one family (AF_INET or AF_INET6) into at most cap
 * addresses (ports ignored). 0 with *n (possibly 0: no such records),
 * RP_EPOLICY: the name does not exist, other negative: temporary failure.
 * The default uses getaddrinfo; tests install a fixed table. */
typedef int (*rp_net_resolve_fn)(void *ctx, const char *name, int family,
				 struct rp_netaddr *out, size_t cap, size_t *n);

struct rp_netguard_config {
	const struct rp_netpolicy *policy; /* must outlive the guard */
	int notify_fd;     /* seccomp listener; dup'd, caller keeps its own */
	int netns_fd;      /* the app's network namespace; dup'd */
	rp_net_resolve_fn resolve; /* NULL: getaddrinfo on the host. Called
				      from the guard's resolver thread, never
				      the caller's loop; ctx must outlive the
				      guard and tolerate that thread */
	void *resolve_ctx;
	unsigned resolve_timeout_ms; /* 0: RP_NET_RESOLVE_TIMEOUT_MS */
};

#define RP_NET_STUB_PORT 53
#define RP_NET_DNS_TTL 60       /* seconds, in answers to the app */
#define RP_NET_ALLOW_SECS 600   /* how long an answered address stays allowed */
#define RP_NET_PENDING_MAX 32   /* blocking connects/sends in flight per app */
#define RP_NET_PAYLOAD_MAX 65536 /* bytes of one trapped send */
#define RP_NET_DNS_INFLIGHT 8    /* stub questions waiting for the host
				    resolver per app; beyond: SERVFAIL */
#define RP_NET_DNS_WORKERS 2     /* resolver threads per app, on demand */
#define RP_NET_RESOLVE_TIMEOUT_MS 5000 /* then the stub answers SERVFAIL */

/* Start guarding an app. Creates the DNS stub socket inside the app's
 * namespace (bringing its loopback up if needed). *out owns its fds; free
 * with rp_netguard_free. */
int rp_netguard_start(const struct rp_netguard_config *c,
		      struct rp_netguard **out, struct rp_err *e) RP_WUR;

/* The same with the default resolver (getaddrinfo). */
int rp_netguard_new(const struct rp_netpolicy *p, int notify_fd, int netns_fd,
		    struct rp_netguard **out, struct rp_err *e) RP_WUR;

/* The one descriptor an event loop polls for reading (an epoll set of the
 * listener, the DNS stub and the sockets of blocking connects in flight);
 * call rp_netguard_dispatch when it is readable. dispatch serves what is
 * ready and never blocks on the app, the network or the host resolver
 * (names are resolved by a worker thread per guard, see DESIGN.md).
 * Errors returned concern the guard itself (the listener is gone: the app
 * exited); a bad request is answered, counted and never an error. */
int rp_netguard_fd(const struct rp_netguard *g);
int rp_netguard_dispatch(struct rp_netguard *g, struct rp_err *e) RP_WUR;

/* The interface rampartd's supervisor was first written against, kept
 * working: notify_fd() returns the same epoll set as rp_netguard_fd() and
 * on_notify() is rp_netguard_dispatch(), so polling it also completes
 * blocking connects; dns_fd()/on_dns() serve the stub directly (the set
 * holds it too, so a loop may poll either or both). */
int rp_netguard_notify_fd(const struct rp_netguard *g);
int rp_netguard_dns_fd(const struct rp_netguard *g);
int rp_netguard_on_notify(struct rp_netguard *g, struct rp_err *e) RP_WUR;
int rp_netguard_on_dns(struct rp_netguard *g, struct rp_err *e) RP_WUR;

/* A refused request gets EACCES (connect, bind, sendto, sendmsg) and is
 * counted; so is every DNS question for a name not allowed (NXDOMAIN). */
struct rp_netguard_stats {
	uint64_t allowed, refused, dns_answered, dns_refused;
	char last_refused[128]; /* "connect 10.0.0.1:80", "dns evil.com", or "" */
};
void rp_netguard_stats(const struct rp_netguard *g, struct rp_netguard_stats *out);

/* Accepts NULL. Closing the listener makes any trapped call still waiting
 * fail with ENOSYS in the app; the app is normally gone by then. */
void rp_netguard_free(struct rp_netguard *g);

#endif
