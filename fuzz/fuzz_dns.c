/* libFuzzer target for the DNS stub's message code: parse the input as a
 * query; when it parses, match its name against a small policy, build the
 * answer into an exact-size buffer and parse that answer back, which must
 * succeed and carry only addresses of the question's family. The input is
 * also parsed as a response (the test helper's walk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "format/manifest.h"
#include "net/dns.h"
#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest[] =
	"{\"SchemaVersion\":1,\"Name\":\"fuzz\","
	"\"ComponentId\":\"11111111-2222-3333-4444-555555555555\","
	"\"EntryPoint\":\"/bin/app\",\"CmdArgs\":[],\"Capabilities\":{"
	"\"AllowedConnections\":[\"example.com\",\"*.example.net:443\"]},"
	"\"ApplicationType\":\"Default\"}";

static const struct rp_netpolicy *policy(void)
{
	static struct rp_netpolicy *p;
	struct rp_manifest *m = NULL;
	struct rp_err e;

	if (p)
		return p;
	if (rp_manifest_parse((const uint8_t *)manifest, sizeof(manifest) - 1,
			      &m, &e) ||
	    rp_netpolicy_from_manifest(m, &p, &e))
		abort();
	rp_manifest_free(m);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_netaddr addrs[4], got[RP_NET_ANSWERS_MAX + 1];
	struct rp_dns_query q;
	struct rp_err e;
	uint8_t *out = NULL;
	uint16_t ports[4];
	size_t olen, n, i;
	int rcode, rcode2;

	memset(addrs, 0, sizeof(addrs));
	addrs[0].family = AF_INET;
	addrs[1].family = AF_INET6;
	addrs[2].family = AF_INET;
	addrs[2].addr[0] = 10;
	addrs[3].family = AF_INET6;
	addrs[3].addr[0] = 0xfe;

	if (rp_dns_parse_response(data, size, &rcode, got, RP_NET_ANSWERS_MAX,
				  &n, &e) == 0 && n > RP_NET_ANSWERS_MAX)
		abort();
	if (rp_dns_parse_query(data, size, &q, &rcode, &e) && !q.has_question &&
	    size < RP_DNS_HDR)
		return 0;
	(void)rp_netpolicy_name(policy(), q.name, q.name_len, ports, 4);
	out = malloc(RP_DNS_UDP_MAX);
	if (!out)
		return 0;
	if (rp_dns_build_response(&q, q.has_question ? 0 : RP_DNS_FORMERR, addrs,
				  4, 60, out, RP_DNS_UDP_MAX, &olen, &e) == 0) {
		if (rp_dns_parse_response(out, olen, &rcode2, got,
					  RP_NET_ANSWERS_MAX + 1, &n, &e))
			abort(); /* our own answer must parse */
		for (i = 0; i < n; i++)
			if ((q.qtype == RP_DNS_A && got[i].family != AF_INET) ||
			    (q.qtype == RP_DNS_AAAA && got[i].family != AF_INET6) ||
			    (q.qtype != RP_DNS_A && q.qtype != RP_DNS_AAAA))
				abort();
	}
	free(out);
	return 0;
}
