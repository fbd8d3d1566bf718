/* Unit tests for co2monitor's pure code: the SCD30 CRC and decoding, the
 * partner commands and the settings file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "protocol.h"
#include "scd30.h"

static void put_float(uint8_t *out, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	out[0] = (uint8_t)(u >> 24);
	out[1] = (uint8_t)(u >> 16);
	out[2] = scd30_crc8(out, 2);
	out[3] = (uint8_t)(u >> 8);
	out[4] = (uint8_t)u;
	out[5] = scd30_crc8(out + 3, 2);
}

static void measurement(uint8_t buf[SCD30_MEASUREMENT_LEN], float co2, float t, float rh)
{
	put_float(buf, co2);
	put_float(buf + 6, t);
	put_float(buf + 12, rh);
}

static void test_crc(void **state)
{
	static const uint8_t beef[] = { 0xBE, 0xEF };
	/* The interface description's examples: 0x0002 (interval 2 s) -> 0xE3,
	 * and the CO2 word 0x43DB of its example measurement -> 0xCB. */
	static const uint8_t two[] = { 0x00, 0x02 }, co2[] = { 0x43, 0xDB };

	(void)state;
	assert_int_equal(scd30_crc8(beef, 2), 0x92);
	assert_int_equal(scd30_crc8(two, 2), 0xE3);
	assert_int_equal(scd30_crc8(co2, 2), 0xCB);
}

static void test_encode(void **state)
{
	uint8_t out[5];

	(void)state;
	assert_int_equal(scd30_encode(SCD30_CMD_DATA_READY, false, 0, out), 2);
	assert_int_equal(out[0], 0x02);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(scd30_encode(SCD30_CMD_MEASUREMENT_INTERVAL, true, 2, out), 5);
	assert_memory_equal(out, ((uint8_t[]){ 0x46, 0x00, 0x00, 0x02, 0xE3 }), 5);
}

static void test_decode_measurement(void **state)
{
	uint8_t buf[SCD30_MEASUREMENT_LEN];
	struct scd30_measurement m;

	(void)state;
	measurement(buf, 812.5f, 22.25f, 41.0f);
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), 0);
	assert_true(m.co2_ppm == 812.5f);
	assert_true(m.temperature_c == 22.25f);
	assert_true(m.humidity_rh == 41.0f);
}

static void test_decode_refusals(void **state)
{
	uint8_t buf[SCD30_MEASUREMENT_LEN];
	struct scd30_measurement m = { 1.0f, 2.0f, 3.0f };
	uint16_t w;
	size_t i;

	(void)state;
	measurement(buf, 812.5f, 22.25f, 41.0f);
	/* Any flipped bit, in a word or in a CRC, is caught. */
	for (i = 0; i < sizeof(buf); i++) {
		buf[i] ^= 0x10;
		errno = 0;
		assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), -1);
		assert_int_equal(errno, EBADMSG);
		buf[i] ^= 0x10;
	}
	/* Short, long, empty. */
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf) - 1, &m), -1);
	assert_int_equal(scd30_decode_measurement(buf, 0, &m), -1);
	assert_int_equal(scd30_decode_words(buf, 4, &w, 1), -1);
	assert_int_equal(errno, EBADMSG);
	/* Well-formed but impossible values. */
	measurement(buf, NAN, 22.0f, 40.0f);
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), -1);
	assert_int_equal(errno, ERANGE);
	measurement(buf, 500.0f, 22.0f, 140.0f);
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), -1);
	measurement(buf, -1.0f, 22.0f, 40.0f);
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), -1);
	measurement(buf, INFINITY, 22.0f, 40.0f);
	assert_int_equal(scd30_decode_measurement(buf, sizeof(buf), &m), -1);
	/* Nothing was written on failure. */
	assert_true(m.co2_ppm == 1.0f);
}

static int cmd(const char *s, struct co2_command *c, char *err)
{
	return co2_command_parse((const uint8_t *)s, strlen(s), c, err, 160);
}

static void test_commands(void **state)
{
	struct co2_command c;
	char err[160];

	(void)state;
	assert_int_equal(cmd("{\"cmd\":\"set_threshold\",\"ppm\":1500}", &c, err), 0);
	assert_int_equal(c.kind, CO2_CMD_SET_THRESHOLD);
	assert_int_equal(c.value, 1500);
	assert_int_equal(c.id, -1);
	assert_int_equal(cmd("{\"id\":7,\"cmd\":\"set_interval\",\"s\":5}", &c, err), 0);
	assert_int_equal(c.kind, CO2_CMD_SET_INTERVAL);
	assert_int_equal(c.value, 5);
	assert_int_equal(c.id, 7);
	assert_int_equal(cmd("{\"cmd\":\"measure_now\"}", &c, err), 0);
	assert_int_equal(c.kind, CO2_CMD_MEASURE_NOW);
	assert_int_equal(cmd("{\"cmd\":\"status\",\"id\":0}", &c, err), 0);
	assert_int_equal(c.kind, CO2_CMD_STATUS);
	assert_int_equal(c.id, 0);
}

