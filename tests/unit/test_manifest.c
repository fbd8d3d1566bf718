/* Unit tests for lib/format/manifest.c: real-sample manifests load, every
 * malformed field is refused with its exact path and reason, "$NAME"
 * references resolve through hardware definitions, and serialisation is
 * canonical. Data files live under tests/data/ (found via RP_SRCDIR). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "format/board.h"
#include "format/manifest.h"

static const char *srcdir(void)
{
	const char *s = getenv("RP_SRCDIR");

	return s ? s : ".";
}

static void data_path(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/tests/data/%s", srcdir(), rel);

	assert_true(n > 0 && (size_t)n < cap);
}

static struct rp_manifest *load_manifest(const char *rel)
{
	char path[PATH_MAX];
	struct rp_manifest *m = NULL;
	struct rp_buf b;
	struct rp_err e;
	int rc;

	rp_err_clear(&e);
	data_path(path, sizeof(path), rel);
	rc = rp_file_read(path, RP_MANIFEST_MAX + 1, &b, &e);
	if (rc)
		fail_msg("%s: %s", rel, e.msg);
	rc = rp_manifest_parse(b.data, b.len, &m, &e);
	rp_buf_free(&b);
	if (rc)
		fail_msg("%s: %s", rel, e.msg);
	return m;
}

static struct rp_board *load_board(const char *rel, const char *search_rel)
{
	char path[PATH_MAX], sdir[PATH_MAX];
	const char *dirs[2] = { NULL, NULL };
	struct rp_board *b = NULL;
	struct rp_err e;

	rp_err_clear(&e);
	data_path(path, sizeof(path), rel);
	if (search_rel) {
		data_path(sdir, sizeof(sdir), search_rel);
		dirs[0] = sdir;
	}
	if (rp_board_load(path, dirs, &b, &e))
		fail_msg("%s: %s", rel, e.msg);
	return b;
}

static struct rp_board *azure_board(void)
{
	return load_board("boards/azure/mt3620_rdb/sample_appliance.json",
			  "boards/azure/sdk");
}

static int parse_str(const char *s, struct rp_manifest **m, struct rp_err *e)
{
	rp_err_clear(e);
	return rp_manifest_parse((const uint8_t *)s, strlen(s), m, e);
}

/* ---------------------------------------------------------------- good */

