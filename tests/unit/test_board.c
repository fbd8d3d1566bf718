/* Unit tests for lib/format/board.c: Azure Sphere definitions load
 * unchanged and produce byte-identical headers, Rampart's boards carry
 * their Linux resources through mappings, and broken definitions and
 * import chains are refused with exact messages. Data under tests/data/
 * and boards/ (found via RP_SRCDIR); bad chains are written to a
 * temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "format/board.h"

static const char *srcdir(void)
{
	const char *s = getenv("RP_SRCDIR");

	return s ? s : ".";
}

static void src_path(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", srcdir(), rel);

	assert_true(n > 0 && (size_t)n < cap);
}

static struct rp_board *load(const char *rel, const char *search_rel)
{
	char path[PATH_MAX], sdir[PATH_MAX];
	const char *dirs[2] = { NULL, NULL };
	struct rp_board *b = NULL;
	struct rp_err e;

	rp_err_clear(&e);
	src_path(path, sizeof(path), rel);
	if (search_rel) {
		src_path(sdir, sizeof(sdir), search_rel);
		dirs[0] = sdir;
	}
	if (rp_board_load(path, dirs, &b, &e))
		fail_msg("%s: %s", rel, e.msg);
	return b;
}

static void expect_header(const struct rp_board *b, const char *expected_rel)
{
	char path[PATH_MAX];
	struct rp_buf want, got;
	struct rp_err e;

	rp_err_clear(&e);
	src_path(path, sizeof(path), expected_rel);
	if (rp_file_read(path, RP_BOARD_HEADER_MAX, &want, &e))
		fail_msg("%s", e.msg);
	if (rp_board_header(b, &got, &e))
		fail_msg("%s", e.msg);
	if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) {
		size_t i = 0;

		while (i < got.len && i < want.len && got.data[i] == want.data[i])
			i++;
		fail_msg("header differs from %s at byte %zu (got %zu bytes, want %zu)",
			 expected_rel, i, got.len, want.len);
	}
	rp_buf_free(&want);
	rp_buf_free(&got);
}

/* ------------------------------------------------------- Azure Sphere */

#define AZ "tests/data/boards/azure/"

static void test_azure_sample_appliance(void **state)
{
	struct rp_board *b = load(AZ "mt3620_rdb/sample_appliance.json", AZ "sdk");
	const struct rp_board_periph *p;
	size_t i, top = 0;

	(void)state;
	assert_string_equal(rp_board_name(b),
			    "Sample hardware abstraction for MT3620 RDB");
	assert_string_equal(rp_board_header_name(b), "sample_appliance.h");
	for (i = 0; i < rp_board_count(b); i++)
		top += (size_t)rp_board_at(b, i)->top_level;
	assert_int_equal(top, 19);
	assert_null(rp_board_at(b, rp_board_count(b)));

	p = rp_board_find(b, "SAMPLE_LED");
	assert_non_null(p);
	assert_string_equal(p->type, "Gpio");
	assert_string_equal(p->mapping, "MT3620_RDB_LED1_RED");
	assert_true(json_is_integer(p->value));
	assert_int_equal(json_integer_value(p->value), 8);
	assert_string_equal(p->comment, "MT3620 RDB: LED 1 (red channel)");
	assert_true(p->top_level);
	assert_null(p->linux_res);
	assert_int_equal(p->linux_line, -1);

	p = rp_board_find(b, "SAMPLE_LSM6DS3_I2C");
	assert_string_equal(json_string_value(p->value), "ISU2");
	p = rp_board_find(b, "SAMPLE_LED_PWM_CONTROLLER");
	assert_string_equal(json_string_value(p->value), "PWM-CONTROLLER-2");
	/* ints have no manifest value. */
	p = rp_board_find(b, "SAMPLE_LSM6DS3_SPI_CS");
	assert_string_equal(p->type, "int");
	assert_null(p->value);

	p = rp_board_find(b, "MT3620_GPIO8");
	assert_non_null(p);
	assert_false(p->top_level);
	assert_string_equal(p->header_value, "(8)");
	assert_non_null(strstr(p->file, "mt3620.json"));
	assert_null(rp_board_find(b, "NO_SUCH_THING"));

	expect_header(b, AZ "mt3620_rdb/inc/hw/sample_appliance.h");
	rp_board_free(b);
}

