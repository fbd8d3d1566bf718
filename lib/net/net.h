/* Network enforcement for compartments: default deny, both ways.
 *
 * An app lives in its own network namespace, which holds only loopback.
 * Every IP socket operation that could reach outside (connect, bind,
 * sendto/sendmsg with an address) is trapped by a seccomp user-notification
 * filter installed by lib/sandbox. rampartd's guard answers each trap: it
 * checks the request against the app's policy and, if allowed, performs the
 * operation itself in the host's network namespace and installs the
 * resulting socket into the app with SECCOMP_IOCTL_NOTIF_ADDFD, replacing
 * the app's descriptor. A checked syscall is never allowed to continue, so
 * nothing can be raced between check and use. Host names resolve only
 * through the guard's DNS stub, which listens on 127.0.0.1:53 inside the
 * app's namespace and answers only allowed names. */
#ifndef RP_NET_H
#define RP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct rp_manifest;
struct rp_netpolicy; /* pure: built from AllowedConnections and the
			AllowedTcpServerPorts / AllowedUdpServerPorts lists */
struct rp_netguard;  /* one per running app */

int rp_netpolicy_from_manifest(const struct rp_manifest *m,
			       struct rp_netpolicy **out, struct rp_err *e) RP_WUR;
void rp_netpolicy_free(struct rp_netpolicy *p);

/* Start guarding an app: notify_fd and netns_fd come from
 * rp_sandbox_spawn (the guard dups them; the caller keeps its own). Creates
 * the DNS stub socket inside the app's namespace. *out owns its fds. */
int rp_netguard_new(const struct rp_netpolicy *p, int notify_fd, int netns_fd,
		    struct rp_netguard **out, struct rp_err *e) RP_WUR;

/* The descriptors the event loop polls for reading, and what to call when
 * one is readable. Each handler serves at most one pending request and
 * never blocks on the app. A refused request gets EACCES (connect/sendto)
 * or EACCES (bind); events are counted for status and error reports. */
int rp_netguard_notify_fd(const struct rp_netguard *g);
int rp_netguard_dns_fd(const struct rp_netguard *g);
int rp_netguard_on_notify(struct rp_netguard *g, struct rp_err *e) RP_WUR;
int rp_netguard_on_dns(struct rp_netguard *g, struct rp_err *e) RP_WUR;

struct rp_netguard_stats {
	uint64_t allowed, refused, dns_answered, dns_refused;
};
void rp_netguard_stats(const struct rp_netguard *g, struct rp_netguard_stats *out);

void rp_netguard_free(struct rp_netguard *g);

#endif
