/* Unit tests for lib/net/policy.c: manifest rules to a policy, name
 * matching (exact, wildcard, case, trailing dot), literal addresses with
 * and without ports, server ports, and the resolved-address cache with its
 * expiry and fixed size. Pure: no root, no network. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "format/manifest.h"
#include "net/net.h"

static struct rp_netpolicy *policy(const char *caps)
{
	char doc[4096];
	struct rp_manifest *m = NULL;
	struct rp_netpolicy *p = NULL;
	struct rp_err e;
	int n;

	rp_err_clear(&e);
	n = snprintf(doc, sizeof(doc),
		     "{\"SchemaVersion\":1,\"Name\":\"t\","
		     "\"ComponentId\":\"11111111-2222-3333-4444-555555555555\","
		     "\"EntryPoint\":\"/bin/app\",\"CmdArgs\":[],"
		     "\"Capabilities\":{%s},\"ApplicationType\":\"Default\"}",
		     caps);
	assert_true(n > 0 && (size_t)n < sizeof(doc));
	if (rp_manifest_parse((const uint8_t *)doc, (size_t)n, &m, &e))
		fail_msg("manifest: %s", e.msg);
	if (rp_netpolicy_from_manifest(m, &p, &e))
		fail_msg("policy: %s", e.msg);
	rp_manifest_free(m);
	return p;
}

static struct rp_netaddr addr(const char *s, uint16_t port)
{
	struct rp_netaddr a;

	assert_int_equal(rp_netaddr_parse(s, strlen(s), &a), 0);
	a.port = port;
	return a;
}

static size_t name(const struct rp_netpolicy *p, const char *s, uint16_t *ports)
{
	return rp_netpolicy_name(p, s, strlen(s), ports, 8);
}

static void test_empty_refuses_everything(void **state)
{
	struct rp_netpolicy *p = policy("");
	struct rp_netaddr a = addr("1.2.3.4", 80);
	uint16_t ports[8];

	(void)state;
	assert_int_equal(name(p, "example.com", ports), 0);
	assert_false(rp_netpolicy_allows(p, NULL, &a, 0));
	assert_false(rp_netpolicy_server_port(p, 1, 80));
	assert_false(rp_netpolicy_server_port(p, 0, 53));
	rp_netpolicy_free(p);
}

static void test_names(void **state)
{
	struct rp_netpolicy *p = policy(
		"\"AllowedConnections\":[\"example.com\",\"*.azure-devices.net\","
		"\"mqtt.example.org:8883\",\"mqtt.example.org:1883\"]");
	uint16_t ports[8];

	(void)state;
	assert_int_equal(name(p, "example.com", ports), 1);
	assert_int_equal(ports[0], 0);
	assert_int_equal(name(p, "EXAMPLE.Com", ports), 1);
	assert_int_equal(name(p, "example.com.", ports), 1);
	assert_int_equal(name(p, "example.com..", ports), 0);
	assert_int_equal(name(p, "www.example.com", ports), 0);
	assert_int_equal(name(p, "example.co", ports), 0);
	assert_int_equal(name(p, "example.comm", ports), 0);
	assert_int_equal(name(p, "xexample.com", ports), 0);
	assert_int_equal(name(p, "", ports), 0);
	assert_int_equal(name(p, ".", ports), 0);
	/* wildcard: one or more labels before the suffix, not the suffix */
	assert_int_equal(name(p, "hub1.azure-devices.net", ports), 1);
	assert_int_equal(name(p, "a.b.azure-devices.net", ports), 1);
	assert_int_equal(name(p, "HUB.Azure-Devices.NET.", ports), 1);
	assert_int_equal(name(p, "azure-devices.net", ports), 0);
	assert_int_equal(name(p, ".azure-devices.net", ports), 0);
	assert_int_equal(name(p, "evilazure-devices.net", ports), 0);
	assert_int_equal(name(p, "azure-devices.net.evil.com", ports), 0);
	/* ports of every matching rule */
	assert_int_equal(name(p, "mqtt.example.org", ports), 2);
	assert_true((ports[0] == 8883 && ports[1] == 1883) ||
		    (ports[0] == 1883 && ports[1] == 8883));
	rp_netpolicy_free(p);
}

static void test_name_too_long(void **state)
{
	struct rp_netpolicy *p = policy("\"AllowedConnections\":[\"*.example.com\"]");
	char big[400];
	uint16_t ports[8];

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 13, ".example.com", 12);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(name(p, big, ports), 0);
	rp_netpolicy_free(p);
}

