/* The DNS stub: a UDP socket on 127.0.0.1:53 inside the app's network
 * namespace that answers A and AAAA questions for allowed names only, and
 * records what it answered so that connects to those addresses pass. */
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/guard_priv.h"

uint64_t rp_net_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec;
}

void rp_net_refused(struct rp_netguard *g, const char *fmt, ...)
{
	va_list ap;

	g->st.refused++;
	va_start(ap, fmt);
	vsnprintf(g->st.last_refused, sizeof(g->st.last_refused), fmt, ap);
	va_end(ap);
}

struct nsjob {
	int netns, domain, type, proto, lo_up;
	int fd, err;
};

static int lo_up(void)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		rc = -errno;
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			rc = -errno;
	}
out:
	close(s);
	return rc;
}

/* Runs in its own thread: the namespace switch affects only this thread,
 * which ends right after, so rampartd's own threads never leave the host
 * namespace. */
static void *nsjob_run(void *arg)
{
	struct nsjob *j = arg;

	j->fd = -1;
	if (setns(j->netns, CLONE_NEWNET)) {
		j->err = -errno;
		return NULL;
	}
	if (j->lo_up && (j->err = lo_up()))
		return NULL;
	j->fd = socket(j->domain, j->type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       j->proto);
	if (j->fd < 0)
		j->err = -errno;
	return NULL;
}

int rp_net_ns_socket(const struct rp_netguard *g, int domain, int type,
		     int proto, int lo, int *out)
{
	struct nsjob j = { .netns = g->netns_fd, .domain = domain,
			   .type = type, .proto = proto, .lo_up = lo,
			   .fd = -1, .err = 0 };
	pthread_t t;
	int rc;

	rc = pthread_create(&t, NULL, nsjob_run, &j);
	if (rc)
		return -rc;
	pthread_join(t, NULL);
	if (j.err) {
		if (j.fd >= 0)
			close(j.fd);
		return j.err;
	}
	*out = j.fd;
	return 0;
}

int rp_net_getaddrinfo(void *ctx, const char *name, int family,
		       struct rp_netaddr *out, size_t cap, size_t *n)
{
	struct addrinfo hints, *res = NULL, *ai;
	size_t i;
	int rc;

	(void)ctx;
	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY)
		return 0; /* no addresses of this family: an empty answer */
	if (rc)
		return RP_EIO;
	for (ai = res; ai && *n < cap; ai = ai->ai_next) {
		struct rp_netaddr a;

		memset(&a, 0, sizeof(a));
		a.family = ai->ai_family;
		if (ai->ai_family == AF_INET &&
		    ai->ai_addrlen >= sizeof(struct sockaddr_in))
			memcpy(a.addr,
			       &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr,
			       4);
		else if (ai->ai_family == AF_INET6 &&
			 ai->ai_addrlen >= sizeof(struct sockaddr_in6))
			memcpy(a.addr,
			       &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr,
			       16);
		else
			continue;
		for (i = 0; i < *n; i++)
			if (memcmp(out[i].addr, a.addr, 16) == 0 &&
			    out[i].family == a.family)
				break;
		if (i == *n)
			out[(*n)++] = a;
	}
	freeaddrinfo(res);
	return 0;
}

/* Arm the timer for the earliest deadline (0: disarm). */
static void arm(struct rp_netguard *g, uint64_t at_ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at_ms / 1000u);
	its.it_value.tv_nsec = (long)(at_ms % 1000u) * 1000000L;
	if (at_ms == 0)
		its.it_value.tv_nsec = 0;
	(void)timerfd_settime(g->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	g->timer_at = at_ms;
}

/* The answer to a question the resolver finished (or gave up on). */
static size_t resolved(struct rp_netguard *g, const struct rp_net_dnsjob *j,
		       uint8_t *out, size_t cap)
{
	uint16_t ports[RP_NET_RULES_MAX];
	struct rp_err e;
	size_t nports, olen = 0, i, k, n = j->n;
	int rcode;
	uint64_t until;

	rp_err_clear(&e);
	if (j->rc) {
		rcode = j->rc == RP_EPOLICY ? RP_DNS_NXDOMAIN : RP_DNS_SERVFAIL;
		n = 0;
		g->st.dns_refused++;
		goto build;
	}
	nports = rp_netpolicy_name(g->p, j->q.name, j->q.name_len, ports,
				   RP_NET_RULES_MAX);
	until = rp_net_now() + RP_NET_ALLOW_SECS;
	for (i = 0; i < n; i++) {
		if (j->addrs[i].family != j->family)
			continue;
		for (k = 0; k < nports && k < RP_NET_RULES_MAX; k++) {
			struct rp_netaddr a = j->addrs[i];

			a.port = ports[k];
			rp_netcache_add(&g->cache, &a, until);
		}
	}
	rcode = RP_DNS_NOERROR;
	g->st.dns_answered++;
build:
	if (rp_dns_build_response(&j->q, rcode, j->addrs, n, RP_NET_DNS_TTL,
				  out, cap, &olen, &e))
		return 0;
	return olen;
}

