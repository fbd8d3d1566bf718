/* Unit tests for rampart-sim's SCD30 emulation (sim/scd30.h) against the
 * byte vectors of Sensirion's "Interface Description Sensirion SCD30
 * Sensor Module" (CRC examples, the data-ready answer, the example
 * measurement 439 ppm / 27.2 C / 48.8 %RH), with the clock injected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scd30.h"

static const uint8_t start0[] = { 0x00, 0x10, 0x00, 0x00, 0x81 };

static void test_crc_vectors(void **state)
{
	static const struct {
		uint8_t a, b, crc;
	} v[] = {
		{ 0xBE, 0xEF, 0x92 }, /* the datasheet's CRC example */
		{ 0x00, 0x00, 0x81 }, /* start, pressure 0 */
		{ 0x00, 0x01, 0xB0 }, /* data ready = 1 */
		{ 0x00, 0x02, 0xE3 }, /* interval 2 s */
		{ 0x43, 0xDB, 0xCB }, { 0x8C, 0x2E, 0x8F }, /* 439 ppm */
		{ 0x41, 0xD9, 0x70 }, { 0xE7, 0xFF, 0xF5 }, /* 27.2 C */
		{ 0x42, 0x43, 0xBF }, { 0x3A, 0x1B, 0x74 }, /* 48.8 %RH */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t p[2] = { v[i].a, v[i].b };

		assert_int_equal(rp_scd30_crc(p, 2), v[i].crc);
	}
}

static void cmd(struct rp_scd30 *s, uint64_t t, uint16_t c)
{
	uint8_t p[2] = { (uint8_t)(c >> 8), (uint8_t)c };

	assert_int_equal(rp_scd30_write(s, t, p, 2), 0);
}

static void cmd_arg(struct rp_scd30 *s, uint64_t t, uint16_t c, uint16_t arg)
{
	uint8_t p[5] = { (uint8_t)(c >> 8), (uint8_t)c, (uint8_t)(arg >> 8), (uint8_t)arg, 0 };

	p[4] = rp_scd30_crc(p + 2, 2);
	assert_int_equal(rp_scd30_write(s, t, p, 5), 0);
}

static uint16_t read_word(struct rp_scd30 *s, uint64_t t)
{
	uint8_t o[3];

	assert_int_equal(rp_scd30_read(s, t, o, 3), 0);
	assert_int_equal(rp_scd30_crc(o, 2), o[2]);
	return (uint16_t)(o[0] << 8 | o[1]);
}

static float word_float(const uint8_t *o)
{
	uint32_t u = (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[3] << 8 | o[4];
	float f;

	assert_int_equal(rp_scd30_crc(o, 2), o[2]);
	assert_int_equal(rp_scd30_crc(o + 3, 2), o[5]);
	memcpy(&f, &u, sizeof(f));
	return f;
}

static void test_measurement_cycle(void **state)
{
	struct rp_scd30 s;
	uint8_t m[18];

	(void)state;
	rp_scd30_init(&s, 0);
	s.co2_m = 439000;
	s.t_m = 27200;
	s.rh_m = 48800;
	/* Not measuring: nothing to read. */
	cmd(&s, 0, RP_SCD30_CMD_READ);
	assert_int_equal(rp_scd30_read(&s, 0, m, 18), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, start0, sizeof(start0)), 0);
	assert_true(s.measuring);
	cmd(&s, 1999, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 1999), 0);
	cmd(&s, 2000, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 2000), 1);
	cmd(&s, 2001, RP_SCD30_CMD_READ);
	assert_int_equal(rp_scd30_read(&s, 2001, m, 18), 0);
	assert_true(word_float(m) == 439.0f);
	assert_true(word_float(m + 6) == 27.2f);
	assert_true(word_float(m + 12) == 48.8f);
	{
		char txt[64];

		snprintf(txt, sizeof(txt), "%.1f %.1f %.1f", (double)word_float(m),
			 (double)word_float(m + 6), (double)word_float(m + 12));
		assert_string_equal(txt, "439.0 27.2 48.8");
	}
	assert_int_equal(s.measurements_read, 1);
	/* Read: not ready until the next interval; a read repeats. */
	cmd(&s, 2500, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 2500), 0);
	s.co2_m = 1000000;
	cmd(&s, 2600, RP_SCD30_CMD_READ);
	assert_int_equal(rp_scd30_read(&s, 2600, m, 18), 0);
	assert_true(word_float(m) == 439.0f);
	cmd(&s, 4000, RP_SCD30_CMD_READ);
	assert_int_equal(rp_scd30_read(&s, 4000, m, 18), 0);
	assert_true(word_float(m) == 1000.0f);
	assert_int_equal(s.measurements_read, 2);
	/* Reading more than the answer: 0xFF after it. */
	cmd(&s, 4000, RP_SCD30_CMD_FIRMWARE);
	{
		uint8_t o[5];

		assert_int_equal(rp_scd30_read(&s, 4000, o, 5), 0);
		assert_int_equal(o[0], 0x03);
		assert_int_equal(o[1], 0x42);
		assert_int_equal(o[3], 0xFF);
		assert_int_equal(o[4], 0xFF);
	}
	/* Each read needs its command again. */
	assert_int_equal(rp_scd30_read(&s, 4000, m, 3), -EIO);
	/* Stop. */
	cmd(&s, 4100, RP_SCD30_CMD_STOP);
	cmd(&s, 9000, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 9000), 0);
}