static void test_azure_chip_header(void **state)
{
	struct rp_board *b = load(AZ "sdk/mt3620.json", NULL);

	(void)state;
	assert_string_equal(rp_board_header_name(b), "mt3620.h");
	expect_header(b, AZ "sdk/inc/hw/mt3620.h");
	rp_board_free(b);

	/* The board file finds its import next to itself. */
	b = load(AZ "sdk/mt3620_rdb.json", NULL);
	assert_int_equal(json_integer_value(
				 rp_board_find(b, "MT3620_RDB_BUTTON_A")->value), 12);
	rp_board_free(b);
}

static void test_azure_needs_search_dir(void **state)
{
	char path[PATH_MAX];
	struct rp_board *b = NULL;
	struct rp_err e;

	(void)state;
	rp_err_clear(&e);
	src_path(path, sizeof(path), AZ "mt3620_rdb/sample_appliance.json");
	assert_int_not_equal(rp_board_load(path, NULL, &b, &e), 0);
	assert_null(b);
	assert_non_null(strstr(e.msg,
			       "sample_appliance.json: Imports[0].Path: \"mt3620_rdb.json\" is found neither next to the file nor in a search directory"));
}

/* ------------------------------------------------------ Rampart boards */

static void test_rpi4(void **state)
{
	struct rp_board *b = load("boards/rpi4/sample_appliance.json", NULL);
	const struct rp_board_periph *p;
	struct rp_buf h;
	struct rp_err e;

	(void)state;
	p = rp_board_find(b, "SAMPLE_LED");
	assert_int_equal(json_integer_value(p->value), 22);
	assert_string_equal(p->linux_res, "/dev/gpiochip0 line 22");
	assert_string_equal(p->linux_path, "/dev/gpiochip0");
	assert_null(p->linux_label);
	assert_int_equal(p->linux_line, 22);
	p = rp_board_find(b, "SAMPLE_LSM6DS3_I2C");
	assert_string_equal(p->linux_res, "/dev/i2c-1");
	assert_int_equal(p->linux_line, -1);
	assert_string_equal(rp_board_find(b, "SAMPLE_LSM6DS3_SPI")->linux_res,
			    "/dev/spidev0.0");
	assert_string_equal(rp_board_find(b, "SAMPLE_UART_LOOPBACK")->linux_res,
			    "/dev/ttyAMA0");
	assert_string_equal(rp_board_find(b, "SAMPLE_LED_PWM_CONTROLLER")->linux_res,
			    "/sys/class/pwm/pwmchip0");
	assert_string_equal(rp_board_find(b, "SAMPLE_POTENTIOMETER_ADC_CONTROLLER")->linux_res,
			    "/sys/bus/iio/devices/iio:device0");
	assert_null(rp_board_find(b, "SAMPLE_LED_PWM_CHANNEL")->linux_res);

	rp_err_clear(&e);
	assert_int_equal(rp_board_header(b, &h, &e), 0);
	assert_non_null(strstr((const char *)h.data,
			       "#pragma once\n#include \"rpi4.h\"\n\n"));
	assert_non_null(strstr((const char *)h.data,
			       "#define SAMPLE_LED RPI4_GPIO22\n\n"));
	rp_buf_free(&h);
	rp_board_free(b);

	b = load("boards/rpi4/rpi4.json", NULL);
	assert_int_equal(rp_board_header(b, &h, &e), 0);
	assert_non_null(strstr((const char *)h.data,
			       "// Raspberry Pi 4 GPIO 17 (BCM numbering) on header pin 11.\n#define RPI4_GPIO17 (17)\n\n"));
	rp_buf_free(&h);
	rp_board_free(b);
}