/* Decide one query: build the answer now, or (an allowed name) hand it
 * to the resolver worker and return 0 with *deferred set. */
static size_t answer(struct rp_netguard *g, const uint8_t *in, size_t inlen,
		     const struct sockaddr_storage *from, socklen_t flen,
		     uint8_t *out, size_t cap, int *deferred)
{
	struct rp_net_dnsjob j;
	uint16_t ports[RP_NET_RULES_MAX];
	struct rp_err e;
	size_t nports, olen = 0;
	int rcode, rc, family;

	*deferred = 0;
	rp_err_clear(&e);
	memset(&j, 0, sizeof(j));
	rc = rp_dns_parse_query(in, inlen, &j.q, &rcode, &e);
	if (rc) {
		if (inlen < RP_DNS_HDR || (j.q.flags & 0x8000))
			return 0; /* not even a query header: drop */
		g->st.dns_refused++;
		goto build;
	}
	family = j.q.qtype == RP_DNS_A ? AF_INET :
		 j.q.qtype == RP_DNS_AAAA ? AF_INET6 : 0;
	nports = rp_netpolicy_name(g->p, j.q.name, j.q.name_len, ports,
				   RP_NET_RULES_MAX);
	if (nports == 0) {
		rcode = RP_DNS_NXDOMAIN;
		rp_net_refused(g, "dns %.100s", j.q.name);
		g->st.dns_refused++;
		goto build;
	}
	if (j.q.qclass != 1 || !family) {
		rcode = RP_DNS_REFUSED;
		g->st.dns_refused++;
		goto build;
	}
	memcpy(&j.from, from, flen);
	j.flen = flen;
	memcpy(j.name, j.q.name, sizeof(j.name));
	j.family = family;
	j.deadline_ms = rp_net_now_ms() + g->resolve_timeout_ms;
	if (rp_net_resolver_submit(g->res, &j) == 0) {
		if (g->timer_at == 0 || j.deadline_ms < g->timer_at)
			arm(g, j.deadline_ms);
		*deferred = 1;
		return 0;
	}
	/* RP_NET_DNS_INFLIGHT questions already wait: the host resolver is
	 * not keeping up, so say so rather than queue without bound. */
	rcode = RP_DNS_SERVFAIL;
	g->st.dns_refused++;
build:
	if (rp_dns_build_response(&j.q, rcode, NULL, 0, RP_NET_DNS_TTL, out,
				  cap, &olen, &e))
		return 0;
	return olen;
}

int rp_net_dns_collect(struct rp_netguard *g, struct rp_err *e)
{
	struct rp_net_dnsjob done[RP_NET_DNS_INFLIGHT];
	uint8_t out[RP_DNS_UDP_MAX];
	uint64_t next, exp;
	size_t n, i, olen;

	(void)e;
	if (read(g->timer_fd, &exp, sizeof(exp)) < 0) {
		/* EAGAIN: woken by the worker, not the timer */
	}
	n = rp_net_resolver_collect(g->res, done, RP_NET_DNS_INFLIGHT,
				    rp_net_now_ms(), &next);
	arm(g, next);
	for (i = 0; i < n; i++) {
		olen = resolved(g, &done[i], out, sizeof(out));
		if (olen)
			(void)sendto(g->dns_fd, out, olen, MSG_DONTWAIT,
				     (struct sockaddr *)&done[i].from,
				     done[i].flen);
	}
	return 0;
}

int rp_netguard_on_dns(struct rp_netguard *g, struct rp_err *e)
{
	uint8_t in[RP_DNS_QUERY_MAX], out[RP_DNS_UDP_MAX];
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t got;
	size_t olen;
	int i, deferred;

	/* A bounded batch per wakeup, so one app cannot starve the loop. */
	for (i = 0; i < 16; i++) {
		flen = sizeof(from);
		got = recvfrom(g->dns_fd, in, sizeof(in), MSG_DONTWAIT | MSG_TRUNC,
			       (struct sockaddr *)&from, &flen);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return rp_err_errno(e, errno, "dns stub: recvfrom");
		}
		if ((size_t)got > sizeof(in))
			continue; /* oversized: drop */
		olen = answer(g, in, (size_t)got, &from, flen, out,
			      sizeof(out), &deferred);
		if (olen)
			(void)sendto(g->dns_fd, out, olen, MSG_DONTWAIT,
				     (struct sockaddr *)&from, flen);
	}
	return 0;
}