static void test_literal_addresses(void **state)
{
	struct rp_netpolicy *p = policy(
		"\"AllowedConnections\":[\"192.0.2.10\",\"198.51.100.7:443\","
		"\"[2001:db8::1]\",\"[2001:db8::2]:8883\"]");
	struct rp_netaddr a;

	(void)state;
	a = addr("192.0.2.10", 1);
	assert_true(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("192.0.2.11", 1);
	assert_false(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("198.51.100.7", 443);
	assert_true(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("198.51.100.7", 80);
	assert_false(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("2001:db8::1", 9);
	assert_true(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("2001:db8::2", 8883);
	assert_true(rp_netpolicy_allows(p, NULL, &a, 0));
	a = addr("2001:db8::2", 8884);
	assert_false(rp_netpolicy_allows(p, NULL, &a, 0));
	/* an IPv4-mapped IPv6 address is the IPv4 address */
	a = addr("::ffff:192.0.2.10", 5);
	assert_int_equal(a.family, AF_INET);
	assert_true(rp_netpolicy_allows(p, NULL, &a, 0));
	/* names never match addresses */
	assert_int_equal(rp_netpolicy_name(p, "192.0.2.10", 10, NULL, 0), 0);
	rp_netpolicy_free(p);
}

static void test_server_ports(void **state)
{
	struct rp_netpolicy *p = policy("\"AllowedTcpServerPorts\":[80,1024],"
					"\"AllowedUdpServerPorts\":[5353]");

	(void)state;
	assert_true(rp_netpolicy_server_port(p, 1, 80));
	assert_true(rp_netpolicy_server_port(p, 1, 1024));
	assert_false(rp_netpolicy_server_port(p, 1, 5353));
	assert_false(rp_netpolicy_server_port(p, 0, 80));
	assert_true(rp_netpolicy_server_port(p, 0, 5353));
	assert_false(rp_netpolicy_server_port(p, 0, 0));
	rp_netpolicy_free(p);
}

static void test_cache(void **state)
{
	static struct rp_netcache c;
	struct rp_netpolicy *p = policy("\"AllowedConnections\":[\"example.com:443\"]");
	struct rp_netaddr a = addr("203.0.113.5", 443), b;
	size_t i;

	(void)state;
	rp_netcache_init(&c);
	assert_false(rp_netpolicy_allows(p, &c, &a, 10));
	rp_netcache_add(&c, &a, 100);
	assert_true(rp_netpolicy_allows(p, &c, &a, 10));
	assert_true(rp_netpolicy_allows(p, &c, &a, 99));
	assert_false(rp_netpolicy_allows(p, &c, &a, 100)); /* expired */
	b = a;
	b.port = 80;
	assert_false(rp_netpolicy_allows(p, &c, &b, 10)); /* wrong port */
	/* refresh extends, never shortens */
	rp_netcache_add(&c, &a, 200);
	rp_netcache_add(&c, &a, 150);
	assert_true(rp_netcache_has(&c, &a, 199));
	/* a port-0 entry allows any port */
	b = addr("203.0.113.6", 0);
	rp_netcache_add(&c, &b, 50);
	b.port = 12345;
	assert_true(rp_netcache_has(&c, &b, 1));
	/* full: the entry closest to expiry goes first */
	for (i = 0; i < RP_NET_CACHE_MAX + 10; i++) {
		struct rp_netaddr x = addr("10.0.0.0", 1);

		x.addr[2] = (uint8_t)(i >> 8);
		x.addr[3] = (uint8_t)i;
		rp_netcache_add(&c, &x, 1000 + i);
	}
	assert_int_equal(c.n, RP_NET_CACHE_MAX);
	assert_false(rp_netcache_has(&c, &a, 10));
	rp_netpolicy_free(p);
}

static void test_addr_helpers(void **state)
{
	struct rp_netaddr a;
	char out[64];

	(void)state;
	a = addr("127.0.0.53", 53);
	assert_true(rp_netaddr_is_loopback(&a));
	a = addr("::1", 1);
	assert_true(rp_netaddr_is_loopback(&a));
	a = addr("::2", 1);
	assert_false(rp_netaddr_is_loopback(&a));
	a = addr("128.0.0.1", 1);
	assert_false(rp_netaddr_is_loopback(&a));
	rp_netaddr_format(&a, out, sizeof(out));
	assert_string_equal(out, "128.0.0.1:1");
	a = addr("2001:db8::1", 443);
	rp_netaddr_format(&a, out, sizeof(out));
	assert_string_equal(out, "[2001:db8::1]:443");
	assert_int_equal(rp_netaddr_parse("1.2.3", 5, &a), RP_EINVAL);
	assert_int_equal(rp_netaddr_parse("", 0, &a), RP_EINVAL);
	assert_int_equal(rp_netaddr_parse("example.com", 11, &a), RP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_refuses_everything),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_literal_addresses),
		cmocka_unit_test(test_server_ports),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_addr_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
