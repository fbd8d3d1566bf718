/* The network policy: manifest capabilities to rules, and the pure
 * decisions the guard asks for. No I/O, no clock: callers pass `now`. */
#include "net/net.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/num.h"
#include "format/manifest.h"

enum rule_kind { R_NAME = 1, R_WILD, R_ADDR };

struct rule {
	enum rule_kind kind;
	char name[RP_NET_NAME_MAX + 1]; /* lower case; for R_WILD the suffix
					   without "*." */
	size_t len;
	struct rp_netaddr a; /* R_ADDR: address; all kinds: port (0 any) */
};

struct rp_netpolicy {
	struct rule *rules;
	size_t n;
	uint16_t tcp[RP_NET_RULES_MAX], udp[RP_NET_RULES_MAX];
	size_t ntcp, nudp;
};

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static void from_mapped(struct rp_netaddr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family == AF_INET6 && memcmp(a->addr, pfx, 12) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
	}
}

int rp_netaddr_parse(const char *s, size_t len, struct rp_netaddr *out)
{
	char buf[64];
	struct rp_netaddr a;

	memset(&a, 0, sizeof(a));
	if (len == 0 || len >= sizeof(buf))
		return RP_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a.addr) == 1)
		a.family = AF_INET6;
	else
		return RP_EINVAL;
	from_mapped(&a);
	*out = a;
	return 0;
}

void rp_netaddr_format(const struct rp_netaddr *a, char *out, size_t cap)
{
	char t[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->addr, t, sizeof(t)))
		snprintf(t, sizeof(t), "?");
	if (a->family == AF_INET6)
		snprintf(out, cap, "[%s]:%u", t, (unsigned)a->port);
	else
		snprintf(out, cap, "%s:%u", t, (unsigned)a->port);
}

int rp_netaddr_is_loopback(const struct rp_netaddr *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->addr[0] == 127;
	return a->family == AF_INET6 && memcmp(a->addr, one, 16) == 0;
}

static int same_addr(const struct rp_netaddr *x, const struct rp_netaddr *y)
{
	size_t n = x->family == AF_INET ? 4 : 16;

	return x->family == y->family && memcmp(x->addr, y->addr, n) == 0;
}

/* One AllowedConnections entry, already validated by the manifest parser:
 * host | *.host | IPv4 | [IPv6], each with an optional ":port". */
static int parse_rule(const char *s, struct rule *r, struct rp_err *e)
{
	const char *host = s, *port = NULL, *colon;
	size_t hlen = strlen(s), i;
	uint64_t p = 0;

	memset(r, 0, sizeof(*r));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			goto bad;
		host = s + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad;
		if (rp_netaddr_parse(host, hlen, &r->a))
			goto bad;
		r->kind = R_ADDR;
	} else {
		colon = strchr(s, ':');
		if (colon) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
		}
		if (rp_netaddr_parse(host, hlen, &r->a) == 0 &&
		    r->a.family == AF_INET) {
			r->kind = R_ADDR;
		} else {
			r->kind = R_NAME;
			if (hlen >= 2 && host[0] == '*' && host[1] == '.') {
				r->kind = R_WILD;
				host += 2;
				hlen -= 2;
			}
			if (hlen == 0 || hlen > RP_NET_NAME_MAX)
				goto bad;
			for (i = 0; i < hlen; i++)
				r->name[i] = (char)lower((unsigned char)host[i]);
			r->name[hlen] = '\0';
			r->len = hlen;
			memset(&r->a, 0, sizeof(r->a));
		}
	}
	if (port && (rp_parse_u64z(port, 65535, &p) || p == 0))
		goto bad;
	r->a.port = (uint16_t)p;
	return 0;
bad:
	return rp_err_set(e, RP_EFORMAT, "\"%.64s\" is not a connection rule", s);
}

static int get_ports(json_t *arr, uint16_t *out, size_t *n, const char *what,
		     struct rp_err *e)
{
	size_t i;
	json_t *v;

	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RP_NET_RULES_MAX)
		return rp_err_set(e, RP_EFORMAT, "%s: not a port list", what);
	json_array_foreach(arr, i, v) {
		json_int_t p = json_integer_value(v);

		if (!json_is_integer(v) || p < 1 || p > 65535)
			return rp_err_set(e, RP_EFORMAT, "%s[%zu]: not a port",
					  what, i);
		out[(*n)++] = (uint16_t)p;
	}
	return 0;
}

