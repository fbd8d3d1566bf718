/* Bounded DNS message parsing and building for the stub resolver.
 *
 * Every offset is compared with the end before anything is read, in the
 * form `need > len - off` (off <= len always holds), so nothing can wrap.
 * Compression pointers must point strictly before the pointer itself, so
 * each jump moves backwards and a name cannot loop; the hop cap bounds the
 * work anyway. */
#include "net/dns.h"

#include <string.h>
#include <sys/socket.h>

#include "base/bytes.h"

#define QR 0x8000u
#define OPCODE(f) (((f) >> 11) & 0xfu)
#define AA 0x0400u
#define TC 0x0200u
#define RD 0x0100u
#define RA 0x0080u

static int label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Read a possibly compressed name at *off. On success *off is just past
 * the name as it sits at *off (after the first pointer, if any). With
 * wire/text non-NULL, the uncompressed wire form and the dotted text are
 * written (text then needs RP_NET_NAME_MAX + 2 bytes) and labels are held
 * to label_char. */
static int read_name(const uint8_t *buf, size_t len, size_t *off,
		     uint8_t *wire, size_t *wire_len, char *text,
		     size_t *text_len, struct rp_err *e)
{
	size_t pos = *off, end = 0, wl = 0, tl = 0, i;
	unsigned hops = 0;
	int jumped = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return rp_err_set(e, RP_EFORMAT, "name: truncated");
		l = buf[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (1 > len - pos - 1)
				return rp_err_set(e, RP_EFORMAT,
						  "name: truncated pointer");
			target = (size_t)(rp_dec16be(buf + pos) & 0x3fff);
			if (target >= pos)
				return rp_err_set(e, RP_EFORMAT,
						  "name: pointer does not point backwards");
			if (++hops > RP_DNS_HOPS_MAX)
				return rp_err_set(e, RP_EFORMAT,
						  "name: too many pointers");
			if (!jumped)
				end = pos + 2;
			jumped = 1;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return rp_err_set(e, RP_EFORMAT,
					  "name: reserved label type 0x%02x", l);
		if (l == 0) { /* room for it is kept below */
			if (wire)
				wire[wl] = 0;
			wl++;
			pos++;
			break;
		}
		/* A label of l bytes plus its length byte, and the final
		 * zero byte, must fit in 255 wire bytes (wl <= 254 here). */
		if ((size_t)l + 1 > RP_DNS_NAME_WIRE_MAX - 1 - wl)
			return rp_err_set(e, RP_EFORMAT, "name: too long");
		if (l > len - pos - 1)
			return rp_err_set(e, RP_EFORMAT, "name: truncated label");
		if (wire) {
			wire[wl] = l;
			memcpy(wire + wl + 1, buf + pos + 1, l);
			for (i = 0; i < l; i++)
				if (!label_char(buf[pos + 1 + i]))
					return rp_err_set(e, RP_EFORMAT,
							  "name: bad character 0x%02x",
							  buf[pos + 1 + i]);
		}
		if (text) {
			if (tl)
				text[tl++] = '.';
			memcpy(text + tl, buf + pos + 1, l);
			tl += l;
		}
		wl += (size_t)l + 1;
		pos += (size_t)l + 1;
	}
	if (text) {
		text[tl] = '\0';
		*text_len = tl;
	}
	if (wire_len)
		*wire_len = wl;
	*off = jumped ? end : pos;
	return 0;
}

/* Skip count resource records (name, type, class, ttl, rdlength, rdata). */
static int skip_rrs(const uint8_t *buf, size_t len, size_t *off, size_t count,
		    struct rp_err *e)
{
	size_t i, rdlen;

	for (i = 0; i < count; i++) {
		if (read_name(buf, len, off, NULL, NULL, NULL, NULL, e))
			return rp_err_prefix(e, "record %zu", i);
		if (10 > len - *off)
			return rp_err_set(e, RP_EFORMAT, "record %zu: truncated", i);
		rdlen = rp_dec16be(buf + *off + 8);
		*off += 10;
		if (rdlen > len - *off)
			return rp_err_set(e, RP_EFORMAT,
					  "record %zu: data runs past the end", i);
		*off += rdlen;
	}
	return 0;
}