static void test_interval_and_settings(void **state)
{
	struct rp_scd30 s;

	(void)state;
	rp_scd30_init(&s, 0);
	cmd(&s, 0, RP_SCD30_CMD_INTERVAL);
	assert_int_equal(read_word(&s, 0), 2);
	cmd_arg(&s, 0, RP_SCD30_CMD_INTERVAL, 1800);
	cmd(&s, 0, RP_SCD30_CMD_INTERVAL);
	assert_int_equal(read_word(&s, 0), 1800);
	/* Out of range: ignored like the chip. */
	cmd_arg(&s, 0, RP_SCD30_CMD_INTERVAL, 1);
	cmd_arg(&s, 0, RP_SCD30_CMD_INTERVAL, 1801);
	cmd(&s, 0, RP_SCD30_CMD_INTERVAL);
	assert_int_equal(read_word(&s, 0), 1800);
	cmd_arg(&s, 0, RP_SCD30_CMD_INTERVAL, 5);
	cmd_arg(&s, 100, RP_SCD30_CMD_START, 1013);
	assert_int_equal(s.pressure_mbar, 1013);
	cmd(&s, 5099, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 5099), 0);
	cmd(&s, 5100, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 5100), 1);
	/* Pressure out of range: ignored. */
	cmd_arg(&s, 0, RP_SCD30_CMD_START, 600);
	assert_int_equal(s.pressure_mbar, 1013);
	cmd_arg(&s, 0, RP_SCD30_CMD_ASC, 1);
	cmd(&s, 0, RP_SCD30_CMD_ASC);
	assert_int_equal(read_word(&s, 0), 1);
	cmd_arg(&s, 0, RP_SCD30_CMD_FRC, 450);
	cmd(&s, 0, RP_SCD30_CMD_FRC);
	assert_int_equal(read_word(&s, 0), 450);
	cmd_arg(&s, 0, RP_SCD30_CMD_ALTITUDE, 300);
	cmd(&s, 0, RP_SCD30_CMD_ALTITUDE);
	assert_int_equal(read_word(&s, 0), 300);
	cmd_arg(&s, 0, RP_SCD30_CMD_TOFFSET, 150);
	cmd(&s, 0, RP_SCD30_CMD_TOFFSET);
	assert_int_equal(read_word(&s, 0), 150);
	/* Reset keeps measuring and the interval, restarts the period. */
	cmd(&s, 20000, RP_SCD30_CMD_RESET);
	assert_true(s.measuring);
	assert_int_equal(s.interval_s, 5);
	cmd(&s, 24999, RP_SCD30_CMD_READY);
	assert_int_equal(read_word(&s, 24999), 0);
}

static void test_refusals(void **state)
{
	struct rp_scd30 s;
	uint8_t bad[5] = { 0x46, 0x00, 0x00, 0x05, 0x00 }; /* CRC should be 0x74 */
	uint8_t o[3];

	(void)state;
	rp_scd30_init(&s, 0);
	/* A bad CRC: acknowledged, not executed, nothing to read. */
	cmd(&s, 0, RP_SCD30_CMD_FIRMWARE);
	assert_int_equal(rp_scd30_write(&s, 0, bad, 5), 0);
	assert_int_equal(s.interval_s, 2);
	assert_int_equal(s.crc_errors, 1);
	assert_int_equal(rp_scd30_read(&s, 0, o, 3), -EIO);
	bad[4] = rp_scd30_crc(bad + 2, 2);
	assert_int_equal(rp_scd30_write(&s, 0, bad, 5), 0);
	assert_int_equal(s.interval_s, 5);
	/* Unknown commands, wrong lengths, arguments where none go. */
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x12\x34", 2), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x03", 1), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x03\x00\x00", 3), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x00\x10", 2), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x03\x00\x00\x00\x81", 5), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\x01\x04\x00\x00\x81", 5), -EIO);
	assert_int_equal(rp_scd30_write(&s, 0, (const uint8_t *)"\xd3\x04\x00\x00\x81", 5), -EIO);
	assert_true(s.nacks >= 7);
}

static void test_noise_is_deterministic(void **state)
{
	struct rp_scd30 a, b;
	uint8_t ma[18], mb[18];
	uint64_t t;
	int differs = 0;

	(void)state;
	rp_scd30_init(&a, 42);
	rp_scd30_init(&b, 42);
	assert_int_equal(rp_scd30_write(&a, 0, start0, sizeof(start0)), 0);
	assert_int_equal(rp_scd30_write(&b, 0, start0, sizeof(start0)), 0);
	for (t = 2000; t <= 40000; t += 2000) {
		float co2;

		cmd(&a, t, RP_SCD30_CMD_READ);
		cmd(&b, t + 1, RP_SCD30_CMD_READ);
		assert_int_equal(rp_scd30_read(&a, t, ma, 18), 0);
		assert_int_equal(rp_scd30_read(&b, t + 1, mb, 18), 0);
		assert_memory_equal(ma, mb, 18);
		co2 = word_float(ma);
		assert_true(co2 >= 398.0f && co2 <= 402.0f);
		differs |= co2 != 400.0f;
	}
	assert_true(differs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_measurement_cycle),
		cmocka_unit_test(test_interval_and_settings),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_noise_is_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