static void test_real_samples(void **state)
{
	static const char *const files[] = {
		"manifests/azureiot.json", "manifests/deferred_update.json",
		"manifests/uart_rtapp.json", "manifests/uart_legacy.json",
		"manifests/dhcp.json", "manifests/adc_rtapp.json",
		"manifests/everything.json", "manifests/co2monitor_rpi4.json",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		rp_manifest_free(load_manifest(files[i]));
}

static void test_fields(void **state)
{
	struct rp_manifest *m;

	(void)state;
	m = load_manifest("manifests/azureiot.json");
	assert_string_equal(m->name, "AzureIoT");
	assert_string_equal(m->component_id_text,
			    "819255ff-8640-41fd-aea7-f85d34c491d5");
	assert_int_equal(m->component_id[0], 0x81);
	assert_int_equal(m->component_id[15], 0xd5);
	assert_int_equal(m->app_type, RP_APP_DEFAULT);
	assert_string_equal(m->entry_point, "/bin/app");
	assert_int_equal(m->needs_board, 1);
	assert_int_equal(m->storage_kb, 0);
	rp_manifest_free(m);

	m = load_manifest("manifests/uart_rtapp.json");
	assert_int_equal(m->app_type, RP_APP_REALTIME);
	assert_int_equal(m->needs_board, 0);
	rp_manifest_free(m);

	/* No ApplicationType: Default, as in older Azure Sphere samples. */
	m = load_manifest("manifests/uart_legacy.json");
	assert_int_equal(m->app_type, RP_APP_DEFAULT);
	rp_manifest_free(m);

	/* Upper-case GUIDs are accepted and shown in lower case. */
	m = load_manifest("manifests/dhcp.json");
	assert_string_equal(m->component_id_text,
			    "cd359cc1-4aac-414e-8d26-8acb71ddba6d");
	rp_manifest_free(m);

	m = load_manifest("manifests/everything.json");
	assert_string_equal(m->name, "An application name that is lon");
	assert_int_equal(strlen(m->name), RP_MANIFEST_NAME_MAX);
	assert_string_equal(m->entry_point, "/bin/co2monitor");
	assert_int_equal(m->storage_kb, 64);
	assert_int_equal(m->limits.memory_limit_kb, 65536);
	assert_int_equal(m->limits.max_processes, 16);
	assert_int_equal(m->limits.tmp_size_kb, 1024);
	assert_int_equal(m->limits.max_open_files, 256);
	assert_int_equal(m->limits.cpu_weight, 100);
	rp_manifest_free(m);
}

static void test_name_utf8_cut(void **state)
{
	/* 30 ASCII bytes then a 2-byte character: the cut must not split it. */
	const char *s =
		"{\"SchemaVersion\":1,\"Name\":\"abcdefghijklmnopqrstuvwxyz0123\xc3\xa9x\","
		"\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
		"\"EntryPoint\":\"/bin/app\"}";
	struct rp_manifest *m = NULL;
	struct rp_err e;

	(void)state;
	assert_int_equal(parse_str(s, &m, &e), 0);
	assert_int_equal(strlen(m->name), 30);
	rp_manifest_free(m);
}

static void test_guid(void **state)
{
	uint8_t g[16];
	char t[37];

	(void)state;
	assert_int_equal(rp_guid_parse("25025D2C-66da-4448-bae1-ac26fcdd3627",
				       36, g), 0);
	rp_guid_format(g, t);
	assert_string_equal(t, "25025d2c-66da-4448-bae1-ac26fcdd3627");
	assert_int_not_equal(rp_guid_parse("25025d2c66da-4448-bae1-ac26fcdd36270",
					   36, g), 0);
	assert_int_not_equal(rp_guid_parse("25025d2c-66da-4448-bae1-ac26fcdd362g",
					   36, g), 0);
	assert_int_not_equal(rp_guid_parse("25025d2c-66da-4448-bae1-ac26fcdd362",
					   35, g), 0);
	assert_int_not_equal(rp_guid_parse("{5025d2c-66da-4448-bae1-ac26fcdd3627",
					   36, g), 0);
	assert_int_not_equal(rp_guid_parse(NULL, 36, g), 0);
}

/* ----------------------------------------------------------------- bad */

#define HEAD "{\"SchemaVersion\":1,\"Name\":\"app\"," \
	"\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\"," \
	"\"EntryPoint\":\"/bin/app\""
#define CAPS(x) HEAD ",\"Capabilities\":{" x "}}"

struct bad {
	const char *json;
	const char *msg;
};

static const struct bad bad_cases[] = {
	/* document */
	{ "[]", "the document: expected an object, got an array" },
	{ "{\"SchemaVersion\":1,", NULL /* jansson's text */ },
	{ "{\"SchemaVersion\":1,\"SchemaVersion\":1}", NULL },
	{ HEAD ",\"Colour\":\"red\"}", "Colour: unknown key" },
	/* SchemaVersion */
	{ "{\"Name\":\"a\"}", "SchemaVersion: required key is missing" },
	{ "{\"SchemaVersion\":2}", "SchemaVersion: must be 1, got 2" },
	{ "{\"SchemaVersion\":\"1\"}",
	  "SchemaVersion: expected an integer, got a string" },
	{ "{\"SchemaVersion\":1.0}",
	  "SchemaVersion: expected an integer, got a real number" },
	/* Name */
	{ "{\"SchemaVersion\":1}", "Name: required key is missing" },
	{ "{\"SchemaVersion\":1,\"Name\":\"\"}", "Name: must not be empty" },
	{ "{\"SchemaVersion\":1,\"Name\":7}",
	  "Name: expected a string, got an integer" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\\nb\"}",
	  "Name: contains a control character" },
	/* ComponentId */
	{ "{\"SchemaVersion\":1,\"Name\":\"a\"}",
	  "ComponentId: required key is missing" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"not-a-guid\"}",
	  "ComponentId: \"not-a-guid\" is not a GUID (8-4-4-4-12 hex digits)" },
	/* EntryPoint */
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\"}",
	  "EntryPoint: required key is missing" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"bin/app\"}",
	  "EntryPoint: \"bin/app\" is not an absolute path" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"/bin/../etc/shadow\"}",
	  "EntryPoint: \"/bin/../etc/shadow\" has an empty, \".\" or \"..\" component" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"/bin//app\"}",
	  "EntryPoint: \"/bin//app\" has an empty, \".\" or \"..\" component" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"/bin/\"}",
	  "EntryPoint: \"/bin/\" has an empty, \".\" or \"..\" component" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"/bin/my app\"}",
	  "EntryPoint: \"/bin/my app\" has a character not allowed in a path" },
	{ "{\"SchemaVersion\":1,\"Name\":\"a\","
	  "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
	  "\"EntryPoint\":\"/bin/app\\u0000x\"}", NULL /* jansson refuses */ },
	/* CmdArgs */
	{ HEAD ",\"CmdArgs\":\"-v\"}", "CmdArgs: expected an array, got a string" },
	{ HEAD ",\"CmdArgs\":[\"-v\",3]}",
	  "CmdArgs[1]: expected a string, got an integer" },
	/* ApplicationType and friends */
	{ HEAD ",\"ApplicationType\":\"Daemon\"}",
	  "ApplicationType: \"Daemon\" is not Default, Debugger or RealTimeCapable" },
	{ HEAD ",\"MallocVersion\":3}", "MallocVersion: must be 1..2, got 3" },
	{ HEAD ",\"TargetApplicationRuntimeVersion\":-1}",
	  "TargetApplicationRuntimeVersion: must be 1..1000, got -1" },
	{ HEAD ",\"TargetBetaApis\":\"Beta 2101\"}",
	  "TargetBetaApis: \"Beta 2101\" is not a release name such as \"Beta2101\"" },
	/* Capabilities */
	{ HEAD ",\"Capabilities\":[]}",
	  "Capabilities: expected an object, got an array" },
	{ CAPS("\"Bluetooth\":true"), "Capabilities.Bluetooth: unknown key" },
	{ CAPS("\"WifiConfig\":\"yes\""),
	  "Capabilities.WifiConfig: expected a boolean, got a string" },
	{ CAPS("\"HeapMemStats\":1"),
	  "Capabilities.HeapMemStats: expected a boolean, got an integer" },
	/* AllowedConnections */
	{ CAPS("\"AllowedConnections\":[\"a.com\",\"b.com\",\"exa mple.com\"]"),
	  "Capabilities.AllowedConnections[2]: \"exa mple.com\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"-bad.example.com\"]"),
	  "Capabilities.AllowedConnections[0]: \"-bad.example.com\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"bad-.example.com\"]"),
	  "Capabilities.AllowedConnections[0]: \"bad-.example.com\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"a..b\"]"),
	  "Capabilities.AllowedConnections[0]: \"a..b\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"example.com.\"]"),
	  "Capabilities.AllowedConnections[0]: \"example.com.\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\"]"),
	  "Capabilities.AllowedConnections[0]: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"256.1.1.1\"]"),
	  "Capabilities.AllowedConnections[0]: \"256.1.1.1\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"10.0.0\"]"),
	  "Capabilities.AllowedConnections[0]: \"10.0.0\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"010.0.0.1\"]"),
	  "Capabilities.AllowedConnections[0]: \"010.0.0.1\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"*.com\"]"),
	  "Capabilities.AllowedConnections[0]: \"*.com\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"a.*.com\"]"),
	  "Capabilities.AllowedConnections[0]: \"a.*.com\" is not a host name" },
	{ CAPS("\"AllowedConnections\":[\"example.com:0\"]"),
	  "Capabilities.AllowedConnections[0]: \"example.com:0\" has a bad port (1..65535)" },
	{ CAPS("\"AllowedConnections\":[\"example.com:65536\"]"),
	  "Capabilities.AllowedConnections[0]: \"example.com:65536\" has a bad port (1..65535)" },
	{ CAPS("\"AllowedConnections\":[\"example.com:\"]"),
	  "Capabilities.AllowedConnections[0]: \"example.com:\" has a bad port (1..65535)" },
	{ CAPS("\"AllowedConnections\":[\"example.com:08\"]"),
	  "Capabilities.AllowedConnections[0]: \"example.com:08\" has a bad port (1..65535)" },
	{ CAPS("\"AllowedConnections\":[\"2001:db8::1\"]"),
	  "Capabilities.AllowedConnections[0]: \"2001:db8::1\": IPv6 addresses go in brackets" },
	{ CAPS("\"AllowedConnections\":[\"[2001:db8::zz]\"]"),
	  "Capabilities.AllowedConnections[0]: \"[2001:db8::zz]\" is not a bracketed IPv6 address" },
	{ CAPS("\"AllowedConnections\":[\"[::1]x\"]"),
	  "Capabilities.AllowedConnections[0]: \"[::1]x\" has text after the address" },
	{ CAPS("\"AllowedConnections\":[\"Example.com\",\"example.COM\"]"),
	  "Capabilities.AllowedConnections[1]: \"example.COM\" is listed twice (also at [0])" },
	{ CAPS("\"AllowedConnections\":[\"\"]"),
	  "Capabilities.AllowedConnections[0]: must not be empty" },
	{ CAPS("\"AllowedConnections\":\"example.com\""),
	  "Capabilities.AllowedConnections: expected an array, got a string" },
	/* ports */
	{ CAPS("\"AllowedTcpServerPorts\":[0]"),
	  "Capabilities.AllowedTcpServerPorts[0]: must be 1..65535, got 0" },
	{ CAPS("\"AllowedUdpServerPorts\":[70000]"),
	  "Capabilities.AllowedUdpServerPorts[0]: must be 1..65535, got 70000" },
	{ CAPS("\"AllowedTcpServerPorts\":[80,\"443\"]"),
	  "Capabilities.AllowedTcpServerPorts[1]: expected an integer, got a string" },
	{ CAPS("\"AllowedTcpServerPorts\":[80,443,80]"),
	  "Capabilities.AllowedTcpServerPorts[2]: 80 is listed twice (also at [0])" },
	/* GUID lists */
	{ CAPS("\"AllowedApplicationConnections\":[\"005180bc-402f-4cb3-a662-72937dbcde47\","
	       "\"005180BC-402F-4CB3-A662-72937DBCDE47\"]"),
	  "Capabilities.AllowedApplicationConnections[1]: \"005180BC-402F-4CB3-A662-72937DBCDE47\" is listed twice (also at [0])" },
	{ CAPS("\"AllowedApplicationConnections\":[\"005180bc\"]"),
	  "Capabilities.AllowedApplicationConnections[0]: \"005180bc\" is not a GUID (8-4-4-4-12 hex digits)" },
	{ CAPS("\"DeviceAuthentication\":true"),
	  "Capabilities.DeviceAuthentication: expected a string, got a boolean" },
	/* hardware */
	{ CAPS("\"Gpio\":[8,{}]"),
	  "Capabilities.Gpio[1]: expected an integer or a \"$NAME\" string, got an object" },
	{ CAPS("\"Gpio\":[-1]"), "Capabilities.Gpio[0]: must be 0..4095, got -1" },
	{ CAPS("\"Gpio\":[\"GPIO8\"]"),
	  "Capabilities.Gpio[0]: \"GPIO8\" is neither an integer nor a \"$NAME\" reference" },
	{ CAPS("\"Gpio\":[\"$9LED\"]"),
	  "Capabilities.Gpio[0]: \"$9LED\" is not a valid \"$NAME\" reference" },
	{ CAPS("\"Gpio\":[\"$LED-1\"]"),
	  "Capabilities.Gpio[0]: \"$LED-1\" is not a valid \"$NAME\" reference" },
	{ CAPS("\"Gpio\":[\"$\"]"),
	  "Capabilities.Gpio[0]: \"$\" is not a valid \"$NAME\" reference" },
	{ CAPS("\"Gpio\":[8,9,8]"),
	  "Capabilities.Gpio[2]: 8 is listed twice (also at [0])" },
	{ CAPS("\"Gpio\":[\"$LED\",\"$LED\"]"),
	  "Capabilities.Gpio[1]: \"$LED\" is listed twice (also at [0])" },
	{ CAPS("\"Uart\":[4]"),
	  "Capabilities.Uart[0]: expected a string such as \"ISU0\" or \"$NAME\", got an integer" },
	{ CAPS("\"I2cMaster\":[\"ISU 0\"]"),
	  "Capabilities.I2cMaster[0]: \"ISU 0\" is not a controller name" },
	{ CAPS("\"SpiMaster\":[\"ISU1\",\"ISU1\"]"),
	  "Capabilities.SpiMaster[1]: \"ISU1\" is listed twice (also at [0])" },
	{ CAPS("\"Pwm\":[0]"),
	  "Capabilities.Pwm[0]: expected a string such as \"ISU0\" or \"$NAME\", got an integer" },
	{ CAPS("\"Adc\":[null]"),
	  "Capabilities.Adc[0]: expected a string such as \"ISU0\" or \"$NAME\", got null" },
	{ CAPS("\"ExternalInterrupt\":[\"$BUTTON\"]"),
	  "Capabilities.ExternalInterrupt[0]: \"$BUTTON\": ExternalInterrupt does not take \"$NAME\" references" },
	{ CAPS("\"Gpio\":{}"), "Capabilities.Gpio: expected an array, got an object" },
	/* storage and power */
	{ CAPS("\"MutableStorage\":{\"SizeKB\":0}"),
	  "Capabilities.MutableStorage.SizeKB: must be 1..65536, got 0" },
	{ CAPS("\"MutableStorage\":{\"SizeKB\":65537}"),
	  "Capabilities.MutableStorage.SizeKB: must be 1..65536, got 65537" },
	{ CAPS("\"MutableStorage\":{}"),
	  "Capabilities.MutableStorage.SizeKB: required key is missing" },
	{ CAPS("\"MutableStorage\":{\"SizeKB\":8,\"Path\":\"/x\"}"),
	  "Capabilities.MutableStorage.Path: unknown key" },
	{ CAPS("\"MutableStorage\":64"),
	  "Capabilities.MutableStorage: expected an object, got an integer" },
	{ CAPS("\"PowerControls\":[\"ForceReboot\",\"Shutdown\"]"),
	  "Capabilities.PowerControls[1]: \"Shutdown\" is not ForcePowerDown, ForceReboot or SetPowerProfile" },
	{ CAPS("\"PowerControls\":[\"ForceReboot\",\"ForceReboot\"]"),
	  "Capabilities.PowerControls[1]: \"ForceReboot\" is listed twice (also at [0])" },
	/* Rampart */
	{ HEAD ",\"Rampart\":{\"Swap\":1}}", "Rampart.Swap: unknown key" },
	{ HEAD ",\"Rampart\":[]}", "Rampart: expected an object, got an array" },
	{ HEAD ",\"Rampart\":{\"MemoryLimitKB\":100}}",
	  "Rampart.MemoryLimitKB: must be 1024..16777216, got 100" },
	{ HEAD ",\"Rampart\":{\"MaxProcesses\":0}}",
	  "Rampart.MaxProcesses: must be 1..4096, got 0" },
	{ HEAD ",\"Rampart\":{\"TmpSizeKB\":\"1M\"}}",
	  "Rampart.TmpSizeKB: expected an integer, got a string" },
	{ HEAD ",\"Rampart\":{\"MaxOpenFiles\":1000000}}",
	  "Rampart.MaxOpenFiles: must be 16..65536, got 1000000" },
	{ HEAD ",\"Rampart\":{\"CpuWeight\":10001}}",
	  "Rampart.CpuWeight: must be 1..10000, got 10001" },
};

