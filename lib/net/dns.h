/* DNS messages for the guard's stub resolver (RFC 1035), pure and bounded.
 *
 * The stub reads a query from the app and writes one answer. Both sides
 * work on caller-owned fixed-size buffers: no allocation. The parser walks
 * the whole message (header, questions, and every resource record's name
 * and length) and refuses anything malformed: names longer than 255 bytes
 * on the wire, labels over 63 bytes, compression pointers that do not
 * point strictly backwards (which also rules out loops) or past the end,
 * more than RP_DNS_HOPS_MAX pointers in one name, reserved label types,
 * truncation, and trailing bytes. */
#ifndef RP_NET_DNS_H
#define RP_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/net.h"

#define RP_DNS_HDR 12
#define RP_DNS_UDP_MAX 512   /* answers never exceed this (no EDNS) */
#define RP_DNS_QUERY_MAX 4096 /* bigger queries are dropped unread */
#define RP_DNS_NAME_WIRE_MAX 255
#define RP_DNS_HOPS_MAX 16
#define RP_DNS_RR_MAX 64     /* resource records walked per message */

enum rp_dns_type { RP_DNS_A = 1, RP_DNS_AAAA = 28 };
enum rp_dns_rcode {
	RP_DNS_NOERROR = 0,
	RP_DNS_FORMERR = 1,
	RP_DNS_SERVFAIL = 2,
	RP_DNS_NXDOMAIN = 3,
	RP_DNS_NOTIMP = 4,
	RP_DNS_REFUSED = 5,
};

struct rp_dns_query {
	uint16_t id;
	uint16_t flags;      /* the query's header flags */
	int has_question;    /* 0: header only (answer FORMERR without one) */
	char name[RP_NET_NAME_MAX + 2]; /* dotted text, NUL-terminated; "" for
					   the root; original case */
	size_t name_len;
	uint8_t qname[RP_DNS_NAME_WIRE_MAX]; /* the name in uncompressed wire
						form, for the echoed question */
	size_t qname_len;
	uint16_t qtype, qclass;
};

/* Parse a query. Returns 0 with the one question in *q; RP_EFORMAT
 * (malformed; if at least the header was readable, q->id and q->flags are
 * set and q->has_question is 0, so a FORMERR can be sent); RP_EPOLICY
 * (well-formed but not something the stub answers: a response, an opcode
 * other than QUERY, not exactly one question -- rcode in *rcode). Labels
 * must be letters, digits, '-' or '_'. */
int rp_dns_parse_query(const uint8_t *buf, size_t len, struct rp_dns_query *q,
		       int *rcode, struct rp_err *e) RP_WUR;

/* Build the answer to q in out (cap bytes, at least RP_DNS_HDR): the
 * question echoed (if q has one), then the addresses of q->qtype's family
 * from addrs (others skipped), each with ttl, as many as fit in
 * min(cap, RP_DNS_UDP_MAX). *outlen gets the length. RP_ERANGE if cap is
 * too small for the header and question. */
int rp_dns_build_response(const struct rp_dns_query *q, int rcode,
			  const struct rp_netaddr *addrs, size_t naddrs,
			  uint32_t ttl, uint8_t *out, size_t cap,
			  size_t *outlen, struct rp_err *e) RP_WUR;

/* Build a query (for tests and the fuzzer's round trip): name is dotted
 * text. RP_EINVAL for a bad name, RP_ERANGE if cap is too small. */
int rp_dns_build_query(uint16_t id, const char *name, uint16_t qtype,
		       uint8_t *out, size_t cap, size_t *outlen,
		       struct rp_err *e) RP_WUR;

/* Parse the answers of a response to addresses (for tests and the
 * fuzzer): rcode and at most cap A/AAAA addresses. */
int rp_dns_parse_response(const uint8_t *buf, size_t len, int *rcode,
			  struct rp_netaddr *addrs, size_t cap, size_t *n,
			  struct rp_err *e) RP_WUR;

#endif
