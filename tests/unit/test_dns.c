/* Unit tests for lib/net/dns.c: queries parse and answers round-trip, and
 * every malformed message is refused without reading past its end:
 * truncation at each byte, compression loops and forward or out-of-range
 * pointers, oversized labels and names, reserved label types, bad counts,
 * trailing bytes. Pure: no network. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/dns.h"

static const uint8_t hdr_q1[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };

/* A query message: header_q1, then body bytes, then type A class IN. */
static size_t mk(uint8_t *out, const uint8_t *body, size_t blen, int tail)
{
	memcpy(out, hdr_q1, 12);
	memcpy(out + 12, body, blen);
	if (!tail)
		return 12 + blen;
	memcpy(out + 12 + blen, "\x00\x01\x00\x01", 4);
	return 12 + blen + 4;
}

static int parse(const uint8_t *m, size_t len, struct rp_dns_query *q, int *rcode)
{
	struct rp_err e;

	rp_err_clear(&e);
	return rp_dns_parse_query(m, len, q, rcode, &e);
}

static void test_query_roundtrip(void **state)
{
	uint8_t m[512], r[512];
	struct rp_dns_query q;
	struct rp_netaddr a[3], got[4];
	struct rp_err e;
	size_t len, rlen, n;
	int rcode;

	(void)state;
	assert_int_equal(rp_dns_build_query(0xbeef, "Api.Example.com.", RP_DNS_A,
					    m, sizeof(m), &len, &e), 0);
	assert_int_equal(parse(m, len, &q, &rcode), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_string_equal(q.name, "Api.Example.com");
	assert_int_equal(q.name_len, 15);
	assert_int_equal(q.qtype, RP_DNS_A);
	assert_int_equal(q.qclass, 1);
	memset(a, 0, sizeof(a));
	a[0].family = AF_INET;
	memcpy(a[0].addr, "\x01\x02\x03\x04", 4);
	a[1].family = AF_INET6;
	a[1].addr[15] = 1;
	a[2].family = AF_INET;
	memcpy(a[2].addr, "\x05\x06\x07\x08", 4);
	assert_int_equal(rp_dns_build_response(&q, RP_DNS_NOERROR, a, 3, 60, r,
					       sizeof(r), &rlen, &e), 0);
	assert_int_equal(rp_dns_parse_response(r, rlen, &rcode, got, 4, &n, &e), 0);
	assert_int_equal(rcode, 0);
	assert_int_equal(n, 2); /* the AAAA is not an answer to an A question */
	assert_memory_equal(got[0].addr, "\x01\x02\x03\x04", 4);
	assert_memory_equal(got[1].addr, "\x05\x06\x07\x08", 4);
	assert_int_equal(r[0], 0xbe);
	assert_int_equal(r[2] & 0x80, 0x80); /* QR */
	assert_int_equal(r[2] & 0x01, 0x01); /* RD copied */

	/* AAAA gets only the IPv6 address */
	assert_int_equal(rp_dns_build_query(7, "x.test", RP_DNS_AAAA, m,
					    sizeof(m), &len, &e), 0);
	assert_int_equal(parse(m, len, &q, &rcode), 0);
	assert_int_equal(rp_dns_build_response(&q, RP_DNS_NOERROR, a, 3, 60, r,
					       sizeof(r), &rlen, &e), 0);
	assert_int_equal(rp_dns_parse_response(r, rlen, &rcode, got, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].family, AF_INET6);

	/* NXDOMAIN carries no answers even if given addresses */
	assert_int_equal(rp_dns_build_response(&q, RP_DNS_NXDOMAIN, a, 3, 60, r,
					       sizeof(r), &rlen, &e), 0);
	assert_int_equal(rp_dns_parse_response(r, rlen, &rcode, got, 4, &n, &e), 0);
	assert_int_equal(rcode, RP_DNS_NXDOMAIN);
	assert_int_equal(n, 0);
}

static void test_answer_capped(void **state)
{
	struct rp_netaddr a[64];
	uint8_t m[512], r[512];
	struct rp_dns_query q;
	struct rp_err e;
	size_t len, rlen, i;
	int rcode;

	(void)state;
	memset(a, 0, sizeof(a));
	for (i = 0; i < 64; i++)
		a[i].family = AF_INET6;
	assert_int_equal(rp_dns_build_query(7, "x.test", RP_DNS_AAAA, m,
					    sizeof(m), &len, &e), 0);
	assert_int_equal(parse(m, len, &q, &rcode), 0);
	assert_int_equal(rp_dns_build_response(&q, 0, a, 64, 60, r, sizeof(r),
					       &rlen, &e), 0);
	assert_true(rlen <= RP_DNS_UDP_MAX);
	/* too small for header and question */
	assert_int_equal(rp_dns_build_response(&q, 0, a, 1, 60, r, 20, &rlen, &e),
			 RP_ERANGE);
}

static void test_compression_in_question(void **state)
{
	/* The question name may point back into the header? No: a pointer
	 * must point strictly backwards, and 0 (the header) is backwards.
	 * Build a message whose name is a pointer to a name placed in an
	 * earlier record -- impossible for the first question, so check a
	 * pointer to offset 0 parses as labels of header bytes and fails. */
	uint8_t m[64];
	struct rp_dns_query q;
	int rcode;
	size_t len = mk(m, (const uint8_t *)"\xc0\x00", 2, 1);

	(void)state;
	assert_int_equal(parse(m, len, &q, &rcode), RP_EFORMAT);
}

static void test_malformed(void **state)
{
	static const struct { const char *body; size_t len; int tail; } bad[] = {
		/* pointer to itself: a loop */
		{ "\xc0\x0c", 2, 1 },
		/* pointer forwards */
		{ "\xc0\x20", 2, 1 },
		/* pointer past the end */
		{ "\xff\xff", 2, 1 },
		/* truncated pointer */
		{ "\xc0", 1, 0 },
		/* reserved label types 0x40 and 0x80 */
		{ "\x41" "a\x00", 3, 1 },
		{ "\x81" "a\x00", 3, 1 },
		/* label runs past the end */
		{ "\x3f" "abc", 4, 0 },
		/* no terminating zero */
		{ "\x03" "abc", 4, 0 },
		/* bad characters */
		{ "\x03" "a.c\x00", 5, 1 },
		{ "\x03" "a c\x00", 5, 1 },
		{ "\x03" "a\x00" "c\x00", 5, 1 },
		/* question truncated before type/class */
		{ "\x01" "a\x00\x00\x01", 5, 0 },
		/* trailing byte */
		{ "\x01" "a\x00\x00\x01\x00\x01\x00", 8, 0 },
	};
	uint8_t m[600];
	struct rp_dns_query q;
	size_t i, len;
	int rcode;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = mk(m, (const uint8_t *)bad[i].body, bad[i].len, bad[i].tail);
		if (parse(m, len, &q, &rcode) != RP_EFORMAT)
			fail_msg("case %zu parsed", i);
		assert_int_equal(rcode, RP_DNS_FORMERR);
		assert_int_equal(q.id, 0x1234); /* enough for a FORMERR */
		assert_false(q.has_question);
	}
}