static void test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct rp_manifest *m = NULL;
		struct rp_err e;
		int rc = parse_str(bad_cases[i].json, &m, &e);

		if (rc == 0)
			fail_msg("case %zu accepted: %s", i, bad_cases[i].json);
		assert_null(m);
		assert_true(rc < 0);
		if (bad_cases[i].msg && strcmp(e.msg, bad_cases[i].msg) != 0)
			fail_msg("case %zu:\n  want: %s\n  got:  %s", i,
				 bad_cases[i].msg, e.msg);
	}
}

static void test_array_cap(void **state)
{
	char *s;
	size_t i, off = 0, cap = 8192;
	struct rp_manifest *m = NULL;
	struct rp_err e;

	(void)state;
	s = malloc(cap);
	assert_non_null(s);
	off += (size_t)snprintf(s, cap, "%s", CAPS("\"AllowedTcpServerPorts\":["));
	off -= 2; /* drop the closing "}}" */
	for (i = 0; i < RP_MANIFEST_ARRAY_MAX + 1; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s%zu",
					i ? "," : "", i + 1);
	(void)snprintf(s + off, cap - off, "]}}");
	assert_int_not_equal(parse_str(s, &m, &e), 0);
	assert_string_equal(e.msg,
			    "Capabilities.AllowedTcpServerPorts: 257 entries, at most 256");
	free(s);
}