int rp_dns_parse_query(const uint8_t *buf, size_t len, struct rp_dns_query *q,
		       int *rcode, struct rp_err *e)
{
	size_t off = RP_DNS_HDR, qd, an, ns, ar;

	memset(q, 0, sizeof(*q));
	*rcode = RP_DNS_FORMERR;
	if (len < RP_DNS_HDR)
		return rp_err_set(e, RP_EFORMAT, "dns: %zu bytes, shorter than a header",
				  len);
	q->id = rp_dec16be(buf);
	q->flags = rp_dec16be(buf + 2);
	qd = rp_dec16be(buf + 4);
	an = rp_dec16be(buf + 6);
	ns = rp_dec16be(buf + 8);
	ar = rp_dec16be(buf + 10);
	if (q->flags & QR)
		return rp_err_set(e, RP_EPOLICY, "dns: not a query");
	if (OPCODE(q->flags) != 0) {
		*rcode = RP_DNS_NOTIMP;
		return rp_err_set(e, RP_EPOLICY, "dns: opcode %u",
				  OPCODE(q->flags));
	}
	if (qd != 1)
		return rp_err_set(e, RP_EPOLICY, "dns: %zu questions", qd);
	if (an + ns + ar > RP_DNS_RR_MAX)
		return rp_err_set(e, RP_EFORMAT, "dns: %zu records",
				  an + ns + ar);
	if (read_name(buf, len, &off, q->qname, &q->qname_len, q->name,
		      &q->name_len, e))
		return rp_err_prefix(e, "dns: question");
	if (4 > len - off)
		return rp_err_set(e, RP_EFORMAT, "dns: question truncated");
	q->qtype = rp_dec16be(buf + off);
	q->qclass = rp_dec16be(buf + off + 2);
	off += 4;
	if (skip_rrs(buf, len, &off, an + ns + ar, e))
		return rp_err_prefix(e, "dns");
	if (off != len)
		return rp_err_set(e, RP_EFORMAT, "dns: %zu trailing bytes",
				  len - off);
	q->has_question = 1;
	*rcode = RP_DNS_NOERROR;
	return 0;
}

int rp_dns_build_response(const struct rp_dns_query *q, int rcode,
			  const struct rp_netaddr *addrs, size_t naddrs,
			  uint32_t ttl, uint8_t *out, size_t cap,
			  size_t *outlen, struct rp_err *e)
{
	size_t off = RP_DNS_HDR, i, alen, nans = 0;
	int family = 0;
	uint16_t flags;

	if (cap > RP_DNS_UDP_MAX)
		cap = RP_DNS_UDP_MAX;
	if (cap < RP_DNS_HDR ||
	    (q->has_question && q->qname_len + 4 > cap - RP_DNS_HDR))
		return rp_err_set(e, RP_ERANGE, "dns: answer buffer too small");
	if (q->has_question) {
		memcpy(out + off, q->qname, q->qname_len);
		off += q->qname_len;
		rp_enc16be(out + off, q->qtype);
		rp_enc16be(out + off + 2, q->qclass);
		off += 4;
		if (q->qtype == RP_DNS_A)
			family = AF_INET;
		else if (q->qtype == RP_DNS_AAAA)
			family = AF_INET6;
	}
	for (i = 0; rcode == RP_DNS_NOERROR && family && i < naddrs; i++) {
		if (addrs[i].family != family)
			continue;
		alen = family == AF_INET ? 4 : 16;
		if (12 + alen > cap - off)
			break;
		rp_enc16be(out + off, 0xc000 | RP_DNS_HDR); /* the question */
		rp_enc16be(out + off + 2, q->qtype);
		rp_enc16be(out + off + 4, 1); /* IN */
		rp_enc32be(out + off + 6, ttl);
		rp_enc16be(out + off + 10, (uint16_t)alen);
		memcpy(out + off + 12, addrs[i].addr, alen);
		off += 12 + alen;
		nans++;
	}
	flags = (uint16_t)(QR | AA | (q->flags & RD) | RA | ((unsigned)rcode & 0xf));
	rp_enc16be(out, q->id);
	rp_enc16be(out + 2, flags);
	rp_enc16be(out + 4, q->has_question ? 1 : 0);
	rp_enc16be(out + 6, (uint16_t)nans);
	rp_enc16be(out + 8, 0);
	rp_enc16be(out + 10, 0);
	*outlen = off;
	return 0;
}