static void test_label_and_name_limits(void **state)
{
	uint8_t m[600], body[400];
	struct rp_dns_query q;
	size_t len, off = 0, i;
	int rcode;

	(void)state;
	/* 63-byte label ok, 64 is a reserved type (0x40) */
	body[0] = 63;
	memset(body + 1, 'a', 63);
	body[64] = 0;
	len = mk(m, body, 65, 1);
	assert_int_equal(parse(m, len, &q, &rcode), 0);
	assert_int_equal(q.name_len, 63);
	body[0] = 64;
	memset(body + 1, 'a', 64);
	body[65] = 0;
	len = mk(m, body, 66, 1);
	assert_int_equal(parse(m, len, &q, &rcode), RP_EFORMAT);

	/* 255 wire bytes ok (3 x 63 + 61 + 4 length bytes + zero), 256 not */
	for (i = 0; i < 3; i++) {
		body[off++] = 63;
		memset(body + off, 'b', 63);
		off += 63;
	}
	body[off++] = 61;
	memset(body + off, 'c', 61);
	off += 61;
	body[off++] = 0;
	assert_int_equal(off, 255);
	len = mk(m, body, off, 1);
	assert_int_equal(parse(m, len, &q, &rcode), 0);
	assert_int_equal(q.name_len, 253);
	body[off - 1 - 61 - 1] = 62; /* grow the last label by one */
	memmove(body + off - 61 - 1 + 1, body + off - 61 - 1, 62);
	body[off - 1] = 'c';
	body[off] = 0;
	len = mk(m, body, off + 1, 1);
	assert_int_equal(parse(m, len, &q, &rcode), RP_EFORMAT);
}

/* Pointers may chain, each hop strictly backwards; the chain lives in the
 * rdata of a first additional record and a second record's name points at
 * its end. A short chain parses; one longer than RP_DNS_HOPS_MAX does not. */