static void test_sim(void **state)
{
	struct rp_board *b = load("boards/sim/sample_appliance.json", NULL);
	const struct rp_board_periph *p;

	(void)state;
	p = rp_board_find(b, "SAMPLE_BUTTON_1");
	assert_string_equal(p->linux_path, "/run/rampart-sim/gpiochip0");
	assert_null(p->linux_label);
	assert_int_equal(p->linux_line, 0);
	assert_string_equal(p->linux_res, "/run/rampart-sim/gpiochip0 line 0");
	assert_string_equal(rp_board_find(b, "SAMPLE_UART_LOOPBACK")->linux_res,
			    "/run/rampart-sim/uart0");
	rp_board_free(b);
}

/* Every SAMPLE_* name of Azure Sphere's sample_appliance.json exists with
 * the same Type in each shipped sample_appliance.json, so samples retarget
 * by swapping the hardware folder. */
static void test_sample_names_match(void **state)
{
	static const char *const boards[] = {
		"boards/rpi4/sample_appliance.json",
		"boards/sim/sample_appliance.json",
	};
	struct rp_board *az = load(AZ "mt3620_rdb/sample_appliance.json", AZ "sdk");
	size_t i, j;

	(void)state;
	for (j = 0; j < sizeof(boards) / sizeof(boards[0]); j++) {
		struct rp_board *b = load(boards[j], NULL);

		for (i = 0; i < rp_board_count(az); i++) {
			const struct rp_board_periph *a = rp_board_at(az, i), *p;

			if (!a->top_level)
				continue;
			p = rp_board_find(b, a->name);
			if (!p || !p->top_level || strcmp(p->type, a->type) != 0)
				fail_msg("%s: %s missing or of another type",
					 boards[j], a->name);
			if (strcmp(p->type, "int") != 0 &&
			    (!p->value || !p->linux_res))
				fail_msg("%s: %s has no value or Linux resource",
					 boards[j], a->name);
		}
		rp_board_free(b);
	}
	rp_board_free(az);
}

/* ------------------------------------------------------- bad one file */

#define HDR "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1}," \
	"\"Description\":{\"Name\":\"t\"},"
#define PER(x) HDR "\"Peripherals\":[" x "]}"
#define GPIO_OK "{\"Name\":\"G0\",\"Type\":\"Gpio\",\"AppManifestValue\":0}"

struct bad {
	const char *json;
	const char *msg;
};