static void test_size_cap(void **state)
{
	size_t n = RP_MANIFEST_MAX + 1;
	uint8_t *big = malloc(n);
	struct rp_manifest *m = NULL;
	struct rp_err e;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	rp_err_clear(&e);
	assert_int_equal(rp_manifest_parse(big, n, &m, &e), RP_ERANGE);
	assert_null(m);
	free(big);
}

/* ------------------------------------------------------------- resolve */

static json_t *cap(const struct rp_manifest *m, const char *key)
{
	return json_object_get(json_object_get(m->root, "Capabilities"), key);
}

static void test_resolve_azure(void **state)
{
	struct rp_board *b = azure_board();
	struct rp_manifest *m = load_manifest("manifests/azureiot.json");
	struct rp_err e;
	json_t *g;

	(void)state;
	rp_err_clear(&e);
	assert_int_equal(rp_manifest_resolve(m, b, &e), 0);
	assert_int_equal(m->needs_board, 0);
	g = cap(m, "Gpio");
	assert_int_equal(json_array_size(g), 2);
	assert_int_equal(json_integer_value(json_array_get(g, 0)), 12);
	assert_int_equal(json_integer_value(json_array_get(g, 1)), 46);
	assert_string_equal(m->entry_point, "/bin/app");
	rp_manifest_free(m);

	m = load_manifest("manifests/everything.json");
	assert_int_equal(rp_manifest_resolve(m, b, &e), 0);
	/* "$SAMPLE_LED" is GPIO 8, listed again as 8: one entry remains. */
	g = cap(m, "Gpio");
	assert_int_equal(json_array_size(g), 2);
	assert_int_equal(json_integer_value(json_array_get(g, 0)), 8);
	assert_int_equal(json_integer_value(json_array_get(g, 1)), 5);
	assert_string_equal(json_string_value(json_array_get(cap(m, "I2cMaster"), 0)),
			    "ISU2");
	assert_string_equal(json_string_value(json_array_get(cap(m, "Uart"), 0)),
			    "ISU0");
	assert_string_equal(json_string_value(json_array_get(cap(m, "Pwm"), 0)),
			    "PWM-CONTROLLER-2");
	assert_string_equal(json_string_value(json_array_get(cap(m, "Adc"), 0)),
			    "ADC-CONTROLLER-0");
	rp_manifest_free(m);
	rp_board_free(b);
}