static size_t chain_msg(uint8_t *m, int hops)
{
	size_t off = 12, chain, i, last;

	memcpy(m, hdr_q1, 12);
	m[11] = 2; /* ARCOUNT */
	memcpy(m + off, "\x01" "a\x00\x00\x01\x00\x01", 7);
	off += 7;
	/* record 1: root name, type 0xff00, class 1, ttl 0, rdata = chain */
	memcpy(m + off, "\x00\xff\x00\x00\x01\x00\x00\x00\x00", 9);
	off += 9;
	m[off++] = 0;
	m[off++] = (uint8_t)(2 * hops);
	chain = off;
	for (i = 0; i < (size_t)hops; i++) {
		size_t to = i == 0 ? 12 : chain + 2 * (i - 1);

		m[off++] = (uint8_t)(0xc0 | (to >> 8));
		m[off++] = (uint8_t)to;
	}
	/* record 2: name = pointer to the last link */
	last = off - 2;
	m[off] = (uint8_t)(0xc0 | (last >> 8));
	m[off + 1] = (uint8_t)last;
	off += 2;
	memcpy(m + off, "\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	return off + 10;
}

static void test_pointer_chains(void **state)
{
	uint8_t m[600];
	struct rp_dns_query q;
	int rcode;

	(void)state;
	assert_int_equal(parse(m, chain_msg(m, 3), &q, &rcode), 0);
	assert_int_equal(parse(m, chain_msg(m, RP_DNS_HOPS_MAX - 1), &q, &rcode), 0);
	assert_int_equal(parse(m, chain_msg(m, RP_DNS_HOPS_MAX), &q, &rcode),
			 RP_EFORMAT);
	assert_int_equal(parse(m, chain_msg(m, 100), &q, &rcode), RP_EFORMAT);
}

static void test_not_answered(void **state)
{
	uint8_t m[64];
	struct rp_dns_query q;
	size_t len;
	int rcode;

	(void)state;
	len = mk(m, (const uint8_t *)"\x01" "a\x00", 3, 1);
	m[2] = 0x80; /* a response */
	assert_int_equal(parse(m, len, &q, &rcode), RP_EPOLICY);
	m[2] = 0x10; /* opcode 2 (status) */
	assert_int_equal(parse(m, len, &q, &rcode), RP_EPOLICY);
	assert_int_equal(rcode, RP_DNS_NOTIMP);
	m[2] = 0x01;
	m[5] = 2; /* two questions */
	assert_int_equal(parse(m, len, &q, &rcode), RP_EPOLICY);
	assert_int_equal(rcode, RP_DNS_FORMERR);
	m[5] = 0;
	assert_int_equal(parse(m, len, &q, &rcode), RP_EPOLICY);
	m[5] = 1;
	m[7] = 0xff; /* 255 answers claimed */
	assert_int_equal(parse(m, len, &q, &rcode), RP_EFORMAT);
	m[7] = 1; /* one answer claimed, none there */
	assert_int_equal(parse(m, len, &q, &rcode), RP_EFORMAT);
}

static void test_every_truncation(void **state)
{
	uint8_t m[512];
	struct rp_dns_query q;
	struct rp_err e;
	size_t len, i;
	int rcode;
	uint8_t *copy;

	(void)state;
	assert_int_equal(rp_dns_build_query(1, "a.bb.ccc.example", RP_DNS_AAAA, m,
					    sizeof(m), &len, &e), 0);
	for (i = 0; i < len; i++) {
		/* an exact-size heap copy so ASan sees any over-read */
		copy = malloc(i ? i : 1);
		assert_non_null(copy);
		memcpy(copy, m, i);
		assert_int_not_equal(parse(copy, i, &q, &rcode), 0);
		free(copy);
	}
	assert_int_equal(parse(m, len, &q, &rcode), 0);
}

static void test_build_query_refusals(void **state)
{
	uint8_t m[512];
	char big[300];
	struct rp_err e;
	size_t len;

	(void)state;
	assert_int_equal(rp_dns_build_query(1, "a..b", 1, m, sizeof(m), &len, &e),
			 RP_EINVAL);
	memset(big, 'a', sizeof(big));
	big[299] = '\0';
	assert_int_equal(rp_dns_build_query(1, big, 1, m, sizeof(m), &len, &e),
			 RP_EINVAL);
	big[64] = '\0';
	assert_int_equal(rp_dns_build_query(1, big, 1, m, sizeof(m), &len, &e),
			 RP_EINVAL);
	assert_int_equal(rp_dns_build_query(1, "a.b", 1, m, 16, &len, &e),
			 RP_ERANGE);
	/* the root name */
	assert_int_equal(rp_dns_build_query(1, "", 1, m, sizeof(m), &len, &e), 0);
	assert_int_equal(len, 12 + 1 + 4);
}

static void test_formerr_without_question(void **state)
{
	struct rp_dns_query q;
	uint8_t r[64];
	struct rp_err e;
	size_t rlen;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.id = 9;
	assert_int_equal(rp_dns_build_response(&q, RP_DNS_FORMERR, NULL, 0, 0, r,
					       sizeof(r), &rlen, &e), 0);
	assert_int_equal(rlen, 12);
	assert_int_equal(r[3] & 0xf, RP_DNS_FORMERR);
	assert_int_equal(r[5], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_roundtrip),
		cmocka_unit_test(test_answer_capped),
		cmocka_unit_test(test_compression_in_question),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_label_and_name_limits),
		cmocka_unit_test(test_pointer_chains),
		cmocka_unit_test(test_not_answered),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_build_query_refusals),
		cmocka_unit_test(test_formerr_without_question),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