static const struct bad bad_cases[] = {
	{ "[]", "t.json: the document: expected an object, got an array" },
	{ "{", NULL },
	{ HDR "\"Peripherals\":[],\"Extra\":1}", "t.json: Extra: unknown key" },
	{ "{\"Description\":{\"Name\":\"t\"}}",
	  "t.json: Metadata: required key is missing" },
	{ "{\"Metadata\":{\"Type\":\"Hardware\",\"Version\":1}}",
	  "t.json: Metadata.Type: must be \"Azure Sphere Hardware Definition\", got \"Hardware\"" },
	{ "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":2}}",
	  "t.json: Metadata.Version: must be 1, got 2" },
	{ "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1,\"Author\":\"x\"}}",
	  "t.json: Metadata.Author: unknown key" },
	{ "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1}}",
	  "t.json: Description: required key is missing" },
	{ "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1},"
	  "\"Description\":{}}",
	  "t.json: Description.Name: required key is missing" },
	{ "{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1},"
	  "\"Description\":{\"Name\":\"t\",\"MainCoreHeaderFileTopContent\":[\"ok\",1]}}",
	  "t.json: Description.MainCoreHeaderFileTopContent[1]: expected a string, got an integer" },
	{ HDR "\"Imports\":[{\"Path\":\"/etc/board.json\"}]}",
	  "t.json: Imports[0].Path: \"/etc/board.json\" is not a relative path to a .json file" },
	{ HDR "\"Imports\":[{\"Path\":\"board.txt\"}]}",
	  "t.json: Imports[0].Path: \"board.txt\" is not a relative path to a .json file" },
	{ HDR "\"Imports\":[{\"Path\":\"..\\\\x.json\"}]}",
	  "t.json: Imports[0].Path: \"..?x.json\" is not a relative path to a .json file" },
	{ HDR "\"Imports\":[{\"File\":\"x.json\"}]}", "t.json: Imports[0].File: unknown key" },
	{ HDR "\"Imports\":{}}", "t.json: Imports: expected an array, got an object" },
	{ HDR "\"Peripherals\":{}}", "t.json: Peripherals: expected an array, got an object" },
	{ PER("{\"Name\":\"G0\",\"Type\":\"Gpoi\",\"AppManifestValue\":0}"),
	  "t.json: Peripherals[0].Type: \"Gpoi\" is not a peripheral type (Gpio, Uart, I2cMaster, SpiMaster, Pwm, Adc, int)" },
	{ PER(GPIO_OK ",{\"Name\":\"1LED\",\"Type\":\"Gpio\",\"AppManifestValue\":1}"),
	  "t.json: Peripherals[1].Name: \"1LED\" is not a C identifier" },
	{ PER("{\"Type\":\"Gpio\",\"AppManifestValue\":1}"),
	  "t.json: Peripherals[0].Name: required key is missing" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Pin\":3}"),
	  "t.json: Peripherals[0].Pin: unknown key" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"Mapping\":\"X\",\"AppManifestValue\":1}"),
	  "t.json: Peripherals[0]: a peripheral with a Mapping takes no AppManifestValue, MainCoreHeaderValue or Rampart" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"Mapping\":\"X\","
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/gpiochip0\",\"Line\":1}}}"),
	  "t.json: Peripherals[0]: a peripheral with a Mapping takes no AppManifestValue, MainCoreHeaderValue or Rampart" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"Mapping\":\"not-an-ident\"}"),
	  "t.json: Peripherals[0].Mapping: \"not-an-ident\" is not a C identifier" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\"}"),
	  "t.json: Peripherals[0]: a peripheral without a Mapping needs an AppManifestValue" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":\"8\"}"),
	  "t.json: Peripherals[0].AppManifestValue: expected an integer, got a string" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":5000}"),
	  "t.json: Peripherals[0].AppManifestValue: must be 0..4095, got 5000" },
	{ PER("{\"Name\":\"U\",\"Type\":\"Uart\",\"AppManifestValue\":4,\"MainCoreHeaderValue\":\"(4)\"}"),
	  "t.json: Peripherals[0].AppManifestValue: expected a string, got an integer" },
	{ PER("{\"Name\":\"U\",\"Type\":\"Uart\",\"AppManifestValue\":\"ISU 0\",\"MainCoreHeaderValue\":\"(4)\"}"),
	  "t.json: Peripherals[0].AppManifestValue: \"ISU 0\" is not a controller name such as \"ISU0\"" },
	{ PER("{\"Name\":\"U\",\"Type\":\"Uart\",\"AppManifestValue\":\"ISU0\"}"),
	  "t.json: Peripherals[0]: needs a MainCoreHeaderValue (the value C code sees)" },
	{ PER("{\"Name\":\"C\",\"Type\":\"int\",\"AppManifestValue\":1,\"MainCoreHeaderValue\":\"(1)\"}"),
	  "t.json: Peripherals[0].AppManifestValue: an int is not a peripheral and has no value in app manifests" },
	{ PER("{\"Name\":\"C\",\"Type\":\"int\"}"),
	  "t.json: Peripherals[0]: needs a MainCoreHeaderValue (the value C code sees)" },
	{ PER("{\"Name\":\"C\",\"Type\":\"int\",\"MainCoreHeaderValue\":\"(1)\","
	      "\"Rampart\":{\"Linux\":{}}}"),
	  "t.json: Peripherals[0].Rampart: an int has no Linux resource" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"MainCoreHeaderValue\":\"(1) \\\\\"}"),
	  "t.json: Peripherals[0].MainCoreHeaderValue: must not end with a backslash" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Comment\":\"two\\nlines\"}"),
	  "t.json: Peripherals[0].Comment: contains a control character" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Comment\":\"splice \\\\\"}"),
	  "t.json: Peripherals[0].Comment: must not end with a backslash" },
	{ PER(GPIO_OK "," GPIO_OK),
	  "t.json: Peripherals[1].Name: \"G0\" is already defined" },
	{ PER(GPIO_OK ",{\"Name\":\"G1\",\"Type\":\"Gpio\",\"Mapping\":\"G0\"}"),
	  "t.json: Peripherals[1].Mapping: \"G0\" is defined in the same file; a Mapping names a peripheral of an imported file" },
	/* Rampart's Linux mapping */
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Rampart\":{\"Zephyr\":{}}}"),
	  "t.json: Peripherals[0].Rampart.Zephyr: unknown key" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Rampart\":{}}"),
	  "t.json: Peripherals[0].Rampart.Linux: required key is missing" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,\"Rampart\":{\"Linux\":\"/dev/gpiochip0\"}}"),
	  "t.json: Peripherals[0].Rampart.Linux: expected an object, got a string" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/gpiochip0\",\"ChipLabel\":\"x\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux: give exactly one of Chip and ChipLabel" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux: give exactly one of Chip and ChipLabel" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/gpiochip0\"}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Line: required key is missing" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/gpiochip0\",\"Line\":-1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Line: must be 0..65535, got -1" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/sys/class/gpio\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Chip: \"/sys/class/gpio\" is not a path under /dev or /run" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/../etc/passwd\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Chip: \"/dev/../etc/passwd\" is not a path under /dev or /run" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Chip\":\"/run/../etc/x\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Chip: \"/run/../etc/x\" is not a path under /dev or /run" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"ChipLabel\":\"my chip\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.ChipLabel: \"my chip\" is not a gpiochip label" },
	{ PER("{\"Name\":\"G\",\"Type\":\"Gpio\",\"AppManifestValue\":1,"
	      "\"Rampart\":{\"Linux\":{\"Device\":\"/dev/gpiochip0\",\"Line\":1}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: unknown key" },
	{ PER("{\"Name\":\"I\",\"Type\":\"I2cMaster\",\"AppManifestValue\":\"I2C1\",\"MainCoreHeaderValue\":\"(1)\","
	      "\"Rampart\":{\"Linux\":{\"Device\":\"/home/user/i2c\"}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: \"/home/user/i2c\" is not a path under /dev, /sys or /run" },
	{ PER("{\"Name\":\"I\",\"Type\":\"I2cMaster\",\"AppManifestValue\":\"I2C1\",\"MainCoreHeaderValue\":\"(1)\","
	      "\"Rampart\":{\"Linux\":{\"Device\":\"/dev/i2c-1/\"}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: \"/dev/i2c-1/\" is not a path under /dev, /sys or /run" },
	{ PER("{\"Name\":\"I\",\"Type\":\"I2cMaster\",\"AppManifestValue\":\"I2C1\",\"MainCoreHeaderValue\":\"(1)\","
	      "\"Rampart\":{\"Linux\":{}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: required key is missing" },
	{ PER("{\"Name\":\"P\",\"Type\":\"Pwm\",\"AppManifestValue\":\"PWM0\",\"MainCoreHeaderValue\":\"(0)\","
	      "\"Rampart\":{\"Linux\":{\"Device\":\"/sys/class/pwm/pwmchip0\"}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: unknown key" },
	{ PER("{\"Name\":\"U\",\"Type\":\"Uart\",\"AppManifestValue\":\"UART0\",\"MainCoreHeaderValue\":\"(0)\","
	      "\"Rampart\":{\"Linux\":{\"Device\":\"/dev/tty AMA0\"}}}"),
	  "t.json: Peripherals[0].Rampart.Linux.Device: \"/dev/tty AMA0\" is not a path under /dev, /sys or /run" },
};

static void test_bad_files(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct rp_board *b = NULL;
		struct rp_err e;
		int rc;

		rp_err_clear(&e);
		rc = rp_board_parse((const uint8_t *)bad_cases[i].json,
				    strlen(bad_cases[i].json), "t.json", &b, &e);
		if (rc == 0)
			fail_msg("case %zu accepted: %s", i, bad_cases[i].json);
		assert_null(b);
		if (bad_cases[i].msg && strcmp(e.msg, bad_cases[i].msg) != 0)
			fail_msg("case %zu:\n  want: %s\n  got:  %s", i,
				 bad_cases[i].msg, e.msg);
	}
}

static void test_parse_one_file(void **state)
{
	const char *s = PER("{\"Name\":\"LED\",\"Type\":\"Gpio\",\"Mapping\":\"CHIP_GPIO8\",\"Comment\":\"led\"}");
	struct rp_board *b = NULL;
	const struct rp_board_periph *p;
	struct rp_err e;

	(void)state;
	rp_err_clear(&e);
	assert_int_equal(rp_board_parse((const uint8_t *)s, strlen(s), "dir/x.json",
					&b, &e), 0);
	p = rp_board_find(b, "LED");
	assert_non_null(p);
	assert_null(p->value);
	assert_string_equal(p->file, "dir/x.json");
	assert_string_equal(rp_board_header_name(b), "x.h");
	rp_board_free(b);
	rp_board_free(NULL);
}

static void test_caps(void **state)
{
	size_t n = RP_BOARD_FILE_MAX + 1, i, off;
	char *big = malloc(n + 64 * 1024);
	struct rp_board *b = NULL;
	struct rp_err e;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	rp_err_clear(&e);
	assert_int_equal(rp_board_parse((const uint8_t *)big, n, "big.json", &b, &e),
			 RP_ERANGE);

	/* More peripherals than the chain may hold, in one file. */
	off = (size_t)snprintf(big, n, "%s", HDR "\"Peripherals\":[");
	for (i = 0; i < RP_BOARD_PERIPH_MAX + 1; i++)
		off += (size_t)snprintf(big + off, n - off,
					"%s{\"Name\":\"G%zu\",\"Type\":\"Gpio\",\"AppManifestValue\":1}",
					i ? "," : "", i);
	off += (size_t)snprintf(big + off, n - off, "]}");
	assert_true(off < n);
	assert_int_equal(rp_board_parse((const uint8_t *)big, off, "many.json", &b,
					&e), RP_ERANGE);
	assert_string_equal(e.msg,
			    "many.json: more than 1024 peripherals in the import chain");
	free(big);
}

/* ------------------------------------------------------ import chains */

struct tmp {
	char dir[PATH_MAX];
};

static void put(const struct tmp *t, const char *name, const char *text)
{
	char path[PATH_MAX];
	struct rp_err e;

	rp_err_clear(&e);
	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", t->dir, name) <
		    sizeof(path));
	if (rp_file_write(path, text, strlen(text), 0644, 0, &e))
		fail_msg("%s", e.msg);
}

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	char sub[PATH_MAX + 8];

	if (!t)
		return -1;
	memcpy(t->dir, "/tmp/rp-board-XXXXXX", 21);
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	(void)snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	if (mkdir(sub, 0755)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	char cmd[PATH_MAX + 16];
	int rc;

	/* The directory only holds files this test wrote. */
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	rc = system(cmd);
	free(t);
	return rc == 0 ? 0 : -1;
}

#define FILE_(name, imports, periphs) \
	"{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1}," \
	"\"Description\":{\"Name\":\"" name "\"}," \
	"\"Imports\":[" imports "],\"Peripherals\":[" periphs "]}"
#define IMP(p) "{\"Path\":\"" p "\"}"
#define CHIP FILE_("chip", "", \
	"{\"Name\":\"C_GPIO1\",\"Type\":\"Gpio\",\"AppManifestValue\":1," \
	"\"Rampart\":{\"Linux\":{\"Chip\":\"/dev/gpiochip0\",\"Line\":1}}}," \
	"{\"Name\":\"C_UART0\",\"Type\":\"Uart\",\"AppManifestValue\":\"UART0\",\"MainCoreHeaderValue\":\"(0)\"}")

static int load_tmp(const struct tmp *t, const char *name,
		    const char *const *dirs, struct rp_board **b,
		    struct rp_err *e)
{
	char path[PATH_MAX + 64];
	int n;

	rp_err_clear(e);
	n = snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	return rp_board_load(path, dirs, b, e);
}

static void expect_fail(const struct tmp *t, const char *name,
			const char *want_end)
{
	struct rp_board *b = NULL;
	struct rp_err e;
	size_t n, w = strlen(want_end);

	assert_int_not_equal(load_tmp(t, name, NULL, &b, &e), 0);
	assert_null(b);
	n = strlen(e.msg);
	if (n < w || strcmp(e.msg + n - w, want_end) != 0)
		fail_msg("\n  want ...%s\n  got     %s", want_end, e.msg);
}

static void test_chain_good(void **state)
{
	struct tmp *t = *state;
	const char *dirs[] = { NULL, NULL };
	char sub[PATH_MAX + 8];
	struct rp_board *b = NULL;
	const struct rp_board_periph *p;
	struct rp_err e;

	put(t, "chip.json", CHIP);
	/* A diamond: top imports two boards that both import the chip. */
	put(t, "left.json", FILE_("left", IMP("chip.json"),
				  "{\"Name\":\"L_LED\",\"Type\":\"Gpio\",\"Mapping\":\"C_GPIO1\"}"));
	put(t, "right.json", FILE_("right", IMP("chip.json"),
				   "{\"Name\":\"R_UART\",\"Type\":\"Uart\",\"Mapping\":\"C_UART0\"}"));
	put(t, "top.json", FILE_("top", IMP("left.json") "," IMP("right.json"),
				 "{\"Name\":\"T_LED\",\"Type\":\"Gpio\",\"Mapping\":\"L_LED\",\"Comment\":\"the LED\"},"
				 "{\"Name\":\"T_GPIO\",\"Type\":\"Gpio\",\"Mapping\":\"C_GPIO1\"},"
				 "{\"Name\":\"T_UART\",\"Type\":\"Uart\",\"Mapping\":\"R_UART\"}"));
	assert_int_equal(load_tmp(t, "top.json", NULL, &b, &e), 0);
	assert_int_equal(rp_board_count(b), 3 + 1 + 2 + 1);
	p = rp_board_find(b, "T_LED");
	assert_int_equal(json_integer_value(p->value), 1);
	assert_string_equal(p->linux_res, "/dev/gpiochip0 line 1");
	assert_string_equal(json_string_value(rp_board_find(b, "T_UART")->value),
			    "UART0");
	rp_board_free(b);

	/* Found through a search directory, and an import path with "..". */
	(void)snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	put(t, "sub/s.json", FILE_("s", IMP("../chip.json"),
				   "{\"Name\":\"S\",\"Type\":\"Gpio\",\"Mapping\":\"C_GPIO1\"}"));
	put(t, "usesub.json", FILE_("u", IMP("s.json"),
				    "{\"Name\":\"U\",\"Type\":\"Gpio\",\"Mapping\":\"S\"}"));
	dirs[0] = sub;
	assert_int_equal(load_tmp(t, "usesub.json", dirs, &b, &e), 0);
	assert_int_equal(json_integer_value(rp_board_find(b, "U")->value), 1);
	rp_board_free(b);
}

static void test_chain_bad(void **state)
{
	struct tmp *t = *state;
	char name[32], prev[32], text[512];
	int i;

	put(t, "chip.json", CHIP);
	put(t, "self.json", FILE_("self", IMP("self.json"), ""));
	expect_fail(t, "self.json", "self.json: import cycle: the file imports itself");

	put(t, "a.json", FILE_("a", IMP("b.json"), ""));
	put(t, "b.json", FILE_("b", IMP("a.json"), ""));
	expect_fail(t, "a.json", "a.json: import cycle: the file imports itself");

	put(t, "missing.json", FILE_("m", IMP("nowhere.json"), ""));
	expect_fail(t, "missing.json",
		    "missing.json: Imports[0].Path: \"nowhere.json\" is found neither next to the file nor in a search directory");

	put(t, "badimport.json", FILE_("bi", IMP("broken.json"), ""));
	put(t, "broken.json", "{\"Metadata\":");
	{
		struct rp_board *b = NULL;
		struct rp_err e;

		/* The failing import is named, then jansson's position. */
		assert_int_not_equal(load_tmp(t, "badimport.json", NULL, &b, &e), 0);
		assert_non_null(strstr(e.msg, "badimport.json: Imports[0]: "));
		assert_non_null(strstr(e.msg, "broken.json: line 1, column "));
	}

	put(t, "typemix.json", FILE_("tm", IMP("chip.json"),
				     "{\"Name\":\"X\",\"Type\":\"Gpio\",\"Mapping\":\"C_UART0\"}"));
	expect_fail(t, "typemix.json",
		    "typemix.json: Peripherals[0].Mapping: \"C_UART0\" is a Uart, not a Gpio");

	put(t, "notfound.json", FILE_("nf", IMP("chip.json"),
				      "{\"Name\":\"X\",\"Type\":\"Gpio\",\"Mapping\":\"C_GPIO99\"}"));
	expect_fail(t, "notfound.json",
		    "notfound.json: Peripherals[0].Mapping: \"C_GPIO99\" is not defined by any imported file");

	/* A sibling's peripheral is not reachable: only imports count. */
	put(t, "sib1.json", FILE_("s1", IMP("chip.json"),
				  "{\"Name\":\"S1\",\"Type\":\"Gpio\",\"Mapping\":\"C_GPIO1\"}"));
	put(t, "sib2.json", FILE_("s2", IMP("chip.json"),
				  "{\"Name\":\"S2\",\"Type\":\"Gpio\",\"Mapping\":\"S1\"}"));
	put(t, "sibtop.json", FILE_("st", IMP("sib1.json") "," IMP("sib2.json"), ""));
	expect_fail(t, "sibtop.json",
		    "sib2.json: Peripherals[0].Mapping: \"S1\" is not defined by any imported file");

	put(t, "dup.json", FILE_("d", IMP("chip.json"),
				 "{\"Name\":\"C_GPIO1\",\"Type\":\"Gpio\",\"Mapping\":\"C_UART0\"}"));
	expect_fail(t, "dup.json", "dup.json");
	{
		struct rp_board *b = NULL;
		struct rp_err e;

		assert_int_not_equal(load_tmp(t, "dup.json", NULL, &b, &e), 0);
		assert_non_null(strstr(e.msg,
				       "chip.json: Peripherals[0].Name: \"C_GPIO1\" is already defined in /"));
	}

	/* A chain one deeper than allowed: d0 imports d1 ... d9. */
	for (i = 0; i <= RP_BOARD_IMPORT_DEPTH + 1; i++) {
		(void)snprintf(name, sizeof(name), "d%d.json", i);
		if (i == RP_BOARD_IMPORT_DEPTH + 1)
			(void)snprintf(text, sizeof(text), "%s", FILE_("d", "", ""));
		else
			(void)snprintf(text, sizeof(text),
				       FILE_("d", "{\"Path\":\"d%d.json\"}", ""),
				       i + 1);
		put(t, name, text);
		memcpy(prev, name, sizeof(prev));
	}
	expect_fail(t, "d0.json", "Imports[0]: imports nest deeper than 8 files");
	/* Exactly the allowed depth loads. */
	{
		struct rp_board *b = NULL;
		struct rp_err e;

		assert_int_equal(load_tmp(t, "d1.json", NULL, &b, &e), 0);
		rp_board_free(b);
	}

	expect_fail(t, "absent.json", "absent.json: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_azure_sample_appliance),
		cmocka_unit_test(test_azure_chip_header),
		cmocka_unit_test(test_azure_needs_search_dir),
		cmocka_unit_test(test_rpi4),
		cmocka_unit_test(test_sim),
		cmocka_unit_test(test_sample_names_match),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_parse_one_file),
		cmocka_unit_test(test_caps),
		cmocka_unit_test_setup_teardown(test_chain_good, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_chain_bad, setup_tmp,
						teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