int rp_netpolicy_from_manifest(const struct rp_manifest *m,
			       struct rp_netpolicy **out, struct rp_err *e)
{
	struct rp_netpolicy *p = NULL;
	json_t *caps, *conns;
	size_t i, n = 0;
	int rc;

	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = rp_err_set(e, RP_ENOMEM, "net policy: out of memory");
		goto out;
	}
	caps = json_object_get(m->root, "Capabilities");
	conns = caps ? json_object_get(caps, "AllowedConnections") : NULL;
	if (conns) {
		if (!json_is_array(conns) ||
		    json_array_size(conns) > RP_NET_RULES_MAX) {
			rc = rp_err_set(e, RP_EFORMAT,
					"net policy: AllowedConnections: not a list");
			goto out;
		}
		n = json_array_size(conns);
	}
	if (n) {
		p->rules = calloc(n, sizeof(*p->rules));
		if (!p->rules) {
			rc = rp_err_set(e, RP_ENOMEM, "net policy: out of memory");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(conns, i));

		if (!s) {
			rc = rp_err_set(e, RP_EFORMAT, "not a string");
		} else {
			rc = parse_rule(s, &p->rules[i], e);
		}
		if (rc) {
			rp_err_prefix(e, "net policy: AllowedConnections[%zu]", i);
			goto out;
		}
		p->n++;
	}
	if (caps &&
	    ((rc = get_ports(json_object_get(caps, "AllowedTcpServerPorts"),
			     p->tcp, &p->ntcp, "AllowedTcpServerPorts", e)) ||
	     (rc = get_ports(json_object_get(caps, "AllowedUdpServerPorts"),
			     p->udp, &p->nudp, "AllowedUdpServerPorts", e)))) {
		rp_err_prefix(e, "net policy");
		goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	rp_netpolicy_free(p);
	return rc;
}

void rp_netpolicy_free(struct rp_netpolicy *p)
{
	if (!p)
		return;
	free(p->rules);
	free(p);
}

static int name_eq(const char *rule, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (rule[i] != lower((unsigned char)s[i]))
			return 0;
	return rule[len] == '\0';
}

static int rule_matches(const struct rule *r, const char *s, size_t len)
{
	if (r->kind == R_NAME)
		return len == r->len && name_eq(r->name, s, len);
	if (r->kind != R_WILD || len < r->len + 2)
		return 0;
	/* "*.example.com" matches "a.example.com" and "a.b.example.com":
	 * at least one whole label before the suffix. */
	return s[len - r->len - 1] == '.' &&
	       name_eq(r->name, s + len - r->len, r->len);
}

size_t rp_netpolicy_name(const struct rp_netpolicy *p, const char *name,
			 size_t len, uint16_t *ports, size_t cap)
{
	size_t i, j, n = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RP_NET_NAME_MAX)
		return 0;
	for (i = 0; i < p->n; i++) {
		if (!rule_matches(&p->rules[i], name, len))
			continue;
		for (j = 0; j < n && j < cap; j++)
			if (ports[j] == p->rules[i].a.port)
				break;
		if (j < n)
			continue;
		if (n < cap)
			ports[n] = p->rules[i].a.port;
		n++;
	}
	return n;
}

int rp_netpolicy_addr(const struct rp_netpolicy *p, const struct rp_netaddr *a)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];

		if (r->kind == R_ADDR && same_addr(&r->a, a) &&
		    (r->a.port == 0 || r->a.port == a->port))
			return 1;
	}
	return 0;
}

int rp_netpolicy_server_port(const struct rp_netpolicy *p, int stream,
			     uint16_t port)
{
	const uint16_t *list = stream ? p->tcp : p->udp;
	size_t i, n = stream ? p->ntcp : p->nudp;

	for (i = 0; i < n; i++)
		if (list[i] == port)
			return 1;
	return 0;
}

void rp_netcache_init(struct rp_netcache *c)
{
	memset(c, 0, sizeof(*c));
}

void rp_netcache_add(struct rp_netcache *c, const struct rp_netaddr *a,
		     uint64_t expires)
{
	size_t i, victim = 0;

	for (i = 0; i < c->n; i++) {
		struct rp_netcache_entry *x = &c->e[i];

		if (same_addr(&x->a, a) && x->a.port == a->port) {
			if (expires > x->expires)
				x->expires = expires;
			return;
		}
	}
	if (c->n < RP_NET_CACHE_MAX) {
		victim = c->n++;
	} else {
		for (i = 1; i < c->n; i++)
			if (c->e[i].expires < c->e[victim].expires)
				victim = i;
	}
	c->e[victim].a = *a;
	c->e[victim].expires = expires;
}

int rp_netcache_has(const struct rp_netcache *c, const struct rp_netaddr *a,
		    uint64_t now)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct rp_netcache_entry *x = &c->e[i];

		if (x->expires > now && same_addr(&x->a, a) &&
		    (x->a.port == 0 || x->a.port == a->port))
			return 1;
	}
	return 0;
}

int rp_netpolicy_allows(const struct rp_netpolicy *p,
			const struct rp_netcache *c,
			const struct rp_netaddr *dst, uint64_t now)
{
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return 0;
	return rp_netpolicy_addr(p, dst) || (c && rp_netcache_has(c, dst, now));
}