static void test_command_refusals(void **state)
{
	static const struct {
		const char *msg, *why;
	} bad[] = {
		{ "{\"cmd\":\"set_threshold\",\"ppm\":50}", "ppm: must be 400..10000, got 50" },
		{ "{\"cmd\":\"set_threshold\",\"ppm\":10001}", "ppm: must be 400..10000" },
		{ "{\"cmd\":\"set_threshold\",\"ppm\":\"1000\"}", "ppm: expected an integer" },
		{ "{\"cmd\":\"set_threshold\",\"ppm\":1000.5}", "ppm: expected an integer" },
		{ "{\"cmd\":\"set_threshold\"}", "ppm: expected an integer" },
		{ "{\"cmd\":\"set_interval\",\"s\":1}", "s: must be 2..1800" },
		{ "{\"cmd\":\"set_interval\",\"s\":1801}", "s: must be 2..1800" },
		{ "{\"cmd\":\"reboot\"}", "cmd: unknown command" },
		{ "{\"cmd\":7}", "cmd: expected a string" },
		{ "{}", "cmd: expected a string" },
		{ "{\"cmd\":\"status\",\"extra\":1}", "status: unexpected key" },
		{ "{\"cmd\":\"measure_now\",\"ppm\":1000}", "measure_now: unexpected key" },
		{ "{\"cmd\":\"status\",\"id\":-1}", "id: must be 0..2147483647" },
		{ "{\"cmd\":\"status\",\"cmd\":\"status\"}", "not JSON" },
		{ "[\"status\"]", "not a JSON object" },
		{ "status", "not JSON" },
		{ "", "not JSON" },
	};
	struct co2_command c = { CO2_CMD_STATUS, 123, 9 };
	char err[160], big[CO2_MSG_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cmd(bad[i].msg, &c, err), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: got '%s', wanted '%s'", bad[i].msg, err, bad[i].why);
	}
	assert_int_equal(c.value, 123);
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"cmd\":\"status\"}", 16);
	assert_int_equal(co2_command_parse((const uint8_t *)big, sizeof(big), &c, err, 160),
			 -1);
	assert_non_null(strstr(err, "longer than"));
	/* No error buffer at all is fine too. */
	assert_int_equal(co2_command_parse((const uint8_t *)"{}", 2, &c, NULL, 0), -1);
}

static void test_settings(void **state)
{
	struct co2_settings s = { 1500, 5, 12345678901ULL }, back;
	char out[128], err[160];
	int n;

	(void)state;
	n = co2_settings_format(&s, out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "{\"threshold_ppm\":1500,\"interval_s\":5,\"seq\":12345678901}");
	assert_int_equal(co2_settings_parse((const uint8_t *)out, (size_t)n, &back, err,
					    sizeof(err)),
			 0);
	assert_int_equal(back.threshold_ppm, 1500);
	assert_int_equal(back.interval_s, 5);
	assert_true(back.seq == 12345678901ULL);
	assert_int_equal(co2_settings_format(&s, out, 10), -1);
}

static void test_settings_refusals(void **state)
{
	static const char *const bad[] = {
		"{\"threshold_ppm\":1500,\"interval_s\":5}",
		"{\"threshold_ppm\":1500,\"interval_s\":5,\"seq\":1,\"x\":1}",
		"{\"threshold_ppm\":1500,\"interval_s\":5,\"x\":1}",
		"{\"threshold_ppm\":15,\"interval_s\":5,\"seq\":1}",
		"{\"threshold_ppm\":1500,\"interval_s\":0,\"seq\":1}",
		"{\"threshold_ppm\":1500,\"interval_s\":5,\"seq\":-1}",
		"{\"threshold_ppm\":1500,\"interval_s\":5,\"seq\":1.5}",
		"garbage",
	};
	struct co2_settings s = { 1, 2, 3 };
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(co2_settings_parse((const uint8_t *)bad[i], strlen(bad[i]), &s,
						    err, sizeof(err)),
				 -1);
	assert_int_equal(s.threshold_ppm, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_measurement),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_command_refusals),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_settings_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