static void test_resolve_rpi4_collapses(void **state)
{
	struct rp_board *b = load_board("../../boards/rpi4/sample_appliance.json",
					NULL);
	struct rp_manifest *m = load_manifest("manifests/co2monitor_rpi4.json");
	struct rp_err e;
	json_t *g;

	(void)state;
	rp_err_clear(&e);
	assert_int_equal(rp_manifest_resolve(m, b, &e), 0);
	/* SAMPLE_LED and SAMPLE_DEVICE_STATUS_LED are both GPIO22. */
	g = cap(m, "Gpio");
	assert_int_equal(json_array_size(g), 2);
	assert_int_equal(json_integer_value(json_array_get(g, 0)), 17);
	assert_int_equal(json_integer_value(json_array_get(g, 1)), 22);
	assert_string_equal(json_string_value(json_array_get(cap(m, "I2cMaster"), 0)),
			    "I2C1");
	assert_string_equal(json_string_value(json_array_get(cap(m, "Adc"), 0)),
			    "ADC0");
	rp_manifest_free(m);
	rp_board_free(b);
}

static void expect_resolve_error(const char *json, const struct rp_board *b,
				 const char *want)
{
	struct rp_manifest *m = NULL;
	struct rp_buf before, after;
	struct rp_err e;

	assert_int_equal(parse_str(json, &m, &e), 0);
	assert_int_equal(rp_manifest_serialize(m, &before, &e), 0);
	assert_int_not_equal(rp_manifest_resolve(m, b, &e), 0);
	if (strcmp(e.msg, want) != 0)
		fail_msg("\n  want: %s\n  got:  %s", want, e.msg);
	/* A failed resolve leaves the manifest as it was. */
	assert_int_equal(m->needs_board, 1);
	assert_int_equal(rp_manifest_serialize(m, &after, &e), 0);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	rp_buf_free(&before);
	rp_buf_free(&after);
	rp_manifest_free(m);
}