int rp_dns_build_query(uint16_t id, const char *name, uint16_t qtype,
		       uint8_t *out, size_t cap, size_t *outlen,
		       struct rp_err *e)
{
	size_t nlen = strlen(name), off = RP_DNS_HDR, start = 0, i;

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen > RP_NET_NAME_MAX)
		return rp_err_set(e, RP_EINVAL, "dns: name too long");
	if (cap < RP_DNS_HDR || nlen + 2 + 4 > cap - RP_DNS_HDR)
		return rp_err_set(e, RP_ERANGE, "dns: query buffer too small");
	rp_enc16be(out, id);
	rp_enc16be(out + 2, RD);
	rp_enc16be(out + 4, 1);
	memset(out + 6, 0, 6);
	for (i = 0; nlen && i <= nlen; i++) {
		if (i < nlen && name[i] != '.')
			continue;
		if (i == start || i - start > 63)
			return rp_err_set(e, RP_EINVAL, "dns: bad label");
		out[off++] = (uint8_t)(i - start);
		memcpy(out + off, name + start, i - start);
		off += i - start;
		start = i + 1;
	}
	out[off++] = 0;
	rp_enc16be(out + off, qtype);
	rp_enc16be(out + off + 2, 1);
	off += 4;
	*outlen = off;
	return 0;
}

int rp_dns_parse_response(const uint8_t *buf, size_t len, int *rcode,
			  struct rp_netaddr *addrs, size_t cap, size_t *n,
			  struct rp_err *e)
{
	size_t off = RP_DNS_HDR, qd, an, i, rdlen;
	uint16_t type, flags;

	*n = 0;
	if (len < RP_DNS_HDR)
		return rp_err_set(e, RP_EFORMAT, "dns: shorter than a header");
	flags = rp_dec16be(buf + 2);
	if (!(flags & QR))
		return rp_err_set(e, RP_EFORMAT, "dns: not a response");
	*rcode = flags & 0xf;
	qd = rp_dec16be(buf + 4);
	an = rp_dec16be(buf + 6);
	if (qd > 1 || an > RP_DNS_RR_MAX)
		return rp_err_set(e, RP_EFORMAT, "dns: bad counts");
	for (i = 0; i < qd; i++) {
		if (read_name(buf, len, &off, NULL, NULL, NULL, NULL, e))
			return rp_err_prefix(e, "dns: question");
		if (4 > len - off)
			return rp_err_set(e, RP_EFORMAT, "dns: truncated");
		off += 4;
	}
	for (i = 0; i < an; i++) {
		if (read_name(buf, len, &off, NULL, NULL, NULL, NULL, e))
			return rp_err_prefix(e, "dns: answer %zu", i);
		if (10 > len - off)
			return rp_err_set(e, RP_EFORMAT, "dns: truncated");
		type = rp_dec16be(buf + off);
		rdlen = rp_dec16be(buf + off + 8);
		off += 10;
		if (rdlen > len - off)
			return rp_err_set(e, RP_EFORMAT, "dns: data runs past the end");
		if (*n < cap && ((type == RP_DNS_A && rdlen == 4) ||
				 (type == RP_DNS_AAAA && rdlen == 16))) {
			memset(&addrs[*n], 0, sizeof(addrs[*n]));
			addrs[*n].family = type == RP_DNS_A ? AF_INET : AF_INET6;
			memcpy(addrs[*n].addr, buf + off, rdlen);
			(*n)++;
		}
		off += rdlen;
	}
	return 0;
}