static void test_resolve_errors(void **state)
{
	struct rp_board *b = azure_board();
	struct rp_board *one = NULL;
	struct rp_manifest *m = NULL;
	struct rp_err e;
	const char *single =
		"{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1},"
		"\"Description\":{\"Name\":\"one file\"},"
		"\"Imports\":[{\"Path\":\"mt3620.json\"}],"
		"\"Peripherals\":[{\"Name\":\"LED\",\"Type\":\"Gpio\",\"Mapping\":\"MT3620_GPIO8\"}]}";

	(void)state;
	expect_resolve_error(CAPS("\"Gpio\":[\"$SAMPLE_NOPE\"]"), b,
			     "Capabilities.Gpio[0]: \"$SAMPLE_NOPE\" is not defined by board \"Sample hardware abstraction for MT3620 RDB\"");
	expect_resolve_error(CAPS("\"Gpio\":[8,\"$SAMPLE_UART_LOOPBACK\"]"), b,
			     "Capabilities.Gpio[1]: \"$SAMPLE_UART_LOOPBACK\" is a Uart, not a Gpio");
	expect_resolve_error(CAPS("\"I2cMaster\":[\"$SAMPLE_LED\"]"), b,
			     "Capabilities.I2cMaster[0]: \"$SAMPLE_LED\" is a Gpio, not an I2cMaster");
	expect_resolve_error(CAPS("\"Adc\":[\"$SAMPLE_POTENTIOMETER_ADC_CHANNEL\"]"), b,
			     "Capabilities.Adc[0]: \"$SAMPLE_POTENTIOMETER_ADC_CHANNEL\" is an int, not an Adc");

	/* A single file parsed without its imports has no values yet. */
	rp_err_clear(&e);
	assert_int_equal(rp_board_parse((const uint8_t *)single, strlen(single),
					"one.json", &one, &e), 0);
	expect_resolve_error(CAPS("\"Gpio\":[\"$LED\"]"), one,
			     "Capabilities.Gpio[0]: \"$LED\" has no AppManifestValue in board \"one file\"");

	/* No board at all. */
	assert_int_equal(parse_str(CAPS("\"Gpio\":[\"$LED\"]"), &m, &e), 0);
	assert_int_equal(rp_manifest_resolve(m, NULL, &e), RP_EUSAGE);
	rp_manifest_free(m);

	/* Nothing to resolve: no board needed. */
	assert_int_equal(parse_str(CAPS("\"Gpio\":[8]"), &m, &e), 0);
	assert_int_equal(rp_manifest_resolve(m, NULL, &e), 0);
	rp_manifest_free(m);

	rp_board_free(one);
	rp_board_free(b);
}

/* ----------------------------------------------------------- serialise */

static void test_serialize(void **state)
{
	const char *s = "{ \"Name\": \"x\", \"SchemaVersion\": 1,\n"
			"  \"EntryPoint\": \"/bin/app\",\n"
			"  \"ComponentId\": \"25025d2c-66da-4448-bae1-ac26fcdd3627\",\n"
			"  \"Capabilities\": { \"Gpio\": [ 8, 9 ], \"AllowedConnections\": [] } }";
	const char *want = "{\"Capabilities\":{\"AllowedConnections\":[],\"Gpio\":[8,9]},"
			   "\"ComponentId\":\"25025d2c-66da-4448-bae1-ac26fcdd3627\","
			   "\"EntryPoint\":\"/bin/app\",\"Name\":\"x\",\"SchemaVersion\":1}";
	struct rp_manifest *m = NULL, *m2 = NULL;
	struct rp_buf out, out2;
	struct rp_err e;

	(void)state;
	assert_int_equal(parse_str(s, &m, &e), 0);
	assert_int_equal(rp_manifest_serialize(m, &out, &e), 0);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	assert_true(out.cap <= RP_MANIFEST_MAX);
	/* The stored form parses back to the same bytes. */
	rp_err_clear(&e);
	assert_int_equal(rp_manifest_parse(out.data, out.len, &m2, &e), 0);
	assert_int_equal(rp_manifest_serialize(m2, &out2, &e), 0);
	assert_int_equal(out.len, out2.len);
	assert_memory_equal(out.data, out2.data, out.len);
	rp_buf_free(&out);
	rp_buf_free(&out2);
	rp_manifest_free(m);
	rp_manifest_free(m2);
	rp_manifest_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_samples),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_name_utf8_cut),
		cmocka_unit_test(test_guid),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_array_cap),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_resolve_azure),
		cmocka_unit_test(test_resolve_rpi4_collapses),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_serialize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
